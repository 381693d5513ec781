-- The API's catalog (activities, state machine versions and aliases, tags, facts about
-- executions), so that every `sagaway serve` on one database sees the same ones. Bodies
-- are the API's JSON as bytes (not JSONB, which would reorder keys); `seq` keeps the
-- insertion order of items created in the same instant.
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
