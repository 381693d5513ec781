"""The operator console as its own Starlette app, mounted at ``/console`` beside the API.

It has its own sign-in (``sessions``, ``oidc``) and reads through the API's service object
(the journal and the catalog the server already has), so it adds no server and no store.
Every page needs a signed-in viewer; every POST needs an operator and the session's CSRF
token. Database reads run in the thread pool, off the event loop the engine runs on.
"""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote

from jinja2 import BaseLoader, ChoiceLoader, Environment, PackageLoader, select_autoescape
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from sagaway.api.service import Api
from sagaway.console import formatting
from sagaway.console.oidc import OidcClient
from sagaway.console.sessions import COOKIE, LocalSignIn, Session, Sessions
from sagaway.console.settings import OPERATOR, VIEWER, ConsoleSettings

Page = Callable[["Console", Request, Session], Awaitable[Response]]
PREFIX = "/console"
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class ExtensionPage:
    path: str
    handler: Page
    role: str = VIEWER
    methods: tuple[str, ...] = ("GET",)


@dataclass(frozen=True, slots=True)
class ConsoleExtension:
    """Pages an application adds to the console (the shop's dead letters and orders): their
    routes, their links in the navigation bar, and the package holding their templates."""

    pages: tuple[ExtensionPage, ...]
    nav: tuple[tuple[str, str], ...] = ()
    templates: tuple[str, str] | None = None  # (package, folder)


class Console:
    """What every console handler shares: the API service, sessions, sign-in, templates."""

    def __init__(
        self,
        source: Callable[[], Api],
        settings: ConsoleSettings,
        *,
        local_sign_in: bool,
        extension: ConsoleExtension | None = None,
    ) -> None:
        self.source = source
        self.extension = extension
        self._threads = ThreadPoolExecutor(max_workers=2, thread_name_prefix="console")
        self.settings = settings
        self.sessions = Sessions(settings.session_seconds)
        self.local = LocalSignIn() if local_sign_in else None
        self.oidc = OidcClient(settings) if settings.issuer else None
        loaders: list[BaseLoader] = [PackageLoader("sagaway.console", "templates")]
        if extension is not None and extension.templates is not None:
            loaders.append(PackageLoader(*extension.templates))
        self.templates = Environment(
            loader=ChoiceLoader(loaders),
            autoescape=select_autoescape(["html"]),
        )
        self.templates.filters.update(formatting.FILTERS)

    @property
    def api(self) -> Api:
        return self.source()

    async def off_loop(self, work: Callable[..., T], *args: Any) -> T:
        """Run a blocking read (or audit write) on the console's own two threads: off the
        event loop that runs executions, and with at most two database connections of
        the journal's per-thread readers however many pages are open."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._threads, functools.partial(work, *args))

    def render(
        self,
        request: Request,
        name: str,
        session: Session | None,
        status: int = 200,
        **values: Any,
    ) -> HTMLResponse:
        fragment = request.headers.get("x-console-fragment") == "1"
        template = self.templates.get_template(name)
        html = template.render(
            session=session,
            prefix=PREFIX,
            request=request,
            fragment=fragment,
            operator=session is not None and session.may(OPERATOR),
            extra_nav=self.extension.nav if self.extension else (),
            **values,
        )
        headers = {"Cache-Control": "no-store", "X-Frame-Options": "DENY"}
        return HTMLResponse(html, status, headers=headers)

    def session_of(self, request: Request) -> Session | None:
        return self.sessions.get(request.cookies.get(COOKIE))

    def sign_in(self, request: Request, user: str, roles: frozenset[str], to: str) -> Response:
        session = self.sessions.create(user, roles)
        response = RedirectResponse(to, 303)
        response.set_cookie(
            COOKIE,
            session.id,
            max_age=int(self.settings.session_seconds),
            path=PREFIX,
            httponly=True,
            samesite="lax",
            secure=request.url.scheme == "https",
        )
        return response


def guard(handler: Page, role: str = VIEWER) -> Callable[[Request], Awaitable[Response]]:
    """``handler`` for a signed-in user with ``role``; POSTs must carry the CSRF token."""

    async def endpoint(request: Request) -> Response:
        console: Console = request.app.state.console
        session = console.session_of(request)
        if session is None:
            if request.method != "GET":
                return console.render(
                    request,
                    "error.html",
                    None,
                    401,
                    message="Your session has ended: sign in again.",
                )
            target = quote(
                str(request.url.path) + ("?" + request.url.query if request.url.query else "")
            )
            return RedirectResponse(f"{PREFIX}/signin?next={target}", 303)
        if not session.may(role):
            return console.render(
                request, "error.html", session, 403, message=f"This needs the {role} role."
            )
        if request.method == "POST":
            form = await request.form()
            token = form.get("csrf_token")
            if not session.csrf_ok(token if isinstance(token, str) else None):
                return console.render(
                    request,
                    "error.html",
                    session,
                    403,
                    message="The form's CSRF token is missing or wrong.",
                )
        began = time.perf_counter()
        response = await handler(console, request, session)
        # The console's own time for this request (reads, layout, rendering), for browsers'
        # developer tools and for ``sagaway bench-console``.
        elapsed = (time.perf_counter() - began) * 1000
        response.headers["Server-Timing"] = f"app;dur={elapsed:.2f}"
        return response

    return endpoint


def create_console(
    source: Callable[[], Api],
    settings: ConsoleSettings,
    *,
    local_sign_in: bool,
    extension: ConsoleExtension | None = None,
) -> Starlette:
    """The console app (mount it at ``/console``); ``source`` gives the running API's
    service object; its ``state.console`` is the :class:`Console` (sign-in link, sessions)."""
    from sagaway.console import actions, identity, views

    console = Console(source, settings, local_sign_in=local_sign_in, extension=extension)
    routes = [
        *identity.routes(),
        Route("/", guard(views.home)),
        Route("/executions", guard(views.executions)),
        Route("/execution", guard(views.execution)),
        Route("/execution/history.json", guard(views.history_json)),
        Route("/state-machines", guard(views.machines)),
        Route("/state-machine", guard(views.machine)),
        Route("/audit", guard(views.audit)),
        *[
            Route(path, guard(handler, OPERATOR), methods=["POST"])
            for path, handler in actions.ROUTES.items()
        ],
        *[
            Route(p.path, guard(p.handler, p.role), methods=list(p.methods))
            for p in (extension.pages if extension else ())
        ],
        Mount("/static", StaticFiles(directory=Path(__file__).parent / "static"), name="static"),
    ]
    app = Starlette(routes=routes)
    app.state.console = console
    return app
