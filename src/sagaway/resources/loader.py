"""Loading Lambda-style handlers from a Python file or an importable module (``--functions``).

Besides its handlers, a module may say how they run, as Lambda's function configuration
does: ``CONCURRENCY = {"Name": 2}`` reserves concurrency (at most two invocations of Name at
once; more are throttled), and ``ISOLATION = "process"`` or ``{"Name": "process"}`` runs
those handlers in sandbox processes instead of the engine's threads.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import sys
from enum import StrEnum
from pathlib import Path
from types import ModuleType
from typing import Any

from sagaway.resources.lambda_functions import ISOLATIONS, PROCESS, THREAD, FunctionRegistry


class FunctionsLoadError(Exception):
    """The ``--functions`` file or module could not be loaded."""


class Isolation(StrEnum):
    """``--isolation``: where handlers run unless their module says otherwise."""

    THREAD = THREAD
    PROCESS = PROCESS


ISOLATION_HELP = (
    "Where handlers run: thread (in this process; fastest) or process (in sandbox processes, "
    "so a handler that exits, crashes or hangs fails only its Task); a module's ISOLATION "
    "overrides it per function."
)


def load_functions(target: str, registry: FunctionRegistry | None = None) -> FunctionRegistry:
    """Register every public top-level function of ``target`` under its name.

    ``target`` is a path to a ``.py`` file or a dotted module name. A module may instead
    define ``FUNCTIONS = {"Name": handler}`` to choose the names (e.g. names that are not
    Python identifiers).
    """
    module = _import(target)
    try:
        return register_module(module, registry, source=target)
    except FunctionsLoadError as exc:
        raise FunctionsLoadError(f"cannot load functions from {target}: {exc}") from exc


def register_module(
    module: ModuleType, registry: FunctionRegistry | None = None, *, source: str | None = None
) -> FunctionRegistry:
    """Register the handlers of an already imported ``module`` (same rules as above).

    ``source``: the file or module name a sandbox process imports to run them (default: the
    module's name, when it is importable)."""
    registry = registry if registry is not None else FunctionRegistry()
    if source is None:
        source = _source_of(module)
    explicit = getattr(module, "FUNCTIONS", None)
    names: list[str] = []
    if explicit is not None:
        for name, handler in _explicit(explicit):
            registry.register(name, handler, source=source)
            names.append(name)
    else:
        for name, value in vars(module).items():
            if (
                inspect.isfunction(value)
                and not name.startswith("_")
                and value.__module__ == module.__name__
            ):
                registry.register(name, value, source=source)
                names.append(name)
    _configure(registry, names, getattr(module, "CONCURRENCY", None), _isolation(module, names))
    return registry


def _explicit(explicit: Any) -> list[tuple[str, Any]]:
    """``FUNCTIONS``, checked: a dict of names to callables."""
    if not isinstance(explicit, dict):
        raise FunctionsLoadError(
            f"FUNCTIONS must be a dict of name -> handler, not {type(explicit).__name__}"
        )
    for name, handler in explicit.items():
        if not callable(handler):
            raise FunctionsLoadError(
                f"FUNCTIONS[{name!r}] is not callable (a {type(handler).__name__})"
            )
    return [(str(name), handler) for name, handler in explicit.items()]


def _source_of(module: ModuleType) -> str | None:
    # An imported module is found again by name; one loaded from a file, by its path.
    if module.__name__ != "__main__" and sys.modules.get(module.__name__) is module:
        return module.__name__
    origin = getattr(module.__spec__, "origin", None)
    return origin if isinstance(origin, str) and Path(origin).is_file() else None


def _isolation(module: ModuleType, names: list[str]) -> dict[str, Any]:
    value = getattr(module, "ISOLATION", None)
    if value is None:
        return {}
    if isinstance(value, str):
        return dict.fromkeys(names, value)
    if isinstance(value, dict):
        return value
    raise FunctionsLoadError(f"ISOLATION must be {' or '.join(ISOLATIONS)}, or a dict of them")


def _configure(
    registry: FunctionRegistry, names: list[str], concurrency: Any, isolation: dict[str, Any]
) -> None:
    if concurrency is not None and not isinstance(concurrency, dict):
        raise FunctionsLoadError("CONCURRENCY must be a dict of function name to a count")
    for name, limit in (concurrency or {}).items():
        if name not in names:
            raise FunctionsLoadError(f"CONCURRENCY names {name!r}, which is not a function")
        if not isinstance(limit, int) or isinstance(limit, bool) or limit < 1:
            raise FunctionsLoadError(f"CONCURRENCY[{name!r}] must be a whole number >= 1")
        registry.concurrency[name] = limit
    for name, mode in isolation.items():
        if name not in names:
            raise FunctionsLoadError(f"ISOLATION names {name!r}, which is not a function")
        if mode not in ISOLATIONS:
            raise FunctionsLoadError(f"ISOLATION[{name!r}] must be {' or '.join(ISOLATIONS)}")
        registry.isolations[name] = mode


def _import(target: str) -> ModuleType:
    path = Path(target)
    try:
        if path.suffix == ".py" or path.exists():
            spec = importlib.util.spec_from_file_location(path.stem, path)
            if spec is None or spec.loader is None:
                raise FunctionsLoadError(f"cannot load functions from {target}")
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            return module
        return importlib.import_module(target)
    except FunctionsLoadError:
        raise
    except SystemExit as exc:  # a module must not end the process that imports it
        raise FunctionsLoadError(
            f"cannot load functions from {target}: it called sys.exit({exc.code!r}) on import"
        ) from exc
    except Exception as exc:  # whatever the module raises is the user's error, not ours
        raise FunctionsLoadError(
            f"cannot load functions from {target}: {type(exc).__name__}: {exc}"
        ) from exc
