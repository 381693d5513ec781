"""CPU time of another process, from ``/proc`` (Linux): for figures that must count every
process doing the work (the SQLite writer process, benchmark workers, PostgreSQL backends)."""

from __future__ import annotations

import os

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process so far (0.0 once it is gone or unreadable)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            fields = stat.read().rsplit(b")", 1)[1].split()
    except OSError:
        return 0.0
    # after the command name: state is field 3, so utime (14) and stime (15) are 11 and 12
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
