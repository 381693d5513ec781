"""The OTLP/HTTP sender reads the SDK's variables as its exporter does and retries only what
the SDK retries (a real HTTP server on loopback)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from sagaway.observability.otlp_http import OtlpHttpSender, traces_endpoint


def test_endpoints_headers_and_timeout_from_the_environment() -> None:
    assert traces_endpoint({}) == "http://localhost:4318/v1/traces"
    assert traces_endpoint({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318"}) == (
        "http://c:4318/v1/traces"
    )
    assert traces_endpoint({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318/"}) == (
        "http://c:4318/v1/traces"
    )
    sender = OtlpHttpSender.from_env({
        "OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318",
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "https://t:443/custom",
        "OTEL_EXPORTER_OTLP_HEADERS": "api-key=generic",
        "OTEL_EXPORTER_OTLP_TRACES_HEADERS": "api-key=a%20b,x-tenant=shop",
        "OTEL_EXPORTER_OTLP_TIMEOUT": "3",
    })  # fmt: skip
    assert sender.endpoint == "https://t:443/custom"
    assert sender.headers == {"api-key": "a b", "x-tenant": "shop"}
    assert sender.timeout == 3.0 and sender.compression == ""


@contextmanager
def answering(statuses: list[int]) -> Iterator[tuple[str, list[int]]]:
    """A server answering the n-th POST with ``statuses[n]`` (the last one from then on);
    yields its URL and the statuses it has sent."""
    sent: list[int] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers["Content-Length"]))
            status = statuses[min(len(sent), len(statuses) - 1)]
            sent.append(status)
            self.send_response(status)
            self.send_header("Retry-After", "0")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1/traces", sent
    finally:
        server.shutdown()
        server.server_close()


def test_a_rejected_batch_is_dropped_at_once() -> None:
    with answering([400]) as (url, sent):
        assert OtlpHttpSender(url).send(b"\x0a\x00") is False
    assert sent == [400]


def test_a_busy_collector_is_retried_until_it_takes_the_batch() -> None:
    with answering([503, 429, 502, 200]) as (url, sent):
        assert OtlpHttpSender(url).send(b"\x0a\x00") is True
    assert sent == [503, 429, 502, 200]


def test_retries_stop_at_six_attempts() -> None:
    with answering([504]) as (url, sent):
        assert OtlpHttpSender(url).send(b"\x0a\x00") is False
    assert sent == [504] * 6
