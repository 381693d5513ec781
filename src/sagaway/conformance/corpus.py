"""Locating and reading the conformance corpus (data for tests, never copied into the repo)."""

from __future__ import annotations

import importlib.util
import json
import os
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

ENV_DIR = "SAGAWAY_CONFORMANCE_DIR"


def default_dir() -> Path:
    """``$SAGAWAY_CONFORMANCE_DIR``, else ``../shared/conformance`` from the working directory
    or from the repository checkout this package lives in."""
    if os.environ.get(ENV_DIR):
        return Path(os.environ[ENV_DIR])
    candidates = [Path.cwd() / ".." / "shared" / "conformance"]
    candidates += [p / ".." / "shared" / "conformance" for p in Path(__file__).resolve().parents]
    for candidate in candidates:
        if (candidate / "index.json").is_file():
            return candidate.resolve()
    return candidates[0]


def load_index(directory: Path) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = json.loads((directory / "index.json").read_text())
    return rows


def iter_cases(directory: Path, kind: str | None = None) -> Iterator[dict[str, Any]]:
    for row in load_index(directory):
        if kind is None or row["kind"] == kind:
            case: dict[str, Any] = json.loads(
                (directory / "cases" / f"{row['id']}.json").read_text()
            )
            case.setdefault("pure", row.get("pure"))
            yield case


def load_compare(directory: Path) -> ModuleType:
    """The corpus's own ``compare.py`` (the masking rules must be the recording's)."""
    spec = importlib.util.spec_from_file_location(
        "sagaway_conformance_compare", directory / "compare.py"
    )
    if spec is None or spec.loader is None:
        raise FileNotFoundError(directory / "compare.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
