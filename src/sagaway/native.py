"""The modules built to C with mypyc, and the guard that runs them as Python when their build
is out of date.

``pip install`` compiles the modules of :data:`COMPILED` (setup.py; the interpreter's hot
path, the journal's row building) when mypyc and a C compiler are at hand, and records the
SHA-256 of each source it compiled in ``_native.json`` beside this file. Python imports a
module's compiled extension before its source, so an edited source would go unseen in an
editable install: :func:`install_guard`, run first by ``sagaway/__init__``, compares the
sources with that record and, when one differs, has every module of the set imported from
its source (all of them: compiled modules call one another directly, past any module that
was swapped). ``SAGAWAY_PURE_PYTHON=1`` asks for the sources too (at build time: nothing is
compiled). :func:`status` says which it is; ``sagaway --version`` prints it.

Standard library only: setup.py loads this file before any dependency is installed.
"""

from __future__ import annotations

import hashlib
import importlib.abc
import importlib.machinery
import importlib.util
import json
import logging
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, Final

# Compiled modules. Each must type-check under mypy --strict and keep to what mypyc
# compiles faithfully: no monkeypatching of their functions, no objects made without their
# __init__ (see docs/benchmarks.md, "mypyc").
COMPILED: Final = (
    "sagaway.interpreter.advance",
    "sagaway.interpreter.run",
    "sagaway.interpreter.lifecycle",
    "sagaway.interpreter.handlers",
    "sagaway.interpreter.dataflow",
    "sagaway.interpreter.codec",
    "sagaway.interpreter.texts",
    "sagaway.interpreter.limits",
    "sagaway.interpreter.states.task",
    "sagaway.expressions.jsontext",
    "sagaway.expressions.jsonpath",
    "sagaway.engine.actor",
    "sagaway.engine.journal_steps",
    "sagaway.store.rows",
    "sagaway.store.payloads",
)
PURE_ENV: Final = "SAGAWAY_PURE_PYTHON"
MANIFEST: Final = "_native.json"
_PACKAGE_ROOT: Final = Path(__file__).resolve().parent.parent  # holds sagaway/
log = logging.getLogger("sagaway")


@dataclass(frozen=True)
class Status:
    compiled: bool
    reason: str  # why not, or which build
    stale: bool = False  # sources changed since the build: worth a warning

    def describe(self) -> str:
        if self.compiled:
            return f"compiled with mypyc ({len(COMPILED)} modules; {self.reason})"
        return f"pure Python ({self.reason})"


def source_path(module: str, root: Path = _PACKAGE_ROOT) -> Path:
    return root.joinpath(*module.split(".")).with_suffix(".py")


def digests(root: Path = _PACKAGE_ROOT) -> dict[str, str]:
    """SHA-256 of each compiled module's source (what setup.py records at build time)."""
    return {m: hashlib.sha256(source_path(m, root).read_bytes()).hexdigest() for m in COMPILED}


def write_manifest(root: Path, builder: str) -> None:
    """Record the sources about to be compiled (setup.py)."""
    body = {"builder": builder, "sources": digests(root)}
    (root / "sagaway" / MANIFEST).write_text(json.dumps(body, indent=1) + "\n")


def remove_manifest(root: Path) -> None:
    (root / "sagaway" / MANIFEST).unlink(missing_ok=True)


def _extension_built(module: str) -> bool:
    spec = importlib.machinery.PathFinder.find_spec(
        module.rpartition(".")[2], [str(source_path(module).parent)]
    )
    return spec is not None and isinstance(spec.loader, importlib.machinery.ExtensionFileLoader)


def _manifest() -> dict[str, Any]:
    """What the build recorded (``sources``: SHA-256 by module; ``builder``); empty when
    nothing was compiled."""
    try:
        body: dict[str, Any] = json.loads((_PACKAGE_ROOT / "sagaway" / MANIFEST).read_text())
    except (OSError, ValueError):
        return {}
    return body


def _decide(manifest: dict[str, Any]) -> Status:
    recorded: dict[str, str] = manifest.get("sources", {})
    if os.environ.get(PURE_ENV, "") not in ("", "0"):
        return Status(False, f"{PURE_ENV} is set")
    if not recorded:
        return Status(False, "not built: install with mypyc and a C compiler at hand")
    if set(recorded) != set(COMPILED):
        return Status(False, "built for another set of modules: reinstall to rebuild them")
    if not all(_extension_built(m) for m in COMPILED):
        return Status(False, "a compiled module is missing: reinstall to rebuild them")
    changed = [m for m, d in digests().items() if recorded[m] != d]
    if changed:
        names = ", ".join(str(source_path(m).relative_to(_PACKAGE_ROOT)) for m in changed)
        reason = f"sources changed since the build ({names}): reinstall to rebuild"
        return Status(False, reason, stale=True)
    return Status(True, str(manifest.get("builder", "")))


class _SourceFirst(importlib.abc.MetaPathFinder):
    """Finds the sources of ``modules``, where the default finders take the extensions."""

    def __init__(self, modules: set[str]) -> None:
        self.modules = modules

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname not in self.modules:
            return None
        return importlib.util.spec_from_file_location(fullname, source_path(fullname))


_status: Status | None = None


def install_guard() -> Status:
    """Decide once per process; when the build cannot be used, import the sources."""
    global _status
    if _status is None:
        manifest = _manifest()
        _status = _decide(manifest)
        if _status.stale:
            log.warning("sagaway: running its compiled modules as Python: %s", _status.reason)
        if not _status.compiled:
            # Also what an older build compiled and the list no longer names.
            recorded = manifest.get("sources", {})
            sys.meta_path.insert(0, _SourceFirst(set(COMPILED) | set(recorded)))
    return _status


def status() -> Status:
    return install_guard()
