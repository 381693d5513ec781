"""Answers for executions another process runs, delivered through the shared journal.

A server that receives SendTaskSuccess / SendTaskFailure / SendTaskHeartbeat or
StopExecution for an execution it does not run records the call (``deliver``) and NOTIFYs;
the execution's owner applies it to its actor exactly as a local call would, and settles it
once the effect is journaled: a stop or heartbeat is deleted, a task's answer is kept (no
longer pending) until the execution ends, so that a second answer for the same attempt is
refused even by a server that read the task as still waiting just before the first answer
was journaled. Until then the row stays pending: an owner that dies in between
leaves it for the member that takes the execution over, which applies it again (a task
answered twice, or a stop of an ended execution, changes nothing: the interpreter ignores
stale tokens).
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any, cast

import orjson

from sagaway.expressions.jsontext import loads
from sagaway.interpreter.messages import Event, Stop, TaskFailed, TaskSucceeded
from sagaway.store.ports import ClusterOperations

if TYPE_CHECKING:
    from sagaway.engine.engine import Engine

log = logging.getLogger("sagaway.cluster")

# The kinds are the API actions they carry.
SUCCESS = "SendTaskSuccess"
FAILURE = "SendTaskFailure"
HEARTBEAT = "SendTaskHeartbeat"
STOP = "StopExecution"
ANSWERS = frozenset({SUCCESS, FAILURE, HEARTBEAT})
# A heartbeat journals nothing: it is settled as soon as it is applied.
_NOTHING_TO_JOURNAL = -1


class Deliveries:
    def __init__(self, engine: Engine, journal: ClusterOperations) -> None:
        self.engine = engine
        self.journal = journal
        # Applied but not yet deleted: delivery id -> the actor's version when applied.
        self._applied: dict[int, int] = {}

    async def send(self, arn: str, kind: str, token: str | None, fields: dict[str, Any]) -> bool:
        """Record a call for ``arn``'s owner; False if the attempt has an answer already."""
        payload = orjson.dumps(fields)
        return await asyncio.to_thread(self.journal.deliver, arn, kind, token, payload)

    async def apply_pending(self) -> bool:
        """Apply the deliveries for the executions this process owns and delete those whose
        effect is journaled; True while some wait for their step to be journaled."""
        rows = await asyncio.to_thread(self.journal.pending_deliveries)
        seen = set()
        for delivery_id, arn, kind, token, payload in rows:
            seen.add(delivery_id)
            actor = self.engine.actors.get(arn)
            if delivery_id in self._applied or actor is None:
                continue
            version = _NOTHING_TO_JOURNAL if kind == HEARTBEAT else actor.version
            self._applied[delivery_id] = version
            self._apply(arn, kind, token, orjson.loads(payload))
        # Gone from the pending list: ended, taken over, or deleted; not ours to settle.
        self._applied = {i: v for i, v in self._applied.items() if i in seen}
        settled = await asyncio.to_thread(self.journal.settle_deliveries, dict(self._applied))
        for delivery_id in settled:
            self._applied.pop(delivery_id, None)
        return bool(self._applied)

    def _apply(self, arn: str, kind: str, token: str | None, fields: dict[str, Any]) -> None:
        callbacks = self.engine.callbacks
        if kind == STOP:
            self.engine._task_done(arn, Stop(fields.get("error"), fields.get("cause")))
        elif token is None or kind not in ANSWERS:
            log.error("unknown delivery %r for %s: ignored", kind, arn)
        elif callbacks is not None:
            callbacks.apply(arn, kind, token, fields)  # as a call made here would be


def answer_event(kind: str, token: str, fields: dict[str, Any]) -> Event:
    """The interpreter event a SendTaskSuccess or SendTaskFailure carries (``fields`` as
    recorded: the output text, or the error and cause)."""
    if kind == SUCCESS:
        return TaskSucceeded(token, loads(fields["output"]))
    # AWS lets both be absent; the failure then carries null Error and Cause.
    return TaskFailed(token, cast(str, fields.get("error")), fields.get("cause"))
