-- AWS runs EXPRESS executions started with the same name concurrently ("Starting multiple
-- workflows with the same name results in concurrent executions"); each has its own ARN
-- (a generated id ends it). The name stays unique per state machine for STANDARD
-- executions only: an EXPRESS row's key includes its ARN. SQLite cannot drop a table's
-- UNIQUE constraint, so the table is rebuilt without it and the key becomes an index.
ALTER TABLE executions RENAME TO executions_0006;
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
INSERT INTO executions SELECT * FROM executions_0006;
DROP TABLE executions_0006;
CREATE UNIQUE INDEX executions_names ON executions
    (state_machine_arn, name, (CASE WHEN machine_type = 'EXPRESS' THEN arn ELSE '' END));
CREATE INDEX executions_by_status ON executions (status);
CREATE INDEX executions_listing ON executions (state_machine_arn, start_date DESC, arn);
CREATE INDEX executions_by_start ON executions (start_date, arn);
CREATE INDEX executions_by_machine_start ON executions (state_machine_arn, start_date, arn);
CREATE INDEX executions_by_machine_status ON executions (state_machine_arn, status);
CREATE INDEX executions_by_name ON executions (name, status);
