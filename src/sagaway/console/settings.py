"""How the console signs people in, and whether it may start at all on an address.

Off loopback the console is reachable by others, so it needs a real identity provider: a
server started there without an OpenID Connect issuer refuses to start. On loopback the
embedded default is a one-time sign-in link printed at start (whoever can read the
server's terminal is its operator).
"""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass

OPERATOR, VIEWER = "operator", "viewer"


@dataclass(frozen=True, slots=True)
class ConsoleSettings:
    issuer: str | None = None
    client_id: str = "sagaway-console"
    client_secret: str | None = None
    roles_claim: str = "roles"  # a dotted path into the ID token's claims
    session_seconds: float = 8 * 3600.0
    scope: str = "openid profile email"

    @classmethod
    def from_environment(cls, **given: object) -> ConsoleSettings:
        """Options given on the command line, else ``SAGAWAY_CONSOLE_*`` variables (the
        client secret is best passed that way, out of the process list)."""
        env = os.environ
        values: dict[str, object] = {
            "issuer": env.get("SAGAWAY_CONSOLE_ISSUER") or None,
            "client_id": env.get("SAGAWAY_CONSOLE_CLIENT_ID") or None,
            "client_secret": env.get("SAGAWAY_CONSOLE_CLIENT_SECRET") or None,
            "roles_claim": env.get("SAGAWAY_CONSOLE_ROLES_CLAIM") or None,
        }
        values.update(given)
        values = {k: v for k, v in values.items() if v is not None}
        return cls(**values)  # type: ignore[arg-type]


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def exposure_problem(host: str, settings: ConsoleSettings) -> str | None:
    """Why the console must not start on ``host`` with ``settings`` (None: it may)."""
    if settings.issuer is None and not is_loopback(host):
        return (
            f"the console on {host} needs an OpenID Connect issuer (--console-issuer or "
            "SAGAWAY_CONSOLE_ISSUER); the one-time local sign-in works on loopback only"
        )
    return None


def roles_from(claims: dict[str, object], claim: str) -> frozenset[str]:
    """The console roles in ``claims`` at the dotted path ``claim`` (a list of names or a
    space-separated string); an operator may do everything a viewer may."""
    value: object = claims
    for part in claim.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    names = value.split() if isinstance(value, str) else value
    found = {n for n in names if isinstance(n, str)} if isinstance(names, list) else set()
    roles = found & {OPERATOR, VIEWER}
    if OPERATOR in roles:
        roles.add(VIEWER)
    return frozenset(roles)
