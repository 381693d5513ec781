"""POSTing encoded OTLP trace requests the way the SDK's OTLP/HTTP exporter does, read from
the same ``OTEL_EXPORTER_OTLP_*`` variables: endpoint (``.../v1/traces`` appended to the
generic one), headers, timeout (seconds), compression (gzip, deflate), CA certificate and
client certificate for TLS (the settings and the retry loop are
:mod:`~sagaway.observability.otlp_common`'s). Transient failures (connection errors, 429,
502, 503, 504) are retried with exponential backoff (1, 2, 4... s, ±20% jitter, a
``Retry-After`` honoured), at most six attempts and never past the timeout; anything else
drops the batch, with a warning, as the SDK does.

One keep-alive connection, used by one thread (the exporter process's loop).
"""

from __future__ import annotations

import gzip
import http.client
import ssl
import time
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from sagaway.observability import otlp_common
from sagaway.observability.otlp_common import Failure, send_with_retries, setting

_RETRYABLE = frozenset({429, 502, 503, 504})


def traces_endpoint(env: Mapping[str, str]) -> str:
    specific = env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "").strip()
    if specific:
        return specific
    base = env.get("OTEL_EXPORTER_OTLP_ENDPOINT", "").strip() or "http://localhost:4318/"
    return base + ("v1/traces" if base.endswith("/") else "/v1/traces")


@dataclass
class OtlpHttpSender:
    endpoint: str
    headers: dict[str, str] = field(default_factory=dict)
    timeout: float = 10.0
    compression: str = ""  # "", "gzip" or "deflate"
    certificate: str = ""  # a CA bundle for https
    client_certificate: str = ""
    client_key: str = ""
    _conn: http.client.HTTPConnection | None = field(default=None, init=False, repr=False)
    _path: str = field(default="/", init=False, repr=False)

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> OtlpHttpSender:
        return cls(
            traces_endpoint(env),
            otlp_common.headers(env),
            otlp_common.timeout(env),
            otlp_common.compression(env, ("gzip", "deflate")),
            setting(env, "CERTIFICATE"),
            setting(env, "CLIENT_CERTIFICATE"),
            setting(env, "CLIENT_KEY"),
        )

    def send(self, body: bytes) -> bool:
        """POST one request body; True when the collector took it."""
        headers = {**self.headers, "Content-Type": "application/x-protobuf"}
        if self.compression:
            headers["Content-Encoding"] = self.compression
            body = gzip.compress(body) if self.compression == "gzip" else zlib.compress(body)
        return send_with_retries(
            self.endpoint, self.timeout, lambda deadline: self._post(body, headers, deadline)
        )

    def _post(self, body: bytes, headers: dict[str, str], deadline: float) -> Failure | None:
        """One attempt: None when the collector took it."""
        try:
            conn = self._connection(max(deadline - time.monotonic(), 0.001))
            conn.request("POST", self._path, body, headers)
            answer = conn.getresponse()
            answer.read()
            if answer.will_close:
                self.close()
        except (OSError, http.client.HTTPException) as exc:
            self.close()  # a fresh connection for the next attempt
            return Failure(repr(exc), True)
        if 200 <= answer.status < 300:
            return None
        return Failure(f"HTTP {answer.status}", answer.status in _RETRYABLE,
                       _retry_after(answer.getheader("Retry-After")))  # fmt: skip

    def _connection(self, timeout: float) -> http.client.HTTPConnection:
        if self._conn is None:
            url = urlsplit(self.endpoint)
            self._path = (url.path or "/") + (f"?{url.query}" if url.query else "")
            if url.scheme == "https":
                self._conn = http.client.HTTPSConnection(
                    url.netloc, timeout=timeout, context=self._tls()
                )
            else:
                self._conn = http.client.HTTPConnection(url.netloc, timeout=timeout)
        else:
            self._conn.timeout = timeout
            if self._conn.sock is not None:
                self._conn.sock.settimeout(timeout)
        return self._conn

    def _tls(self) -> ssl.SSLContext:
        context = ssl.create_default_context(cafile=self.certificate or None)
        if self.client_certificate:
            context.load_cert_chain(self.client_certificate, self.client_key or None)
        return context

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


def _retry_after(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        return None  # an HTTP date: the plain backoff instead
