-- AWS runs EXPRESS executions started with the same name concurrently ("Starting multiple
-- workflows with the same name results in concurrent executions"); each has its own ARN
-- (a generated id ends it). The name stays unique per state machine for STANDARD
-- executions only: an EXPRESS row's key includes its ARN.
ALTER TABLE executions DROP CONSTRAINT executions_state_machine_arn_name_key;
CREATE UNIQUE INDEX executions_names ON executions
    (state_machine_arn, name, (CASE WHEN machine_type = 'EXPRESS' THEN arn ELSE '' END));
