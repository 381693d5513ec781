"""Console servers on a fresh SQLite journal (the store's own suites cover PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.console.kit import ConsoleServer


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ConsoleServer]:
    with ConsoleServer(f"sqlite:///{tmp_path / 'journal.db'}") as running:
        yield running
