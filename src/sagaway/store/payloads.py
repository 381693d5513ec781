"""The payload store: each distinct large payload of an execution is kept once, compressed.

A saga's data flows through every state: a state's output is the next state's input, so
the same JSON text would sit in many history events and in every state snapshot. History
rows therefore keep a reference in place of a large ``input`` or ``output`` text, and the
text itself lives once per execution in the ``payloads`` table, keyed by its digest
(content-addressed: writing it again is a no-op). Readers put the texts back, so every
history reader sees the events exactly as the interpreter emitted them.

The text is stored as it was emitted, never parsed or re-serialized. One value's text is a
single string object however many events carry it (``interpreter.texts``), so its digest
and compressed form are computed once too: they are kept by the identity of the text
(:class:`PackedMemo`). The digest is SHA-256 (cut to 128 bits) of the row's body, the
compressed bytes (or, below ``COMPRESS_LIMIT``, the UTF-8 text itself): compression is
lossless, so distinct texts never share them, and is deterministic, so a text stored again
gets the same key; hashing the compressed form hashes several times less data. (A later
zstd that compressed the same text differently would only store it once more.) References
written by earlier versions (BLAKE2b of the text) stay valid: a digest is only a key.
Compression is zstd at level 1: on 64 KiB of order-like JSON it kept 5.4x at about the
speed of lz4 (3.1x), where zlib took twice the time for less (see docs/benchmarks.md).

Sizes. Texts under ``INLINE_LIMIT`` stay inline. A payload row under ``COMPRESS_LIMIT``
would hold the plain UTF-8 text (zstd takes 8-20 µs on 1 KiB; readers tell a zstd frame by
its magic number, and JSON never starts with it), and the digest is then that of the text.
Both limits are 4 KiB: an inline limit of 1 KiB (with the text memo's ``MIN_KEPT``) cut a
1 KiB saga's journal by 39% but cost 25-30% more engine CPU per transition (the texts
kept, hashed and referred to at every step), and was slower (docs/benchmarks.md). Rows of
either kind, and inline texts, read the same whatever the limits were when written.

Large members are stored once per execution. Each state's output is mostly the previous
document (the same 64 KiB string, the same order object) with a small field added, so
storing each document whole would still compress and hash every 64 KiB again. The
interpreter renders such a document around its large members and keeps its parts
(``interpreter.texts.Parts``: the skeleton, the text with the members cut out, and where
each member's text goes); the engine hands that lookup to :data:`PARTS_OF`. A document
with parts is stored as a *parts row*: ``PARTS_MAGIC`` then the JSON ``[skeleton,
[[offset, member digest], ...]]`` (zstd-compressed when large); each member is an ordinary
payload row, packed once by the identity of its text and written with every step that
needs it (a no-op once there). Readers put the text back by inserting each member's text
at its offset of the skeleton: nothing in the skeleton is a placeholder, so no user text
can be taken for a reference, and the text read is exactly the one emitted. Rows written
before (whole texts) read as before: a parts row is told apart by its first bytes, which
neither a zstd frame nor a JSON text starts with.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable
from typing import Any, Final

import orjson
import zstandard

INLINE_LIMIT = 4096
# Payload rows, parts rows, snapshots and (on SQLite) an execution's large columns are
# compressed from this size; a smaller payload row holds its UTF-8 text as it is.
COMPRESS_LIMIT = 4096
# History details keys whose values are JSON texts (see interpreter.run.event_payload).
_KEYS = ("input", "output")
# A reference replaces the text: a JSON object where the event has a string, so a stored
# text can never be mistaken for one.
_REF = "sagawayPayload"
# Every zstd frame starts with these bytes; JSON text never does.
_ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
_COMPRESSOR = zstandard.ZstdCompressor(level=1)
_DECOMPRESSOR = zstandard.ZstdDecompressor()

PayloadRow = tuple[str, str, bytes]  # (execution arn, digest, compressed text)
# The first bytes of a parts row (see above): JSON starts with {["-, a digit, t, f, n or
# whitespace, a zstd frame with _ZSTD_MAGIC.
PARTS_MAGIC: Final = b"SGWP"
# A text's parts if the interpreter rendered it around large members: (skeleton, ((offset,
# member text), ...)) with members in skeleton order, or None. The engine sets it to
# ``interpreter.texts.MEMO.parts_of`` (the store does not import the interpreter).
PartsOf = Callable[[str], "tuple[str, tuple[tuple[int, str], ...]] | None"]


def _no_parts(text: str) -> None:
    return None


PARTS_OF: PartsOf = _no_parts
# The key of a snapshot's references (interpreter.codec.PAYLOAD_REFS).
_SNAPSHOT_REFS = b"payloadRefs"


def compress(data: bytes) -> bytes:
    return _COMPRESSOR.compress(data)


def decompress(blob: bytes) -> bytes:
    """Bytes written by :func:`compress`, or (older rows, small values) plain bytes."""
    if blob[:4] == _ZSTD_MAGIC:
        return _DECOMPRESSOR.decompress(blob)
    return blob


def maybe_compress(data: bytes) -> bytes:
    """``data`` compressed when it is large enough to gain from it (state snapshots)."""
    return compress(data) if len(data) >= COMPRESS_LIMIT else data


def digest(text: str) -> str:
    """The key ``text`` is stored under: the digest of its compressed bytes (see above)."""
    return _digest(maybe_compress(text.encode("utf-8", "surrogatepass")))


def _digest(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()[:32]


# Bytes of compressed payloads the memo keeps at most (it also holds their texts alive).
MEMO_BUDGET: Final = 32 * 1024 * 1024


class PackedMemo:
    """Digest and compressed bytes of large texts, by the identity of the text object."""

    def __init__(self, budget: int = MEMO_BUDGET, compress_from: int = COMPRESS_LIMIT) -> None:
        self.budget = budget
        self.compress_from = compress_from  # shorter texts are kept as plain UTF-8
        self._entries: OrderedDict[int, tuple[str, str, bytes]] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()
        self.packed = 0  # texts hashed and compressed (hits are not counted): tests

    def pack(self, text: str) -> tuple[str, bytes]:
        """``(digest, compressed UTF-8)`` of ``text``."""
        hit = self._entries.get(id(text))
        if hit is not None and hit[0] is text:
            # Least recently used out first (a snapshot's input: at each step). Not
            # contextlib.suppress: this runs for every reference of every step.
            try:  # noqa: SIM105
                self._entries.move_to_end(id(text))
            except KeyError:  # dropped meanwhile by another thread
                pass
            return hit[1], hit[2]
        data = text.encode("utf-8", "surrogatepass")
        body = compress(data) if len(data) >= self.compress_from else data
        ref = _digest(body)
        self.packed += 1
        with self._lock:
            self._entries[id(text)] = (text, ref, body)
            self._size += len(text) + len(body)
            while self._size > self.budget and self._entries:
                dropped, _, old_body = self._entries.popitem(last=False)[1]
                self._size -= len(dropped) + len(old_body)
        return ref, body


MEMO = PackedMemo()
# SQLite's execution columns (``rows._packed``) compressed from COLUMN_LIMIT: a row is
# rewritten whole at every step, and the definition (the same text for each execution of a
# machine) is compressed once per process.
COLUMN_LIMIT: Final = 1024
COLUMNS = PackedMemo(budget=8 * 1024 * 1024, compress_from=0)


# (digest, rows (digest, body) holding it). Tuples of strings and bytes only: the garbage
# collector stops walking such tuples, and the memo keeps tens of thousands of them.
StoredRows = tuple[str, tuple[tuple[str, bytes], ...]]


class StoredMemo:
    """:func:`stored`'s answer by the identity of the text: a document is stored by three
    or more events and snapshots, and its parts row need be built and hashed once."""

    def __init__(self, budget: int = MEMO_BUDGET) -> None:
        self.budget = budget  # characters of the texts it keeps alive
        self._entries: OrderedDict[int, tuple[str, StoredRows]] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()

    def get(self, text: str) -> StoredRows | None:
        hit = self._entries.get(id(text))
        return hit[1] if hit is not None and hit[0] is text else None

    def put(self, text: str, answer: StoredRows) -> None:
        with self._lock:
            old = self._entries.pop(id(text), None)
            self._size += len(text) - (0 if old is None else len(old[0]))
            self._entries[id(text)] = (text, answer)
            while self._size > self.budget and self._entries:
                self._size -= len(self._entries.popitem(last=False)[1][0])


STORED = StoredMemo()


def stored(text: str) -> StoredRows:
    """The digest ``text`` is stored under and the rows ``(digest, body)`` holding it: its
    compressed text, or its parts row and its members' rows."""
    known = STORED.get(text)
    if known is not None:
        return known
    parts = PARTS_OF(text)
    if parts is None:
        ref, body = MEMO.pack(text)
        answer: StoredRows = (ref, ((ref, body),))
        # Kept too: a document is stored by three or four events and by every snapshot,
        # and one lookup here costs less than the parts and packed lookups.
        STORED.put(text, answer)
        return answer
    skeleton, members = parts
    rows: list[tuple[str, bytes]] = []
    spec: list[tuple[int, str]] = []
    for offset, member in members:
        ref, body = MEMO.pack(member)
        rows.append((ref, body))
        spec.append((offset, ref))
    body = PARTS_MAGIC + maybe_compress(orjson.dumps([skeleton, spec]))
    key = _digest(body)
    rows.append((key, body))
    answer = (key, tuple(rows))
    STORED.put(text, answer)
    return answer


