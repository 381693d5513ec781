"""Retry and Catch: the error-handling fields of Task, Parallel and Map states."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sagaway.asl.diagnostics import child, item
from sagaway.asl.validate_context import Context, is_int, is_number, must_be
from sagaway.asl.validate_exprs import check_path_fields, check_payload
from sagaway.asl.validate_fields import JSONATA, JSONPATH, check_allowed, required

_RETRIER_FIELDS = frozenset(
    {
        "ErrorEquals",
        "IntervalSeconds",
        "MaxAttempts",
        "BackoffRate",
        "MaxDelaySeconds",
        "JitterStrategy",
        "Comment",
    }
)
_CATCHER_FIELDS = frozenset({"ErrorEquals", "Next", "ResultPath", "Comment", "Assign", "Output"})
_STATES_ALL = "States.ALL"


def check_retry(ctx: Context, retry: Any, location: str) -> None:
    if not isinstance(retry, list):
        ctx.report(must_be("Retry", "an array"), location)
        return
    for index, retrier in enumerate(retry):
        where = item(location, index)
        if not isinstance(retrier, dict):
            ctx.report(must_be("Retry", "an array of objects"), where)
            continue
        ctx.extend(check_allowed(retrier, _RETRIER_FIELDS, where))
        ctx.extend(required(retrier, ("ErrorEquals",), where))
        _check_error_equals(ctx, retrier, where, last=index == len(retry) - 1)
        _check_retrier_numbers(ctx, retrier, where)


def _check_retrier_numbers(ctx: Context, retrier: dict[str, Any], location: str) -> None:
    rules: tuple[tuple[str, Callable[[Any], bool], str], ...] = (
        ("IntervalSeconds", lambda v: is_int(v) and v >= 1, "a positive integer"),
        ("MaxAttempts", lambda v: is_int(v) and v >= 0, "a non-negative integer"),
        (
            "BackoffRate",
            lambda v: is_number(v) and v >= 1.0,
            "a number greater than or equal to 1.0",
        ),
        ("MaxDelaySeconds", lambda v: is_int(v) and v >= 1, "a positive integer"),
        ("JitterStrategy", lambda v: v in ("FULL", "NONE"), "one of [FULL, NONE]"),
    )
    for name, valid, expectation in rules:
        if name in retrier and not valid(retrier[name]):
            ctx.report(must_be(name, expectation), child(location, name))


def _check_error_equals(ctx: Context, handler: dict[str, Any], location: str, last: bool) -> None:
    errors = handler.get("ErrorEquals")
    if "ErrorEquals" not in handler:
        return
    where = child(location, "ErrorEquals")
    if not isinstance(errors, list) or not errors or not all(isinstance(e, str) for e in errors):
        ctx.report(must_be("ErrorEquals", "a non-empty array of strings"), where)
    elif _STATES_ALL in errors and (len(errors) > 1 or not last):
        # ASL spec: States.ALL must appear alone, in the last retrier or catcher.
        ctx.report(f"{_STATES_ALL} must appear alone in the last ErrorEquals", where)


def check_catch(ctx: Context, catch: Any, location: str, language: str) -> None:
    if not isinstance(catch, list):
        ctx.report(must_be("Catch", "an array"), location)
        return
    for index, catcher in enumerate(catch):
        where = item(location, index)
        if not isinstance(catcher, dict):
            ctx.report(must_be("Catch", "an array of objects"), where)
            continue
        ctx.extend(check_allowed(catcher, _CATCHER_FIELDS, where))
        ctx.extend(required(catcher, ("ErrorEquals", "Next"), where))
        _check_error_equals(ctx, catcher, where, last=index == len(catch) - 1)
        _check_catcher_language(ctx, catcher, where, language)


def _check_catcher_language(
    ctx: Context, catcher: dict[str, Any], location: str, language: str
) -> None:
    for name, only in (("ResultPath", JSONPATH), ("Output", JSONATA)):
        if name in catcher and language != only:
            ctx.report(
                f"The QueryLanguage is set to '{language}', but field '{name}' is only "
                f"supported for the '{only}' QueryLanguage",
                location,
            )
    if language == JSONPATH:
        ctx.extend(
            check_path_fields({k: v for k, v in catcher.items() if k == "ResultPath"}, location)
        )
        if "Assign" in catcher:
            ctx.extend(check_payload(catcher["Assign"], child(location, "Assign")))
