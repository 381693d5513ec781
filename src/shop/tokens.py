"""Bearer-token checks for the intake: HS256 with a shared key (the dev key by default), or
RS256 with the public keys of a JWKS URL (an identity provider's), fetched, cached for
``lifespan`` seconds and chosen by the token's ``kid``."""

from __future__ import annotations

import os
import time

import jwt
from jwt.exceptions import PyJWKClientConnectionError

DEV_KEY = "sagaway-dev-key-not-for-production-use"
ENV_KEY = "SHOP_JWT_KEY"


class KeysUnavailable(Exception):
    """The JWKS endpoint did not answer: the token may be fine, we cannot tell (503)."""


class TokenVerifier:
    def __init__(
        self,
        key: str | None = None,
        jwks_url: str | None = None,
        *,
        lifespan: float = 300,
        cooldown: float = 30,
    ) -> None:
        """``cooldown``: the least time between two re-fetches for an unknown ``kid`` (a
        rotation shows up at once, while junk ``kid``s cannot make us hammer the provider)."""
        self.key = key or os.environ.get(ENV_KEY) or DEV_KEY
        self.jwks_url = jwks_url or None
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
        if self._jwks is None:
            claims = jwt.decode(token, self.key, algorithms=["HS256"], options={"require": ["sub"]})
        else:
            try:
                signing = self._jwks.get_signing_key_from_jwt(token)
            except PyJWKClientConnectionError as exc:
                raise KeysUnavailable(str(exc)) from exc
            # An identity provider's tokens expire: require it (the dev key's need not).
            claims = jwt.decode(
                token, signing.key, algorithms=["RS256"], options={"require": ["sub", "exp"]}
            )
        return str(claims["sub"])


def dev_token(client: str, key: str = DEV_KEY) -> str:
    return jwt.encode({"sub": client, "iat": int(time.time())}, key, algorithm="HS256")
