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

Large members. Each state's output is the previous document with a small field added: a new
object whose large members (a 64 KiB string, the previous document under a new key) are the
same objects as before. Such an object is rendered around its members: the object with each
large member replaced by a sentinel string is rendered (a small text), and the members' kept
texts are spliced in where their sentinels are. JSON text is compact and context-free, so
the result is exactly ``dumps(value)``. The text's :class:`Parts` (the skeleton: the text
with those members cut out, and where each member's text goes) are kept with it, so the
payload store can keep each member once per execution and only the skeleton per document
(``store/payloads.py``). A skeleton in which a sentinel does not appear exactly once (user
data holding one) is not used: that value is rendered whole, as before. Only members of
``MIN_MEMBER`` of text or more count, even where texts are kept from a lower ``MIN_KEPT``:
a document of a few KiB renders whole in a microsecond or two, less than its skeleton.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any, Final, NamedTuple

import orjson

from sagaway.expressions.jsontext import dumps

# Texts at least this long are kept (the payload store's inline limit: the texts that are
# also stored and hashed once per execution, see store/payloads.py).
MIN_KEPT: Final = 4096
# A value is rendered around its members only where one of them has a text at least this
# long: below it orjson renders the whole value in about a microsecond, less than the
# skeleton costs, and the payload store keeps such a document as one row anyway.
MIN_MEMBER: Final = 4096
# Characters of text kept at most: 100 sagas in flight with 64 KiB payloads keep ~13 MiB.
BUDGET: Final = 48 * 1024 * 1024
# Values kept at most, whatever their size. A kept value is held alive, and a JSON object
# is several containers the garbage collector walks at every full collection: 48 MiB of
# 1 KiB texts would be ~50,000 documents, which more than quadrupled the time a saga with
# 1 KiB payloads spent in the collector. 100 sagas in flight use a few hundred at a time.
MAX_VALUES: Final = 2048
# The values whose text may be kept (the interpreter's JSON values are of these exact types).
_KEEPABLE: Final = frozenset({dict, list, str})
# Stands for a large member while the rest of its object is rendered (see the docstring).
# Any fixed text would do: a skeleton is used only where each sentinel appears exactly once.
_SENTINEL: Final = "\x00sagaway-member-"


class Parts(NamedTuple):
    """A text as its skeleton and its large members: ``members`` are ``(offset, text)``
    pairs in skeleton order, each member's text inserted at that offset of ``skeleton``
    (offsets in characters of the skeleton). Member texts have no parts of their own."""

    skeleton: str
    members: tuple[tuple[int, str], ...]

    def text(self) -> str:
        pieces: list[str] = []
        start = 0
        for offset, member in self.members:
            pieces.append(self.skeleton[start:offset])
            pieces.append(member)
            start = offset
        pieces.append(self.skeleton[start:])
        return "".join(pieces)


# A kept text: (value, text, its parts if rendered around members, whether orjson rendered
# it: only such texts are spliced into others, so that a whole is rendered by one encoder).
_Entry = tuple[Any, str, Parts | None, bool]


def _render(value: Any) -> tuple[str, bool]:
    """``dumps(value)`` and whether orjson rendered it (not the standard library's
    fallback for big integers and lone surrogates, whose numbers may read differently)."""
    try:
        return orjson.dumps(value).decode(), True
    except (TypeError, orjson.JSONEncodeError):
        return dumps(value), False


