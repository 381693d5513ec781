"""Handlers for the ``sagaway serve --db postgresql://`` test, loaded by path by every process
of the cluster (servers and worker)."""

from __future__ import annotations

from typing import Any


def step(event: Any, context: Any) -> dict[str, Any]:
    return {**event, "steps": int(event.get("steps", 0)) + 1}
