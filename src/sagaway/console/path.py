"""The path an execution took, read from its history: per state, how it ended.

The history is the truth (house rule 4), so the console draws from it alone: a state that
was entered and exited succeeded, unless its last attempt failed and a Catch moved on
(``caught``); a state entered and never exited is ``running`` while the execution runs and
``failed`` once it has ended. More than one scheduled attempt means it was ``retried``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

SUCCEEDED, FAILED, CAUGHT, RUNNING = "succeeded", "failed", "caught", "running"
_ATTEMPT_SUFFIXES = ("Scheduled",)
_FAILURE_SUFFIXES = ("Failed", "TimedOut", "Aborted")


@dataclass(slots=True)
class StateRun:
    """What happened in one state, over every time it was entered."""

    name: str
    entered: int = 0
    exited: int = 0
    open: int = 0  # entries not yet exited (nor closed by a redrive)
    attempts: int = 0
    failures: int = 0
    last_failed: bool = False
    input: str | None = None
    output: str | None = None
    error: str | None = None
    cause: str | None = None
    entered_at: float | None = None
    exited_at: float | None = None
    events: list[int] = field(default_factory=list)

    def outcome(self, execution_status: str) -> str:
        if self.open > 0:
            return RUNNING if execution_status == "RUNNING" else FAILED
        return CAUGHT if self.last_failed else SUCCEEDED

    @property
    def retried(self) -> int:
        return max(self.attempts - 1, 0)

    def details(self, execution_status: str) -> dict[str, Any]:
        duration = None
        if self.entered_at is not None and self.exited_at is not None:
            duration = round(self.exited_at - self.entered_at, 3)
        return {
            "name": self.name, "outcome": self.outcome(execution_status),
            "entered": self.entered, "attempts": self.attempts, "retried": self.retried,
            "input": self.input, "output": self.output, "error": self.error,
            "cause": self.cause, "enteredAt": self.entered_at, "exitedAt": self.exited_at,
            "seconds": duration, "events": self.events,
        }  # fmt: skip


@dataclass(slots=True)
class Path:
    runs: dict[str, StateRun] = field(default_factory=dict)
    transitions: set[tuple[str, str]] = field(default_factory=set)


def timestamp(event: dict[str, Any]) -> float | None:
    value = event.get("timestamp")
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value).timestamp()
        except ValueError:
            return None
    return None


def details_of(event: dict[str, Any]) -> dict[str, Any]:
    for key, value in event.items():
        if key.endswith("EventDetails") and isinstance(value, dict):
            return value
    return {}


def trace(history: list[dict[str, Any]]) -> Path:
    """Fold the history into one :class:`StateRun` per state name, and the transitions taken
    (a state exited, then the next one entered)."""
    path = Path()
    open_states: list[str] = []
    last_left: str | None = None
    for event in history:
        kind, info = str(event.get("type", "")), details_of(event)
        if kind.endswith("StateEntered"):
            run = path.runs.setdefault(info.get("name", "?"), StateRun(info.get("name", "?")))
            run.entered += 1
            run.open += 1
            run.input, run.entered_at, run.last_failed = info.get("input"), timestamp(event), False
            if last_left is not None:
                path.transitions.add((last_left, run.name))
            last_left = None
            open_states.append(run.name)
        elif kind.endswith("StateExited"):
            run = path.runs.setdefault(info.get("name", "?"), StateRun(info.get("name", "?")))
            run.exited += 1
            run.open = max(run.open - 1, 0)
            run.output, run.exited_at = info.get("output"), timestamp(event)
            if run.name in open_states:
                del open_states[len(open_states) - 1 - open_states[::-1].index(run.name)]
            last_left = run.name
        elif kind == "ExecutionRedriven":  # the states that failed start again, afresh
            for name in open_states:
                path.runs[name].open = 0
            open_states.clear()
        elif open_states and not kind.startswith("Execution"):
            _attempt_event(path.runs[open_states[-1]], kind, info)
        if open_states:
            path.runs[open_states[-1]].events.append(int(event.get("id", 0)))
    return path


def _attempt_event(run: StateRun, kind: str, info: dict[str, Any]) -> None:
    if kind.endswith(_ATTEMPT_SUFFIXES):
        run.attempts += 1
    elif kind.endswith(_FAILURE_SUFFIXES):
        run.failures += 1
        run.last_failed = True
        run.error, run.cause = info.get("error"), info.get("cause")
    elif kind.endswith("Succeeded"):
        run.last_failed = False
