"""One engine process per shop: an exclusive ``flock`` on ``WORKDIR/engine.lock``.

The SQLite journal is written by one engine at a time, and ``sagaway dlq redrive`` must know
whether a running engine will pick the redrive up or whether it has to run the resumed sagas
itself. The kernel drops the lock when its holder dies, even by SIGKILL, so a crashed engine
never leaves a stale lock behind (a PID file would)."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path


class EngineBusy(RuntimeError):
    """Another engine process is running on this working directory."""


class EngineLock:
    def __init__(self, workdir: Path) -> None:
        self.path = workdir / "engine.lock"
        self._fd: int | None = None

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            os.close(fd)
            raise EngineBusy(f"an engine process is running on {self.path.parent}") from exc
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the descriptor drops the lock
            self._fd = None


def engine_running(workdir: Path) -> bool:
    lock = EngineLock(workdir)
    try:
        lock.acquire()
    except EngineBusy:
        return True
    lock.release()
    return False
