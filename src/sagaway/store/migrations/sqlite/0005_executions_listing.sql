-- ListExecutions pages newest first by keyset (start_date, arn) within one state machine;
-- this index serves a page without reading any other execution. It holds only columns that
-- never change after the insert, so steps do not update it.
CREATE INDEX executions_listing ON executions (state_machine_arn, start_date DESC, arn);
