"""Step Functions Local's mock configuration file (``MockConfigFile.json``).

The file has two parts. ``MockedResponses`` names responses; each is an object whose keys
are call numbers, ``"0"`` or a range ``"1-2"``, counted from 0 and covering every number up
to the last one, and whose values hold a ``Return`` or a ``Throw``. ``StateMachines`` maps a
state machine name to its ``TestCases``, and each test case maps Task state names to the
name of a mocked response. A test picks a test case::

    config = load_mock_config("MockConfigFile.json")
    run_saga(definition, input, mocks=config.test_case("LambdaSQSIntegration", "RetryPath"))

A response may also carry ``Delay`` (virtual seconds), a Sagaway addition.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sagaway.expressions.jsontext import loads
from sagaway.testing.errors import MockConfigError
from sagaway.testing.mocks import MockedResponses, MockResponse, parse_response

_CALLS = re.compile(r"(\d+)(?:-(\d+))?")
_TOP_FIELDS = frozenset({"StateMachines", "MockedResponses"})


@dataclass(frozen=True, slots=True)
class MockConfig:
    """A parsed mock configuration: named responses and the test cases that use them."""

    mocked_responses: Mapping[str, MockedResponses]
    # state machine name -> test case name -> Task state name -> mocked response name
    state_machines: Mapping[str, Mapping[str, Mapping[str, str]]]

    def test_cases(self, state_machine: str) -> list[str]:
        return list(self._cases(state_machine))

    def test_case(self, state_machine: str, test_case: str) -> dict[str, MockedResponses]:
        """The mocks of one test case, ready for ``run_saga(..., mocks=...)``."""
        cases = self._cases(state_machine)
        if test_case not in cases:
            known = ", ".join(cases) or "(none)"
            raise MockConfigError(
                f"state machine {state_machine!r} has no test case {test_case!r}; "
                f"its test cases: {known}"
            )
        return {state: self.mocked_responses[name] for state, name in cases[test_case].items()}

    def _cases(self, state_machine: str) -> Mapping[str, Mapping[str, str]]:
        if state_machine not in self.state_machines:
            known = ", ".join(self.state_machines) or "(none)"
            raise MockConfigError(
                f"the mock configuration has no state machine {state_machine!r}; it has: {known}"
            )
        return self.state_machines[state_machine]


def load_mock_config(source: str | Path | Mapping[str, Any]) -> MockConfig:
    """Read and check a mock configuration from a file path or its decoded JSON."""
    raw = source if isinstance(source, Mapping) else _read(Path(source))
    if not isinstance(raw, Mapping):
        raise MockConfigError("a mock configuration is a JSON object")
    extra = sorted(set(raw) - _TOP_FIELDS)
    if extra:
        raise MockConfigError(
            f"unknown top-level field(s) {', '.join(extra)}; expected StateMachines and "
            "MockedResponses"
        )
    responses_raw = _object(raw.get("MockedResponses", {}), "MockedResponses")
    responses = {
        str(name): _response_sequence(body, f"MockedResponses.{name}")
        for name, body in responses_raw.items()
    }
    machines = _object(raw.get("StateMachines", {}), "StateMachines")
    state_machines = {
        str(name): _test_cases(body, f"StateMachines.{name}", responses)
        for name, body in machines.items()
    }
    return MockConfig(responses, state_machines)


def _read(path: Path) -> Any:
    try:
        return loads(path.read_bytes())
    except OSError as exc:
        raise MockConfigError(f"cannot read mock configuration {path}: {exc}") from exc
    except ValueError as exc:
        raise MockConfigError(f"mock configuration {path} is not valid JSON: {exc}") from exc


def _object(value: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise MockConfigError(f"{where} must be an object, not {value!r}")
    return value


def _response_sequence(body: Any, where: str) -> MockedResponses:
    """``{"0": ..., "1-2": ..., "3": ...}`` -> one response per call, in call order."""
    spans: list[tuple[int, int, MockResponse]] = []
    for key, raw in _object(body, where).items():
        match = _CALLS.fullmatch(str(key))
        if match is None:
            raise MockConfigError(
                f'{where}: key {key!r} is not a call number ("0") or range ("1-2")'
            )
        first = int(match.group(1))
        last = int(match.group(2)) if match.group(2) is not None else first
        if last < first:
            raise MockConfigError(f"{where}: range {key!r} ends before it starts")
        spans.append((first, last, parse_response(raw, f"{where}.{key}")))
    if not spans:
        raise MockConfigError(f'{where}: a mocked response needs at least one call ("0")')
    return _contiguous(sorted(spans, key=lambda span: span[0]), where)


def _contiguous(spans: list[tuple[int, int, MockResponse]], where: str) -> MockedResponses:
    expected = 0
    sequence: list[MockResponse] = []
    for first, last, response in spans:
        if first != expected:
            problem = "overlap" if first < expected else f"leave call {expected} without a response"
            raise MockConfigError(f"{where}: the call numbers {problem}; number them 0, 1, ...")
        sequence.extend([response] * (last - first + 1))
        expected = last + 1
    return tuple(sequence)


def _test_cases(
    body: Any, where: str, responses: Mapping[str, MockedResponses]
) -> dict[str, dict[str, str]]:
    machine = _object(body, where)
    extra = sorted(set(machine) - {"TestCases"})
    if extra:
        raise MockConfigError(f"{where}: unknown field(s) {', '.join(extra)}")
    cases: dict[str, dict[str, str]] = {}
    for case, states in _object(machine.get("TestCases", {}), f"{where}.TestCases").items():
        case_where = f"{where}.TestCases.{case}"
        cases[str(case)] = {}
        for state, name in _object(states, case_where).items():
            if not isinstance(name, str) or name not in responses:
                known = ", ".join(responses) or "(none)"
                raise MockConfigError(
                    f"{case_where}.{state}: no mocked response named {name!r}; "
                    f"MockedResponses has: {known}"
                )
            cases[str(case)][str(state)] = name
    return cases
