"""VirtualClock: epoch seconds that move only when told to."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from sagaway.testing import DEFAULT_START, VirtualClock


def test_starts_at_the_default_start_and_advances() -> None:
    clock = VirtualClock()
    assert clock.now() == DEFAULT_START
    clock.advance(90)
    clock.advance(0.5)
    assert clock.now() == DEFAULT_START + 90.5
    assert clock.now_datetime() == datetime(2024, 1, 1, 0, 1, 30, 500000, tzinfo=UTC)


def test_starts_at_an_aware_datetime_in_any_zone() -> None:
    paris = timezone(timedelta(hours=1))
    clock = VirtualClock(datetime(2024, 1, 1, 1, 0, tzinfo=paris))
    assert clock.now() == DEFAULT_START


@pytest.mark.parametrize("start", [datetime(2024, 1, 1), float("nan"), "2024-01-01", True])
def test_refuses_starts_that_are_not_a_moment(start: object) -> None:
    with pytest.raises(ValueError, match="start time"):
        VirtualClock(start)  # type: ignore[arg-type]


def test_time_never_runs_backwards() -> None:
    clock = VirtualClock(0)
    with pytest.raises(ValueError, match=">= 0"):
        clock.advance(-1)
    with pytest.raises(ValueError, match=">= 0"):
        clock.advance(float("inf"))
    with pytest.raises(TypeError, match="must be a number"):
        clock.advance("5")  # type: ignore[arg-type]
    assert clock.now() == 0
