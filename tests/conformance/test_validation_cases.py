"""The conformance corpus's validation cases, and no false positive on its valid machines.

The corpus (AWS-recorded answers) lives outside the repository: ``$SAGAWAY_CONFORMANCE_DIR``
or ``<repo>/../shared/conformance``. Without it the tests skip, except under ``CI=true`` where
a missing corpus is a failure.
"""

from __future__ import annotations

import json
import os
from functools import cache
from types import ModuleType
from typing import Any

import pytest

from sagaway.asl.validate import validate_definition
from sagaway.conformance.corpus import default_dir, load_compare
from sagaway.conformance.validation import api_level_reason, run_validation_case

CORPUS = default_dir()


def _index() -> list[dict[str, Any]]:
    index = CORPUS / "index.json"
    if not index.is_file():
        return []
    rows: list[dict[str, Any]] = json.loads(index.read_text(encoding="utf-8"))
    return rows


INDEX = _index()
VALIDATION_IDS = [row["id"] for row in INDEX if row["kind"] == "validation"]
EXECUTION_IDS = [row["id"] for row in INDEX if row["kind"] == "execution"]


def test_corpus_is_present() -> None:
    if INDEX:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"conformance corpus missing at {CORPUS}")
    pytest.skip(f"conformance corpus not found at {CORPUS} (set SAGAWAY_CONFORMANCE_DIR)")


@cache
def _compare() -> ModuleType:
    return load_compare(CORPUS)


def _case(case_id: str) -> dict[str, Any]:
    case: dict[str, Any] = json.loads((CORPUS / "cases" / f"{case_id}.json").read_text("utf-8"))
    return case


@pytest.mark.parametrize("case_id", VALIDATION_IDS)
def test_validation_case(case_id: str) -> None:
    case = _case(case_id)
    reason = api_level_reason(case)
    if reason:
        pytest.skip(reason)
    result = run_validation_case(case, _compare())
    assert result.passed, result.diffs


@pytest.mark.parametrize("case_id", EXECUTION_IDS)
def test_execution_definition_has_no_diagnostics(case_id: str) -> None:
    case = _case(case_id)
    machine_type = case.get("state_machine_type") or "STANDARD"
    assert validate_definition(case["definition_str"], machine_type=machine_type) == []


def _api_level_ids_with_definition() -> list[str]:
    cases = [_case(case_id) for case_id in VALIDATION_IDS]
    return [c["id"] for c in cases if api_level_reason(c) and c.get("definition_str") is not None]


@pytest.mark.parametrize("case_id", _api_level_ids_with_definition())
def test_api_level_case_definitions_are_valid(case_id: str) -> None:
    """The API-level cases were refused for other reasons: their definitions are fine."""
    case = _case(case_id)
    machine_type = case["request"].get("type", "STANDARD")
    assert validate_definition(case["definition_str"], machine_type=machine_type) == []
