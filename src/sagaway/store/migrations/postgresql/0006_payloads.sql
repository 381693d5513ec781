-- The payload store (store/payloads.py): each distinct large input/output text of an
-- execution once, compressed, referred to by digest from its history events. History rows
-- written before keep their texts inline and read as they always did.
CREATE TABLE payloads (
    execution_arn TEXT NOT NULL,
    digest TEXT NOT NULL,
    body BYTEA NOT NULL,
    PRIMARY KEY (execution_arn, digest)
);
