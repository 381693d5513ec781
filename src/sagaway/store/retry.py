"""Backoff between reconnection attempts: a database that restarts must not be hammered by
every member at once, nor wait a minute after it is back."""

from __future__ import annotations

import random


class Backoff:
    """Delays that double from ``first`` up to ``cap`` seconds, with jitter so that members
    that lost the database together do not come back in step; ``reset`` after a success."""

    def __init__(self, first: float = 0.1, cap: float = 5.0) -> None:
        self.first = first
        self.cap = cap
        self._delay = first

    def next(self) -> float:
        delay = self._delay
        self._delay = min(self._delay * 2, self.cap)
        return delay * random.uniform(0.5, 1.0)

    def reset(self) -> None:
        self._delay = self.first
