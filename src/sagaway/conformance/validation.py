"""Validation cases of the corpus: what CreateStateMachine / ValidateStateMachineDefinition
answered for a definition, compared with what Sagaway's validator answers."""

from __future__ import annotations

from types import ModuleType
from typing import Any

from sagaway.asl.validate import format_invalid_definition, validate_definition
from sagaway.conformance.runner import CaseResult

CREATE_PREFIX = (
    "An error occurred (InvalidDefinition) when calling the CreateStateMachine operation: "
)


def api_level_reason(case: dict[str, Any]) -> str | None:
    """Why a case belongs to the API layer rather than to definition validation, if it does
    (duplicate names, logging configuration, versions: refusals unrelated to the text)."""
    expected = case["expected"]
    code = expected.get("Error", {}).get("Code") or expected.get("exception_typename")
    if "diagnostics" in expected or code == "InvalidDefinition":
        return None
    return f"API-level error {code}: belongs to the Step Functions API layer, not validation"


def validate_response(case: dict[str, Any]) -> dict[str, Any]:
    """ValidateStateMachineDefinition's answer for the case's definition."""
    machine_type = case["request"].get("type", "STANDARD")
    diagnostics = validate_definition(case["definition_str"], machine_type=machine_type)
    return {
        "diagnostics": [{k: v for k, v in vars(d).items() if v is not None} for d in diagnostics],
        "result": "FAIL" if diagnostics else "OK",
        "truncated": False,
    }


def create_response(case: dict[str, Any]) -> dict[str, Any]:
    """CreateStateMachine's InvalidDefinition error for the case's definition."""
    text = case["definition_str"]
    diagnostics = validate_definition(text, machine_type=case["request"].get("type", "STANDARD"))
    if not diagnostics:
        return {"accepted": True}
    message = format_invalid_definition(diagnostics, text)
    if "exception_value" in case["expected"]:
        return {
            "exception_typename": "InvalidDefinition",
            "exception_value": CREATE_PREFIX + message,
        }
    return {"Error": {"Code": "InvalidDefinition", "Message": message}, "message": message}


def run_validation_case(case: dict[str, Any], compare: ModuleType) -> CaseResult:
    expected = case["expected"]
    actual = validate_response(case) if "diagnostics" in expected else create_response(case)
    normalised = compare.snapshot_normalize({"r": actual}, case["normalize"])["r"]
    passed = normalised == expected
    diffs = [] if passed else [f"expected {expected} got {normalised}"]
    return CaseResult(case["id"], passed, diffs, features=list(case.get("features") or []))
