"""The SQLite writer process: it commits what the engine sends, ends with its engine, and a
dead writer makes commits fail (never hang)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from sagaway.store.ports import StoreError
from sagaway.store.sqlite import SqliteJournal
from tests.store.test_journal_contract import execution, start, step


def _journal(tmp_path: Path) -> SqliteJournal:
    journal = SqliteJournal(str(tmp_path / "journal.db"), writer_process=True)
    start(journal, "o1")  # the first commit starts the writer process
    assert journal._process is not None
    return journal


def _wait_gone(pid: int) -> None:
    deadline = time.monotonic() + 10
    while os.path.exists(f"/proc/{pid}") and _state(pid) != "Z":
        assert time.monotonic() < deadline, f"writer process {pid} is still alive"
        time.sleep(0.01)


def _state(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0]
    except OSError:
        return "gone"


def test_steps_are_written_by_another_process(tmp_path: Path) -> None:
    journal = _journal(tmp_path)
    assert journal._process is not None and journal._process.pid != os.getpid()
    arn = execution("o1").arn
    assert journal.commit([step(arn, 1, 3)]) == [True]
    # The engine's own read connection sees what the writer committed (WAL).
    assert [e["id"] for e in journal.history(arn)] == [1, 2, 3, 4]
    assert journal.writer_cpu_seconds() >= 0.0
    journal.close()


def test_a_batch_with_a_version_conflict_gets_a_flag_per_step(tmp_path: Path) -> None:
    journal = _journal(tmp_path)
    first, second = execution("o1").arn, start(journal, "o2")
    taken = step(first, 0, 1)  # o1 again: the create is refused, nothing of the step applies
    taken.create = execution("o1")
    # The stale version (7) fails the batch's guarded UPDATE: the batch is redone step by step.
    flags = journal.commit([step(first, 1, 3), step(second, 7, 3), taken, step(second, 1, 3)])
    assert flags == [True, False, False, True]
    assert journal.get_execution(first).version == 2  # type: ignore[union-attr]
    assert journal.get_execution(second).version == 2  # type: ignore[union-attr]
    assert [e["id"] for e in journal.history(second)] == [1, 2, 3, 4]
    journal.close()


def test_a_killed_writer_makes_this_and_later_commits_fail(tmp_path: Path) -> None:
    journal = _journal(tmp_path)
    assert journal._process is not None
    os.kill(journal._process.pid, signal.SIGKILL)
    _wait_gone(journal._process.pid)
    arn = execution("o1").arn
    for _ in range(2):
        with pytest.raises(StoreError, match=r"writer process .* has gone"):
            journal.commit([step(arn, 1, 3)])
    assert journal.get_execution(arn).version == 1  # type: ignore[union-attr]
    journal.close()
    # A new journal on the file (the restart) writes again.
    again = SqliteJournal(str(tmp_path / "journal.db"), writer_process=True)
    assert again.commit([step(arn, 1, 3)]) == [True]
    again.close()


def test_a_database_error_in_the_writer_is_a_store_error(tmp_path: Path) -> None:
    journal = _journal(tmp_path)
    locker = subprocess.Popen(
        [sys.executable, "-c", _LOCKER, str(tmp_path / "journal.db")],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    assert locker.stdout is not None and locker.stdout.readline() == b"locked\n"
    try:
        arn = execution("o1").arn
        with pytest.raises(StoreError, match="locked"):
            journal.commit([step(arn, 1, 3)])
    finally:
        locker.communicate(b"")
    assert journal.commit([step(arn, 1, 3)]) == [True]  # the writer goes on afterwards
    journal.close()


_LOCKER = textwrap.dedent("""
    import sqlite3, sys
    conn = sqlite3.connect(sys.argv[1], isolation_level=None)
    conn.execute("PRAGMA busy_timeout=0")
    conn.execute("BEGIN EXCLUSIVE")
    print("locked", flush=True)
    sys.stdin.read()
    conn.execute("ROLLBACK")
""")


def test_the_writer_ends_with_its_engine_killed(tmp_path: Path) -> None:
    """kill -9 of the engine closes the pipe: the writer sees EOF and exits."""
    engine = subprocess.Popen(
        [sys.executable, "-c", _ENGINE, str(tmp_path / "journal.db")],
        stdout=subprocess.PIPE,
        cwd=Path(__file__).parents[2],
    )
    assert engine.stdout is not None
    writer = int(engine.stdout.readline())
    assert _state(writer) not in ("gone", "Z")
    engine.kill()
    engine.wait()
    engine.stdout.close()
    _wait_gone(writer)


_ENGINE = textwrap.dedent("""
    import sys, time
    from sagaway.store.sqlite import SqliteJournal
    from tests.store.test_journal_contract import start
    journal = SqliteJournal(sys.argv[1], writer_process=True)
    start(journal, "o1")
    print(journal._process.pid, flush=True)
    time.sleep(60)
""")


def test_in_memory_and_switched_off_journals_write_in_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    memory = SqliteJournal(":memory:")
    start(memory, "o1")
    assert memory._process is None
    memory.close()
    monkeypatch.setenv("SAGAWAY_SQLITE_WRITER_PROCESS", "0")
    off = SqliteJournal(str(tmp_path / "off.db"))
    start(off, "o1")
    assert off._process is None
    off.close()
