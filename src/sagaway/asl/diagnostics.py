"""Diagnostics: what ValidateStateMachineDefinition returns, and CreateStateMachine's wording.

A :class:`Diagnostic` has exactly the shape of the API's ``diagnostics`` elements. Locations
are the JSON Pointer-like strings AWS prints: ``/`` for the root, ``/States/Name/Field`` for a
field, and ``Field[i]`` for an element of an array (AWS writes ``/States/C/Choices[0]/Next``,
not ``/States/C/Choices/0/Next``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

SCHEMA_VALIDATION_FAILED = "SCHEMA_VALIDATION_FAILED"
INVALID_JSON_DESCRIPTION = "INVALID_JSON_DESCRIPTION"
MISSING_TRANSITION_TARGET = "MISSING_TRANSITION_TARGET"
MISSING_END_STATE = "MISSING_END_STATE"
DUPLICATE_STATE_NAME = "DUPLICATE_STATE_NAME"
INVALID_STATE_NAME = "INVALID_STATE_NAME"
INVALID_LABEL_NAME = "INVALID_LABEL_NAME"
INVALID_RESOURCE = "INVALID_RESOURCE"
INVALID_JSONATA_EXPRESSION = "INVALID_JSONATA_EXPRESSION"

ROOT = "/"


@dataclass(frozen=True)
class Diagnostic:
    """One problem found in a definition, as ValidateStateMachineDefinition reports it."""

    code: str
    message: str
    location: str | None
    severity: str = "ERROR"


def child(location: str, name: str) -> str:
    """The location of field ``name`` inside the object at ``location``."""
    return f"/{name}" if location == ROOT else f"{location}/{name}"


def item(location: str, index: int) -> str:
    """The location of element ``index`` of the array at ``location`` (AWS's ``[i]`` form)."""
    return f"{location}[{index}]"


def format_invalid_definition(
    diagnostics: Iterable[Diagnostic], definition: str | None = None
) -> str:
    """CreateStateMachine's ``InvalidDefinition`` message for these diagnostics.

    AWS joins every diagnostic as ``CODE: message at location`` inside one quoted string,
    separated by ``", "`` (a diagnostic without location prints ``at null``). Map Label
    problems are the exception: AWS checks them in a separate pass that reports a Python-style
    ``ValueError`` together with the definition text, so the first one wins and nothing else is
    reported.
    """
    found = [d for d in diagnostics if d.severity == "ERROR"]
    labels = [d for d in found if d.code == INVALID_LABEL_NAME]
    if labels:
        return f"Error=ValueError Args={[labels[0].message]!r} in definition '{definition}'."
    joined = ", ".join(f"{d.code}: {d.message} at {d.location or 'null'}" for d in found)
    return f"Invalid State Machine Definition: '{joined}'"
