"""Sign-in with OpenID Connect: the authorization code flow with PKCE (RFC 7636, S256).

Authlib's OAuth 2 client builds the authorization request and redeems the code; the ID
token is then checked here against the issuer's published keys (JWKS from the discovery
document): signature, ``iss`` equal to the configured issuer, ``aud`` holding our client
id, expiry, and the ``nonce`` sent with the request. Each sign-in attempt is remembered by
its ``state`` for ten minutes and can be completed once.
"""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass
from typing import Any

import httpx
import jwt
from authlib.integrations.httpx_client import AsyncOAuth2Client

from sagaway.console.settings import ConsoleSettings

PENDING_SECONDS = 600.0


class SignInError(Exception):
    """The identity provider's answer cannot be trusted or used (said in the message)."""


@dataclass(frozen=True, slots=True)
class Pending:
    verifier: str
    nonce: str
    redirect_uri: str
    next_url: str
    created: float


class OidcClient:
    def __init__(self, settings: ConsoleSettings) -> None:
        assert settings.issuer is not None
        self.settings = settings
        self.issuer = settings.issuer.rstrip("/")
        self._metadata: dict[str, Any] | None = None
        self._keys: jwt.PyJWKSet | None = None
        self._pending: dict[str, Pending] = {}
        self._lock = threading.Lock()

    async def metadata(self) -> dict[str, Any]:
        if self._metadata is None:
            url = f"{self.issuer}/.well-known/openid-configuration"
            document = await _get_json(url)
            if str(document.get("issuer", "")).rstrip("/") != self.issuer:
                raise SignInError(f"the discovery document at {url} names another issuer")
            self._metadata = document
        return self._metadata

    def _client(self, redirect_uri: str) -> AsyncOAuth2Client:
        return AsyncOAuth2Client(
            self.settings.client_id, self.settings.client_secret, scope=self.settings.scope,
            redirect_uri=redirect_uri, code_challenge_method="S256",
            token_endpoint_auth_method=(
                "client_secret_basic" if self.settings.client_secret else "none"
            ),
        )  # fmt: skip

    async def begin(self, redirect_uri: str, next_url: str) -> tuple[str, str]:
        """The provider's authorization URL to send the browser to, and its ``state``."""
        endpoint = (await self.metadata())["authorization_endpoint"]
        verifier, nonce, state = (secrets.token_urlsafe(48) for _ in range(3))
        async with self._client(redirect_uri) as client:
            url, _ = client.create_authorization_url(
                endpoint, state=state, code_verifier=verifier, nonce=nonce
            )
        with self._lock:
            now = time.time()
            self._pending = {
                k: p for k, p in self._pending.items() if now - p.created < PENDING_SECONDS
            }
            self._pending[state] = Pending(verifier, nonce, redirect_uri, next_url, now)
        return url, state

    async def finish(self, state: str, code: str) -> tuple[dict[str, Any], str]:
        """The ID token's verified claims for the sign-in ``state``, and where to go next."""
        with self._lock:
            pending = self._pending.pop(state, None)
        if pending is None or time.time() - pending.created > PENDING_SECONDS:
            raise SignInError("this sign-in attempt is unknown or expired; sign in again")
        meta = await self.metadata()
        async with self._client(pending.redirect_uri) as client:
            try:
                token = await client.fetch_token(
                    meta["token_endpoint"], code=code, code_verifier=pending.verifier
                )
            except Exception as exc:  # the provider refused the code: say why, sign in again
                raise SignInError(f"the identity provider refused the code: {exc}") from exc
        id_token = token.get("id_token")
        if not isinstance(id_token, str):
            raise SignInError("the identity provider returned no ID token")
        claims = await self._verify(id_token)
        if claims.get("nonce") != pending.nonce:
            raise SignInError("the ID token's nonce does not match this sign-in")
        return claims, pending.next_url

    async def _verify(self, id_token: str) -> dict[str, Any]:
        try:
            kid = jwt.get_unverified_header(id_token).get("kid")
            key = await self._key(kid)
            claims: dict[str, Any] = jwt.decode(
                id_token, key, algorithms=["RS256", "ES256", "PS256", "EdDSA"],
                audience=self.settings.client_id, issuer=self.issuer, leeway=30,
                options={"require": ["iss", "aud", "exp", "iat", "sub"]},
            )  # fmt: skip
        except jwt.PyJWTError as exc:
            raise SignInError(f"the ID token is not valid: {exc}") from exc
        return claims

    async def _key(self, kid: str | None) -> jwt.PyJWK:
        for attempt in range(2):  # a key not yet known: the provider may have rotated
            if self._keys is None or attempt:
                self._keys = jwt.PyJWKSet.from_dict(
                    await _get_json((await self.metadata())["jwks_uri"])
                )
            for key in self._keys.keys:
                if kid is None or key.key_id == kid:
                    return key
        raise SignInError(f"the issuer publishes no key {kid!r}")


async def _get_json(url: str) -> dict[str, Any]:
    async with httpx.AsyncClient(timeout=10.0) as http:
        try:
            response = await http.get(url)
            response.raise_for_status()
            body = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise SignInError(f"cannot read {url}: {exc}") from exc
    if not isinstance(body, dict):
        raise SignInError(f"{url} did not answer a JSON object")
    return body
