"""EventBridge event patterns: exact values, prefix, suffix, equals-ignore-case,
anything-but, numeric ranges and exists, nested to any depth.

A pattern is an object whose leaves are arrays of matchers. A field matches when its value
(or, when the value is an array, any element of it) matches any matcher of the leaf; every
field of the pattern must match. A missing field matches only ``{"exists": false}``.
"""

from __future__ import annotations

from typing import Any

_NUMERIC_OPS = {"<", "<=", "=", ">", ">="}
_MISSING = object()


class PatternError(ValueError):
    """The pattern is not one EventBridge would accept."""


def matches(pattern: dict[str, Any], event: Any) -> bool:
    if not isinstance(event, dict):
        return False
    for key, sub in pattern.items():
        value = event.get(key, _MISSING)
        if isinstance(sub, dict):
            if value is _MISSING or not matches(sub, value):
                return False
        elif not _leaf(sub, value):
            return False
    return True


def _leaf(matchers: list[Any], value: Any) -> bool:
    if value is _MISSING:
        return any(isinstance(m, dict) and m.get("exists") is False for m in matchers)
    values = value if isinstance(value, list) else [value]
    return any(_one(m, v) for m in matchers for v in values)


def _one(matcher: Any, value: Any) -> bool:
    if not isinstance(matcher, dict):
        return _same(matcher, value)
    ((op, arg),) = matcher.items()
    if op == "exists":
        return bool(arg)  # the field is present (missing fields are handled above)
    if op == "prefix":
        return _text_op(arg, value, str.startswith)
    if op == "suffix":
        return _text_op(arg, value, str.endswith)
    if op == "equals-ignore-case":
        return isinstance(value, str) and value.casefold() == str(arg).casefold()
    if op == "numeric":
        return _numeric(arg, value)
    if op == "anything-but":
        return _anything_but(arg, value)
    raise PatternError(f"unsupported matcher {op!r}")


def _same(expected: Any, value: Any) -> bool:
    # EventBridge compares numbers by value (1 and 1.0 match) but never a number to a string.
    if isinstance(expected, bool) or isinstance(value, bool):
        return expected is value
    return bool(expected == value and type(expected) in (type(value), int, float))


def _text_op(arg: Any, value: Any, op: Any) -> bool:
    if not isinstance(value, str):
        return False
    if isinstance(arg, dict):  # {"prefix": {"equals-ignore-case": "..."}}
        return bool(op(value.casefold(), str(arg["equals-ignore-case"]).casefold()))
    return bool(op(value, arg))


def _numeric(arg: list[Any], value: Any) -> bool:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    for op, bound in zip(arg[::2], arg[1::2], strict=True):
        ok = {
            "<": value < bound, "<=": value <= bound, "=": value == bound,
            ">": value > bound, ">=": value >= bound,
        }[op]  # fmt: skip
        if not ok:
            return False
    return True


def _anything_but(arg: Any, value: Any) -> bool:
    if isinstance(arg, dict):
        ((op, inner),) = arg.items()
        if op == "prefix":
            return not (isinstance(value, str) and value.startswith(inner))
        if op == "suffix":
            return not (isinstance(value, str) and value.endswith(inner))
        raise PatternError(f"unsupported anything-but matcher {op!r}")
    excluded = arg if isinstance(arg, list) else [arg]
    return not any(_same(e, value) for e in excluded)


def validate_pattern(pattern: Any, where: str = "") -> None:
    """Raise :class:`PatternError` for what EventBridge's PutRule would refuse."""
    if not isinstance(pattern, dict) or not pattern:
        raise PatternError(f"{where or 'pattern'}: must be a non-empty object")
    for key, sub in pattern.items():
        path = f"{where}.{key}" if where else key
        if isinstance(sub, dict):
            validate_pattern(sub, path)
        elif not isinstance(sub, list) or not sub:
            raise PatternError(f"{path}: match values must be in a non-empty array")
        else:
            for matcher in sub:
                _validate_matcher(matcher, path)


def _validate_matcher(matcher: Any, path: str) -> None:
    if not isinstance(matcher, dict):
        return
    if len(matcher) != 1:
        raise PatternError(f"{path}: a matcher object has exactly one key")
    ((op, arg),) = matcher.items()
    if op == "numeric":
        if not isinstance(arg, list) or len(arg) % 2 or not arg:
            raise PatternError(f"{path}: numeric takes [op, value, ...]")
        for o, v in zip(arg[::2], arg[1::2], strict=True):
            if o not in _NUMERIC_OPS or isinstance(v, bool) or not isinstance(v, int | float):
                raise PatternError(f"{path}: bad numeric comparison {o!r} {v!r}")
    elif op == "exists":
        if not isinstance(arg, bool):
            raise PatternError(f"{path}: exists takes true or false")
    elif op not in ("prefix", "suffix", "equals-ignore-case", "anything-but"):
        raise PatternError(f"{path}: unsupported matcher {op!r}")
