"""Bearer-token checks for the intake: HS256 with a shared key, or RS256 with the public
keys of a JWKS URL (an identity provider's), fetched, cached for ``lifespan`` seconds and
chosen by the token's ``kid``.

Every token must expire (``exp``); ``issuer`` and ``audience``, when set, must match
``iss`` and ``aud``. The dev key is public (it is in this file): it is accepted only when
the caller says so, which only the loopback demo does.
"""

from __future__ import annotations

import time
from typing import Any

import jwt
from jwt.exceptions import PyJWKClientConnectionError

from shop.secrets import EnvSecrets, SecretProvider

DEV_KEY = "sagaway-dev-key-not-for-production-use"
SECRET_NAME = "jwt-key"
ENV_KEY = "SHOP_JWT_KEY"  # where EnvSecrets finds it
DEV_TOKEN_SECONDS = 3600


class KeysUnavailable(Exception):
    """The JWKS endpoint did not answer: the token may be fine, we cannot tell (503)."""


class NoSigningKey(ValueError):
    """Neither a key, nor a JWKS URL, nor leave to use the dev key."""


class TokenVerifier:
    def __init__(
        self,
        key: str | None = None,
        jwks_url: str | None = None,
        *,
        issuer: str | None = None,
        audience: str | None = None,
        allow_dev_key: bool = False,
        secrets: SecretProvider | None = None,
        lifespan: float = 300,
        cooldown: float = 30,
    ) -> None:
        """``cooldown``: the least time between two re-fetches for an unknown ``kid`` (a
        rotation shows up at once, while junk ``kid``s cannot make us hammer the provider)."""
        stored = (secrets or EnvSecrets()).get(SECRET_NAME)
        self.key = key or stored or (DEV_KEY if allow_dev_key else None)
        self.jwks_url = jwks_url or None
        if self.key is None and self.jwks_url is None:
            raise NoSigningKey(f"the intake needs the secret {SECRET_NAME} (${ENV_KEY}, a file "
                               "in $SHOP_SECRETS_DIR or Vault) or a JWKS URL (the dev key is "
                               "for the loopback demo only)")  # fmt: skip
        self.issuer = issuer
        self.audience = audience
        self._jwks = (
            None
            if self.jwks_url is None
            else jwt.PyJWKClient(
                self.jwks_url,
                cache_keys=True,
                lifespan=lifespan,
                timeout=5,
                cooldown_duration=cooldown,
            )
        )

    def subject(self, token: str) -> str:
        """The token's ``sub``; raises ``jwt.PyJWTError`` for a bad token. With a JWKS this
        may fetch the key set (blocking: call it from a worker thread)."""
        key: Any = self.key
        algorithm = "HS256"
        if self._jwks is not None:
            try:
                key = self._jwks.get_signing_key_from_jwt(token).key
            except PyJWKClientConnectionError as exc:
                raise KeysUnavailable(str(exc)) from exc
            algorithm = "RS256"
        required = ["sub", "exp"] + ["iss"] * bool(self.issuer) + ["aud"] * bool(self.audience)
        claims = jwt.decode(
            token, key, algorithms=[algorithm], issuer=self.issuer, audience=self.audience,
            options={"require": required, "verify_aud": self.audience is not None},
        )  # fmt: skip
        return str(claims["sub"])


def dev_token(client: str, key: str = DEV_KEY, **claims: Any) -> str:
    now = int(time.time())
    body = {"sub": client, "iat": now, "exp": now + DEV_TOKEN_SECONDS, **claims}
    return jwt.encode(body, key, algorithm="HS256")
