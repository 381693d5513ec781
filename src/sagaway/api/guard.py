"""The API's gate: who signed the request, may that role call the action, and does the
Host header name this machine when the server listens on loopback."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from sagaway.api.credentials import ApiSecurity, Credential, Role, host_name, is_loopback
from sagaway.api.errors import ApiError
from sagaway.api.sigv4 import SignedRequest, verify

ACCOUNT = "123456789012"


def authorize(security: ApiSecurity, request: Request, body: bytes, action: str) -> None:
    """Raise the ApiError AWS would answer when ``request`` may not call ``action``."""
    if security.credentials is None:
        return
    if "authorization" not in request.headers:
        if security.anonymous is None:
            raise ApiError("MissingAuthenticationToken", "Missing Authentication Token", 403)
        _check_role(security.anonymous, "anonymous", action)
        return
    signed = SignedRequest(
        request.method,
        request.scope.get("raw_path", b"/").decode("latin-1"),
        request.scope.get("query_string", b"").decode("latin-1"),
        [(k.decode("latin-1"), v.decode("latin-1")) for k, v in request.headers.raw],
        body,
    )
    skew = timedelta(seconds=security.clock_skew_seconds)
    credential = verify(signed, security.credentials, datetime.now(UTC), skew)
    _check_role(credential.role, _user(credential), action)


def _user(credential: Credential) -> str:
    return f"arn:aws:iam::{ACCOUNT}:user/{credential.access_key_id}"


def _check_role(role: Role, who: str, action: str) -> None:
    if not role.allows(action):
        raise ApiError(
            "AccessDeniedException",
            f"User: {who} is not authorized to perform: states:{action} "
            f"(role {role.value})",
        )


class LoopbackHostCheck:
    """Refuse requests whose Host header is not a loopback name or address (403)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            headers = dict(scope.get("headers") or [])
            host = headers.get(b"host", b"").decode("latin-1")
            if not is_loopback(host_name(host)):
                response = PlainTextResponse(
                    f"Host '{host}' is not this machine: this server listens on loopback only",
                    403,
                )
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)