def externalize(
    arn: str, events: list[dict[str, Any]]
) -> tuple[list[dict[str, Any]], list[PayloadRow]]:
    """The events with their large texts replaced by references, and the payload rows to
    store (one per distinct text). The events given are left unchanged."""
    rows: dict[str, PayloadRow] = {}
    out: list[dict[str, Any]] = []
    for event in events:
        changed: dict[str, Any] | None = None
        for key, details in event.items():
            if not isinstance(details, dict):
                continue
            refs = _references(arn, details, rows)
            if refs is not None:
                changed = changed if changed is not None else dict(event)
                changed[key] = refs
        out.append(changed if changed is not None else event)
    return out, list(rows.values())


def _references(
    arn: str, details: dict[str, Any], rows: dict[str, PayloadRow]
) -> dict[str, Any] | None:
    copy: dict[str, Any] | None = None
    for key in _KEYS:
        text = details.get(key)
        if isinstance(text, str) and len(text) >= INLINE_LIMIT:
            ref, held = stored(text)
            for digest, body in held:
                if digest not in rows:
                    rows[digest] = (arn, digest, body)
            copy = copy if copy is not None else dict(details)
            copy[key] = {_REF: ref}
    return copy


def link_snapshot(
    arn: str, snapshot: bytes, left_out: list[tuple[str, str, str]]
) -> tuple[bytes, list[PayloadRow]]:
    """A state snapshot that left values out (``interpreter.codec.dump_state_parts``) with
    its references to them appended, and the payload rows holding their texts. Each row
    is written again with every snapshot that refers to it (a no-op for the database, and
    its digest and compressed bytes come from :data:`MEMO`): that keeps each step's
    transaction self-sufficient, whatever happened to the ones before."""
    rows: dict[str, PayloadRow] = {}
    refs: list[tuple[str, str, str]] = []
    for owner, field, text in left_out:
        ref, held = stored(text)
        for digest, body in held:
            rows[digest] = (arn, digest, body)
        refs.append((owner, field, ref))
    assert snapshot.endswith(b"}")
    linked = snapshot[:-1] + b',"' + _SNAPSHOT_REFS + b'":' + orjson.dumps(refs) + b"}"
    return linked, list(rows.values())


