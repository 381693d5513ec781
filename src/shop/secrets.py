"""Where the shop's secrets come from: the intake's token key, third parties' API keys,
webhook signing secrets. Never from code, never into logs.

Three providers answer ``get(name)`` (None when the secret is not there):

- ``EnvSecrets`` (the default): ``jwt-key`` is ``$SHOP_JWT_KEY``, ``gateway-api-key`` is
  ``$SHOP_GATEWAY_API_KEY``;
- ``FileSecrets``: one file per secret in a folder (``$SHOP_SECRETS_DIR``, e.g. the
  ``/run/secrets`` a container runtime mounts), which must not be readable by group or
  others;
- ``VaultSecrets``: a HashiCorp Vault KV version 2 secret (``$VAULT_ADDR``,
  ``$VAULT_TOKEN``, path ``$SHOP_VAULT_PATH``, default ``shop``), read with hvac.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol


class SecretError(Exception):
    """A provider that cannot be used as configured; the message says why."""


class SecretProvider(Protocol):
    def get(self, name: str) -> str | None: ...


class EnvSecrets:
    def __init__(self, environ: Mapping[str, str] = os.environ, prefix: str = "SHOP_") -> None:
        self.environ = environ
        self.prefix = prefix

    def variable(self, name: str) -> str:
        return self.prefix + name.upper().replace("-", "_")

    def get(self, name: str) -> str | None:
        return self.environ.get(self.variable(name)) or None


class FileSecrets:
    def __init__(self, directory: Path) -> None:
        if not directory.is_dir():
            raise SecretError(f"secrets folder {directory} does not exist")
        self.directory = directory

    def get(self, name: str) -> str | None:
        path = self.directory / name
        try:
            mode = path.stat().st_mode
        except FileNotFoundError:
            return None
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise SecretError(f"{path} is readable by others: chmod 600 it")
        return path.read_text().strip() or None


class VaultSecrets:
    """KV version 2: every secret of the shop is one key of the secret at ``path``."""

    def __init__(self, client: Any, path: str = "shop", mount_point: str = "secret") -> None:
        self.client = client
        self.path = path
        self.mount_point = mount_point

    @classmethod
    def connect(cls, url: str, token: str, path: str = "shop") -> VaultSecrets:
        import hvac  # only a shop that uses Vault needs the client loaded

        client = hvac.Client(url=url, token=token)
        if not client.is_authenticated():
            raise SecretError(f"Vault at {url} refused the token")
        return cls(client, path)

    def get(self, name: str) -> str | None:
        answer = self.client.secrets.kv.v2.read_secret_version(
            path=self.path, mount_point=self.mount_point, raise_on_deleted_version=True
        )
        value = answer["data"]["data"].get(name)
        return None if value is None else str(value)


def secrets_from_environment(environ: Mapping[str, str] = os.environ) -> SecretProvider:
    """Vault when ``$VAULT_ADDR`` and ``$VAULT_TOKEN`` are set, else the folder
    ``$SHOP_SECRETS_DIR`` when set, else the environment."""
    if environ.get("VAULT_ADDR") and environ.get("VAULT_TOKEN"):
        return VaultSecrets.connect(
            environ["VAULT_ADDR"], environ["VAULT_TOKEN"], environ.get("SHOP_VAULT_PATH", "shop")
        )
    if environ.get("SHOP_SECRETS_DIR"):
        return FileSecrets(Path(environ["SHOP_SECRETS_DIR"]))
    return EnvSecrets(environ)
