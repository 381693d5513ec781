"""OTLP protobuf for span records, written by hand: an ``ExportTraceServiceRequest`` with
only the fields our spans use.

Why not the SDK's encoder: it builds a ``ReadableSpan`` and then a protobuf message object per
span, some 60 µs a span, about as much CPU as the engine spends on the transition that made
it. Here a span is a few byte strings joined: ids and times packed with ``struct``, each
attribute (key and value) encoded once and then found in a cache, since most repeat from
span to span (an execution's ARN, its business key, a state type), the resource and the
scope encoded once per exporter. The output is the bytes the SDK's encoder writes for the
same spans (``tests/observability/test_otlp_wire.py`` compares them): the fields in field
number order, proto3 defaults left out, the same ``flags``.

Field numbers are those of opentelemetry-proto (``trace/v1/trace.proto``,
``common/v1/common.proto``, ``resource/v1/resource.proto``,
``collector/trace/v1/trace_service.proto``).

:func:`fields` reads the few small messages a collector sends back (a response's partial
success, a ``google.rpc.RetryInfo``) without the protobuf runtime.

This file imports only the standard library (the exporter process imports it).
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

# Wire types: 0 varint, 1 fixed64, 2 length-delimited, 5 fixed32. A tag is field << 3 | type.
_TIMES = struct.Struct("<BQBQ")  # Span.start_time_unix_nano = 7, end_time_unix_nano = 8 (fixed64)
_DOUBLE = struct.Struct("<d")
# The ids, each after its tag and length (two bytes: 0x0A10 is field 1, 16 bytes long)
_IDS = struct.Struct(">HQQHQ")
_IDS_PARENT = struct.Struct(">HQQHQHQ")
_LOW = (1 << 64) - 1
_KINDS = tuple(bytes((0x30, kind + 1)) for kind in range(5))
# Span.flags = 16 (fixed32): SPAN_FLAGS_CONTEXT_HAS_IS_REMOTE_MASK, | IS_REMOTE for a remote
# parent, as the SDK's encoder sets them.
_FLAGS = (b"\x85\x01\x00\x01\x00\x00", b"\x85\x01\x00\x03\x00\x00")
_UNSET_STATUS = b"\x7a\x00"  # Span.status = 15, an empty Status (the SDK always sets one)
_CACHE_LIMIT = 65536  # encoded attributes kept; the cache starts over past it


def varint(value: int) -> bytes:
    if value < 0x80:
        return bytes((value,))
    out = bytearray()
    while value >= 0x80:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def fields(data: bytes) -> Iterator[tuple[int, int | bytes]]:
    """A message's fields, read back: (field number, value), a varint as an int, a
    length-delimited field as its bytes; fixed32 and fixed64 fields as their unsigned int.
    For the few small messages a collector sends back (a response's partial success, a
    ``google.rpc.RetryInfo``); ``ValueError`` where ``data`` is not a message."""
    at, size = 0, len(data)
    while at < size:
        key, at = _read_varint(data, at)
        number, wire = key >> 3, key & 7
        value: int | bytes
        if wire == 0:
            value, at = _read_varint(data, at)
        elif wire == 2:
            length, at = _read_varint(data, at)
            value, at = data[at : at + length], at + length
        elif wire in (1, 5):
            width = 8 if wire == 1 else 4
            value, at = int.from_bytes(data[at : at + width], "little"), at + width
        else:
            raise ValueError(f"wire type {wire} (field {number}) not readable")
        if at > size:
            raise ValueError("truncated message")
        yield number, value


def signed(value: int | bytes) -> int:
    """A field :func:`fields` read as a varint, as the int64 or int32 it holds (negatives
    are ten bytes of two's complement); 0 for a field that is not a varint."""
    if not isinstance(value, int):
        return 0
    return value - (1 << 64) if value >= 1 << 63 else value


def _read_varint(data: bytes, at: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if at >= len(data):
            raise ValueError("truncated varint")
        byte = data[at]
        value |= (byte & 0x7F) << shift
        at += 1
        if byte < 0x80:
            return value, at
        shift += 7


def _field(tag: int, payload: bytes) -> bytes:
    """A length-delimited field: its tag byte (fields 1-15), the length, the payload."""
    return bytes((tag,)) + varint(len(payload)) + payload


def any_value(value: Any) -> bytes:
    """An ``AnyValue`` message, as the SDK encodes an attribute's value."""
    if isinstance(value, bool):
        return b"\x10\x01" if value else b"\x10\x00"  # bool_value = 2
    if isinstance(value, str):
        return _field(0x0A, value.encode())  # string_value = 1
    if isinstance(value, int):
        return b"\x18" + varint(value & 0xFFFFFFFFFFFFFFFF)  # int_value = 3 (int64)
    if isinstance(value, float):
        return b"\x21" + _DOUBLE.pack(value)  # double_value = 4
    if isinstance(value, bytes):
        return _field(0x3A, value)  # bytes_value = 7
    if isinstance(value, Mapping):  # kvlist_value = 6: KeyValueList.values = 1
        return _field(0x32, b"".join(_field(0x0A, key_value(str(k), v)) for k, v in value.items()))
    if isinstance(value, Sequence):  # array_value = 5: ArrayValue.values = 1
        return _field(0x2A, b"".join(_field(0x0A, any_value(v)) for v in value))
    return b""  # None: an empty AnyValue


def key_value(key: str, value: Any) -> bytes:
    """A ``KeyValue`` message's fields: key = 1, value = 2."""
    return _field(0x0A, key.encode()) + _field(0x12, any_value(value))


def attributes_field(tag: int, attributes: Mapping[str, Any]) -> bytes:
    """Repeated ``KeyValue`` fields (field ``tag``), uncached: for the resource and scope."""
    return b"".join(_field(tag, key_value(k, v)) for k, v in attributes.items())


def scope_message(name: str, version: str | None = None) -> bytes:
    """An ``InstrumentationScope``: name = 1, version = 2."""
    return (_field(0x0A, name.encode()) if name else b"") + (
        _field(0x12, version.encode()) if version else b""
    )


class SpanEncoder:
    """Encodes span records (:data:`sagaway.observability.span_export.SpanRecord`) into
    ``ExportTraceServiceRequest`` bodies for one resource and one instrumentation scope."""

    def __init__(self, resource: Mapping[str, Any], scope: bytes) -> None:
        # ResourceSpans.resource = 1 (Resource.attributes = 1); ScopeSpans.scope = 1
        self._resource = _field(0x0A, attributes_field(0x0A, resource))
        self._scope = _field(0x0A, scope)
        self._attributes: dict[tuple[str, Any], bytes] = {}
        self._names: dict[str, bytes] = {}
        # id of a record's shared attribute dict -> its fields, while one request is built
        # (the records, and so the dicts, live until it is done)
        self._shared: dict[int, bytes] = {}

    def request(self, records: Iterable[Sequence[Any]]) -> bytes:
        """The request body for ``records``: one ResourceSpans, one ScopeSpans."""
        try:
            spans = b"".join([self.span(record) for record in records])
        finally:
            self._shared.clear()
        scope_spans = self._scope + spans  # ScopeSpans.spans = 2, each a field already
        resource_spans = self._resource + _field(0x12, scope_spans)  # scope_spans = 2
        return _field(0x0A, resource_spans)  # ExportTraceServiceRequest.resource_spans = 1

    def span(self, record: Sequence[Any]) -> bytes:
        """One ``ScopeSpans.spans`` field (tag and length included)."""
        name, trace_id, span_id, parent_id, remote, kind, start, end, attrs, more, code, text = (
            record
        )
        # trace_id = 1 (16 bytes), span_id = 2 (8), parent_span_id = 4 (8): big-endian bytes
        high, low = trace_id >> 64, trace_id & _LOW
        if parent_id:
            ids = _IDS_PARENT.pack(0x0A10, high, low, 0x1208, span_id, 0x2208, parent_id)
        else:
            ids = _IDS.pack(0x0A10, high, low, 0x1208, span_id)
        named = self._names.get(name)
        if named is None:  # name = 5: a state's name or "<state> attempt", over and over
            named = self._names[name] = _field(0x2A, name.encode())
            if len(self._names) > _CACHE_LIMIT:
                self._names.clear()
        # kind = 6 (OTLP's enum is the SDK's value + 1), then the times (fixed64)
        parts = [ids, named, _KINDS[kind], _TIMES.pack(0x39, start, 0x41, end)]
        # attributes = 9: the dict every span of an execution shares, encoded once a request
        shared = self._shared.get(id(attrs))
        if shared is None:
            shared = self._shared[id(attrs)] = b"".join([self._attribute(i) for i in attrs.items()])
        parts.append(shared)
        encoded = self._attributes
        for item in more:  # then the span's own
            try:
                parts.append(encoded[item])
            except (KeyError, TypeError):  # TypeError: an unhashable value (a list)
                parts.append(self._remember(item))
        if code:  # status = 15: message = 2, code = 3
            parts.append(_field(0x7A, (_field(0x12, text.encode()) if text else b"")
                                + bytes((0x18, code))))  # fmt: skip
        else:
            parts.append(_UNSET_STATUS)
        parts.append(_FLAGS[1 if remote and parent_id else 0])
        body = b"".join(parts)
        size = len(body)
        return (bytes((0x12, size)) if size < 0x80 else b"\x12" + varint(size)) + body

    def _attribute(self, item: tuple[str, Any]) -> bytes:
        try:
            return self._attributes[item]
        except (KeyError, TypeError):  # TypeError: an unhashable value (a list)
            return self._remember(item)

    def _remember(self, item: tuple[str, Any]) -> bytes:
        field = _field(0x4A, key_value(*item))
        # Only strings are kept: True == 1 as a dict key, and numbers are cheap to encode.
        if type(item[1]) is str:
            if len(self._attributes) >= _CACHE_LIMIT:
                self._attributes.clear()
            self._attributes[item] = field
        return field
