"""Every pure and Lambda-backed execution case of the AWS-recorded corpus, run through the
interpreter on a virtual clock, must end as AWS ended it; the recorded history types must
match event for event in at least 95% of the cases that have them.

The corpus is read from outside the repository (``$SAGAWAY_CONFORMANCE_DIR`` or
``../shared/conformance``); under ``CI=true`` a missing corpus fails instead of skipping.
"""

from __future__ import annotations

import os
from functools import cache
from types import ModuleType
from typing import Any

import pytest

from sagaway.conformance.corpus import default_dir, iter_cases, load_compare
from sagaway.conformance.report import excluded
from sagaway.conformance.runner import CaseResult, run_case, runnable

CORPUS = default_dir()
HISTORY_MATCH_TARGET = 0.95


def _cases() -> list[dict[str, Any]]:
    if not (CORPUS / "index.json").is_file():
        return []
    return [c for c in iter_cases(CORPUS, "execution") if runnable(c)]


CASES = _cases()


@cache
def _compare() -> ModuleType:
    return load_compare(CORPUS)


@cache
def _result(case_id: str) -> CaseResult:
    case = next(c for c in CASES if c["id"] == case_id)
    return run_case(case, _compare())


def test_corpus_is_present() -> None:
    if CASES:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"conformance corpus missing at {CORPUS}")
    pytest.skip(f"conformance corpus not found at {CORPUS} (set SAGAWAY_CONFORMANCE_DIR)")


@pytest.mark.parametrize("case_id", [c["id"] for c in CASES])
def test_execution_case(case_id: str) -> None:
    reason = excluded(case_id)
    if reason is not None:
        pytest.skip(reason)
    result = _result(case_id)
    assert result.passed, "\n".join(result.diffs)


def test_history_types_match_rate() -> None:
    if not CASES:
        pytest.skip("no corpus")
    results = [_result(c["id"]) for c in CASES if c.get("history_types")]
    matched = sum(r.history_matched for r in results)
    assert matched / len(results) >= HISTORY_MATCH_TARGET, (
        f"{matched}/{len(results)} histories match; mismatches: "
        + ", ".join(r.id for r in results if not r.history_matched)
    )
