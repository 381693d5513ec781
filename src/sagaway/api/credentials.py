"""Who may call the API: access key ids, their secrets and their roles.

Credentials come from a file (``--credentials FILE``, readable by its owner only) or from
the ``SAGAWAY_CREDENTIALS`` environment variable, both holding one credential per line::

    # access-key-id  secret-access-key  [full|read-only]
    AKIDOPERATOR     s3cr3t-operator     full
    AKIDAUDITOR      s3cr3t-auditor      read-only

A read-only credential may call only the actions that change nothing (Describe*, List*,
Get*, except GetActivityTask, which hands a task to its caller).
"""

from __future__ import annotations

import enum
import ipaddress
import os
import secrets
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

ENV_VAR = "SAGAWAY_CREDENTIALS"
READ_PREFIXES = ("Describe", "List", "Get")
# GetActivityTask starts a piece of work (it hands out a task token), so it is a write.
NOT_READS = frozenset({"GetActivityTask"})


class Role(enum.Enum):
    FULL = "full"
    READ_ONLY = "read-only"

    def allows(self, action: str) -> bool:
        return self is Role.FULL or (action.startswith(READ_PREFIXES) and action not in NOT_READS)


@dataclass(frozen=True)
class Credential:
    access_key_id: str
    secret_access_key: str
    role: Role = Role.FULL


class CredentialsError(ValueError):
    """Credentials text that cannot be read; the message names the line."""


def parse_credentials(text: str, source: str) -> dict[str, Credential]:
    found: dict[str, Credential] = {}
    for number, raw in enumerate(text.splitlines(), 1):
        words = raw.split("#", 1)[0].split()
        if not words:
            continue
        if len(words) not in (2, 3):
            raise CredentialsError(
                f"{source}:{number}: expected 'ACCESS_KEY_ID SECRET [full|read-only]'"
            )
        try:
            role = Role(words[2]) if len(words) == 3 else Role.FULL
        except ValueError:
            raise CredentialsError(
                f"{source}:{number}: role must be 'full' or 'read-only', not {words[2]!r}"
            ) from None
        found[words[0]] = Credential(words[0], words[1], role)
    if not found:
        raise CredentialsError(f"{source}: no credentials in it")
    return found


def load_credentials(
    path: Path | None, environ: Mapping[str, str] = os.environ
) -> dict[str, Credential] | None:
    """The credentials in ``path``, else in ``SAGAWAY_CREDENTIALS``, else None (no
    credentials configured)."""
    if path is not None:
        try:
            if path.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO):
                raise CredentialsError(f"{path} is readable by others: chmod 600 it")
            return parse_credentials(path.read_text(), str(path))
        except OSError as exc:
            raise CredentialsError(f"cannot read {path}: {exc.strerror}") from exc
    text = environ.get(ENV_VAR)
    return parse_credentials(text, ENV_VAR) if text else None


def generate(role: Role = Role.FULL) -> Credential:
    """A fresh random credential (the demo prints one at start)."""
    return Credential("AKSW" + secrets.token_hex(8).upper(), secrets.token_urlsafe(30), role)


@dataclass(frozen=True)
class ApiSecurity:
    """What the API checks. ``credentials`` None: requests need no signature (allowed on
    loopback only). ``anonymous``: the role of an unsigned request when credentials are
    configured (None: unsigned requests are refused). ``loopback_hosts``: refuse a Host
    header that does not name this machine, so that a web page whose DNS name was rebound
    to 127.0.0.1 cannot drive the server from a browser."""

    credentials: Mapping[str, Credential] | None = None
    anonymous: Role | None = None
    loopback_hosts: bool = True
    clock_skew_seconds: float = field(default=15 * 60)


def is_loopback(host: str) -> bool:
    name = host.strip("[]").lower()
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def host_name(header: str) -> str:
    """The name in a Host header, without its port (``[::1]:8083`` -> ``::1``)."""
    if header.startswith("["):
        return header[1:].split("]", 1)[0]
    return header.rsplit(":", 1)[0] if header.count(":") == 1 else header
