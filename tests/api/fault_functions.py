"""Handlers that end their process, hang, or must not run twice at once: loaded by path by
the real `sagaway serve` processes of tests/api/test_handler_faults.py."""

from __future__ import annotations

import fcntl
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

CONCURRENCY = {"guarded": 1}


def exits(event: Any, context: Any) -> Any:
    sys.exit(event.get("code", 3))


def interrupts(event: Any, context: Any) -> Any:
    raise KeyboardInterrupt


def hard_exit(event: Any, context: Any) -> Any:
    # Each call leaves a line first, so the test can count how often it ran.
    with open(event["calls"], "a") as calls:
        calls.write(f"{os.getpid()}\n")
    os._exit(event.get("code", 7))


def hang(event: Any, context: Any) -> Any:
    time.sleep(event["seconds"])
    if "mark" in event:  # proof that the handler ran on after its Task timed out
        Path(event["mark"]).write_text("woke")
    return {"woke": True}


def quick(event: Any, context: Any) -> Any:
    return {"ok": True, "pid": os.getpid()}


def guarded(event: Any, context: Any) -> Any:
    """Counts the invocations inside it at once (in a file, so sandboxes count too)."""
    path = Path(event["counter"])
    _adjust(path, +1)
    time.sleep(0.2)
    _adjust(path, -1)
    return {"item": event.get("item")}


def _adjust(path: Path, delta: int) -> None:
    with open(path.with_suffix(".lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        state = json.loads(path.read_text()) if path.exists() else {"now": 0, "max": 0}
        state["now"] += delta
        state["max"] = max(state["max"], state["now"])
        path.write_text(json.dumps(state))
