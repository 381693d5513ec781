"""AWS Step Functions' service quotas as Sagaway enforces them (see docs/limits.md).

The defaults are AWS's values. Each can be changed by configuration (``sagaway serve``
options, ``Engine(limits=...)``) and ``None`` lifts it; a quota is never enforced by
truncating anything: exceeding one fails the state or the execution with AWS's error.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

DATA_LIMIT_EXCEEDED = "States.DataLimitExceeded"
HISTORY_LIMIT_ERROR = "States.Runtime"


@dataclass(frozen=True, slots=True)
class Limits:
    # The UTF-8 size of every state's input (after Parameters / Arguments) and output.
    payload_bytes: int | None = 256 * 1024
    # Events in one STANDARD execution's history; the last one is ExecutionFailed when
    # the execution would need more (ExecutionSucceeded may still take the last slot).
    history_events: int | None = 25_000
    # States entered by one interpreter step before the engine lets other work run. Not an
    # AWS quota: it keeps a loop of Pass and Choice states from holding the event loop.
    transitions_per_step: int | None = None
    # How long an EXPRESS execution may run: it then ends TIMED_OUT (States.Timeout), as
    # if its TimeoutSeconds were this (a shorter TimeoutSeconds still applies).
    express_seconds: float | None = 300.0
    # The longest any execution of this run may take; the engine sets it to express_seconds
    # for EXPRESS executions (STANDARD's one year is not enforced).
    execution_seconds: float | None = None
    # Iterations an inline Map runs at a time, whatever its MaxConcurrency (0 included).
    inline_map_concurrency: int | None = 40
    # Tags on one resource (TagResource / CreateStateMachine tags).
    tags_per_resource: int | None = 50
    # Whether steps build history events. EXPRESS executions keep none: their event ids
    # are still counted, but no event is built only to be thrown away.
    history: bool = True


AWS = Limits()


def history_limit_cause(limit: int) -> str:
    return f"The execution reached the maximum number of history events ({limit})."


def history_was_full(error: str | None, cause: str | None) -> bool:
    """Whether an execution ended because its history was full: AWS cannot redrive those
    (redriveStatusReason "Execution history event limit exceeded.")."""
    prefix = "The execution reached the maximum number of history events"
    return error == HISTORY_LIMIT_ERROR and (cause or "").startswith(prefix)


HISTORY_FULL_REASON = "Execution history event limit exceeded."


def payload_cause(state_name: str, what: str) -> str:
    """AWS's wording for an oversized Task result, used for every state's input and output."""
    return (
        f"The state/task '{state_name}' {what} with a size exceeding the maximum number of "
        "bytes service limit."
    )


def json_size(value: Any) -> int:
    """The UTF-8 size of ``value``'s JSON text (``jsontext.dumps``), without decoding it.

    orjson writes exactly that text as UTF-8 bytes; what it refuses (integers beyond 64
    bits, lone surrogates) is measured on the text ``dumps`` would give instead."""
    try:
        return len(orjson.dumps(value))
    except (TypeError, orjson.JSONEncodeError):
        from sagaway.expressions.jsontext import dumps

        return len(dumps(value).encode("utf-8", "surrogatepass"))


def value_over_limit(value: Any, limit: int | None) -> bool:
    """:func:`over_limit` of ``value``'s JSON text, for a step that keeps no history (the
    text itself is then never needed)."""
    return limit is not None and object_size(value) > limit


# Strings at least this long have their encoded size remembered (see object_size).
LARGE_STRING = 1024
# The remembered strings are kept alive (their id must not be reused): at most this many
# characters of them, the oldest forgotten first.
_REMEMBERED_CHARS = 16 * 1024 * 1024
_string_sizes: dict[int, tuple[str, int]] = {}
_remembered = [0]
# A member this deeply nested may encode alone but not one level down (orjson's limit).
_DEEP_MEMBER = 250


def object_size(value: Any) -> int:
    """:func:`json_size`, exactly, for an object measured member by member: a large string
    carried from state to state (an input's payload under each ResultPath) is the same
    ``str`` object each time, and its size is encoded once instead of once per state.
    Anything else is measured whole."""
    if type(value) is not dict or not _holds_large_string(value):
        return json_size(value)  # one encoding costs less than a walk of small members
    total = 2 * len(value) + 1  # braces, a colon per member, commas between them
    try:
        for key, member in value.items():
            if type(key) is not str:
                return json_size(value)
            total += len(orjson.dumps(key)) + _member_size(member)
    except (TypeError, orjson.JSONEncodeError, _Deep):
        return json_size(value)  # measured on the text dumps() falls back to
    return total


def _holds_large_string(value: dict[Any, Any]) -> bool:
    for member in value.values():  # noqa: SIM110 - cheaper than any() of a generator
        if type(member) is str and len(member) >= LARGE_STRING:
            return True
    return False


class _Deep(Exception):
    """A member nested nearly as deep as orjson goes: measure the whole value instead."""


def _member_size(member: Any) -> int:
    if type(member) is str and len(member) >= LARGE_STRING:
        return _string_size(member)
    text = orjson.dumps(member)
    if len(text) >= 2 * _DEEP_MEMBER and text.count(b"[") + text.count(b"{") >= _DEEP_MEMBER:
        raise _Deep
    return len(text)


def _string_size(text: str) -> int:
    known = _string_sizes.get(id(text))
    if known is not None and known[0] is text:
        return known[1]
    size = len(orjson.dumps(text))  # lone surrogates raise: the caller measures whole
    while _string_sizes and _remembered[0] + len(text) > _REMEMBERED_CHARS:
        oldest, _size = _string_sizes.pop(next(iter(_string_sizes)))
        _remembered[0] -= len(oldest)
    _string_sizes[id(text)] = (text, size)
    _remembered[0] += len(text)
    return size


def over_limit(text: str, limit: int | None) -> bool:
    """Whether the JSON ``text`` is longer than ``limit`` bytes in UTF-8 (cheaply: most
    texts are decided by their length in characters, 1 to 4 bytes each)."""
    if limit is None or len(text) * 4 <= limit:
        return False
    if text.isascii():  # known without a scan: one byte per character
        return len(text) > limit
    return len(text) > limit or len(text.encode("utf-8", "surrogatepass")) > limit
