"""Named SQL for the PostgreSQL journal (the schema itself lives in migrations/postgresql)."""

from sagaway.store.ports import DELIVERY_CHANNEL, WORK_CHANNEL
from sagaway.store.rows import EXECUTION_COLUMNS, MACHINE_COLUMNS

_UPSERT_MACHINE_SET = ", ".join(
    f"{c} = EXCLUDED.{c}" for c in MACHINE_COLUMNS.replace(" ", "").split(",")[1:]
)
PUT_STATE_MACHINE = (
    f"INSERT INTO state_machines ({MACHINE_COLUMNS}) VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s,%s)"
    f" ON CONFLICT (arn) DO UPDATE SET {_UPSERT_MACHINE_SET}"
)
GET_STATE_MACHINE = f"SELECT {MACHINE_COLUMNS} FROM state_machines WHERE arn = %s"
LIST_STATE_MACHINES = f"SELECT {MACHINE_COLUMNS} FROM state_machines ORDER BY created, arn"
DELETE_STATE_MACHINE = "DELETE FROM state_machines WHERE arn = %s"

# The inserting process owns the new execution (``owner``, ``lease_until`` appended to the
# record's columns), or leaves it unowned (NULL, 0) for a worker to claim.
INSERT_EXECUTION = (
    f"INSERT INTO executions ({EXECUTION_COLUMNS}, owner, lease_until)"
    " VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,"
    " CASE WHEN %s::text IS NULL THEN 0 ELSE extract(epoch FROM clock_timestamp()) + %s END)"
    " ON CONFLICT DO NOTHING"
)
GET_EXECUTION = f"SELECT {EXECUTION_COLUMNS} FROM executions WHERE arn = %s"
# EXPRESS executions may share a name (AWS runs them concurrently): the newest one.
FIND_EXECUTION = (
    f"SELECT {EXECUTION_COLUMNS} FROM executions WHERE state_machine_arn = %s AND name = %s"
    " ORDER BY start_date DESC LIMIT 1"
)
LIST_EXECUTIONS = (
    f"SELECT {EXECUTION_COLUMNS} FROM executions"
    " WHERE (%s::text IS NULL OR state_machine_arn = %s) AND (%s::text IS NULL OR status = %s)"
    " ORDER BY start_date DESC, arn LIMIT %s"
)
# Keyset paging over the index executions_listing: the large columns are never read.
LIST_EXECUTION_PAGE = (
    "SELECT arn, state_machine_arn, name, status, start_date, stop_date FROM executions"
    " WHERE state_machine_arn = %(machine)s AND (%(status)s::text IS NULL OR status = %(status)s)"
    " AND (%(date)s::float8 IS NULL OR start_date < %(date)s"
    " OR (start_date = %(date)s AND arn > %(arn)s))"
    " ORDER BY start_date DESC, arn LIMIT %(limit)s"
)
OPEN_EXECUTIONS = f"SELECT {EXECUTION_COLUMNS} FROM executions WHERE status = 'RUNNING'"
# Guarded twice: by version (exactly one step per version) and by owner (a worker whose
# lease was taken over cannot advance the execution any more).
UPDATE_EXECUTION = (
    "UPDATE executions SET state = %s, status = %s, output = %s, error = %s, cause = %s,"
    " stop_date = %s, version = version + 1"
    " WHERE arn = %s AND version = %s AND owner IS NOT DISTINCT FROM %s"
)
# The same, for many executions in one statement (one row per execution: a batch holding
# several steps of one execution sends one such statement per step, in order). Per-statement
# overhead in psycopg was the group-commit thread's largest cost (docs/scaling.md). Arrays
# go as binary parameters (%b): psycopg escapes text-format array elements in Python, ~25x
# slower for kilobyte-sized states and definitions.
UPDATE_EXECUTIONS = (
    "UPDATE executions e SET state = v.state, status = v.status, output = v.output,"
    " error = v.error, cause = v.cause, stop_date = v.stop_date, version = e.version + 1"
    " FROM unnest(%b::bytea[], %b::text[], %b::text[], %b::text[], %b::text[], %b::float8[],"
    " %b::text[], %b::bigint[]) AS v(state, status, output, error, cause, stop_date, arn, version)"
    " WHERE e.arn = v.arn AND e.version = v.version AND e.owner IS NOT DISTINCT FROM %s"
    " RETURNING e.arn"
)

