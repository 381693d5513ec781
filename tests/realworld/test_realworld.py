"""Real-world definitions, deployed to AWS by their authors, pass ``sagaway validate``.

The definitions and templates under ``files/`` come from public repositories; the manifest
names each one's repository, commit, path and licence. A definition written for a template
validates after its ``${Placeholder}`` values are substituted: by the template's
DefinitionSubstitutions when the template names the file, else by the manifest's map.
The few files marked ``invalid`` are ones AWS never accepted as written (the reason is noted).
Definitions that call nothing outside (no Task state) also run to an end on {} input.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

import pytest

from sagaway.asl.parser import parse_definition
from sagaway.asl.validate import validate_definition
from sagaway.engine.virtual import run_virtual
from sagaway.interpreter.messages import Event, InvokeTask
from sagaway.templates import TemplateMachine, read_definition, read_template

HERE = Path(__file__).parent
MANIFEST = json.loads((HERE / "manifest.json").read_text())
ENTRIES: list[dict[str, Any]] = MANIFEST["definitions"]


@functools.cache
def _machines(template: str) -> list[TemplateMachine]:
    return read_template(HERE / template)


def _definition(entry: dict[str, Any]) -> tuple[str, str]:
    """(deployed definition text, machine type) of one manifest entry."""
    if "machine" in entry:
        found = next(m for m in _machines(entry["template"]) if m.logical_id == entry["machine"])
        return found.definition, found.machine_type
    return read_definition(HERE / entry["file"], entry.get("substitutions", {})), "STANDARD"


def _name(entry: dict[str, Any]) -> str:
    return entry.get("file") or f"{entry['template']}#{entry['machine']}"


def test_the_suite_holds_at_least_a_hundred_definitions_with_their_licences() -> None:
    assert len([e for e in ENTRIES if "invalid" not in e]) >= 100
    for entry in ENTRIES:
        assert entry["repo"] in MANIFEST["sources"] and entry["licence"] and entry["path"]
    for source in MANIFEST["sources"].values():
        assert (HERE / source["licence_file"]).is_file()


@pytest.mark.parametrize("entry", ENTRIES, ids=_name)
def test_a_deployed_definition_is_valid(entry: dict[str, Any]) -> None:
    text, machine_type = _definition(entry)
    diagnostics = validate_definition(text, machine_type=machine_type)
    if "invalid" in entry:
        assert diagnostics, entry["invalid"]
    else:
        assert diagnostics == []


def _has_tasks(node: Any) -> bool:
    if isinstance(node, dict):
        if node.get("Type") == "Task" or "ItemReader" in node:
            return True
        return any(_has_tasks(value) for value in node.values())
    if isinstance(node, list):
        return any(_has_tasks(item) for item in node)
    return False


def _self_contained() -> list[dict[str, Any]]:
    found = []
    for entry in ENTRIES:
        if "invalid" in entry:
            continue
        text, _ = _definition(entry)
        if not _has_tasks(json.loads(text)):
            found.append(entry)
    return found


SELF_CONTAINED = _self_contained()


def _no_calls(command: InvokeTask) -> tuple[Event, float]:
    raise AssertionError(f"a definition without Task states invoked {command}")


@pytest.mark.parametrize("entry", SELF_CONTAINED, ids=_name)
def test_a_definition_without_tasks_runs_to_an_end(entry: dict[str, Any]) -> None:
    text, machine_type = _definition(entry)
    outcome = run_virtual(
        parse_definition(text), {}, _no_calls,
        start_time=1_700_000_000.0,
        execution_arn="arn:aws:states:us-east-1:123456789012:execution:realworld:run",
        state_machine_arn="arn:aws:states:us-east-1:123456789012:stateMachine:realworld",
        express=machine_type == "EXPRESS",
    )  # fmt: skip
    assert outcome.status in ("SUCCEEDED", "FAILED")
    if outcome.status == "FAILED":
        own = _fail_errors(json.loads(text))
        assert (outcome.error or "").startswith("States.") or outcome.error in own, (
            outcome.error, outcome.cause
        )  # fmt: skip


def _fail_errors(node: Any) -> set[str | None]:
    """The errors the definition's own Fail states raise (None when one names none)."""
    found: set[str | None] = set()
    if isinstance(node, dict):
        if node.get("Type") == "Fail":
            found.add(node.get("Error"))
        for value in node.values():
            found |= _fail_errors(value)
    elif isinstance(node, list):
        for item in node:
            found |= _fail_errors(item)
    return found
