"""Versioned schema migrations, one folder of numbered ``NNNN_name.sql`` files per dialect."""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources

_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    sql: str


def migrations(dialect: str) -> list[Migration]:
    """The dialect's migrations in order (``dialect`` is ``sqlite`` or ``postgresql``)."""
    folder = resources.files(__package__).joinpath(dialect)
    found: list[Migration] = []
    for entry in folder.iterdir():
        match = _NAME.match(entry.name)
        if match:
            found.append(Migration(int(match.group(1)), match.group(2), entry.read_text()))
    found.sort(key=lambda m: m.version)
    versions = [m.version for m in found]
    if versions != list(range(1, len(found) + 1)):
        raise RuntimeError(f"{dialect} migrations are not numbered 1..n: {versions}")
    return found


def latest(dialect: str) -> int:
    return len(migrations(dialect))


def fresh_schema(dialect: str) -> str:
    """The whole current schema (``schema/<dialect>.sql``), for creating an empty database in
    one step instead of replaying every migration."""
    return resources.files("sagaway.store").joinpath("schema", f"{dialect}.sql").read_text()
