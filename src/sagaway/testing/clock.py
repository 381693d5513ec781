"""The virtual clock a saga test runs on: time moves only when the execution needs it to."""

from __future__ import annotations

import math
from datetime import UTC, datetime

# 2024-01-01T00:00:00Z. A fixed default start keeps $$.Execution.StartTime, Wait
# timestamps and history timestamps identical from one test run to the next.
DEFAULT_START = 1_704_067_200.0


def epoch_seconds(moment: float | datetime) -> float:
    """Epoch seconds of ``moment`` (a number of seconds, or a timezone-aware datetime)."""
    if isinstance(moment, datetime):
        if moment.tzinfo is None:
            raise ValueError(f"start time {moment!r} has no time zone; use an aware datetime")
        return moment.timestamp()
    if isinstance(moment, bool) or not isinstance(moment, int | float) or not math.isfinite(moment):
        raise ValueError(f"start time must be epoch seconds or a datetime, not {moment!r}")
    return float(moment)


class VirtualClock:
    """Epoch seconds that jump instead of passing.

    During a run the test kit moves the clock to the time of each step: a Wait of a day
    moves it by 86400 seconds at once. A handler that wants its call to take time (to
    reach a TimeoutSeconds, say) calls :meth:`advance` while it runs; the call then lasts
    that long in virtual time.
    """

    def __init__(self, start: float | datetime = DEFAULT_START) -> None:
        self._now = epoch_seconds(start)

    def now(self) -> float:
        """The current virtual time, epoch seconds (the engine's ``Clock`` protocol)."""
        return self._now

    def now_datetime(self) -> datetime:
        """The current virtual time as an aware UTC datetime."""
        return datetime.fromtimestamp(self._now, UTC)

    def advance(self, seconds: float) -> None:
        """Let ``seconds`` of virtual time pass (never backwards)."""
        if isinstance(seconds, bool) or not isinstance(seconds, int | float):
            raise TypeError(f"seconds must be a number, not {seconds!r}")
        if not math.isfinite(seconds) or seconds < 0:
            raise ValueError(f"seconds must be a finite number >= 0, not {seconds!r}")
        self._now += seconds

    def _move_to(self, moment: float) -> None:
        # The run sets the time of each step, and resets it before each call of a step so
        # that one handler's advance() does not leak into the next one's start time.
        self._now = moment

    def __repr__(self) -> str:
        return f"VirtualClock({self.now_datetime().isoformat()})"
