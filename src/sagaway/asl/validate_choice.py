"""Choice rules: JSONPath comparison rules (ASL spec "Choice Rules") and JSONata Conditions."""

from __future__ import annotations

from typing import Any

from sagaway.asl.diagnostics import child, item
from sagaway.asl.validate_context import Context, is_number, must_be
from sagaway.asl.validate_exprs import check_payload, is_valid_path
from sagaway.asl.validate_fields import JSONATA, check_allowed, required

_ORDERINGS = ("Equals", "LessThan", "GreaterThan", "LessThanEquals", "GreaterThanEquals")


def _comparators() -> dict[str, str]:
    """Operator name -> the kind of value it compares against."""
    found: dict[str, str] = {}
    for kind in ("String", "Numeric", "Timestamp"):
        for order in _ORDERINGS:
            found[f"{kind}{order}"] = kind
            found[f"{kind}{order}Path"] = "Path"
    found["StringMatches"] = "String"
    found["BooleanEquals"] = "Boolean"
    found["BooleanEqualsPath"] = "Path"
    for test in ("IsNull", "IsPresent", "IsNumeric", "IsString", "IsBoolean", "IsTimestamp"):
        found[test] = "Boolean"
    return found


COMPARATORS = _comparators()
_BOOLEAN_OPERATORS = ("And", "Or", "Not")
_RULE_FIELDS = frozenset(COMPARATORS) | {"Variable", "Comment", *_BOOLEAN_OPERATORS}
_TOP_RULE_FIELDS = _RULE_FIELDS | {"Next", "Assign"}
_JSONATA_RULE_FIELDS = frozenset({"Condition", "Next", "Comment", "Assign", "Output"})


def check_choice(ctx: Context, state: dict[str, Any], location: str, language: str) -> None:
    choices = state.get("Choices")
    where = child(location, "Choices")
    if "Choices" not in state:
        return
    if not isinstance(choices, list) or not choices:
        ctx.report(must_be("Choices", "a non-empty array"), where)
        return
    if "Default" in state and not isinstance(state["Default"], str):
        ctx.report(must_be("Default", "a string"), child(location, "Default"))
    for index, rule in enumerate(choices):
        rule_location = item(where, index)
        if not isinstance(rule, dict):
            ctx.report(must_be("Choices", "an array of objects"), rule_location)
        elif language == JSONATA:
            ctx.extend(check_allowed(rule, _JSONATA_RULE_FIELDS, rule_location))
            ctx.extend(required(rule, ("Condition", "Next"), rule_location))
        else:
            ctx.extend(check_allowed(rule, _TOP_RULE_FIELDS, rule_location))
            ctx.extend(required(rule, ("Next",), rule_location))
            _check_rule(ctx, rule, rule_location)
            if "Assign" in rule:
                ctx.extend(check_payload(rule["Assign"], child(rule_location, "Assign")))


def _check_rule(ctx: Context, rule: dict[str, Any], location: str) -> None:
    """One JSONPath rule: exactly one operator, with a Variable unless it is And/Or/Not."""
    operators = [name for name in rule if name in COMPARATORS or name in _BOOLEAN_OPERATORS]
    if len(operators) != 1:
        ctx.report("A Choice Rule must have exactly one comparison operator", location)
        return
    operator = operators[0]
    if operator in _BOOLEAN_OPERATORS:
        _check_nested(ctx, operator, rule[operator], child(location, operator))
        return
    variable = rule.get("Variable")
    if "Variable" not in rule:
        ctx.extend(required(rule, ("Variable",), location))
    elif not isinstance(variable, str) or not is_valid_path(variable):
        ctx.report(must_be("Variable", "a valid JSONPath"), child(location, "Variable"))
    if not _value_fits(COMPARATORS[operator], rule[operator]):
        ctx.report(
            must_be(operator, _EXPECTATIONS[COMPARATORS[operator]]), child(location, operator)
        )


_EXPECTATIONS = {
    "String": "a string",
    "Timestamp": "a string",
    "Numeric": "a number",
    "Boolean": "a boolean",
    "Path": "a valid JSONPath",
}


def _value_fits(kind: str, value: Any) -> bool:
    if kind in ("String", "Timestamp"):
        return isinstance(value, str)
    if kind == "Numeric":
        return is_number(value)
    if kind == "Boolean":
        return isinstance(value, bool)
    return isinstance(value, str) and is_valid_path(value)


def _check_nested(ctx: Context, operator: str, value: Any, location: str) -> None:
    """And/Or hold a non-empty array of rules; Not holds one rule. Nested rules have no Next."""
    rules = [value] if operator == "Not" else value
    if operator == "Not" and not isinstance(value, dict):
        ctx.report(must_be("Not", "an object"), location)
        return
    if not isinstance(rules, list) or not rules:
        ctx.report(must_be(operator, "a non-empty array"), location)
        return
    for index, rule in enumerate(rules):
        where = location if operator == "Not" else item(location, index)
        if not isinstance(rule, dict):
            ctx.report(must_be(operator, "an array of objects"), where)
            continue
        ctx.extend(check_allowed(rule, _RULE_FIELDS, where))
        _check_rule(ctx, rule, where)
