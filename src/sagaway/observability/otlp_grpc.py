"""Sending encoded OTLP trace requests over gRPC (grpcio) the way the SDK's OTLP/gRPC
exporter does, read from the same ``OTEL_EXPORTER_OTLP_*`` variables (each ``_TRACES_`` one
over its general one; :mod:`~sagaway.observability.otlp_common`):

- the endpoint: ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``, else ``OTEL_EXPORTER_OTLP_ENDPOINT``
  (default ``http://localhost:4317``), as given (no path appended). ``http://`` is
  plaintext, ``https://`` TLS; for an endpoint without either scheme (``host:port``, or a
  gRPC target such as ``dns:///host:port``) ``OTEL_EXPORTER_OTLP[_TRACES]_INSECURE=true``
  asks for plaintext, and TLS is the default, as the specification says;
- headers as gRPC metadata, the timeout (seconds, 10), compression (``gzip`` or ``none``);
- for TLS, ``_CERTIFICATE`` (the CA certificates to trust; default the system's),
  ``_CLIENT_CERTIFICATE`` and ``_CLIENT_KEY`` (a client certificate, for mutual TLS);
- the user agent ``sagaway-otlp-exporter`` (grpcio appends its own).

The request body, already encoded (:mod:`~sagaway.observability.otlp_wire`), goes out as
it is: a unary call to ``TraceService/Export`` with no serializer. The status codes the SDK
retries (``UNAVAILABLE``, ``DEADLINE_EXCEEDED``, ``RESOURCE_EXHAUSTED``, ``ABORTED``,
``CANCELLED``, ``OUT_OF_RANGE``, ``DATA_LOSS``; or those
``OTEL_PYTHON_EXPORTER_OTLP_GRPC_RETRYABLE_ERROR_CODES`` names) are retried with
exponential backoff within the timeout, a ``google.rpc.RetryInfo`` delay in the trailing
metadata honoured; after ``UNAVAILABLE`` the next attempt takes a new channel, which
connects at once instead of at the end of grpcio's reconnect backoff. The response is read
by hand for its ``partial_success`` (rejected spans are logged, not retried).

One channel, used by one thread (the exporter process's loop). Only the exporter process
imports this file, and only for ``grpc``: grpcio is not loaded otherwise.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import grpc  # type: ignore[import-untyped]

from sagaway.observability import otlp_common
from sagaway.observability.otlp_common import Failure, send_with_retries, setting
from sagaway.observability.otlp_wire import fields, signed

EXPORT = "/opentelemetry.proto.collector.trace.v1.TraceService/Export"
DEFAULT_ENDPOINT = "http://localhost:4317"
USER_AGENT = "sagaway-otlp-exporter"
RETRYABLE_VARIABLE = "OTEL_PYTHON_EXPORTER_OTLP_GRPC_RETRYABLE_ERROR_CODES"
_RETRYABLE = frozenset({
    grpc.StatusCode.CANCELLED, grpc.StatusCode.DEADLINE_EXCEEDED,
    grpc.StatusCode.RESOURCE_EXHAUSTED, grpc.StatusCode.ABORTED,
    grpc.StatusCode.OUT_OF_RANGE, grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DATA_LOSS,
})  # fmt: skip
_RETRY_INFO = "google.rpc.retryinfo-bin"  # a google.rpc.RetryInfo in the trailing metadata
_log = logging.getLogger(__name__)


def plaintext(endpoint: str, env: Mapping[str, str]) -> bool:
    """Whether ``endpoint`` is spoken to without TLS: ``http://`` yes, ``https://`` no, no
    such scheme as ``OTEL_EXPORTER_OTLP[_TRACES]_INSECURE`` says (default: TLS)."""
    scheme = urlsplit(endpoint).scheme.lower()
    if scheme in ("http", "https"):
        return scheme == "http"
    return setting(env, "INSECURE").lower() == "true"


def grpc_target(endpoint: str) -> str:
    """What grpcio connects to: the host and port of an ``http(s)://`` URL, else the
    endpoint as given (``host:port``, ``dns:///host:port``, ``unix:/path``...)."""
    url = urlsplit(endpoint)
    return url.netloc if url.scheme.lower() in ("http", "https") and url.netloc else endpoint


def retryable_codes(env: Mapping[str, str]) -> frozenset[Any]:
    """The status codes worth another attempt: the SDK's, or those
    ``OTEL_PYTHON_EXPORTER_OTLP_GRPC_RETRYABLE_ERROR_CODES`` names (comma separated)."""
    given = env.get(RETRYABLE_VARIABLE, "")
    names = [name.strip().upper() for name in given.split(",") if name.strip()]
    try:
        return frozenset(grpc.StatusCode[name] for name in names) if names else _RETRYABLE
    except KeyError as exc:
        raise ValueError(f"{RETRYABLE_VARIABLE}: no gRPC status code {exc}") from None


@dataclass
class OtlpGrpcSender:
    endpoint: str = DEFAULT_ENDPOINT
    headers: dict[str, str] = field(default_factory=dict)
    timeout: float = 10.0
    compression: str = ""  # "" or "gzip"
    insecure: bool = True  # plaintext, or TLS (see plaintext())
    certificate: str = ""  # the CA certificates to trust, for TLS (default: the system's)
    client_certificate: str = ""
    client_key: str = ""
    retryable: frozenset[Any] = _RETRYABLE
    _call: Any = field(default=None, init=False, repr=False)  # the unary call, on _channel
    _channel: Any = field(default=None, init=False, repr=False)
    _credentials: Any = field(default=None, init=False, repr=False)

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> OtlpGrpcSender:
        endpoint = setting(env, "ENDPOINT", DEFAULT_ENDPOINT)
        return cls(
            endpoint,
            otlp_common.headers(env),
            otlp_common.timeout(env),
            otlp_common.compression(env, ("gzip",)),
            plaintext(endpoint, env),
            setting(env, "CERTIFICATE"),
            setting(env, "CLIENT_CERTIFICATE"),
            setting(env, "CLIENT_KEY"),
            retryable_codes(env),
        )

    def send(self, body: bytes) -> bool:
        """Export one request body; True when the collector took it."""
        metadata = tuple(self.headers.items())
        return send_with_retries(
            self.endpoint, self.timeout, lambda deadline: self._export(body, metadata, deadline)
        )

    def _export(
        self, body: bytes, metadata: tuple[tuple[str, str], ...], deadline: float
    ) -> Failure | None:
        """One attempt: None when the collector took it."""
        call = self._call if self._call is not None else self._connect()
        try:
            answer = call(body, timeout=max(deadline - time.monotonic(), 0.001),
                          metadata=metadata)  # fmt: skip
        except grpc.RpcError as error:
            code = error.code()
            if code == grpc.StatusCode.UNAVAILABLE:
                self.close()  # the next attempt connects afresh, at once
            return Failure(f"{code.name} ({error.details()})", code in self.retryable,
                           retry_delay(error.trailing_metadata()))  # fmt: skip
        self._check(answer)
        return None

    def _connect(self) -> Any:
        options = (("grpc.primary_user_agent", USER_AGENT),)
        compression = grpc.Compression.Gzip if self.compression else grpc.Compression.NoCompression
        target = grpc_target(self.endpoint)
        if self.insecure:
            self._channel = grpc.insecure_channel(target, options, compression)
        else:
            if self._credentials is None:
                self._credentials = grpc.ssl_channel_credentials(
                    _read(self.certificate), _read(self.client_key), _read(self.client_certificate)
                )
            self._channel = grpc.secure_channel(target, self._credentials, options, compression)
        # No serializers: the request is bytes already, the response is returned as bytes.
        self._call = self._channel.unary_unary(EXPORT)
        return self._call

    def _check(self, answer: bytes) -> None:
        """Logs the spans an ``ExportTraceServiceResponse`` says were rejected: its
        ``partial_success`` (field 1: ``rejected_spans`` = 1, ``error_message`` = 2)."""
        if not answer:  # the usual answer: all taken
            return
        try:
            for number, value in fields(answer):
                if number == 1 and isinstance(value, bytes):
                    partial = dict(fields(value))
                    rejected, message = signed(partial.get(1, 0)), partial.get(2, b"")
                    text = message.decode(errors="replace") if isinstance(message, bytes) else ""
                    if rejected or text:
                        _log.warning("OTLP collector at %s rejected %d spans: %s", self.endpoint,
                                     rejected, text)  # fmt: skip
        except ValueError:
            _log.warning("OTLP collector at %s answered what is not an export response",
                         self.endpoint)  # fmt: skip

    def close(self) -> None:
        if self._channel is not None:
            self._channel.close()
            self._channel = self._call = None


def retry_delay(trailing: Iterable[tuple[str, Any]] | None) -> float | None:
    """The delay a ``google.rpc.RetryInfo`` in the trailing metadata asks for (its
    ``retry_delay`` = 1, a Duration: ``seconds`` = 1, ``nanos`` = 2), or None."""
    for key, value in trailing or ():
        if key != _RETRY_INFO or not isinstance(value, bytes):
            continue
        try:
            for number, duration in fields(value):
                if number == 1 and isinstance(duration, bytes):
                    parts = {n: signed(v) for n, v in fields(duration) if isinstance(v, int)}
                    return max(parts.get(1, 0) + parts.get(2, 0) / 1e9, 0.0)
        except ValueError:
            return None
    return None


def _read(path: str) -> bytes | None:
    """A certificate or key file's bytes; None when not set, or not readable (logged: the
    handshake then goes on without it, as the SDK's does)."""
    if not path:
        return None
    try:
        with open(path, "rb") as file:
            return file.read()
    except OSError as exc:
        _log.error("OTLP/gRPC exporter: cannot read %s (%s)", path, exc)
        return None