class TextMemo:
    """Texts of large JSON values, by the identity of the value."""

    def __init__(
        self, budget: int = BUDGET, min_kept: int = MIN_KEPT, min_member: int = MIN_MEMBER
    ) -> None:
        self.budget = budget
        self.min_kept = min_kept
        self.min_member = max(min_member, min_kept)
        # Least recently used first (OrderedDict: a plain dict emptied from the front slows
        # down finding its first key until it is resized).
        self._entries: OrderedDict[int, _Entry] = OrderedDict()
        # id(text) -> id(value): the payload store asks for a text's parts by the text.
        self._by_text: dict[int, int] = {}
        self._size = 0
        # Kept texts of member size: while there is none, no value has a kept member.
        self._members_kept = 0
        self._lock = threading.Lock()
        self.rendered = 0  # large texts rendered (a hit renders nothing): what tests count
        self.members = True  # render around large members (tests compare with and without)

    def text(self, value: Any) -> str:
        """``dumps(value)``, rendered only if this value's text is not kept already."""
        if type(value) not in _KEEPABLE:
            return dumps(value)  # numbers, booleans, null: nothing to gain
        hit = self._entries.get(id(value))
        if hit is not None and hit[0] is value:
            return hit[1]  # (kept in use by ``known``, which each step's snapshot asks)
        parts = None
        if self.members and type(value) is dict:
            if self._members_kept:
                parts = self._parts(value)
                text, plain = _render(value) if parts is None else (parts.text(), True)
            else:
                # No kept text is large enough to be a member, so only a large string of
                # its own could make this value one with parts, and then its text is large
                # too: render whole first (most values, of any saga with small payloads,
                # end here without a walk of their members).
                text, plain = _render(value)
                if len(text) >= self.min_member:
                    parts = self._parts(value)
                    text, plain = (text, plain) if parts is None else (parts.text(), True)
        else:
            text, plain = _render(value)
        if len(text) >= self.min_kept:
            self.rendered += 1
            self._keep(value, text, parts, plain)
        return text

    def parts_of(self, text: str) -> Parts | None:
        """The parts of a text this memo rendered around large members, if it is kept."""
        vid = self._by_text.get(id(text))
        hit = None if vid is None else self._entries.get(vid)
        if hit is None or hit[1] is not text:
            return None
        return hit[2]

    def _parts(self, value: dict[str, Any]) -> Parts | None:
        """``value``'s text as a skeleton and large members, or None (none, or a sentinel
        that does not stand alone)."""
        large: dict[str, str] = {}
        for key, member in value.items():
            kind = type(member)
            if kind is str and len(member) >= self.min_member:
                self.text(member)  # kept from now on (a string is rendered once)
            elif kind is not dict and kind is not list:
                continue
            hit = self._entries.get(id(member))
            if hit is not None and hit[0] is member and hit[3] and len(hit[1]) >= self.min_member:
                large[key] = hit[1]
        if not large:
            return None
        masked = dict(value)
        marks: dict[str, str] = {}
        for i, key in enumerate(large):
            mark = f"{_SENTINEL}{i}-"
            masked[key] = mark
            marks[key] = orjson.dumps(mark).decode()
        try:
            rendered = orjson.dumps(masked).decode()
        except (TypeError, orjson.JSONEncodeError):
            return None
        found: list[tuple[int, str, str]] = []
        for key, mark in marks.items():
            at = rendered.find(mark)
            if at < 0 or rendered.find(mark, at + 1) >= 0:
                return None  # user data holds a sentinel: render it whole
            found.append((at, mark, key))
        found.sort()
        return self._spliced(rendered, found, large)

    def _spliced(
        self, rendered: str, found: list[tuple[int, str, str]], large: dict[str, str]
    ) -> Parts:
        """The parts of ``rendered`` with each sentinel cut out where its member goes; a
        member rendered around members of its own gives those (parts stay one level)."""
        pieces: list[str] = []
        members: list[tuple[int, str]] = []
        start = length = 0
        for at, mark, key in found:
            piece = rendered[start:at]
            pieces.append(piece)
            length += len(piece)
            text = large[key]
            inner = self.parts_of(text)
            if inner is None:
                members.append((length, text))
            else:
                pieces.append(inner.skeleton)
                members.extend((length + offset, m) for offset, m in inner.members)
                length += len(inner.skeleton)
            start = at + len(mark)
        pieces.append(rendered[start:])
        return Parts("".join(pieces), tuple(members))

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

    def _keep(self, value: Any, text: str, parts: Parts | None, plain: bool) -> None:
        with self._lock:
            old = self._entries.pop(id(value), None)
            if old is not None:
                self._drop(old)
            self._entries[id(value)] = (value, text, parts, plain)
            self._by_text[id(text)] = id(value)
            self._size += len(text)
            self._members_kept += len(text) >= self.min_member
            while (self._size > self.budget or len(self._entries) > MAX_VALUES) and self._entries:
                self._drop(self._entries.popitem(last=False)[1])

    def _drop(self, entry: _Entry) -> None:
        self._size -= len(entry[1])
        self._members_kept -= len(entry[1]) >= self.min_member
        if self._by_text.get(id(entry[1])) == id(entry[0]):
            del self._by_text[id(entry[1])]

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._by_text.clear()
            self._size = 0
            self._members_kept = 0


# One memo for the process: values are shared between the executions that run in it only
# when they are the same object, and then their text is the same too.
MEMO = TextMemo()


# The compact JSON text of a value (AWS style), rendered once while it is large and alive
# (see the module docstring). A bound method: this runs for every payload of every event.
text_of = MEMO.text
