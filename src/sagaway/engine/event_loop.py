"""The event loop a process that runs an engine uses: uvloop where it is installed.

An engine's transitions are short callbacks: each state is a turn of the event loop (an
actor's step, a Task's dispatch, its result handed back), so the loop's own cost per
callback is a visible share of a transition. uvloop (libuv under asyncio's interface)
schedules and runs callbacks for less CPU than the standard library's loop: 4-6% more
EXPRESS sagas/s on the order saga, about 10% more STANDARD ones at 100 in flight, no change
that shows with 64 KiB payloads (docs/benchmarks.md, "EXPRESS, fifth pass").

``SAGAWAY_EVENT_LOOP`` chooses: ``uvloop`` (the default where it can be imported: it is a
dependency on Linux and macOS) or ``asyncio`` (the standard library's loop, the default
elsewhere). Every ``sagaway`` command that runs an engine, and ``sagaway serve`` through
uvicorn, use :func:`run` / :func:`choice`; an application that embeds the engine may use
:func:`run` too, or any asyncio loop: the engine needs nothing from uvloop.
"""

from __future__ import annotations

import asyncio
import importlib.util
import os
from collections.abc import Callable, Coroutine
from typing import Any, Final, Literal, TypeVar

ENV: Final = "SAGAWAY_EVENT_LOOP"
LOOPS: Final = ("uvloop", "asyncio")

LoopName = Literal["uvloop", "asyncio"]
T = TypeVar("T")


class EventLoopChoiceError(ValueError):
    """``SAGAWAY_EVENT_LOOP`` names a loop this process cannot use."""


def choice() -> LoopName:
    """The loop ``SAGAWAY_EVENT_LOOP`` asks for, or the default: uvloop when importable."""
    asked = os.environ.get(ENV, "").strip().lower()
    installed = importlib.util.find_spec("uvloop") is not None
    if not asked:
        return "uvloop" if installed else "asyncio"
    if asked == "asyncio":
        return "asyncio"
    if asked == "uvloop":
        if not installed:
            raise EventLoopChoiceError(
                f"{ENV}=uvloop, but uvloop is not installed (pip install uvloop), "
                f"or set {ENV}=asyncio"
            )
        return "uvloop"
    raise EventLoopChoiceError(f"{ENV}={asked!r}: expected one of {', '.join(LOOPS)}")


def factory(name: LoopName) -> Callable[[], asyncio.AbstractEventLoop]:
    """A function that makes a new loop of that kind."""
    if name == "uvloop":
        import uvloop

        return uvloop.new_event_loop
    return asyncio.new_event_loop


def run(main: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run(main)`` on the loop :func:`choice` gives."""
    with asyncio.Runner(loop_factory=factory(choice())) as runner:
        return runner.run(main)
