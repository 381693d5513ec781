"""Handlers the sandbox test loads by path into sandbox processes."""

from __future__ import annotations

import os
import time
from typing import Any


def echo(event: Any, context: Any) -> Any:
    return {**event, "pid": os.getpid()}


def beating(event: Any, context: Any) -> Any:
    # Longer than HeartbeatSeconds, kept alive by heartbeats sent across the pipe.
    for _ in range(4):
        time.sleep(0.4)
        context.heartbeat()
    return {"n": event["n"] + 1, "pid": event["pid"]}


def fails(event: Any, context: Any) -> Any:
    raise ValueError(f"no {event['n']} here")


def slow(event: Any, context: Any) -> Any:
    time.sleep(event.get("seconds", 1.0))
    return {"pid": os.getpid()}
