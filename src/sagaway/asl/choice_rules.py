"""Choice rules: the comparison operators of ASL and their parsed form."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sagaway.asl.model import ChoiceRule
from sagaway.expressions.exprs import jsonata_expr, payload_expr

# Operators that compare the Variable with a literal; each also has a "<op>Path" form
# whose operand is a JSONPath (StringMatches has none).
COMPARISONS = (
    "StringEquals",
    "StringLessThan",
    "StringGreaterThan",
    "StringLessThanEquals",
    "StringGreaterThanEquals",
    "StringMatches",
    "NumericEquals",
    "NumericLessThan",
    "NumericGreaterThan",
    "NumericLessThanEquals",
    "NumericGreaterThanEquals",
    "BooleanEquals",
    "TimestampEquals",
    "TimestampLessThan",
    "TimestampGreaterThan",
    "TimestampLessThanEquals",
    "TimestampGreaterThanEquals",
)
TYPE_TESTS = ("IsNull", "IsPresent", "IsNumeric", "IsString", "IsBoolean", "IsTimestamp")
OPERATORS = frozenset(
    (*COMPARISONS, *TYPE_TESTS, *(f"{op}Path" for op in COMPARISONS if op != "StringMatches"))
)


def parse_choice_rule(raw: Mapping[str, Any], jsonata: bool) -> ChoiceRule:
    """Parse one rule of ``Choices`` (or a nested rule of And/Or/Not)."""
    assign = raw.get("Assign")
    output = raw.get("Output")
    common: dict[str, Any] = {
        "next": raw.get("Next"),
        "assign": None if assign is None else _template(assign, jsonata),
        "output": None if output is None else jsonata_expr(output),
    }
    if "Condition" in raw:
        return ChoiceRule(condition=jsonata_expr(raw["Condition"]), **common)
    if "And" in raw:
        return ChoiceRule(and_=tuple(parse_choice_rule(r, jsonata) for r in raw["And"]), **common)
    if "Or" in raw:
        return ChoiceRule(or_=tuple(parse_choice_rule(r, jsonata) for r in raw["Or"]), **common)
    if "Not" in raw:
        return ChoiceRule(not_=parse_choice_rule(raw["Not"], jsonata), **common)
    operator = next(key for key in raw if key in OPERATORS)
    return ChoiceRule(
        variable=raw.get("Variable"), operator=operator, operand=raw[operator], **common
    )


def _template(raw: Any, jsonata: bool) -> Any:
    return jsonata_expr(raw) if jsonata else payload_expr(raw)
