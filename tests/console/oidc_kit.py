"""A real OpenID Connect provider for the console's tests: oidc-provider-mock (Authlib's
authorization server on werkzeug) in a thread, with users whose claims the test sets."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import parse_qs, quote, urlsplit

import httpx

with warnings.catch_warnings():
    # The provider is built on Authlib's older JOSE module, which Authlib now deprecates
    # (the console itself uses PyJWT for tokens): not ours to fix.
    warnings.simplefilter("ignore", DeprecationWarning)
    import oidc_provider_mock


@contextmanager
def provider() -> Iterator[str]:
    """The issuer URL of a provider running for the duration of the block."""
    with oidc_provider_mock.run_server_in_thread() as server:
        yield f"http://localhost:{server.server_port}"


def add_user(issuer: str, sub: str, roles: list[str]) -> None:
    claims = {"email": sub, "name": sub.split("@")[0].title(), "roles": roles}
    answer = httpx.put(f"{issuer}/users/{quote(sub)}", json=claims)
    assert answer.status_code == 204, answer.text


def authorize(authorization_url: str, sub: str) -> str:
    """What a person does on the provider's form: sign in as ``sub`` and authorize; the
    redirect back to the console (its callback URL with the code and state)."""
    answer = httpx.post(authorization_url, data={"sub": sub})
    assert answer.status_code == 302, answer.text
    location: str = answer.headers["location"]
    assert "code" in parse_qs(urlsplit(location).query), location
    return location
