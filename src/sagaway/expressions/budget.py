"""Bounds on one expression evaluation: CPU time, nesting depth, and the size of values built.

Expressions are code a definition's author (or an execution's input) runs inside the server,
on the event loop every other execution and API call shares. A JSONata function that recurses
for ever, a JSONPath filter quadratic in its input or an intrinsic that builds a huge string
must fail its own state, never stall the process. So every evaluation runs under a
:class:`Budget`: evaluators call :meth:`Budget.tick` in their loops and :meth:`Budget.size`
before (or right after) they build a value, and :func:`metered` turns an exhausted budget
into the ``States.*`` error of the evaluator that started the evaluation.

The defaults follow what AWS was measured to refuse: a JSONata evaluation nesting deeper than
about 100 levels, or holding a value of more than 6,990,256 bytes (8 bytes per array item, 1
per character). AWS publishes no time limit; one CPU second per evaluation is far above what
any expression that AWS accepts needs here.

The limits are process-wide settings (``sagaway serve --expression-cpu-seconds ...``), read
when an evaluation starts; nested evaluations (a path inside an intrinsic) share the outer
one's budget, so one field is bounded as a whole.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from contextvars import ContextVar, Token
from dataclasses import dataclass
from typing import Final

from sagaway.expressions.errors import StatesError

__all__ = [
    "DEPTH_EXCEEDED",
    "MEMORY_EXCEEDED",
    "TIMEOUT",
    "Budget",
    "BudgetExceeded",
    "ExpressionLimits",
    "configure",
    "current",
    "limits",
    "metered",
]

# AWS's sentences (jsonata-js's wording), used for every evaluator so one name means one limit.
TIMEOUT: Final = "Expression evaluation timeout: Check for infinite loop"
MEMORY_EXCEEDED: Final = (
    "Expression evaluation memory limit exceeded: Check for excessive memory usage"
)
DEPTH_EXCEEDED: Final = (
    "Stack overflow error: Check for non-terminating recursive function. "
    "Consider rewriting as tail-recursive."
)

# Reading the thread's CPU clock is a system call: look at it once per this many steps.
_CLOCK_EVERY: Final = 256


@dataclass(frozen=True, slots=True)
class ExpressionLimits:
    """What one evaluation may spend."""

    cpu_seconds: float = 1.0
    max_depth: int = 100
    max_bytes: int = 6_990_256

    def __post_init__(self) -> None:
        if self.cpu_seconds <= 0 or self.max_depth < 1 or self.max_bytes < 1:
            raise ValueError(f"expression limits must be positive: {self}")


class BudgetExceeded(Exception):
    """An evaluation went over one of its limits; ``reason`` is AWS's sentence for it."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


_settings: list[ExpressionLimits] = [ExpressionLimits()]
_active: ContextVar[Budget | None] = ContextVar("sagaway_expression_budget", default=None)


def configure(new_limits: ExpressionLimits) -> None:
    """Set the limits of every evaluation started from now on, in this process."""
    _settings[0] = new_limits


def limits() -> ExpressionLimits:
    return _settings[0]


class Budget:
    """The allowance of one evaluation: a CPU deadline, a depth and a size ceiling."""

    __slots__ = (
        "_countdown", "cpu_seconds", "deadline", "depth", "max_bytes", "max_depth", "tripped"
    )  # fmt: skip

    def __init__(self, settings: ExpressionLimits) -> None:
        # The clock starts at the first check, after _CLOCK_EVERY steps: most evaluations
        # never get there, and so never pay for reading it.
        self.cpu_seconds = settings.cpu_seconds
        self.deadline: float | None = None
        self.max_depth = settings.max_depth
        self.max_bytes = settings.max_bytes
        self.depth = 0
        self._countdown = _CLOCK_EVERY
        # The first limit crossed, kept because libraries may wrap the exception on its way up.
        self.tripped: str | None = None

    def tick(self, steps: int = 1) -> None:
        """Count ``steps`` units of work; raise once the CPU deadline has passed."""
        self._countdown -= steps
        if self._countdown <= 0:
            self._countdown = _CLOCK_EVERY
            now = time.thread_time()
            if self.deadline is None:
                self.deadline = now + self.cpu_seconds
            elif now > self.deadline:
                self.trip(TIMEOUT)

    def remaining(self) -> float:
        """CPU seconds left (starting the clock if it has not started yet)."""
        now = time.thread_time()
        if self.deadline is None:
            self.deadline = now + self.cpu_seconds
        return max(self.deadline - now, 0.0)

    def size(self, nbytes: int) -> None:
        """Refuse a value of ``nbytes`` (8 per array item or object member, 1 per char)."""
        if nbytes > self.max_bytes:
            self.trip(MEMORY_EXCEEDED)

    def enter(self) -> None:
        self.depth += 1
        if self.depth > self.max_depth:
            self.trip(DEPTH_EXCEEDED)
        self.tick()

    def leave(self) -> None:
        self.depth -= 1

    def trip(self, reason: str) -> None:
        self.tripped = self.tripped or reason
        raise BudgetExceeded(self.tripped)


class _Unmetered(Budget):
    """The budget of work outside :class:`metered`, bounded by its own input (a definite
    path): never runs out, and costs nothing to consult."""

    __slots__ = ()

    def tick(self, steps: int = 1) -> None:
        pass

    def size(self, nbytes: int) -> None:
        pass

    def enter(self) -> None:
        pass


_UNMETERED: Final = _Unmetered(ExpressionLimits())


def current() -> Budget:
    """The running evaluation's budget (one that never runs out outside :class:`metered`)."""
    budget = _active.get()
    return budget if budget is not None else _UNMETERED


class metered:
    """Run one evaluation under a budget; an exhausted budget raises ``failure(reason)``.

    Only the outermost evaluation converts: an intrinsic whose path argument runs out of time
    fails as the intrinsic, not as the path. A class rather than a generator: it wraps every
    evaluation of a field, so its cost shows in every state transition."""

    __slots__ = ("_failure", "_token")

    def __init__(self, failure: Callable[[str], StatesError]) -> None:
        self._failure = failure
        self._token: Token[Budget | None] | None = None

    def __enter__(self) -> Budget:
        outer = _active.get()
        if outer is not None:
            return outer
        budget = Budget(_settings[0])
        self._token = _active.set(budget)
        return budget

    def __exit__(self, kind: object, error: BaseException | None, trace: object) -> None:
        if self._token is None:
            return
        _active.reset(self._token)
        if isinstance(error, BudgetExceeded):
            raise self._failure(error.reason) from None
        if isinstance(error, RecursionError):
            # Python's own stack limit, reached by a structure the budget does not count (a
            # deeply nested filter): the same failure as nesting too deep.
            raise self._failure(DEPTH_EXCEEDED) from None
