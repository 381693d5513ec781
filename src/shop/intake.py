"""The intake HTTP service (Starlette): ``POST /orders`` and ``GET /orders/{id}``.

Both check a bearer JWT (HS256 with a configured key, or RS256 from a JWKS URL:
shop.tokens) and rate limits per address, per client and overall; GET shows an order only
to its customer (the token's subject) or an operator. POST checks the ``Idempotency-Key``
header, the body's size and shape, takes prices from the catalog and the customer from the
token, swaps the card number for the gateway's token, then writes the order PENDING and
its ``OrderSubmitted`` event in one transaction (the outbox) and answers 202 at once: the
saga runs behind the event. Errors are RFC 9457 problem+json."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import jwt
import orjson
from opentelemetry import trace
from opentelemetry.propagate import extract
from opentelemetry.trace import SpanKind
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from sagaway import open_journal
from shop.catalog import PRICES
from shop.errors import ServiceUnavailable
from shop.incidents import BadNotification, Incidents
from shop.journal_metrics import StepHistoryCollector
from shop.metrics import OrdersCollector
from shop.secrets import SecretProvider
from shop.services.orders import OrdersService
from shop.steps import STATE_MACHINE, saga_steps
from shop.tokens import DEV_KEY as DEV_KEY  # re-exported: the intake's callers use them
from shop.tokens import KeysUnavailable, TokenVerifier
from shop.tokens import dev_token as dev_token
from shop.validation import OrderProblem, parse_order

MAX_BODY = 64 * 1024
tracer = trace.get_tracer("shop.intake")


@dataclass(slots=True)
class IntakeSettings:
    jwt_key: str | None = None  # HS256 key; default the secret jwt-key (shop.secrets)
    secrets: SecretProvider | None = None  # default: the environment
    jwks_url: str | None = None  # RS256 keys from this JWKS instead of the HS256 key
    jwks_cooldown: float = 30.0  # least seconds between re-fetches for an unknown kid
    issuer: str | None = None  # when set, tokens must carry this iss
    audience: str | None = None  # when set, tokens must carry this aud
    allow_dev_key: bool = False  # the public dev key: for the loopback demo only
    operators: frozenset[str] = frozenset()  # token subjects that may see every order
    rate: float = 50.0  # requests per second per client (token subject)
    burst: float = 100.0
    address_rate: float = 200.0  # per remote address (several clients may share one)
    address_burst: float = 400.0
    total_rate: float = 500.0  # requests per second for all clients together
    total_burst: float = 1000.0
    extra_metrics: Any = None  # a callable returning more exposition text (the engine's)


@dataclass(slots=True)
class _Buckets:
    rate: float
    burst: float
    state: dict[str, tuple[float, float]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def take(self, client: str) -> float:
        """0 when allowed, else the seconds until a token is available."""
        now = time.monotonic()
        with self.lock:
            tokens, last = self.state.get(client, (self.burst, now))
            tokens = min(self.burst, tokens + (now - last) * self.rate)
            if tokens < 1:
                self.state[client] = (tokens, now)
                return (1 - tokens) / self.rate
            self.state[client] = (tokens - 1, now)
            return 0.0


def problem(status: int, title: str, detail: str, **extra: Any) -> JSONResponse:
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail}
    headers = extra.pop("headers", None)
    return JSONResponse({**body, **extra}, status, headers, media_type="application/problem+json")


def create_app(
    orders: OrdersService,
    journal_url: str,
    settings: IntakeSettings,
    tokenize: Callable[[str], str],
    incidents: Incidents | None = None,
) -> Starlette:
    """``tokenize`` swaps a card number for the payment gateway's token (see
    ``PaymentGateway.tokenize``): the shop never keeps the number itself. With
    ``incidents``, also Alertmanager's webhook receiver (``POST /hooks/alertmanager``) and
    the incident list (``GET /incidents``)."""
    limits = _Limits(settings)
    registry = CollectorRegistry()
    registry.register(OrdersCollector(lambda sql: orders.db.query(sql)))
    # Through the store port: SQLite on one machine, the cluster's PostgreSQL on several.
    journal = open_journal(journal_url)
    registry.register(StepHistoryCollector(journal, STATE_MACHINE))
    verifier = TokenVerifier(
        settings.jwt_key, settings.jwks_url, issuer=settings.issuer, audience=settings.audience,
        allow_dev_key=settings.allow_dev_key, cooldown=settings.jwks_cooldown,
        secrets=settings.secrets,
    )  # fmt: skip

    async def submit(request: Request) -> Response:
        # A server span (a no-op unless tracing is on): OrderSubmitted carries its context.
        with tracer.start_as_current_span("POST /orders", extract(dict(request.headers)),
                                          SpanKind.SERVER) as span:  # fmt: skip
            response = await accept(request)
            span.set_attribute("http.response.status_code", response.status_code)
            return response

    async def accept(request: Request) -> Response:
        client = await _client(request, verifier, limits)
        if isinstance(client, Response):
            return client
        key = request.headers.get("idempotency-key")
        if not key:
            return problem(400, "Bad Request", "the Idempotency-Key header is required")
        body = await request.body()
        if len(body) > MAX_BODY:
            return problem(413, "Content Too Large", f"an order is at most {MAX_BODY} bytes")
        try:
            order = parse_order(body, client, PRICES)
        except OrderProblem as exc:
            return problem(exc.status, exc.title, str(exc), errors=exc.errors)
        order["orderId"] = "o-" + uuid.uuid4().hex[:16]
        order["submittedAt"] = time.time()
        try:
            await run_in_threadpool(_protect_card, order, tokenize)
            order_id, _ = await run_in_threadpool(orders.submit, client, key, order)
        except KeyError:
            return problem(409, "Conflict", "this Idempotency-Key was used for another order")
        except ServiceUnavailable as exc:  # its database is away (a restarting server)
            return problem(503, "Service Unavailable", str(exc), headers={"Retry-After": "1"})
        trace.get_current_span().set_attribute("sagaway.business_key", order_id)
        return JSONResponse({"orderId": order_id, "status": "PENDING"}, 202,
                            {"Location": f"/orders/{order_id}"})  # fmt: skip

    async def show(request: Request) -> Response:
        client = await _client(request, verifier, limits)
        if isinstance(client, Response):
            return client
        order_id = request.path_params["order_id"]
        record = await run_in_threadpool(orders.get, order_id)
        # Another customer's order answers as a missing one: ids are not to be probed.
        owner = None if record is None else record["order"].get("customerId")
        if record is None or (owner != client and client not in settings.operators):
            return problem(404, "Not Found", f"no order {order_id}")
        record["steps"] = await run_in_threadpool(saga_steps, journal, order_id)
        return JSONResponse(record)

    async def metrics(request: Request) -> Response:
        text = generate_latest(registry)
        if settings.extra_metrics is not None:
            text += await run_in_threadpool(settings.extra_metrics)
        return Response(text, media_type=CONTENT_TYPE_LATEST)

    routes = [Route("/orders", submit, methods=["POST"]),
              Route("/orders/{order_id}", show, methods=["GET"]),
              Route("/metrics", metrics, methods=["GET"])]  # fmt: skip
    if incidents is not None:
        routes += incident_routes(incidents)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        journal.close()  # a PostgreSQL journal holds a connection

    return Starlette(routes=routes, lifespan=lifespan)


def incident_routes(incidents: Incidents) -> list[Route]:
    async def alertmanager(request: Request) -> Response:
        try:
            notification = orjson.loads(await request.body())
            opened, resolved = await run_in_threadpool(incidents.receive, notification)
        except (orjson.JSONDecodeError, BadNotification) as exc:
            return problem(400, "Bad Request", f"not an Alertmanager notification: {exc}")
        return JSONResponse({"opened": opened, "resolved": resolved})

    async def listing(request: Request) -> Response:
        found = await run_in_threadpool(incidents.list)
        return JSONResponse({"incidents": [incident.to_json() for incident in found]})

    return [Route("/hooks/alertmanager", alertmanager, methods=["POST"]),
            Route("/incidents", listing, methods=["GET"])]  # fmt: skip


def _protect_card(order: dict[str, Any], tokenize: Callable[[str], str]) -> None:
    number = order.pop("card", "")
    if number:
        order["cardToken"] = tokenize(number)
        order["cardLast4"] = number[-4:]


class _Limits:
    """Token buckets per address (before the token is even checked), per token subject,
    and for everyone together (minting new subjects does not get around that one)."""

    def __init__(self, settings: IntakeSettings) -> None:
        self.client = _Buckets(settings.rate, settings.burst)
        self.address = _Buckets(settings.address_rate, settings.address_burst)
        self.total = _Buckets(settings.total_rate, settings.total_burst)

    def check(self, who: str) -> Response | None:
        wait = self.client.take(who) or self.total.take("*")
        if not wait:
            return None
        return problem(429, "Too Many Requests", f"rate limit for {who}",
                       headers={"Retry-After": str(max(1, round(wait)))})  # fmt: skip


async def _client(request: Request, verifier: TokenVerifier, limits: _Limits) -> str | Response:
    address = request.client.host if request.client else "unknown"
    refused = limits.address.take(address)
    if refused:
        return problem(429, "Too Many Requests", f"rate limit for address {address}",
                       headers={"Retry-After": str(max(1, round(refused)))})  # fmt: skip
    header = request.headers.get("authorization", "")
    if not header.lower().startswith("bearer "):
        return problem(401, "Unauthorized", "a bearer token is required",
                       headers={"WWW-Authenticate": "Bearer"})  # fmt: skip
    try:
        # A JWKS lookup may go over the network: off the event loop.
        subject = await run_in_threadpool(verifier.subject, header[7:])
    except KeysUnavailable as exc:
        return problem(503, "Service Unavailable", f"signing keys unavailable: {exc}",
                       headers={"Retry-After": "5"})  # fmt: skip
    except jwt.PyJWTError as exc:
        return problem(401, "Unauthorized", f"invalid token: {exc}",
                       headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})  # fmt: skip
    return limits.check(subject) or subject
