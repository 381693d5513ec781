"""PostgreSQL plumbing for the benchmark: throwaway schemas, server settings, CPU accounting.

Every measured run gets a schema of its own (created here, dropped afterwards) and a URL
whose ``search_path`` points at it, so runs never see each other's rows and nothing is left
behind in the database. CPU is read from ``/proc`` (Linux): the workers are our children and
the PostgreSQL backends serving them run on the same machine.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg

from sagaway.procstat import cpu_seconds as cpu_seconds


def is_postgres(url: str | None) -> bool:
    return url is not None and url.startswith(("postgresql://", "postgres://"))


def with_params(url: str, **params: str) -> str:
    """``url`` with extra connection parameters appended to its query string."""
    query = "&".join(f"{key}={value}" for key, value in params.items())
    return f"{url}{'&' if '?' in url else '?'}{query}"


@contextmanager
def throwaway_schema(url: str) -> Iterator[tuple[str, str]]:
    """A fresh schema: yields (its name, ``url`` with search_path set to it); dropped after."""
    schema = f"bench_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(url, autocommit=True, connect_timeout=5) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    try:
        yield schema, with_params(url, options=f"-csearch_path%3D{schema}")
    finally:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


def server_settings(url: str) -> dict[str, Any]:
    """What decides the commit cost: version, fsync and synchronous_commit."""
    with psycopg.connect(url, autocommit=True) as conn:
        (version,) = conn.execute("SHOW server_version").fetchone() or ("?",)
        (fsync,) = conn.execute("SHOW fsync").fetchone() or ("?",)
        (sync,) = conn.execute("SHOW synchronous_commit").fetchone() or ("?",)
    host = url.split("@")[-1].split("?")[0]
    return {
        "kind": "postgresql",
        "server": host,
        "server_version": version,
        "fsync": fsync,
        "synchronous_commit": sync,
        "fsync_per_commit": fsync == "on" and sync != "off",
    }


def backend_pids(conn: psycopg.Connection[Any], prefix: str) -> list[int]:
    """The server processes serving connections whose application_name starts with
    ``prefix`` (the benchmark names every connection it opens)."""
    rows = conn.execute(
        "SELECT pid FROM pg_stat_activity WHERE application_name LIKE %s", (prefix + "%",)
    )
    return [pid for (pid,) in rows]


def cpu_snapshot(pids: list[int]) -> dict[int, float]:
    return {pid: cpu_seconds(pid) for pid in pids}


def cpu_spent(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU spent between two snapshots; a process born in between counts from zero."""
    return sum(max(0.0, used - before.get(pid, 0.0)) for pid, used in after.items())
