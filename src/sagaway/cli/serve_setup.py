"""What ``sagaway serve`` decides before it serves: who may call it, the socket it listens
on, and the line that tells a person where it is and how each client reaches it."""

from __future__ import annotations

import errno
import socket
from pathlib import Path

import typer

from sagaway.api.credentials import (
    ENV_VAR,
    ApiSecurity,
    CredentialsError,
    Role,
    is_loopback,
    load_credentials,
)

HOST_PREFIX_HINT = (
    "StartSyncExecution/TestState: turn off the 'sync-' host prefix "
    "(AWS CLI: AWS_DISABLE_HOST_PREFIX_INJECTION=true; "
    "JS SDK: disableHostPrefix: true; boto3: Config(inject_host_prefix=False))"
)


def fail(reason: str) -> typer.Exit:
    typer.echo(f"error: {reason}", err=True)
    return typer.Exit(2)


def security_for(host: str, credentials: Path | None, anonymous_reads: bool) -> ApiSecurity:
    """Credentials from ``credentials`` or the environment; off loopback they are required,
    since anyone who reaches the port could otherwise run and stop executions."""
    try:
        known = load_credentials(credentials)
    except CredentialsError as exc:
        raise fail(str(exc)) from exc
    loopback = is_loopback(host)
    if known is None and not loopback:
        raise fail(f"refusing to listen on {host} without credentials: give --credentials "
                   f"FILE or set {ENV_VAR} (or listen on 127.0.0.1)")  # fmt: skip
    if anonymous_reads and known is None:
        raise fail("--anonymous-reads needs credentials (without them every request is let in)")
    return ApiSecurity(
        credentials=known,
        anonymous=Role.READ_ONLY if anonymous_reads else None,
        loopback_hosts=loopback,
    )


BACKLOG = 2048  # connections the kernel queues before they are accepted (uvicorn's default)


def bind(host: str, port: int) -> socket.socket:
    """The listening socket, bound here so that a taken port is one line and exit 2, and
    listening from here on: a client that connects while the server is still starting waits
    in the backlog instead of being refused, and is answered as soon as the server serves,
    which after a crash is before its open executions are all resumed (``/readyz`` then
    answers 503 "recovering")."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP by name: asyncio switches Nagle off (TCP_NODELAY) only on accepted sockets
    # whose protocol says TCP, and 0 would leave it on: every response, written as head then
    # body, would then wait for the client's delayed ACK (40 ms on Linux).
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise fail(f"port {port} on {host} is taken (another process listens there); "
                       "choose another with --port") from exc  # fmt: skip
        raise fail(f"cannot listen on {host}:{port}: {exc.strerror}") from exc
    sock.listen(BACKLOG)
    sock.set_inheritable(True)
    return sock


def startup_line(host: str, port: int, db: str, functions: int, security: ApiSecurity) -> str:
    where = f"[{host}]" if ":" in host else host
    if security.credentials is None:
        auth = "no credentials: unsigned requests accepted (loopback only)"
    else:
        auth = f"SigV4 required ({len(security.credentials)} credential(s)"
        auth += ", unsigned reads allowed)" if security.anonymous else ")"
    return (
        f"sagaway serve: Step Functions API on http://{where}:{port}, journal {db}, "
        f"{functions} function(s) loaded, {auth}. {HOST_PREFIX_HINT}"
    )
