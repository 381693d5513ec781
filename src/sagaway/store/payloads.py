"""The payload store: each distinct large payload of an execution is kept once, compressed.

A saga's data flows through every state: a state's output is the next state's input, so
the same JSON text would sit in many history events and in every state snapshot. History
rows therefore keep a reference in place of a large ``input`` or ``output`` text, and the
text itself lives once per execution in the ``payloads`` table, keyed by its digest
(content-addressed: writing it again is a no-op). Readers put the texts back, so every
history reader sees the events exactly as the interpreter emitted them.

The text is stored as it was emitted, never parsed or re-serialized. Compression is zstd
at level 1: on 64 KiB of order-like JSON it kept 5.4x at about the speed of lz4 (3.1x),
where zlib took twice the time for less (see docs/benchmarks.md). Small texts stay inline
and uncompressed: below a database page (``INLINE_LIMIT``) the digest, the extra row and
the codec cost more time than the bytes they save.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from typing import Any

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
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()


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
            ref = digest(text)
            if ref not in rows:
                rows[ref] = (arn, ref, compress(text.encode("utf-8", "surrogatepass")))
            copy = copy if copy is not None else dict(details)
            copy[key] = {_REF: ref}
    return copy


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


def resolve(
    events: list[dict[str, Any]], load: Callable[[set[str]], Iterable[tuple[str, bytes]]]
) -> list[dict[str, Any]]:
    """Put the texts back in place of the references (in place); ``load`` reads the rows
    ``(digest, compressed text)`` of the digests it is given."""
    wanted = referenced(events)
    if not wanted:
        return events
    texts = {
        ref: decompress(bytes(blob)).decode("utf-8", "surrogatepass") for ref, blob in load(wanted)
    }
    for event in events:
        for details in event.values():
            if isinstance(details, dict):
                for key in _KEYS:
                    value = details.get(key)
                    if isinstance(value, dict):
                        details[key] = texts[value[_REF]]
    return events
