"""Console sessions: who is signed in, their roles, and the CSRF token of their forms.

Sessions live in the server's memory, named by a random cookie value (HttpOnly, SameSite,
Secure over TLS); a restart signs everyone out, which is the safe direction. Every
state-changing request carries the session's CSRF token in its form, compared in constant
time, so another site cannot post on an operator's behalf even if a browser ignores
SameSite.
"""

from __future__ import annotations

import hmac
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

COOKIE = "sagaway_console"


@dataclass(frozen=True, slots=True)
class Session:
    id: str
    user: str
    roles: frozenset[str]
    expires: float
    csrf: str = field(default_factory=lambda: secrets.token_urlsafe(32))

    def may(self, role: str) -> bool:
        return role in self.roles

    def csrf_ok(self, token: str | None) -> bool:
        return token is not None and hmac.compare_digest(token, self.csrf)


class Sessions:
    def __init__(self, lifetime: float, clock: Callable[[], float] = time.time) -> None:
        self.lifetime = lifetime
        self._clock = clock
        self._sessions: dict[str, Session] = {}
        self._lock = threading.Lock()

    def create(self, user: str, roles: frozenset[str]) -> Session:
        session = Session(secrets.token_urlsafe(32), user, roles, self._clock() + self.lifetime)
        with self._lock:
            self._sessions[session.id] = session
        return session

    def get(self, session_id: str | None) -> Session | None:
        """The live session ``session_id`` names (an expired one is forgotten)."""
        if not session_id:
            return None
        with self._lock:
            session = self._sessions.get(session_id)
            if session is not None and session.expires <= self._clock():
                del self._sessions[session_id]
                return None
        return session

    def end(self, session_id: str | None) -> None:
        with self._lock:
            self._sessions.pop(session_id or "", None)


class LocalSignIn:
    """A one-time link for the embedded default: the first visit signs in as operator and
    spends the token."""

    USER = "local operator"

    def __init__(self) -> None:
        self._token = secrets.token_urlsafe(32)
        self._spent = False
        self._lock = threading.Lock()

    def path(self) -> str:
        return f"/console/signin/local?token={self._token}"

    def redeem(self, token: str | None) -> bool:
        with self._lock:
            if self._spent or token is None or not hmac.compare_digest(token, self._token):
                return False
            self._spent = True
            return True
