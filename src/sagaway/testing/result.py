"""What a saga test run produced, with helpers for the questions tests ask of it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sagaway.expressions.jsontext import loads
from sagaway.testing.invoker import TaskCall

SUCCEEDED = "SUCCEEDED"


@dataclass(slots=True)
class SagaResult:
    """The end of one execution: status, output or error and cause, and how it got there.

    ``history`` holds the GetExecutionHistory events (``timestamp`` in virtual epoch
    seconds); ``calls`` every Task call in order, mocked or not.
    """

    status: str
    output: Any = None
    error: str | None = None
    cause: str | None = None
    start_time: float = 0.0
    history: list[dict[str, Any]] = field(default_factory=list, repr=False)
    calls: list[TaskCall] = field(default_factory=list, repr=False)
    task_states: frozenset[str] = field(default_factory=frozenset, repr=False)

    @property
    def succeeded(self) -> bool:
        return self.status == SUCCEEDED

    @property
    def elapsed(self) -> float:
        """Virtual seconds from the start to the last event (Waits and retries included)."""
        if not self.history:
            return 0.0
        return float(self.history[-1]["timestamp"]) - self.start_time

    def events(self, event_type: str | None = None) -> list[dict[str, Any]]:
        """The history events, or only those of ``event_type`` (e.g. ``"TaskStateEntered"``)."""
        if event_type is None:
            return list(self.history)
        return [e for e in self.history if e["type"] == event_type]

    def states_entered(self) -> list[str]:
        """The names of the states entered, in order (a state entered twice appears twice)."""
        return [
            e["stateEnteredEventDetails"]["name"]
            for e in self.history
            if e["type"].endswith("StateEntered")
        ]

    def state_outputs(self, name: str) -> list[Any]:
        """The output of each exit of state ``name``, in order (decoded JSON)."""
        return [
            loads(e["stateExitedEventDetails"]["output"])
            for e in self.history
            if e["type"].endswith("StateExited") and e["stateExitedEventDetails"]["name"] == name
        ]

    def state_output(self, name: str) -> Any:
        """The output of the last exit of state ``name``; LookupError when it never exited."""
        outputs = self.state_outputs(name)
        if not outputs:
            exited = sorted(
                {
                    e["stateExitedEventDetails"]["name"]
                    for e in self.history
                    if e["type"].endswith("StateExited")
                }
            )
            raise LookupError(
                f"state {name!r} never exited in this execution; states that did: "
                f"{', '.join(exited) or '(none)'}"
            )
        return outputs[-1]

    def task_calls(self, name: str) -> list[Any]:
        """The payloads Task state ``name`` was called with, one per call (retries too)."""
        if name not in self.task_states:
            raise LookupError(
                f"{name!r} is not a Task state of this definition; Task states: "
                f"{', '.join(sorted(self.task_states)) or '(none)'}"
            )
        return [call.payload for call in self.calls if call.state_name == name]
