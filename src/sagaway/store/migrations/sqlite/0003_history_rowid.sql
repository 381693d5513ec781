-- A history row holds one step's events, a kilobyte or more: too large for a WITHOUT ROWID
-- table, whose B-tree keeps whole rows in its interior pages. As a rowid table with the
-- same primary key (a separate unique index), each step's INSERT costs about a third.
ALTER TABLE history RENAME TO history_0002;
CREATE TABLE history (
    execution_arn TEXT NOT NULL,
    first_event_id INTEGER NOT NULL,
    events BLOB NOT NULL,
    PRIMARY KEY (execution_arn, first_event_id)
);
INSERT INTO history (execution_arn, first_event_id, events)
    SELECT execution_arn, first_event_id, events FROM history_0002;
DROP TABLE history_0002;
