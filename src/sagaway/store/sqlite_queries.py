"""Named SQL for the SQLite journal (SQL stays SQL: one place per dialect)."""

from sagaway.store.rows import EXECUTION_COLUMNS, MACHINE_COLUMNS

# The schema itself lives in migrations/sqlite.
MIGRATIONS_TABLE = (
    "CREATE TABLE IF NOT EXISTS sagaway_migrations (version INTEGER PRIMARY KEY,"
    " name TEXT NOT NULL, applied_at REAL NOT NULL)"
)
APPLIED_MIGRATIONS = "SELECT version FROM sagaway_migrations ORDER BY version"
RECORD_MIGRATION = "INSERT INTO sagaway_migrations (version, name, applied_at) VALUES (?, ?, ?)"

_MACHINE_COLUMNS = MACHINE_COLUMNS
_EXECUTION_COLUMNS = EXECUTION_COLUMNS

PUT_STATE_MACHINE = (
    f"INSERT OR REPLACE INTO state_machines ({_MACHINE_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?)"
)
GET_STATE_MACHINE = f"SELECT {_MACHINE_COLUMNS} FROM state_machines WHERE arn = ?"
LIST_STATE_MACHINES = f"SELECT {_MACHINE_COLUMNS} FROM state_machines ORDER BY created, arn"
DELETE_STATE_MACHINE = "DELETE FROM state_machines WHERE arn = ?"

INSERT_EXECUTION = (
    f"INSERT INTO executions ({_EXECUTION_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)"
)
GET_EXECUTION = f"SELECT {_EXECUTION_COLUMNS} FROM executions WHERE arn = ?"
# EXPRESS executions may share a name (AWS runs them concurrently): the newest one.
FIND_EXECUTION = (
    f"SELECT {_EXECUTION_COLUMNS} FROM executions WHERE state_machine_arn = ? AND name = ?"
    " ORDER BY start_date DESC LIMIT 1"
)
LIST_EXECUTIONS = (
    f"SELECT {_EXECUTION_COLUMNS} FROM executions"
    " WHERE (? IS NULL OR state_machine_arn = ?) AND (? IS NULL OR status = ?)"
    " ORDER BY start_date DESC, arn LIMIT ?"
)
# Keyset paging over the covering index executions_listing: the large columns are never read.
LIST_EXECUTION_PAGE = (
    "SELECT arn, state_machine_arn, name, status, start_date, stop_date FROM executions"
    " WHERE state_machine_arn = ? AND (? IS NULL OR status = ?)"
    " AND (? IS NULL OR start_date < ? OR (start_date = ? AND arn > ?))"
    " ORDER BY start_date DESC, arn LIMIT ?"
)
OPEN_EXECUTIONS = f"SELECT {_EXECUTION_COLUMNS} FROM executions WHERE status = 'RUNNING'"
UPDATE_EXECUTION = (
    "UPDATE executions SET state = ?, status = ?, output = ?, error = ?, cause = ?,"
    " stop_date = ?, version = version + 1 WHERE arn = ? AND version = ?"
)

INSERT_HISTORY = "INSERT INTO history (execution_arn, first_event_id, events) VALUES (?, ?, ?)"
HISTORY = "SELECT events FROM history WHERE execution_arn = ? ORDER BY first_event_id"
# Content-addressed per execution: the same text written again is the same row.
INSERT_PAYLOAD = "INSERT OR IGNORE INTO payloads (execution_arn, digest, body) VALUES (?, ?, ?)"
PAYLOADS = "SELECT digest, body FROM payloads WHERE execution_arn = ? AND digest IN ({})"
# A page of history: the row holding the first wanted event id, and the rows after it (each
# row holds one step's events, at least one, so ``limit + 1`` rows always suffice).
HISTORY_FORWARD = (
    "SELECT events FROM history WHERE execution_arn = ? AND first_event_id >= coalesce("
    "(SELECT max(first_event_id) FROM history WHERE execution_arn = ? AND first_event_id <= ?),"
    " 0) ORDER BY first_event_id LIMIT ?"
)
HISTORY_BACKWARD = (
    "SELECT events FROM history WHERE execution_arn = ? AND first_event_id < ?"
    " ORDER BY first_event_id DESC LIMIT ?"
)
PING = "SELECT 1"

INSERT_OUTBOX = "INSERT INTO outbox (topic, body) VALUES (?, ?)"
PENDING_OUTBOX = "SELECT id, topic, body FROM outbox ORDER BY id LIMIT ?"

# Invocations re-issued by recovery after their process died (engine/tasks.py), kept in the
# catalog table: one small row per such invocation, never read by the API.
GET_RESUMED = "SELECT body FROM catalog WHERE kind = 'resumed-invocation' AND arn = ?"
PUT_RESUMED = (
    "INSERT INTO catalog (kind, arn, parent, created, body)"
    " VALUES ('resumed-invocation', ?, ?, ?, ?)"
    " ON CONFLICT (kind, arn) DO UPDATE SET body = excluded.body"
)