_NOW = "extract(epoch FROM clock_timestamp())"
CLAIM = (
    f"UPDATE executions SET owner = %(owner)s, lease_until = {_NOW} + %(lease)s"
    " WHERE arn IN (SELECT arn FROM executions WHERE status = 'RUNNING'"
    f" AND (owner IS NULL OR lease_until < {_NOW})"
    " ORDER BY lease_until LIMIT %(limit)s FOR UPDATE SKIP LOCKED)"
    f" RETURNING {EXECUTION_COLUMNS}"
)
# Executions a member dropped when its writes failed: back to it if nobody took them over.
RECLAIM = (
    f"UPDATE executions SET owner = %(owner)s, lease_until = {_NOW} + %(lease)s"
    " WHERE arn = ANY(%(arns)s) AND status = 'RUNNING'"
    f" AND (owner IS NULL OR owner = %(owner)s OR lease_until < {_NOW})"
    f" RETURNING {EXECUTION_COLUMNS}"
)
RENEW = (
    f"UPDATE executions SET lease_until = {_NOW} + %(lease)s"
    " WHERE owner = %(owner)s AND status = 'RUNNING'"
)
RELEASE = "UPDATE executions SET owner = NULL, lease_until = 0 WHERE owner = %(owner)s"
OWNED = "SELECT arn FROM executions WHERE owner = %(owner)s AND status = 'RUNNING'"
NOTIFY_WORK = f"NOTIFY {WORK_CHANNEL}"
LISTEN_WORK = f"LISTEN {WORK_CHANNEL}"
# Deliveries: answers and stops for executions another process runs (0003_deliveries).
LISTEN_DELIVERY = f"LISTEN {DELIVERY_CHANNEL}"
NOTIFY_DELIVERY = f"SELECT pg_notify('{DELIVERY_CHANNEL}', %s)"
# ON CONFLICT DO NOTHING: the partial unique index refuses a second answer for one attempt.
INSERT_DELIVERY = (
    "INSERT INTO deliveries (execution_arn, kind, token, payload, created)"
    f" VALUES (%s, %s, %s, %s, {_NOW}) ON CONFLICT DO NOTHING RETURNING id"
)
PENDING_DELIVERIES = (
    "SELECT d.id, d.execution_arn, d.kind, d.token, d.payload FROM deliveries d"
    " JOIN executions e ON e.arn = d.execution_arn"
    " WHERE e.owner = %(owner)s AND e.status = 'RUNNING' AND NOT d.settled ORDER BY d.id"
)
# An applied delivery is settled once its effect is journaled: the owner's journaled version
# passed the actor's version when the delivery was posted (or the execution ended). Only by
# the owner: a delivery whose owner lost the lease waits for the one that took over. A task's
# answer is kept, marked settled, until its execution ends, so that the unique index goes on
# refusing a second answer (a server may have read the task as waiting before the first was
# journaled); a stop or a heartbeat is deleted.
_SETTLED = (
    "SELECT d.id, d.kind FROM deliveries d, executions e,"
    " unnest(%b::bigint[], %b::bigint[]) AS v(id, version)"
    " WHERE d.id = v.id AND e.arn = d.execution_arn AND e.owner = %s AND NOT d.settled"
    " AND (e.status <> 'RUNNING' OR e.version > v.version)"
)
_ANSWER_KINDS = "('SendTaskSuccess', 'SendTaskFailure')"
SETTLE_DELIVERIES = (
    f"WITH done AS ({_SETTLED}),"
    " kept AS (UPDATE deliveries SET settled = true"
    f" WHERE id IN (SELECT id FROM done WHERE kind IN {_ANSWER_KINDS}) RETURNING id),"
    " gone AS (DELETE FROM deliveries"
    f" WHERE id IN (SELECT id FROM done WHERE kind NOT IN {_ANSWER_KINDS}) RETURNING id)"
    " SELECT id FROM kept UNION ALL SELECT id FROM gone"
)
# Deliveries for executions that ended (a stop or an answer that came too late) do nothing.
DROP_ENDED_DELIVERIES = (
    "DELETE FROM deliveries d USING executions e"
    " WHERE e.arn = d.execution_arn AND e.status <> 'RUNNING'"
)
INSERT_HISTORY = "INSERT INTO history (execution_arn, first_event_id, events) VALUES (%s, %s, %s)"
# One statement for a whole group commit's history rows (see UPDATE_EXECUTIONS).
INSERT_HISTORIES = (
    "INSERT INTO history (execution_arn, first_event_id, events)"
    " SELECT * FROM unnest(%b::text[], %b::bigint[], %b::bytea[])"
)
# Many new executions in one statement; RETURNING says which names were free. A batch
# holding the same ARN twice sends one statement per occurrence, in order.
INSERT_EXECUTIONS = (
    f"INSERT INTO executions ({EXECUTION_COLUMNS}, owner, lease_until)"
    " SELECT *, %s::text,"
    " CASE WHEN %s::text IS NULL THEN 0 ELSE extract(epoch FROM clock_timestamp()) + %s END"
    " FROM unnest(%b::text[], %b::text[], %b::text[], %b::text[], %b::text[], %b::float8[],"
    " %b::text[], %b::text[], %b::float8[], %b::text[], %b::text[], %b::text[], %b::bigint[],"
    " %b::bytea[], %b::int[])"
    " ON CONFLICT DO NOTHING RETURNING arn"
)
HISTORY = "SELECT events FROM history WHERE execution_arn = %s ORDER BY first_event_id"
# Content-addressed per execution: the same text written again is the same row.
INSERT_PAYLOAD = (
    "INSERT INTO payloads (execution_arn, digest, body) VALUES (%s, %s, %s) ON CONFLICT DO NOTHING"
)
PAYLOADS = "SELECT digest, body FROM payloads WHERE execution_arn = %s AND digest = ANY(%s)"
# A page of history (see sqlite_queries.HISTORY_FORWARD).
HISTORY_FORWARD = (
    "SELECT events FROM history WHERE execution_arn = %(arn)s AND first_event_id >= coalesce("
    "(SELECT max(first_event_id) FROM history WHERE execution_arn = %(arn)s"
    " AND first_event_id <= %(first)s), 0) ORDER BY first_event_id LIMIT %(rows)s"
)
HISTORY_BACKWARD = (
    "SELECT events FROM history WHERE execution_arn = %(arn)s AND first_event_id < %(first)s"
    " ORDER BY first_event_id DESC LIMIT %(rows)s"
)
PING = "SELECT 1"
INSERT_OUTBOX = "INSERT INTO outbox (topic, body) VALUES (%s, %s)"
# One relay of the outbox per database at a time (see PostgresJournal.leads_relay).
# Per schema: clusters whose journals live in two schemas of one database relay apart.
TRY_RELAY_LOCK = (
    "SELECT pg_try_advisory_lock(hashtext('sagaway-outbox-relay:' || current_schema()))"
)
PENDING_OUTBOX = "SELECT id, topic, body FROM outbox ORDER BY id LIMIT %s"

MIGRATIONS_TABLE = (
    "CREATE TABLE IF NOT EXISTS sagaway_migrations (version INTEGER PRIMARY KEY,"
    " name TEXT NOT NULL, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())"
)
APPLIED_MIGRATIONS = "SELECT version FROM sagaway_migrations ORDER BY version"
RECORD_MIGRATION = "INSERT INTO sagaway_migrations (version, name) VALUES (%s, %s)"
# Serialises concurrent migrators (several workers starting at once); any constant will do.
MIGRATION_LOCK = "SELECT pg_advisory_xact_lock(7231004)"

# Invocations re-issued by recovery after their process died (engine/tasks.py), kept in the
# catalog table: one small row per such invocation, never read by the API.
GET_RESUMED = "SELECT body FROM catalog WHERE kind = 'resumed-invocation' AND arn = %s FOR UPDATE"
PUT_RESUMED = (
    "INSERT INTO catalog (kind, arn, parent, created, body)"
    " VALUES ('resumed-invocation', %s, %s, %s, %s)"
    " ON CONFLICT (kind, arn) DO UPDATE SET body = excluded.body"
)
