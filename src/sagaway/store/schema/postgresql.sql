-- The current schema in one piece: what a fresh PostgreSQL journal is created from. It
-- must equal all of migrations/postgresql applied in turn (tests/store/test_migrations.py).
CREATE TABLE state_machines (
    arn TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    definition TEXT NOT NULL,
    type TEXT NOT NULL,
    role_arn TEXT NOT NULL,
    created DOUBLE PRECISION NOT NULL,
    status TEXT NOT NULL,
    revision_id TEXT NOT NULL,
    description TEXT NOT NULL,
    extra BYTEA NOT NULL
);
CREATE TABLE executions (
    arn TEXT PRIMARY KEY,
    state_machine_arn TEXT NOT NULL,
    name TEXT NOT NULL,
    status TEXT NOT NULL,
    input TEXT NOT NULL,
    start_date DOUBLE PRECISION NOT NULL,
    definition TEXT NOT NULL,
    machine_type TEXT NOT NULL,
    stop_date DOUBLE PRECISION,
    output TEXT,
    error TEXT,
    cause TEXT,
    version BIGINT NOT NULL,
    state BYTEA,
    redrive_count INTEGER NOT NULL DEFAULT 0,
    owner TEXT,
    lease_until DOUBLE PRECISION
);
CREATE UNIQUE INDEX executions_names ON executions
    (state_machine_arn, name, (CASE WHEN machine_type = 'EXPRESS' THEN arn ELSE '' END));
CREATE INDEX executions_running ON executions (lease_until) WHERE status = 'RUNNING';
CREATE INDEX executions_listing ON executions (state_machine_arn, start_date DESC, arn);
CREATE TABLE history (
    execution_arn TEXT NOT NULL,
    first_event_id BIGINT NOT NULL,
    events BYTEA NOT NULL,
    PRIMARY KEY (execution_arn, first_event_id)
);
CREATE TABLE payloads (
    execution_arn TEXT NOT NULL,
    digest TEXT NOT NULL,
    body BYTEA NOT NULL,
    PRIMARY KEY (execution_arn, digest)
);
CREATE TABLE outbox (
    id BIGSERIAL PRIMARY KEY,
    topic TEXT NOT NULL,
    body BYTEA NOT NULL,
    delivered BOOLEAN NOT NULL DEFAULT FALSE
);
CREATE TABLE catalog (
    kind TEXT NOT NULL,
    arn TEXT NOT NULL,
    parent TEXT NOT NULL,
    created DOUBLE PRECISION NOT NULL,
    seq BIGSERIAL NOT NULL,
    body BYTEA NOT NULL,
    PRIMARY KEY (kind, arn)
);
CREATE INDEX catalog_by_parent ON catalog (kind, parent, created, seq);
CREATE TABLE deliveries (
    id BIGSERIAL PRIMARY KEY,
    execution_arn TEXT NOT NULL,
    kind TEXT NOT NULL,
    token TEXT,
    payload BYTEA NOT NULL,
    created DOUBLE PRECISION NOT NULL,
    settled BOOLEAN NOT NULL DEFAULT false
);
CREATE INDEX deliveries_by_execution ON deliveries (execution_arn);
-- A task is answered once: a second SendTaskSuccess / SendTaskFailure for an attempt whose
-- answer is waiting to be applied, or was applied (settled) while the execution runs, is
-- refused, as AWS refuses an answered token.
CREATE UNIQUE INDEX deliveries_one_answer ON deliveries (execution_arn, token)
    WHERE kind IN ('SendTaskSuccess', 'SendTaskFailure');
CREATE INDEX executions_by_start ON executions (start_date, arn);
CREATE INDEX executions_by_status ON executions (status);
CREATE INDEX executions_by_machine_start ON executions (state_machine_arn, start_date, arn);
CREATE INDEX executions_by_machine_status ON executions (state_machine_arn, status);
CREATE INDEX executions_by_name ON executions (name text_pattern_ops, status);
CREATE TABLE audit (
    id BIGSERIAL PRIMARY KEY,
    at DOUBLE PRECISION NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT NOT NULL,
    detail TEXT NOT NULL,
    outcome TEXT NOT NULL
);
