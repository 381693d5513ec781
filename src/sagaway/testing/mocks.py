"""Mocked Task results, per state name, in the spirit of Step Functions Local.

A state's mock is a list of responses used call by call: the first call of the state
gets the first response, the second call the second, and so on; once the list is used up
its last response repeats (so one response answers every Map iteration). Each response is
``{"Return": value}`` or ``{"Throw": {"Error": ..., "Cause": ...}}``, with an optional
``"Delay": seconds`` of virtual time the call takes (enough of it and TimeoutSeconds or
HeartbeatSeconds fire, as they would in AWS).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sagaway.asl.model import Machine
from sagaway.expressions.jsontext import dumps, loads
from sagaway.testing.errors import MockConfigError

_RESPONSE_FIELDS = frozenset({"Return", "Throw", "Delay"})
_THROW_FIELDS = frozenset({"Error", "Cause"})


@dataclass(frozen=True, slots=True)
class MockResponse:
    """One mocked answer of a Task: its result (Return), or an error (Throw)."""

    result: Any = None
    error: str | None = None
    cause: str | None = None
    delay: float = 0.0

    @property
    def throws(self) -> bool:
        return self.error is not None

    @classmethod
    def returning(cls, value: Any, *, delay: float = 0.0) -> MockResponse:
        return parse_response({"Return": value, "Delay": delay}, "MockResponse.returning")

    @classmethod
    def throwing(cls, error: str, cause: str | None = None, *, delay: float = 0.0) -> MockResponse:
        throw = {"Error": error} if cause is None else {"Error": error, "Cause": cause}
        return parse_response({"Throw": throw, "Delay": delay}, "MockResponse.throwing")

    def fresh_result(self) -> Any:
        # A copy per call: the interpreter may keep the value, and a later call of the same
        # response must not see what an earlier one became.
        return loads(dumps(self.result))


MockedResponses = tuple[MockResponse, ...]


def parse_response(raw: Any, where: str) -> MockResponse:
    """A response from its JSON form; ``where`` names it in error messages."""
    if isinstance(raw, MockResponse):
        return raw
    if not isinstance(raw, Mapping):
        raise MockConfigError(f"{where}: a mocked response is an object, not {raw!r}")
    extra = sorted(set(raw) - _RESPONSE_FIELDS)
    if extra:
        raise MockConfigError(
            f"{where}: unknown field(s) {', '.join(extra)}; a response has Return or Throw "
            "and an optional Delay"
        )
    if ("Return" in raw) == ("Throw" in raw):
        raise MockConfigError(f"{where}: a response has exactly one of Return and Throw")
    delay = _delay(raw.get("Delay", 0.0), where)
    if "Return" in raw:
        return MockResponse(result=_json(raw["Return"], where), delay=delay)
    error, cause = _throw(raw["Throw"], where)
    return MockResponse(error=error, cause=cause, delay=delay)


def parse_mocks(mocks: Mapping[str, Any]) -> dict[str, MockedResponses]:
    """``{state name: response or list of responses}`` -> parsed responses per state."""
    if not isinstance(mocks, Mapping):
        raise MockConfigError(f"mocks must map state names to responses, not {mocks!r}")
    parsed: dict[str, MockedResponses] = {}
    for name, spec in mocks.items():
        where = f"mock for state {name!r}"
        if isinstance(spec, MockResponse | Mapping):
            parsed[name] = (parse_response(spec, where),)
        elif isinstance(spec, Sequence) and not isinstance(spec, str | bytes):
            if not spec:
                raise MockConfigError(f"{where}: the list of responses is empty")
            parsed[name] = tuple(
                parse_response(item, f"{where}, response {i}") for i, item in enumerate(spec)
            )
        else:
            raise MockConfigError(f"{where}: expected a response or a list of them, not {spec!r}")
    return parsed


def pick(responses: MockedResponses, call_index: int) -> MockResponse:
    """The response for the ``call_index``-th call (0-based); the last one repeats."""
    return responses[min(call_index, len(responses) - 1)]


def state_types(machine: Machine) -> dict[str, str]:
    """Every state of the machine, nested branches and Map processors included -> its Type."""
    return {
        name: state.type
        for program in machine.programs.values()
        for name, state in program.states.items()
    }


def check_mocked_states(machine: Machine, mocks: Mapping[str, MockedResponses]) -> None:
    """Fail on a mock for a state the definition lacks, or for a state that is not a Task."""
    types = state_types(machine)
    tasks = ", ".join(sorted(n for n, t in types.items() if t == "Task")) or "(none)"
    for name in mocks:
        kind = types.get(name)
        if kind is None:
            raise MockConfigError(
                f"mocks name state {name!r}, which the definition does not have; "
                f"Task states you can mock: {tasks}"
            )
        if kind != "Task":
            raise MockConfigError(
                f"mocks name state {name!r}, a {kind} state; only Task states can be "
                f"mocked: {tasks}"
            )


def _delay(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise MockConfigError(f"{where}: Delay must be a number of seconds, not {value!r}")
    if not math.isfinite(value) or value < 0:
        raise MockConfigError(f"{where}: Delay must be a finite number >= 0, not {value!r}")
    return float(value)


def _json(value: Any, where: str) -> Any:
    try:
        return loads(dumps(value))
    except (TypeError, ValueError) as exc:
        raise MockConfigError(f"{where}: Return must be JSON-serialisable: {exc}") from exc


def _throw(raw: Any, where: str) -> tuple[str, str | None]:
    if not isinstance(raw, Mapping):
        raise MockConfigError(f"{where}: Throw is an object with Error and Cause, not {raw!r}")
    extra = sorted(set(raw) - _THROW_FIELDS)
    if extra:
        raise MockConfigError(f"{where}: unknown field(s) in Throw: {', '.join(extra)}")
    error, cause = raw.get("Error"), raw.get("Cause")
    if not isinstance(error, str) or not error:
        raise MockConfigError(f"{where}: Throw.Error must be a non-empty string, not {error!r}")
    if cause is not None and not isinstance(cause, str):
        raise MockConfigError(f"{where}: Throw.Cause must be a string, not {cause!r}")
    return error, cause