def referenced(events: Iterable[dict[str, Any]]) -> set[str]:
    """The digests the events refer to."""
    found: set[str] = set()
    for event in events:
        for details in event.values():
            if isinstance(details, dict):
                for key in _KEYS:
                    value = details.get(key)
                    if isinstance(value, dict):
                        found.add(value[_REF])
    return found


Load = Callable[[set[str]], Iterable[tuple[str, bytes]]]  # digests -> rows (digest, body)


def texts(rows: Iterable[tuple[str, bytes]]) -> dict[str, str]:
    """Payload rows ``(digest, compressed text)`` as texts by digest (no parts rows)."""
    return {ref: decompress(bytes(blob)).decode("utf-8", "surrogatepass") for ref, blob in rows}


def load_texts(wanted: set[str], load: Load) -> dict[str, str]:
    """The texts of the digests ``wanted``: ``load`` reads rows ``(digest, body)``; the
    members of parts rows are read with a second call."""
    found: dict[str, str] = {}
    layouts: dict[str, tuple[str, list[list[Any]]]] = {}
    for ref, blob in load(wanted):
        body = bytes(blob)
        if body[:4] == PARTS_MAGIC:
            skeleton, spec = orjson.loads(decompress(body[4:]))
            layouts[ref] = (skeleton, spec)
        else:
            found[ref] = decompress(body).decode("utf-8", "surrogatepass")
    if layouts:
        members = {d for _, spec in layouts.values() for _, d in spec} - found.keys()
        if members:
            found.update(texts(load(members)))
        whole = {ref: _assembled(skel, spec, found) for ref, (skel, spec) in layouts.items()}
        found = {ref: text for ref, text in found.items() if ref in wanted} | whole
    return found


def _assembled(skeleton: str, spec: list[list[Any]], found: dict[str, str]) -> str:
    """The text of a parts row: each member's text inserted at its offset."""
    pieces: list[str] = []
    start = 0
    for offset, ref in spec:
        pieces.append(skeleton[start:offset])
        pieces.append(found[ref])
        start = offset
    pieces.append(skeleton[start:])
    return "".join(pieces)


def resolve(events: list[dict[str, Any]], load: Load) -> list[dict[str, Any]]:
    """Put the texts back in place of the references (in place); ``load`` reads the rows
    ``(digest, compressed text)`` of the digests it is given."""
    wanted = referenced(events)
    if not wanted:
        return events
    found = load_texts(wanted, load)
    for event in events:
        for details in event.values():
            if isinstance(details, dict):
                for key in _KEYS:
                    value = details.get(key)
                    if isinstance(value, dict):
                        details[key] = found[value[_REF]]
    return events
