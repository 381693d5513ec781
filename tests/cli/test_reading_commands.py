"""Reading commands never create files: a missing or mistyped database is exit 2 with a
reason, and nothing is left behind."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli.cli_kit import sagaway


@pytest.mark.parametrize("args", [
    ["dlq", "list", "--workdir", "{tmp}/mistyped"],
    ["dlq", "list", "--db", "sqlite:///{tmp}/nothing.db"],
    ["dlq", "show", "1", "--db", "sqlite:///{tmp}/nothing.db"],
    ["migrate", "--status", "--db", "sqlite:///{tmp}/nothing.db"],
    ["executions", "list", "--db", "sqlite:///{tmp}/nothing.db"],
])  # fmt: skip
def test_a_missing_database_is_exit_2_and_stays_missing(tmp_path: Path, args: list[str]) -> None:
    done = sagaway(*(arg.format(tmp=tmp_path) for arg in args))
    assert done.code == 2, done.err
    lines = done.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: no ") and "database at" in lines[0]
    assert list(tmp_path.iterdir()) == []
