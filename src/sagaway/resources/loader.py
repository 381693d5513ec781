"""Loading Lambda-style handlers from a Python file or an importable module (``--functions``)."""

from __future__ import annotations

import importlib
import importlib.util
import inspect
from pathlib import Path
from types import ModuleType

from sagaway.resources.lambda_functions import FunctionRegistry


class FunctionsLoadError(Exception):
    """The ``--functions`` file or module could not be loaded."""


def load_functions(target: str, registry: FunctionRegistry | None = None) -> FunctionRegistry:
    """Register every public top-level function of ``target`` under its name.

    ``target`` is a path to a ``.py`` file or a dotted module name. A module may instead
    define ``FUNCTIONS = {"Name": handler}`` to choose the names (e.g. names that are not
    Python identifiers).
    """
    module = _import(target)
    try:
        return register_module(module, registry)
    except FunctionsLoadError as exc:
        raise FunctionsLoadError(f"cannot load functions from {target}: {exc}") from exc


def register_module(
    module: ModuleType, registry: FunctionRegistry | None = None
) -> FunctionRegistry:
    """Register the handlers of an already imported ``module`` (same rules as above)."""
    registry = registry or FunctionRegistry()
    explicit = getattr(module, "FUNCTIONS", None)
    if explicit is not None:
        if not isinstance(explicit, dict):
            raise FunctionsLoadError(
                f"FUNCTIONS must be a dict of name -> handler, "
                f"not {type(explicit).__name__}"
            )
        for name, handler in explicit.items():
            if not callable(handler):
                raise FunctionsLoadError(f"FUNCTIONS[{name!r}] is not "
                                         f"callable (a {type(handler).__name__})")  # fmt: skip
            registry.register(str(name), handler)
        return registry
    for name, value in vars(module).items():
        if (
            inspect.isfunction(value)
            and not name.startswith("_")
            and value.__module__ == module.__name__
        ):
            registry.register(name, value)
    return registry


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
