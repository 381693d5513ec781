"""The engine's side of the SQLite writer process (:mod:`sagaway.store.sqlite_writer`).

One child per journal file, started on the first commit. The caller (the group-commit
thread) sends a batch of rows and blocks on the answer without holding the GIL, so the
event loop keeps the interpreter to itself while SQLite writes and fsyncs in the child.

Failure semantics: if the child dies or its pipe breaks, that commit and every later one
raise :class:`StoreError` (the engine detaches the executions; a restart resumes them from
the journal). Nothing waits forever: a dead child is EOF on its pipe.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any

from sagaway import procstat
from sagaway.pipes import widen_pipe
from sagaway.store import sqlite_queries as Q
from sagaway.store import sqlite_writer as W
from sagaway.store.ports import StoreError

ENV_SWITCH = "SAGAWAY_SQLITE_WRITER_PROCESS"  # "0": write in the engine's own process
_SCRIPT = str(Path(W.__file__).resolve())
_STATEMENTS = (
    Q.INSERT_EXECUTION, Q.UPDATE_EXECUTION, Q.INSERT_HISTORY, Q.INSERT_OUTBOX, Q.INSERT_PAYLOAD
)


def wanted(path: str, choice: bool | None) -> bool:
    """Whether a journal on ``path`` writes through a process: by default every file-backed
    one, unless the environment turns it off; an in-memory database only exists in-process."""
    if path in ("", ":memory:") or path.startswith("file:"):
        return False
    if choice is not None:
        return choice
    return os.environ.get(ENV_SWITCH, "1") != "0"


class WriterProcess:
    def __init__(self, path: str, durable: bool) -> None:
        self.path = path
        # -I: the script imports only the standard library; nothing of the caller's
        # environment (PYTHONPATH, user site, the current directory) should shadow it.
        try:
            self._proc = subprocess.Popen(
                [sys.executable, "-I", _SCRIPT, path, "1" if durable else "0", str(os.getpid())],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
            )
        except OSError as exc:
            raise StoreError(f"cannot start the journal writer process of {path}: {exc}") from exc
        widen_pipe(self._stdin)
        self._lock = threading.Lock()
        self._failed: str | None = None
        self._exchange(_STATEMENTS, answer=False)

    @property
    def pid(self) -> int:
        return self._proc.pid

    def commit(self, steps: Sequence[W.StepRows]) -> list[bool]:
        # Plain tuples: the child runs the module as __main__ and cannot unpickle its classes.
        kind, value = self._exchange([tuple(step) for step in steps], answer=True)
        if kind != "ok":
            raise StoreError(value)
        flags: list[bool] = value
        return flags

    def _exchange(self, value: Any, *, answer: bool) -> tuple[str, Any]:
        with self._lock:
            if self._failed is not None:
                raise StoreError(self._failed)
            try:
                W.send(self._stdin, value)
                reply: tuple[str, Any] = W.receive(self._stdout) if answer else ("ok", None)
                return reply
            except (OSError, EOFError, ValueError) as exc:
                # ValueError: a commit after close() (its pipe is closed).
                self._failed = (
                    f"the journal writer process of {self.path} has gone "
                    f"(exit status {self._proc.poll()}): {exc!r}"
                )
                raise StoreError(self._failed) from exc

    @property
    def _stdin(self) -> IO[bytes]:
        assert self._proc.stdin is not None
        return self._proc.stdin

    @property
    def _stdout(self) -> IO[bytes]:
        assert self._proc.stdout is not None
        return self._proc.stdout

    def cpu_seconds(self) -> float:
        """The child's CPU time so far (user + system), for honest benchmark figures."""
        return procstat.cpu_seconds(self._proc.pid)

    def close(self) -> None:
        """EOF on its pipe ends the child once it has answered what it was sent."""
        with self._lock:
            self._failed = self._failed or f"the journal of {self.path} is closed"
            stop(self._proc)


def stop(proc: subprocess.Popen[bytes]) -> None:
    for stream in (proc.stdin, proc.stdout):
        if stream is not None:
            # OSError: a broken pipe on the final flush, the child has gone already.
            with contextlib.suppress(OSError):
                stream.close()
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
