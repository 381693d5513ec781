"""TestState's machine: the one state under test, cut out of its definition.

The state keeps its own fields; every state it can move to (Next, a Choice's targets, a
Catch's Next) becomes a stub Succeed state, so the interpreter runs exactly one state and
the stub it enters names ``nextState``. A zero-second Wait runs first: it gives the caller
a pause, before the tested state is entered, to install the request's ``variables`` and
``context``. A mocked Parallel or Map becomes a Task answered by the mock, which is what
AWS does (the branches or iterations are not run, their result is the mock).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sagaway.api.errors import ApiError

# AWS reports the tested state as $$.State.Name "StateName" (unless a context is given).
STATE_NAME = "StateName"
INIT = "SagawayTestStateInit"
MOCK_RESOURCE = "arn:aws:states:::sagaway:testState.mock"
# What a mocked Parallel or Map keeps: the fields that shape its input, result and output.
_KEPT = frozenset(
    {
        "Comment",
        "QueryLanguage",
        "InputPath",
        "OutputPath",
        "ResultPath",
        "ResultSelector",
        "Output",
        "Assign",
        "Retry",
        "Catch",
        "Next",
        "End",
    }
)


@dataclass(frozen=True, slots=True)
class TestedState:
    name: str  # its name in the machine built here
    body: Mapping[str, Any]  # its definition, as given
    query_language: str
    targets: tuple[str, ...]  # the states it can move to


def find_state(definition: Mapping[str, Any], state_name: str | None) -> TestedState:
    """The state under test: the definition itself, or ``state_name`` anywhere in it."""
    language = str(definition.get("QueryLanguage", "JSONPath"))
    if state_name is None:
        if "Type" not in definition:
            raise ApiError("InvalidDefinition", "Invalid State: missing 'Type' field")
        return _tested(STATE_NAME, definition, language)
    body = _search(definition, state_name)
    if body is None:
        raise ApiError("ValidationException", "State not found in definition")
    return _tested(STATE_NAME, body, language)


def _tested(name: str, body: Mapping[str, Any], language: str) -> TestedState:
    language = str(body.get("QueryLanguage", language))
    targets = [str(body["Next"])] if "Next" in body else []
    targets += [str(rule["Next"]) for rule in body.get("Choices") or [] if "Next" in rule]
    targets += [str(body["Default"])] if "Default" in body else []
    targets += [str(catcher["Next"]) for catcher in body.get("Catch") or [] if "Next" in catcher]
    return TestedState(name, body, language, tuple(dict.fromkeys(targets)))


def _search(program: Mapping[str, Any], name: str) -> Mapping[str, Any] | None:
    states = program.get("States")
    if not isinstance(states, Mapping):
        return None
    if isinstance(states.get(name), Mapping):
        found: Mapping[str, Any] = states[name]
        return found
    for body in states.values():
        for child in _programs(body):
            hit = _search(child, name)
            if hit is not None:
                return hit
    return None


def _programs(body: Any) -> list[Mapping[str, Any]]:
    if not isinstance(body, Mapping):
        return []
    children = [b for b in body.get("Branches") or [] if isinstance(b, Mapping)]
    for key in ("ItemProcessor", "Iterator"):
        if isinstance(body.get(key), Mapping):
            children.append(body[key])
    return children


def build_definition(tested: TestedState, mocked: bool, retried: int = 0) -> dict[str, Any]:
    """The machine that runs ``tested`` once (see the module docstring); ``retried`` is
    ``retrierRetryCount``: the retries already made, as if the state had been retried."""
    body = dict(tested.body)
    if retried and isinstance(body.get("Retry"), list):
        body["Retry"] = [_after_retries(r, retried) for r in body["Retry"]]
    if mocked and body.get("Type") in ("Parallel", "Map"):
        body = _as_task(body)
    body.pop("QueryLanguage", None)
    states: dict[str, Any] = {
        INIT: {"Type": "Wait", "Seconds": 0, "Next": tested.name},
        tested.name: body,
    }
    for target in tested.targets:
        states.setdefault(target, {"Type": "Succeed"})
    return {"QueryLanguage": tested.query_language, "StartAt": INIT, "States": states}


def _as_task(body: Mapping[str, Any]) -> dict[str, Any]:
    task = {key: value for key, value in body.items() if key in _KEPT}
    if body.get("Type") == "Parallel":  # a Map's Parameters select items, not its input
        task.update({k: body[k] for k in ("Parameters", "Arguments") if k in body})
    task.update({"Type": "Task", "Resource": MOCK_RESOURCE})
    return task


def _after_retries(retrier: Mapping[str, Any], retried: int) -> dict[str, Any]:
    """A retrier as it stands after ``retried`` attempts: fewer attempts left, and the
    interval its backoff has reached (capped by MaxDelaySeconds)."""
    interval = retrier.get("IntervalSeconds", 1) * retrier.get("BackoffRate", 2.0) ** retried
    if "MaxDelaySeconds" in retrier:
        interval = min(interval, retrier["MaxDelaySeconds"])
    left = max(0, retrier.get("MaxAttempts", 3) - retried)
    return {**retrier, "MaxAttempts": left, "IntervalSeconds": max(1, int(interval))}
