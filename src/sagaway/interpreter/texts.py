"""The JSON text of a large value, rendered once however many events carry it.

A state's output is the next state's input and the input its Task is sent: one value, shown
in TaskStateExited, TaskStateEntered and TaskScheduled (and ExecutionSucceeded, and the
execution's output). Rendering a 64 KiB document at each of them was most of the cost of a
saga with large payloads, so the text of a large value is kept beside it, by identity, and
handed out again while the value lives.

It is a cache, not execution state: every text is exactly what rendering the value gives
(a test compares whole histories with and without it). It is sound because JSON values
are never changed in place once built: the interpreter
builds new ones (``set_result_path`` copies the path it writes), a handler is given a copy
of its input (``resources.lambda_functions.prepare``), and a handler's result is re-parsed
before it is used. The memo holds each value it knows, so an id cannot be reused by another
object while its entry exists, and ``hit[0] is value`` makes that certain.

Small texts are not kept: a lookup would save less than it costs to remember them. The memo
is bounded by the size of the texts it holds, least recently used first out; a value that
fell out is simply rendered again (the same text, at the old cost).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any, Final

from sagaway.expressions.jsontext import dumps

# Texts at least this long are kept (the payload store's inline limit: the texts that are
# also hashed and compressed once per execution, see store/payloads.py).
MIN_KEPT: Final = 4096
# Characters of text kept at most: 100 sagas in flight with 64 KiB payloads keep ~13 MiB.
BUDGET: Final = 48 * 1024 * 1024
# The values whose text may be kept (the interpreter's JSON values are of these exact types).
_KEEPABLE: Final = frozenset({dict, list, str})


class TextMemo:
    """Texts of large JSON values, by the identity of the value."""

    def __init__(self, budget: int = BUDGET, min_kept: int = MIN_KEPT) -> None:
        self.budget = budget
        self.min_kept = min_kept
        # Least recently used first (OrderedDict: a plain dict emptied from the front slows
        # down finding its first key until it is resized).
        self._entries: OrderedDict[int, tuple[Any, str]] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()
        self.rendered = 0  # large texts rendered (a hit renders nothing): what tests count

    def text(self, value: Any) -> str:
        """``dumps(value)``, rendered only if this value's text is not kept already."""
        if type(value) not in _KEEPABLE:
            return dumps(value)  # numbers, booleans, null: nothing to gain
        hit = self._entries.get(id(value))
        if hit is not None and hit[0] is value:
            return hit[1]  # (kept in use by ``known``, which each step's snapshot asks)
        text = dumps(value)
        if len(text) >= self.min_kept:
            self.rendered += 1
            self._keep(value, text)
        return text

    def known(self, value: Any) -> str | None:
        """The text kept for ``value``, if any (nothing is rendered)."""
        if type(value) not in _KEEPABLE:
            return None
        hit = self._entries.get(id(value))
        if hit is None or hit[0] is not value:
            return None
        # Least recently used out first: an execution's input is in every snapshot.
        try:  # noqa: SIM105 (contextlib.suppress costs more than the rest of this call)
            self._entries.move_to_end(id(value))
        except KeyError:  # dropped meanwhile by another thread's _keep
            pass
        return hit[1]

    def _keep(self, value: Any, text: str) -> None:
        with self._lock:
            old = self._entries.pop(id(value), None)
            if old is not None:
                self._size -= len(old[1])
            self._entries[id(value)] = (value, text)
            self._size += len(text)
            while self._size > self.budget and self._entries:
                self._size -= len(self._entries.popitem(last=False)[1][1])

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._size = 0


# One memo for the process: values are shared between the executions that run in it only
# when they are the same object, and then their text is the same too.
MEMO = TextMemo()


# The compact JSON text of a value (AWS style), rendered once while it is large and alive
# (see the module docstring). A bound method: this runs for every payload of every event.
text_of = MEMO.text
