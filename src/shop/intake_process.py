"""The intake as a process of its own: ``python -m shop.intake_process --config JSON --port N``.

A cluster runs several, each in front of the same orders database (the cluster demo spreads
its load over them; in production a load balancer does). ``--config`` is the JSON that
``shop.worker`` takes (a cluster's: ``{"db": "postgresql://…"}``). The demo's public dev key signs
tokens only on a loopback address (``--dev-key``); elsewhere tokens are HS256 with the
secret ``jwt-key`` (``$SHOP_JWT_KEY``), as in docs/security.md."""

from __future__ import annotations

import argparse
import ipaddress
from pathlib import Path

import uvicorn

from sagaway import tune_gc
from sagaway.observability.setup import process_tracer_provider
from shop.incidents import Incidents
from shop.intake import IntakeSettings, create_app
from shop.system import Shop
from shop.worker import config_from_json


def settings(dev_key: bool, host: str, rate: float) -> IntakeSettings:
    if dev_key and not _loopback(host):
        raise SystemExit("shop.intake_process: --dev-key only on a loopback --host")
    return IntakeSettings(rate=rate, burst=rate, total_rate=rate, total_burst=rate,
                          allow_dev_key=dev_key)  # fmt: skip


def _loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


class _Server(uvicorn.Server):
    """Writes the readiness file once the socket listens (the demo waits for it)."""

    ready_file: Path | None = None

    async def startup(self, sockets: object = None) -> None:
        await super().startup(sockets)  # type: ignore[arg-type]
        if self.ready_file is not None and self.started:
            self.ready_file.write_text("ready\n")


def main() -> None:
    parser = argparse.ArgumentParser(prog="shop.intake_process", description=__doc__)
    parser.add_argument("--workdir", type=Path, default=Path("."),
                        help="Where databases without a URL in --config live (SQLite)")  # fmt: skip
    parser.add_argument("--config", default="{}", help="The shop's configuration (JSON)")
    parser.add_argument("--host", default="127.0.0.1", help="Address to listen on (127.0.0.1)")
    parser.add_argument("--port", type=int, default=8084, help="Port to listen on (8084)")
    parser.add_argument("--rate", type=float, default=500.0,
                        help="Requests per second per client, per address and in all")  # fmt: skip
    parser.add_argument("--dev-key", action="store_true",
                        help="Take tokens of the public dev key (loopback only)")  # fmt: skip
    parser.add_argument("--ready-file", type=Path, default=None,
                        help="Written once the intake listens (for a supervisor)")  # fmt: skip
    args = parser.parse_args()
    tune_gc()
    config = config_from_json(args.workdir, args.config)
    intake = settings(args.dev_key, args.host, args.rate)
    process_tracer_provider()  # the intake's spans, when OTEL_* asks for traces
    shop = Shop(config)
    app = create_app(shop.orders, config.journal_url, intake, shop.tokenize,
                     Incidents(config.url("incidents")))  # fmt: skip
    server = _Server(uvicorn.Config(app, host=args.host, port=args.port, log_level="warning"))
    server.ready_file = args.ready_file
    server.run()


if __name__ == "__main__":
    main()
