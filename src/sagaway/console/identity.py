"""Sign-in and sign-out pages: OpenID Connect, or the one-time local link on loopback."""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from sagaway.console.oidc import SignInError
from sagaway.console.sessions import COOKIE, Session
from sagaway.console.settings import OPERATOR, VIEWER, roles_from

if TYPE_CHECKING:
    from sagaway.console.app import Console

STATE_COOKIE = "sagaway_console_signin"


def _console(request: Request) -> Console:
    console: Console = request.app.state.console
    return console


def _next(request: Request) -> str:
    """Where to go after sign-in: a console path only (never another site)."""
    target = request.query_params.get("next") or "/console/"
    return target if target.startswith("/console/") and "//" not in target else "/console/"


async def signin(request: Request) -> Response:
    console = _console(request)
    return console.render(
        request,
        "signin.html",
        None,
        oidc=console.oidc is not None,
        issuer=console.settings.issuer,
        local=console.local is not None,
        next=_next(request),
    )


async def signin_local(request: Request) -> Response:
    console = _console(request)
    if console.local is None or not console.local.redeem(request.query_params.get("token")):
        return console.render(
            request,
            "error.html",
            None,
            403,
            message="This sign-in link is not valid (it works once).",
        )
    roles = frozenset({OPERATOR, VIEWER})
    return console.sign_in(request, console.local.USER, roles, "/console/")


async def signin_oidc(request: Request) -> Response:
    console = _console(request)
    if console.oidc is None:
        return RedirectResponse("/console/signin", 303)
    try:
        url, state = await console.oidc.begin(_callback_url(request), _next(request))
    except SignInError as exc:
        return console.render(request, "error.html", None, 502, message=str(exc))
    response = RedirectResponse(url, 303)
    # Binds the attempt to this browser: a code sent to another browser does not sign it in.
    response.set_cookie(
        STATE_COOKIE,
        state,
        max_age=600,
        path="/console/callback",
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
    )
    return response


def _callback_url(request: Request) -> str:
    return str(request.url.replace(path="/console/callback", query=""))


async def callback(request: Request) -> Response:
    console = _console(request)
    params = request.query_params
    state, code = params.get("state", ""), params.get("code")
    if console.oidc is None or not code or request.cookies.get(STATE_COOKIE) != state:
        message = params.get("error_description") or params.get("error") or "sign-in failed"
        return console.render(request, "error.html", None, 400, message=message)
    try:
        claims, next_url = await console.oidc.finish(state, code)
    except SignInError as exc:
        return console.render(request, "error.html", None, 403, message=str(exc))
    roles = roles_from(claims, console.settings.roles_claim)
    if not roles:
        message = f"Signed in, but the claim {console.settings.roles_claim!r} grants no role."
        return console.render(request, "error.html", None, 403, message=message)
    user = str(claims.get("email") or claims.get("preferred_username") or claims["sub"])
    response = console.sign_in(request, user, roles, next_url)
    response.delete_cookie(STATE_COOKIE, path="/console/callback")
    return response


async def signout(console: Console, request: Request, session: Session) -> Response:
    console.sessions.end(session.id)
    response = RedirectResponse("/console/signin", 303)
    response.delete_cookie(COOKIE, path="/console")
    return response


def routes() -> list[Route]:
    from sagaway.console.app import guard

    return [
        Route("/signin", signin),
        Route("/signin/local", signin_local),
        Route("/signin/oidc", signin_oidc),
        Route("/callback", callback),
        Route("/signout", guard(signout), methods=["POST"]),
    ]
