"""Pipes to the engine's helper processes (the SQLite writer, the span exporter).

Only the standard library is imported here: the exporter process imports this module
without the rest of the package."""

from __future__ import annotations

import contextlib
import fcntl
from typing import IO

# Bytes a pipe to a helper process holds. A batch to the SQLite writer (a hundred steps) is
# 100-300 KB, a batch of span messages about as much; through Linux's default 64 KiB pipe
# each took several handovers between the two processes (the engine blocked until the
# child had read a pipeful, then won the GIL back from its own event loop).
PIPE_BYTES = 1024 * 1024


def widen_pipe(stream: IO[bytes]) -> None:
    """Let the pipe under ``stream`` hold PIPE_BYTES (Linux; elsewhere, or above the
    system's limit, it keeps its size)."""
    setting = getattr(fcntl, "F_SETPIPE_SZ", None)  # Linux only
    if setting is None:
        return
    # OSError: above /proc/sys/fs/pipe-max-size (1 MiB by default) for this user.
    with contextlib.suppress(OSError):
        fcntl.fcntl(stream.fileno(), setting, PIPE_BYTES)
