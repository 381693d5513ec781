"""``sagaway demo --workdir`` clears only the files a demo made, in a folder it made."""

from __future__ import annotations

from pathlib import Path

from shop.demo import MARKER, prepare_workdir
from tests.cli.cli_kit import sagaway


def test_a_folder_the_demo_did_not_make_is_refused_and_left_alone(tmp_path: Path) -> None:
    mine = tmp_path / "mine.db"
    mine.write_bytes(b"a user's own database")
    done = sagaway("demo", "--orders", "10", "--workdir", tmp_path)
    assert done.code == 2
    assert done.err.strip().splitlines() == [
        f"error: {tmp_path} is not empty and was not made by sagaway demo: give --workdir a "
        "new or empty folder"
    ]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine.db"]


def test_a_rerun_clears_the_demo_files_and_nothing_else(tmp_path: Path) -> None:
    workdir = tmp_path / "demo"
    prepare_workdir(workdir)
    assert (workdir / MARKER).is_file()
    for name in ("orders.db", "orders.db-wal", "sagaway.db", "engine.log", "mine.db", "notes.txt"):
        (workdir / name).write_text("x")
    prepare_workdir(workdir)
    assert sorted(p.name for p in workdir.iterdir()) == [MARKER, "mine.db", "notes.txt"]
