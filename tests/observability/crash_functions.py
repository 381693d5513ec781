"""Handlers for the crash test's ``sagaway serve`` processes: ``hold`` blocks the first time
(the process is killed while it waits) and answers at once in the next process."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any


def reserve(event: Any, context: Any) -> Any:
    return event


def hold(event: Any, context: Any) -> Any:
    marker = Path(os.environ["HOLD_MARKER"])
    if not marker.exists():
        marker.write_text(str(os.getpid()))
        time.sleep(120)  # killed here
    return event
