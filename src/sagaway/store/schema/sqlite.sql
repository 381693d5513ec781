-- The current schema in one piece: what a fresh SQLite journal is created from. It must
-- equal all of migrations/sqlite applied in turn (tests/store/test_migrations.py).
CREATE TABLE state_machines (
    arn TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    definition TEXT NOT NULL,
    type TEXT NOT NULL,
    role_arn TEXT NOT NULL,
    created REAL NOT NULL,
    status TEXT NOT NULL,
    revision_id TEXT NOT NULL,
    description TEXT NOT NULL,
    extra BLOB NOT NULL
);
CREATE TABLE executions (
    arn TEXT PRIMARY KEY,
    state_machine_arn TEXT NOT NULL,
    name TEXT NOT NULL,
    status TEXT NOT NULL,
    input TEXT NOT NULL,
    start_date REAL NOT NULL,
    definition TEXT NOT NULL,
    machine_type TEXT NOT NULL,
    stop_date REAL,
    output TEXT,
    error TEXT,
    cause TEXT,
    version INTEGER NOT NULL,
    state BLOB,
    redrive_count INTEGER NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX executions_names ON executions
    (state_machine_arn, name, (CASE WHEN machine_type = 'EXPRESS' THEN arn ELSE '' END));
CREATE INDEX executions_by_status ON executions (status);
CREATE INDEX executions_listing ON executions (state_machine_arn, start_date DESC, arn);
CREATE TABLE history (
    execution_arn TEXT NOT NULL,
    first_event_id INTEGER NOT NULL,
    events BLOB NOT NULL,
    PRIMARY KEY (execution_arn, first_event_id)
);
CREATE TABLE payloads (
    execution_arn TEXT NOT NULL,
    digest TEXT NOT NULL,
    body BLOB NOT NULL,
    PRIMARY KEY (execution_arn, digest)
);
CREATE TABLE outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    topic TEXT NOT NULL,
    body BLOB NOT NULL,
    delivered INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE catalog (
    kind TEXT NOT NULL,
    arn TEXT NOT NULL,
    parent TEXT NOT NULL,
    created REAL NOT NULL,
    body BLOB NOT NULL,
    PRIMARY KEY (kind, arn)
) WITHOUT ROWID;
CREATE INDEX catalog_by_parent ON catalog (kind, parent, created);
CREATE INDEX executions_by_start ON executions (start_date, arn);
CREATE INDEX executions_by_machine_start ON executions (state_machine_arn, start_date, arn);
CREATE INDEX executions_by_machine_status ON executions (state_machine_arn, status);
CREATE INDEX executions_by_name ON executions (name, status);
CREATE TABLE audit (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at REAL NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT NOT NULL,
    detail TEXT NOT NULL,
    outcome TEXT NOT NULL
);
