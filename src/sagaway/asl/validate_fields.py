"""Which fields each state type accepts, per query language (ASL spec + AWS's JSONata docs).

AWS reports three different problems for a field a state should not have: a field no state of
that type knows (``Field 'X' is not supported``), and a field that exists only in the other
query language (``The QueryLanguage is set to ...``). Required fields are reported together,
in one ``These fields are required: [...]`` sentence.
"""

from __future__ import annotations

from typing import Any

from sagaway.asl.diagnostics import SCHEMA_VALIDATION_FAILED, Diagnostic

JSONPATH = "JSONPath"
JSONATA = "JSONata"

# Fields a JSONata state may not use: JSONata replaces all of them by Arguments/Output/Assign.
JSONPATH_ONLY = frozenset(
    {
        "InputPath",
        "OutputPath",
        "Parameters",
        "ResultSelector",
        "ResultPath",
        "Result",
        "ItemsPath",
        "SecondsPath",
        "TimestampPath",
        "TimeoutSecondsPath",
        "HeartbeatSecondsPath",
        "ErrorPath",
        "CausePath",
        "MaxConcurrencyPath",
        "ToleratedFailureCountPath",
        "ToleratedFailurePercentagePath",
    }
)
JSONATA_ONLY = frozenset({"Output", "Arguments", "Items"})

_COMMON = frozenset({"Type", "Comment", "QueryLanguage", "Assign"})
_FLOW = frozenset({"Next", "End"})
_IO = frozenset({"InputPath", "OutputPath", "Output"})
_RESULT = frozenset({"ResultPath", "Parameters", "ResultSelector"})
_ERRORS = frozenset({"Retry", "Catch"})

STATE_FIELDS: dict[str, frozenset[str]] = {
    "Pass": _COMMON | _FLOW | _IO | {"ResultPath", "Parameters", "Result"},
    "Task": _COMMON
    | _FLOW
    | _IO
    | _RESULT
    | _ERRORS
    | {
        "Resource",
        "Arguments",
        "TimeoutSeconds",
        "TimeoutSecondsPath",
        "HeartbeatSeconds",
        "HeartbeatSecondsPath",
        "Credentials",
    },
    "Choice": _COMMON | _IO | {"Choices", "Default"},
    "Wait": _COMMON | _FLOW | _IO | {"Seconds", "SecondsPath", "Timestamp", "TimestampPath"},
    "Succeed": (_COMMON - {"Assign"}) | _IO,
    "Fail": (_COMMON - {"Assign"}) | {"Error", "ErrorPath", "Cause", "CausePath"},
    "Parallel": _COMMON | _FLOW | _IO | _RESULT | _ERRORS | {"Branches", "Arguments"},
    "Map": _COMMON
    | _FLOW
    | _IO
    | _RESULT
    | _ERRORS
    | {
        "ItemsPath",
        "Items",
        "ItemSelector",
        "ItemProcessor",
        "Iterator",
        "ItemReader",
        "ItemBatcher",
        "ResultWriter",
        "MaxConcurrency",
        "MaxConcurrencyPath",
        "ToleratedFailureCount",
        "ToleratedFailureCountPath",
        "ToleratedFailurePercentage",
        "ToleratedFailurePercentagePath",
        "Label",
    },
}

REQUIRED_FIELDS: dict[str, tuple[str, ...]] = {
    "Task": ("Resource",),
    "Choice": ("Choices",),
    "Parallel": ("Branches",),
}


def required(obj: dict[str, Any], names: tuple[str, ...], location: str) -> list[Diagnostic]:
    """``These fields are required: [...]`` for the ``names`` missing from ``obj``."""
    missing = [name for name in names if name not in obj]
    if not missing:
        return []
    message = f"These fields are required: [{', '.join(missing)}]"
    return [Diagnostic(SCHEMA_VALIDATION_FAILED, message, location)]


def unsupported(name: str, location: str) -> Diagnostic:
    return Diagnostic(SCHEMA_VALIDATION_FAILED, f"Field '{name}' is not supported", location)


def check_allowed(obj: dict[str, Any], allowed: frozenset[str], location: str) -> list[Diagnostic]:
    """``Field 'X' is not supported`` for every field of ``obj`` outside ``allowed``."""
    return [unsupported(name, location) for name in obj if name not in allowed]


def check_state_fields(
    state: dict[str, Any], state_type: str, language: str, location: str
) -> list[Diagnostic]:
    """Unknown fields, fields of the other query language, and missing required fields."""
    found: list[Diagnostic] = []
    allowed = STATE_FIELDS[state_type]
    other_only = JSONPATH_ONLY if language == JSONATA else JSONATA_ONLY
    for name in state:
        if name in other_only and name in allowed:
            only = JSONPATH if language == JSONATA else JSONATA
            message = (
                f"The QueryLanguage is set to '{language}', but field '{name}' is only "
                f"supported for the '{only}' QueryLanguage"
            )
            found.append(Diagnostic(SCHEMA_VALIDATION_FAILED, message, location))
        elif name not in allowed:
            found.append(unsupported(name, location))
    found.extend(required(state, REQUIRED_FIELDS.get(state_type, ()), location))
    return found
