"""Options shared by the commands that run executions: the budget of one expression evaluation."""

from __future__ import annotations

from typing import Annotated

import typer

from sagaway.expressions import budget

_DEFAULT = budget.ExpressionLimits()

CpuSeconds = Annotated[
    float,
    typer.Option(
        help="CPU seconds one expression evaluation (JSONata, JSONPath, intrinsic) may use "
        "before its state fails (docs/limits.md)"
    ),
]
MaxDepth = Annotated[
    int, typer.Option(help="How deep one JSONata evaluation may nest (AWS: about 100)")
]
MaxBytes = Annotated[
    int,
    typer.Option(
        help="Largest value one expression evaluation may build: 8 bytes per array item, "
        "1 per character"
    ),
]


def apply_limits(cpu_seconds: float, max_depth: int, max_bytes: int) -> None:
    """Set this process's expression limits; a non-positive one is a usage error (exit 2)."""
    try:
        limits = budget.ExpressionLimits(cpu_seconds, max_depth, max_bytes)
    except ValueError as exc:
        raise typer.BadParameter("expression limits must be positive") from exc
    budget.configure(limits)


DEFAULT_CPU_SECONDS = _DEFAULT.cpu_seconds
DEFAULT_MAX_DEPTH = _DEFAULT.max_depth
DEFAULT_MAX_BYTES = _DEFAULT.max_bytes
