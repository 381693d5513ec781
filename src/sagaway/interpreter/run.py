"""The working context of one :func:`advance` call: emits history, queues commands and frames.

A :class:`Run` wraps the (already copied) execution state with the definition, the event time
and the outputs being collected. State handlers receive it and never touch anything else, so
everything they do ends up in the returned ``Step``.
"""

from __future__ import annotations

import hashlib
from collections import ChainMap, deque
from collections.abc import Mapping
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from sagaway.asl.model import Machine, State
from sagaway.expressions.scope import Scope
from sagaway.interpreter.execution import READY, ExecutionState, Frame
from sagaway.interpreter.limits import AWS, Limits
from sagaway.interpreter.messages import Command, StartTimer
from sagaway.interpreter.texts import text_of

DETAILS_UNTRUNCATED = {"truncated": False}
# Only states that can Retry carry $$.State.RetryCount (as recorded AWS runs show).
RETRYABLE_TYPES = frozenset({"Task", "Parallel", "Map"})
# A frame's context entry under this key is its whole ``$$`` (TestState's given context).
WHOLE_CONTEXT = "$$"


def stable_seed(*parts: object) -> int:
    """A seed derived from ``parts`` that is the same in every process (unlike ``hash()``,
    which PYTHONHASHSEED randomises for strings): replays must draw the same numbers."""
    digest = hashlib.blake2b(repr(parts).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


def iso_time(epoch: float) -> str:
    """AWS's context-object timestamp format: ISO 8601, milliseconds, ``Z``."""
    seconds = int(epoch // 1)
    millis = int((epoch - seconds) * 1000)
    return f"{_iso_second(seconds)}.{millis:03d}Z"


@lru_cache(maxsize=1024)
def _iso_second(seconds: int) -> str:
    # Formatting is the costly part and many steps share a second: cache it per second.
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S")


class HistoryLimitReached(Exception):
    """The next event would take the history's last slot, which only the execution's end
    may take (see ``advance``)."""


# Events that may take the last slot of a full history: they end the execution.
_FINAL_EVENTS = frozenset(
    {"ExecutionSucceeded", "ExecutionFailed", "ExecutionAborted", "ExecutionTimedOut"}
)


class Run:
    """Mutable scratchpad for a single ``advance`` call."""

    def __init__(
        self, machine: Machine, state: ExecutionState, now: float, limits: Limits = AWS
    ) -> None:
        self.machine = machine
        self.state = state
        self.now = now
        self.limits = limits
        self.history: list[dict[str, Any]] = []
        self.commands: list[Command] = []
        self.ready: deque[str] = deque(
            [fid for fid, frame in state.frames.items() if frame.phase == READY]
        )
        # Whether events are built (EXPRESS: no). When not, callers emit without details:
        # the event ids are still counted, but no input or output is rendered as JSON text
        # only to be thrown away. An attribute: it is read several times per transition.
        self.keeps_history = limits.history

    # -- history ---------------------------------------------------------------------------

    def emit(
        self,
        frame: Frame | None,
        event_type: str,
        details: Mapping[str, Any] | None = None,
        previous: int | None = None,
    ) -> int:
        """Append a history event; returns its id. ``previous`` overrides previousEventId."""
        if frame is not None and frame.quiet:
            return frame.last_id
        event_id = self.state.next_id
        cap = self.limits.history_events
        if cap is not None and event_id >= cap and event_type not in _FINAL_EVENTS:
            raise HistoryLimitReached(event_type)
        self.state.next_id += 1
        if not self.keeps_history:
            if frame is not None:
                frame.last_id = event_id
            return event_id
        if previous is None:
            previous = frame.last_id if frame is not None else event_id - 1
        # Keys in the order GetExecutionHistory returns them (alphabetical): the corpus
        # orders the events of Parallel branches by their JSON text.
        fields: list[tuple[str, Any]] = [
            ("id", event_id),
            ("previousEventId", previous),
            ("timestamp", self.now),
            ("type", event_type),
        ]
        if details is not None:
            key = details_key(event_type)
            fields.insert(_details_slot(key), (key, dict(sorted(details.items()))))
        self.history.append(dict(fields))
        if frame is not None:
            frame.last_id = event_id
        return event_id

    # -- commands --------------------------------------------------------------------------
    def start_timer(self, frame: Frame, token: str, fire_at: float) -> None:
        """Await ``token`` in ``frame`` until ``fire_at``; the due time is kept in the state
        so pending timers can be re-derived from it (see ``pending_commands``)."""
        self.state.tokens[token] = frame.id
        self.state.timers[token] = fire_at
        self.commands.append(StartTimer(token=token, fire_at=fire_at))

    # -- frames ----------------------------------------------------------------------------
    def schedule(self, frame: Frame) -> None:
        frame.phase = READY
        self.ready.append(frame.id)

    def frame(self, fid: str) -> Frame:
        return self.state.frames[fid]

    def current(self, frame: Frame) -> State:
        # Machine.state's lookups, written out: this runs several times per transition.
        return self.machine.programs[frame.program].states[frame.state]

    # -- what expressions see --------------------------------------------------------------
    def variables(self, frame: Frame) -> Mapping[str, Any]:
        """Variables visible in ``frame``: its own, then each enclosing frame's."""
        maps: list[dict[str, Any]] = []
        current: Frame | None = frame
        while current is not None:
            maps.append(current.variables)
            current = self.state.frames.get(current.parent) if current.parent else None
        return ChainMap(*maps) if len(maps) > 1 else maps[0]

    def context_object(self, frame: Frame, extra: Mapping[str, Any] | None = None) -> Any:
        """``$$``: Execution, State, StateMachine (plus Task / Map entries where they apply)."""
        if WHOLE_CONTEXT in frame.context_extra:
            given = {k: v for k, v in frame.context_extra.items() if k != WHOLE_CONTEXT}
            return {**frame.context_extra[WHOLE_CONTEXT], **given, **(extra or {})}
        state: dict[str, Any] = {"EnteredTime": iso_time(frame.entered_at), "Name": frame.state}
        if self.current(frame).type in RETRYABLE_TYPES:
            state["RetryCount"] = frame.retry_count
        context: dict[str, Any] = {
            "Execution": self.state.execution,
            "State": state,
            "StateMachine": self.state.state_machine,
        }
        context.update(frame.context_extra)
        if extra:
            context.update(extra)
        return context

    def scope(self, frame: Frame, value: Any, extra: Mapping[str, Any] | None = None) -> Scope:
        return Scope(
            input=value,
            context=self.context_object(frame, extra),
            variables=self.variables(frame),
            now=self.now,
            entropy=stable_seed(self.state.seed, self.state.next_id),
        )


@lru_cache(maxsize=256)
def _details_slot(key: str) -> int:
    return sum(key > name for name in ("id", "previousEventId", "timestamp", "type"))


@lru_cache(maxsize=256)
def details_key(event_type: str) -> str:
    """The history field holding an event's details: every ``*StateEntered`` event uses
    ``stateEnteredEventDetails`` (likewise Exited); the rest are named after their type."""
    for suffix in ("StateEntered", "StateExited"):
        if event_type.endswith(suffix):
            return "s" + suffix[1:] + "EventDetails"
    return event_type[0].lower() + event_type[1:] + "EventDetails"


def event_payload(key: str, value: Any) -> dict[str, Any]:
    """``{key: <json text>, keyDetails: {truncated: false}}`` as history details carry it
    (a large value's text is rendered once for all the events that carry it)."""
    return {key: text_of(value), f"{key}Details": dict(DETAILS_UNTRUNCATED)}
