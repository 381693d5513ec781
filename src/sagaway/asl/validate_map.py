"""Map and Parallel: the states that hold nested state machines.

A nested machine (a Parallel branch, a Map's ItemProcessor or legacy Iterator) has StartAt and
States like the top level but may not declare a QueryLanguage: its states inherit the machine's.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from typing import Any

from sagaway.asl.diagnostics import INVALID_LABEL_NAME, child, item
from sagaway.asl.validate_context import Context, exclusive, is_int, is_number, must_be
from sagaway.asl.validate_exprs import check_path_fields, check_payload
from sagaway.asl.validate_fields import JSONPATH, check_allowed, required
from sagaway.asl.validate_states import is_expression

_BRANCH_FIELDS = frozenset({"Comment", "StartAt", "States"})
_PROCESSOR_FIELDS = _BRANCH_FIELDS | {"ProcessorConfig"}
_CONFIG_FIELDS = frozenset({"Mode", "ExecutionType"})
_MODES = ("INLINE", "DISTRIBUTED")
_EXECUTION_TYPES = ("STANDARD", "EXPRESS")
_LABEL_LIMIT = 40
# AWS docs (Map state, Label): no whitespace, brackets, wildcards, special or control characters.
_LABEL_FORBIDDEN = frozenset(' <>{}[]?*"#%\\^|~`$&,;:/')


def check_nested_machine(
    ctx: Context, machine: Any, location: str, allowed: frozenset[str]
) -> None:
    if not isinstance(machine, dict):
        ctx.report("Value must be a valid JSON object", location)
        return
    ctx.extend(check_allowed(machine, allowed, location))
    ctx.extend(required(machine, ("States", "StartAt"), location))
    ctx.check_scope(ctx, machine, location)


def check_parallel(ctx: Context, state: dict[str, Any], location: str, language: str) -> None:
    branches = state.get("Branches")
    where = child(location, "Branches")
    if "Branches" not in state:
        return
    if not isinstance(branches, list) or not branches:
        ctx.report(must_be("Branches", "a non-empty array"), where)
        return
    for index, branch in enumerate(branches):
        check_nested_machine(ctx, branch, item(where, index), _BRANCH_FIELDS)


def check_map(ctx: Context, state: dict[str, Any], location: str, language: str) -> None:
    for names in (
        ("ItemProcessor", "Iterator"),
        ("ItemSelector", "Parameters"),
        ("MaxConcurrency", "MaxConcurrencyPath"),
        ("ToleratedFailureCount", "ToleratedFailureCountPath"),
        ("ToleratedFailurePercentage", "ToleratedFailurePercentagePath"),
    ):
        clash = exclusive(state, names)
        if clash:
            ctx.report(clash, location)
    if "ItemProcessor" not in state and "Iterator" not in state:
        ctx.extend(required(state, ("ItemProcessor",), location))
    for name in ("ItemProcessor", "Iterator"):
        if name in state:
            _check_processor(ctx, state[name], child(location, name))
    _check_map_numbers(ctx, state, location, language)
    if "Label" in state:
        _check_label(ctx, state["Label"], child(location, "Label"))
    if language == JSONPATH:
        _check_map_payloads(ctx, state, location)


def _check_processor(ctx: Context, processor: Any, location: str) -> None:
    check_nested_machine(ctx, processor, location, _PROCESSOR_FIELDS)
    config = processor.get("ProcessorConfig") if isinstance(processor, dict) else None
    if config is None:
        return
    where = child(location, "ProcessorConfig")
    if not isinstance(config, dict):
        ctx.report(must_be("ProcessorConfig", "an object"), where)
        return
    ctx.extend(check_allowed(config, _CONFIG_FIELDS, where))
    for name, values in (("Mode", _MODES), ("ExecutionType", _EXECUTION_TYPES)):
        if name in config and config[name] not in values:
            ctx.report(must_be(name, f"one of [{', '.join(values)}]"), child(where, name))


def _check_map_numbers(ctx: Context, state: dict[str, Any], location: str, language: str) -> None:
    rules: tuple[tuple[str, Callable[[Any], bool], str], ...] = (
        ("MaxConcurrency", lambda v: is_int(v) and v >= 0, "a non-negative integer"),
        ("ToleratedFailureCount", lambda v: is_int(v) and v >= 0, "a non-negative integer"),
        (
            "ToleratedFailurePercentage",
            lambda v: is_number(v) and 0 <= v <= 100,
            "between 0 and 100",
        ),
    )
    for name, valid, expectation in rules:
        value = state.get(name)
        if name in state and not is_expression(value, language) and not valid(value):
            ctx.report(must_be(name, expectation), child(location, name))


def _check_map_payloads(ctx: Context, state: dict[str, Any], location: str) -> None:
    """Paths and ``.$`` templates inside the Map's reader, writer and batcher blocks."""
    for block, template in (("ItemReader", "Parameters"), ("ResultWriter", "Parameters")):
        value = state.get(block)
        if isinstance(value, dict) and template in value:
            ctx.extend(check_payload(value[template], child(child(location, block), template)))
    batcher = state.get("ItemBatcher")
    if isinstance(batcher, dict):
        where = child(location, "ItemBatcher")
        ctx.extend(check_path_fields(batcher, where))
        if "BatchInput" in batcher:
            ctx.extend(check_payload(batcher["BatchInput"], child(where, "BatchInput")))


def label_problem(label: Any) -> str | None:
    """AWS's sentence for an invalid Map Label, or None when it is fine."""
    if not isinstance(label, str):
        return must_be("Label", "a string")
    if not label:
        return "Label cannot be empty"
    if len(label) > _LABEL_LIMIT:
        return f"Label cannot exceed {_LABEL_LIMIT} characters"
    for char in label:
        if char in _LABEL_FORBIDDEN or char.isspace() or unicodedata.category(char) == "Cc":
            return f"Label contains invalid character: {char!r}"
    return None


def _check_label(ctx: Context, label: Any, location: str) -> None:
    problem = label_problem(label)
    if problem:
        ctx.report(problem, location, code=INVALID_LABEL_NAME)
