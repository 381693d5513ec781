"""The engine process of the shop: ``python -m shop.worker --workdir DIR --config JSON``.

Runs until killed. The demo kills it with SIGKILL midway and starts it again: the engine
resumes every open execution from its journal and the relays resume from the outbox."""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
from pathlib import Path

from prometheus_client import CollectorRegistry, start_http_server

from sagaway import tune_gc
from sagaway.api import CREDENTIALS_ENV, ApiSecurity, Role, load_credentials
from sagaway.observability.setup import engine_observer, process_tracer_provider
from sagaway.observability.tracing import Tracing
from shop.config import ShopConfig
from shop.saga import SAGA_NAME
from shop.system import ShopRuntime


def config_from_json(workdir: Path, text: str) -> ShopConfig:
    values = json.loads(text or "{}")
    for key in ("gateway_latency", "courier_latency"):
        if key in values:
            values[key] = tuple(values[key])
    return ShopConfig(workdir=workdir, **values)


async def serve(
    config: ShopConfig,
    metrics_port: int | None,
    ready: Path | None,
    api_port: int | None = None,
    name: str | None = None,
    metrics_host: str = "127.0.0.1",
) -> None:
    registry = CollectorRegistry()
    provider = process_tracer_provider()
    tracing = Tracing(provider, {SAGA_NAME: "$.orderId"}) if provider is not None else None
    runtime = ShopRuntime(config, registry, api_port, api_security(api_port),
                          engine_observer(registry, tracing), member=name)  # fmt: skip
    await runtime.start()
    if metrics_port:
        start_http_server(metrics_port, addr=metrics_host, registry=registry)
    if ready is not None:
        ready.write_text("ready\n")
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_signal_handler(signal.SIGINT, stop.set)
    await stop.wait()
    await runtime.stop()


def api_security(api_port: int | None) -> ApiSecurity | None:
    """The demo's API: reads open to all, anything else signed with the credentials the
    demo gave in the environment (it printed them)."""
    if api_port is None:
        return None
    credentials = load_credentials(None)
    if credentials is None:
        raise SystemExit(f"shop.worker: --api-port needs credentials in ${CREDENTIALS_ENV}")
    return ApiSecurity(credentials, anonymous=Role.READ_ONLY)


def main() -> None:
    parser = argparse.ArgumentParser(prog="shop.worker")
    parser.add_argument("--workdir", required=True, type=Path)
    parser.add_argument("--config", default="{}",
                        help='The shop (JSON); in a cluster {"db": "postgresql://…"}')  # fmt: skip
    parser.add_argument("--metrics-port", type=int, default=None)
    parser.add_argument("--ready-file", type=Path, default=None)
    parser.add_argument("--api-port", type=int, default=None, help="Serve the Step Functions API")
    # A cluster's worker (the journal on PostgreSQL, in --config's urls): its identity and
    # lease, as for `sagaway worker`. A restarted worker takes a new name, lest it renew the
    # leases of executions its former self held and never resume them.
    parser.add_argument("--name", default=None,
                        help="Its cluster name (default host-pid-random)")  # fmt: skip
    parser.add_argument("--metrics-host", default="127.0.0.1",
                        help="Address of --metrics-port (default loopback)")  # fmt: skip
    args = parser.parse_args()
    tune_gc()
    config = config_from_json(args.workdir, args.config)
    asyncio.run(serve(config, args.metrics_port, args.ready_file, args.api_port, args.name,
                      args.metrics_host))  # fmt: skip


if __name__ == "__main__":
    main()
