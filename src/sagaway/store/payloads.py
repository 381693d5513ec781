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
(:class:`PackedMemo`). The digest is SHA-256 (cut to 128 bits) of the compressed bytes:
compression is lossless, so distinct texts never share them, and is deterministic, so a
text stored again gets the same key; hashing the compressed form hashes several times less
data. (A later zstd that compressed the same text differently would only store it once
more.) References written by earlier versions (BLAKE2b of the text) stay valid: a digest
is only a key. Compression is zstd
at level 1: on 64 KiB of order-like JSON it kept 5.4x at about the speed of lz4 (3.1x),
where zlib took twice the time for less (see docs/benchmarks.md). Small texts stay inline
and uncompressed: below a database page (``INLINE_LIMIT``) the digest, the extra row and
the codec cost more time than the bytes they save.
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
    return compress(data) if len(data) >= INLINE_LIMIT else data


def digest(text: str) -> str:
    """The key ``text`` is stored under: the digest of its compressed bytes (see above)."""
    return _digest(compress(text.encode("utf-8", "surrogatepass")))


def _digest(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()[:32]


# Bytes of compressed payloads the memo keeps at most (it also holds their texts alive).
MEMO_BUDGET: Final = 32 * 1024 * 1024


class PackedMemo:
    """Digest and compressed bytes of large texts, by the identity of the text object."""

    def __init__(self, budget: int = MEMO_BUDGET) -> None:
        self.budget = budget
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
        body = compress(text.encode("utf-8", "surrogatepass"))
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
            ref, body = MEMO.pack(text)
            if ref not in rows:
                rows[ref] = (arn, ref, body)
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
        ref, body = MEMO.pack(text)
        rows[ref] = (arn, ref, body)
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


def texts(rows: Iterable[tuple[str, bytes]]) -> dict[str, str]:
    """Payload rows ``(digest, compressed text)`` as texts by digest."""
    return {ref: decompress(bytes(blob)).decode("utf-8", "surrogatepass") for ref, blob in rows}


def resolve(
    events: list[dict[str, Any]], load: Callable[[set[str]], Iterable[tuple[str, bytes]]]
) -> list[dict[str, Any]]:
    """Put the texts back in place of the references (in place); ``load`` reads the rows
    ``(digest, compressed text)`` of the digests it is given."""
    wanted = referenced(events)
    if not wanted:
        return events
    found = texts(load(wanted))
    for event in events:
        for details in event.values():
            if isinstance(details, dict):
                for key in _KEYS:
                    value = details.get(key)
                    if isinstance(value, dict):
                        details[key] = found[value[_REF]]
    return events
