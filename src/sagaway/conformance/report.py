"""Summaries of a conformance run: per feature, exclusions, history-match rate."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from sagaway.conformance.runner import CaseResult

# Cases whose recorded answer Sagaway cannot reproduce by design, with the reason.
EXCLUSIONS: dict[str, str] = {
    "test_sfn_api__TestSnfApi__test_stop_execution-89cb6408": (
        "the recording stopped the execution with the StopExecution API while it waited; "
        "an in-memory run has no API call to replay (covered by the API layer)"
    ),
    "express_test_express_async__TestExpressAsync__test_query_runtime_memory-4abe3a45": (
        "the recording's context names a STANDARD execution ARN while AWS ran an EXPRESS "
        "one whose generated ARN parts the masking maps to two tokens for one string"
    ),
    "error_handling_test_task_service_lambda__TestTaskServiceLambda__"
    "test_no_such_function_catch-150c7dc4": (
        "AWS's cause quotes Lambda's request id inside a sentence, masked as <request_id> "
        "in the recording; any real request id differs from the mask"
    ),
}


def excluded(case_id: str) -> str | None:
    return EXCLUSIONS.get(case_id)


def by_feature(results: Iterable[CaseResult]) -> dict[str, tuple[int, int]]:
    """feature family (``state``, ``jsonata``, ``intrinsic``...) -> (passed, total)."""
    table: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for result in results:
        families = {feature.split(":", 1)[0] for feature in result.features} or {"other"}
        for family in families:
            table[family][1] += 1
            table[family][0] += int(result.passed)
    return {family: (counts[0], counts[1]) for family, counts in sorted(table.items())}


def by_category(results: Iterable[CaseResult]) -> dict[str, tuple[int, int]]:
    """``pure`` / ``lambda`` / ``validation`` -> (passed, total)."""
    table: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for result in results:
        table[result.category][1] += 1
        table[result.category][0] += int(result.passed)
    return {name: (counts[0], counts[1]) for name, counts in sorted(table.items())}
