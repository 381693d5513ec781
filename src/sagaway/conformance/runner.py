"""Run execution cases of the corpus through the interpreter and compare with AWS.

A case passes when status, output, error and cause match the recording after the corpus's
own masking (``compare.py``). The history matches when the event types, after the same
masking, equal the recorded ``history_types`` event for event.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from sagaway.asl.parser import parse_definition
from sagaway.conformance.corpus import iter_cases, load_compare
from sagaway.conformance.standins import DURATIONS, standin
from sagaway.engine.virtual import Outcome, run_virtual
from sagaway.expressions.jsontext import dumps, loads
from sagaway.interpreter.messages import Event, InvokeTask
from sagaway.resources.lambda_functions import FunctionRegistry, invoke

# What the in-memory run can stand in for: pure cases and Lambda-backed ones.
SUPPORTED_NEEDS = frozenset({"lambda:invoke", "lambda:function-arn"})

# Values the recording masked out of AWS's answer (Lambda's HTTP metadata): they match
# whatever Sagaway reports in those places.
MASKED_LAMBDA_METADATA = ("date", "X-Amzn-Trace-Id", "x-amzn-RequestId", "RequestId")


@dataclass(slots=True)
class CaseResult:
    id: str
    passed: bool
    diffs: list[str] = field(default_factory=list)
    history_checked: bool = False
    history_matched: bool = False
    features: list[str] = field(default_factory=list)
    category: str = "pure"  # "pure", "lambda" or "validation"


def runnable(case: dict[str, Any]) -> bool:
    needs = set(case.get("needs") or [])
    return case.get("kind") == "execution" and needs <= SUPPORTED_NEEDS


def run_cases(
    directory: Path,
    select: Callable[[dict[str, Any]], bool] = runnable,
    progress: Callable[[CaseResult], None] | None = None,
) -> list[CaseResult]:
    """Run the selected execution cases, then the definition-level validation cases."""
    from sagaway.conformance.validation import api_level_reason, run_validation_case

    compare = load_compare(directory)
    results: list[CaseResult] = []
    for case in iter_cases(directory):
        if case["kind"] == "execution" and select(case):
            result = run_case(case, compare)
        elif case["kind"] == "validation" and api_level_reason(case) is None:
            result = run_validation_case(case, compare)
            result.category = "validation"
        else:
            continue
        results.append(result)
        if progress is not None:
            progress(result)
    return results


def run_case(case: dict[str, Any], compare: ModuleType) -> CaseResult:
    category = "pure" if not case.get("needs") else "lambda"
    result = CaseResult(
        case["id"], False, features=list(case.get("features") or []), category=category
    )
    try:
        outcome = execute_case(case)
    except Exception as exc:
        result.diffs = [f"crashed: {type(exc).__name__}: {exc}"]
        return result
    output = (
        None if outcome.output is None and outcome.status != "SUCCEEDED" else dumps(outcome.output)
    )
    events = [dict(e) for e in outcome.history]
    ended = Ended(outcome.status, output, outcome.error, outcome.cause, events)
    return judge(case, compare, ended, result)


@dataclass(frozen=True, slots=True)
class Ended:
    """How an execution ended, as GetExecutionHistory and DescribeExecution tell it."""

    status: str
    output: str | None
    error: str | None
    cause: str | None
    events: list[dict[str, Any]]


def judge(
    case: dict[str, Any], compare: ModuleType, ended: Ended, result: CaseResult
) -> CaseResult:
    """Fill ``result`` in: does ``ended`` match the recording (and its history, event for
    event)? Shared by the in-memory run and the runs through the API server."""
    tokens = list(case.get("wildcard_tokens") or []) + list(MASKED_LAMBDA_METADATA)
    try:
        ok, diffs = compare.compare_expected(
            {**case, "wildcard_tokens": tokens},
            ended.status,
            ended.output,
            ended.error,
            ended.cause,
            ended.events,
        )
    except ValueError as exc:  # the masking rules can break on a result unlike AWS's
        ok, diffs = (
            False,
            [f"not comparable ({exc}): {ended.status} {ended.error} {ended.cause}"],
        )
    result.passed, result.diffs = ok, list(diffs)
    if not ok:
        return result
    expected_types = case.get("history_types")
    if expected_types:
        _, normalised = compare.normalize_execution_result(
            case, ended.status, ended.output, ended.error, ended.cause, ended.events
        )
        result.history_checked = True
        actual = [e.get("type") for e in normalised]
        result.history_matched = actual == list(expected_types)
        if not result.history_matched:
            result.diffs.append(f"history: expected {expected_types} got {actual}")
    return result


def execute_case(case: dict[str, Any]) -> Outcome:
    machine = parse_definition(case["definition_str"])
    context = case.get("context") or {}
    registry = FunctionRegistry()
    durations: dict[str, float] = {}
    for name, spec in (case.get("lambdas") or {}).items():
        behaviour = spec["behaviour"] if isinstance(spec, dict) else spec
        registry.register(name, standin(behaviour))
        durations[name] = DURATIONS.get(behaviour, 0.0)

    def invoker(command: InvokeTask) -> tuple[Event, float]:
        event = invoke(registry, command)
        target = (
            command.resource
            if "function:" in command.resource
            else str(
                (command.payload or {}).get("FunctionName", "")
                if isinstance(command.payload, dict)
                else ""
            )
        )
        name = registry.resolve(target)[0]
        return event, durations.get(name, 0.0)

    return run_virtual(
        machine,
        loads(case["input"]) if case.get("input") is not None else {},
        invoker,
        start_time=time.time(),
        execution_arn=context.get(
            "execution_arn", "arn:aws:states:us-east-1:111111111111:execution:sm:exec"
        ),
        state_machine_arn=context.get(
            "state_machine_arn", "arn:aws:states:us-east-1:111111111111:stateMachine:sm"
        ),
        role_arn=context.get("role_arn", "arn:aws:iam::111111111111:role/sagaway"),
        execution_name=context.get("execution_name"),
        express=case.get("state_machine_type") == "EXPRESS",
    )


def summarise(results: Iterable[CaseResult]) -> dict[str, int]:
    results = list(results)
    return {
        "passed": sum(r.passed for r in results),
        "failed": sum(not r.passed for r in results),
        "history_checked": sum(r.history_checked for r in results),
        "history_matched": sum(r.history_matched for r in results),
    }
