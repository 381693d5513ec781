-- Answers for executions another process runs (SendTaskSuccess / SendTaskFailure /
-- SendTaskHeartbeat, StopExecution), recorded by the server that received the call and
-- applied, then deleted, by the execution's owner (docs/scaling.md). `token` is the
-- attempt answered (NULL for StopExecution); `payload` is the call's fields as JSON bytes.
CREATE TABLE deliveries (
    id BIGSERIAL PRIMARY KEY,
    execution_arn TEXT NOT NULL,
    kind TEXT NOT NULL,
    token TEXT,
    payload BYTEA NOT NULL,
    created DOUBLE PRECISION NOT NULL
);
CREATE INDEX deliveries_by_execution ON deliveries (execution_arn);
-- A task is answered once: a second SendTaskSuccess / SendTaskFailure for an attempt whose
-- answer is still waiting to be applied is refused, as AWS refuses an answered token.
CREATE UNIQUE INDEX deliveries_one_answer ON deliveries (execution_arn, token)
    WHERE kind IN ('SendTaskSuccess', 'SendTaskFailure');
