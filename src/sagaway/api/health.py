"""Health endpoints for ``sagaway serve`` and ``sagaway worker``.

``/healthz`` answers 200 while the process runs (liveness: restart it when this fails).
``/readyz`` answers 200 when the member can do its work: the journal answers, its writes
succeed, and the executions open at start are running again; otherwise 503 with the reason,
so a load balancer sends requests elsewhere. Both answer JSON.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sagaway.engine.engine import Engine
from sagaway.store.ports import StoreError

log = logging.getLogger("sagaway.health")

# A probe must answer even when the database hangs: past this, the store counts as away.
PING_TIMEOUT = 2.0


async def readiness(engine: Engine) -> str | None:
    """Why ``engine`` is not ready, or None when it is."""
    try:
        await asyncio.wait_for(asyncio.to_thread(engine.journal.ping), PING_TIMEOUT)
    except StoreError as exc:
        return f"store unreachable: {exc}"
    except TimeoutError:
        return f"store unreachable: no answer within {PING_TIMEOUT:g} s"
    if engine.committer.failing is not None:
        # Nothing may have been written since the failure: an empty batch tells whether
        # writes go through again.
        with contextlib.suppress(StoreError, TimeoutError):
            await asyncio.wait_for(engine.committer.commit([]), PING_TIMEOUT)
        if engine.committer.failing is not None:
            return f"journal writes failing: {engine.committer.failing}"
    recovery = engine.recovery
    if not recovery.done:
        return f"recovering: {recovery.progress()}"
    return None


async def probe(engine: Engine | None, path: str) -> tuple[int, dict[str, Any]]:
    """The status and body of a probe of ``path`` (``engine`` None: still starting)."""
    if path == "/healthz":
        return 200, {"status": "alive"}
    reason = "starting" if engine is None else await readiness(engine)
    if reason is None:
        return 200, {"status": "ready"}
    return 503, {"status": "not ready", "reason": reason}


async def _endpoint(request: Request) -> Response:
    api = getattr(request.app.state, "api", None)
    status, body = await probe(None if api is None else api.engine, request.url.path)
    return Response(orjson.dumps(body), status, media_type="application/json")


ROUTES = [Route("/healthz", _endpoint), Route("/readyz", _endpoint)]


class HealthServer:
    """The two probes over plain HTTP/1.1 for a process without the API (``sagaway
    worker``): one request per connection, nothing else served."""

    def __init__(self, engine: Engine, host: str, port: int) -> None:
        self.engine, self.host, self.port = engine, host, port
        self._server: asyncio.Server | None = None

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._answer, self.host, self.port)

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _answer(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request_line = await asyncio.wait_for(reader.readline(), 5)
            parts = request_line.decode("latin-1").split()
            path = parts[1].split("?")[0] if len(parts) >= 2 else ""
            if path in ("/healthz", "/readyz"):
                status, body = await probe(self.engine, path)
            else:
                status, body = 404, {"status": "not found"}
            payload = orjson.dumps(body)
            head = (f"HTTP/1.1 {status} {_REASONS[status]}\r\nContent-Type: application/json\r\n"
                    f"Content-Length: {len(payload)}\r\nConnection: close\r\n\r\n")  # fmt: skip
            writer.write(head.encode() + payload)
            await writer.drain()
        except (TimeoutError, ConnectionError, UnicodeDecodeError) as exc:
            log.debug("health probe dropped: %s", exc)
        finally:
            writer.close()


_REASONS = {200: "OK", 404: "Not Found", 503: "Service Unavailable"}
