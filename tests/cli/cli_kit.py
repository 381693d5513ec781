"""Running the real ``sagaway`` command line in a subprocess, as a user would."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
ORDER_SAGA = EXAMPLES / "order-saga.asl.json"
ORDER_FUNCTIONS = EXAMPLES / "order_functions.py"


@dataclass(frozen=True)
class Done:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)


def sagaway(*args: str | Path, cwd: Path | None = None, timeout: float = 60) -> Done:
    """``python -m sagaway ARGS`` with a wide, non-terminal stderr (no Rich animation)."""
    env = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1", "TERM": "dumb"}
    done = subprocess.run(
        [sys.executable, "-m", "sagaway", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=timeout,
        check=False,
    )
    return Done(done.returncode, done.stdout, done.stderr)
