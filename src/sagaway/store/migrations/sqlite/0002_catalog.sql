-- The API's catalog, as store/catalog.py has created it on its own so far: IF NOT EXISTS,
-- so journals that already have it (made before this migration) keep theirs unchanged.
CREATE TABLE IF NOT EXISTS catalog (
    kind TEXT NOT NULL,
    arn TEXT NOT NULL,
    parent TEXT NOT NULL,
    created REAL NOT NULL,
    body BLOB NOT NULL,
    PRIMARY KEY (kind, arn)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS catalog_by_parent ON catalog (kind, parent, created);
