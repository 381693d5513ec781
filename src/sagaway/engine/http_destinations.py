"""Where an ``http:invoke`` Task may connect: only to globally routable addresses, unless
the server names the host as allowed.

A definition is data anyone with CreateStateMachine can write; without this check it could
make the server call its own API, a database's HTTP port, or a cloud metadata service
(server-side request forgery). The name is resolved here and the connection goes to the
address that was checked, so a DNS answer that changes between the check and the connect
(rebinding) cannot slip a private address through.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Iterable
from dataclasses import dataclass, field

import httpx


class DestinationRefused(Exception):
    """The endpoint resolves to an address that is not allowed; the message says why."""


@dataclass(frozen=True)
class Destination:
    """The request to make: ``url`` names the checked address; ``host_header`` and
    ``sni_hostname`` keep the name the definition used (None: call ``url`` as given)."""

    url: str
    host_header: str | None = None
    sni_hostname: str | None = None


@dataclass(frozen=True)
class HttpDestinations:
    allowed_hosts: frozenset[str] = field(default_factory=frozenset)

    @classmethod
    def allowing(cls, hosts: Iterable[str]) -> HttpDestinations:
        return cls(frozenset(host.lower().strip("[]") for host in hosts))

    async def check(self, endpoint: str) -> Destination:
        url = httpx.URL(endpoint)
        host = url.host.lower()
        if host in self.allowed_hosts:
            return Destination(endpoint)
        if url.scheme not in ("http", "https") or not host:
            raise DestinationRefused(f"'{endpoint}' is not an http(s) URL with a host")
        address = await _resolve(host, url.port or (443 if url.scheme == "https" else 80))
        pinned = url.copy_with(host=str(address))
        return Destination(str(pinned), url.netloc.decode("ascii"), host)


async def _resolve(host: str, port: int) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise DestinationRefused(f"cannot resolve {host}: {exc.strerror}") from exc
    addresses = [ipaddress.ip_address(info[4][0]) for info in infos]
    for address in addresses:
        mapped = getattr(address, "ipv4_mapped", None) or address
        if not mapped.is_global:
            raise DestinationRefused(
                f"{host} resolves to {address}, a loopback, private or link-local address; "
                "a server allows such a host by name (sagaway serve --http-allow-host HOST)"
            )
    return addresses[0]
