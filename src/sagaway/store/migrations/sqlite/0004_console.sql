-- The console lists executions newest first (per state machine or across all of them), finds
-- them by name prefix, counts them per status, and keeps an audit log of what operators did
-- (who, what, on which target, with what outcome).
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
