"""A project's Python functions loaded as Task handlers, each as Lambda would run it.

Each function's code is imported in a namespace of its own (``sagaway_project.<name>``), so
two functions whose handlers are both ``app.lambda_handler`` in different ``CodeUri``
directories stay two modules, and a helper module one imports beside its handler (Lambda
puts the code directory on the path) is not the helper another function gets. The
function's ``Environment`` variables are set in this process before its code is imported
(handlers commonly read them at import); ``Timeout`` fails a Task that runs longer with
Lambda's ``Sandbox.Timedout``.
"""

from __future__ import annotations

import importlib.util
import os
import re
import sys
import threading
from pathlib import Path
from types import ModuleType
from typing import Any

from sagaway.resources.lambda_functions import FunctionRegistry, Handler
from sagaway.templates.project import ProjectFunction

NAMESPACE = "sagaway_project"

# Lambda reports a function that outlived its Timeout with this error name.
SandboxTimedout = type("Sandbox.Timedout", (Exception,), {})


class ProjectFunctionError(Exception):
    """A function's code cannot be found or imported."""


def load_project_functions(
    functions: list[ProjectFunction], registry: FunctionRegistry
) -> list[str]:
    """Register each function under its name and aliases; the lines returned tell what a
    person should know (environment variables two functions set differently)."""
    notes: list[str] = []
    seen: dict[str, tuple[str, str]] = {}
    for function in functions:
        for key, value in function.environment.items():
            earlier = seen.get(key)
            if earlier is not None and earlier[1] != value:
                notes.append(f"environment variable {key}: {earlier[0]} sets {earlier[1]!r}, "
                             f"{function.name} sets {value!r}; functions share this process, "
                             "the last one loaded wins")  # fmt: skip
            seen[key] = (function.name, value)
            os.environ[key] = value
        handler = _timed(function, _handler(function))
        for name in (function.name, *function.aliases):
            registry.register(name, handler)
    return notes


def _handler(function: ProjectFunction) -> Handler:
    module_path, _, attribute = function.handler.rpartition(".")
    if not module_path or not attribute:
        raise ProjectFunctionError(
            f"function {function.name}: Handler {function.handler!r} is not module.function"
        )
    relative = module_path.replace(".", "/")
    file = function.code_dir / f"{relative}.py"
    if not file.is_file():
        raise ProjectFunctionError(
            f"function {function.name}: no {relative}.py in {function.code_dir}"
        )
    module = _import(function, file, module_path.replace("/", "."))
    handler = getattr(module, attribute, None)
    if not callable(handler):
        raise ProjectFunctionError(f"function {function.name}: {file} has no function {attribute}")
    return handler  # type: ignore[no-any-return]


def _import(function: ProjectFunction, file: Path, dotted: str) -> ModuleType:
    namespace = f"{NAMESPACE}.{re.sub(r'[^A-Za-z0-9_]', '_', function.name)}"
    spec = importlib.util.spec_from_file_location(f"{namespace}.{dotted}", file)
    assert spec is not None and spec.loader is not None  # a .py file always has a loader
    module = importlib.util.module_from_spec(spec)
    before = set(sys.modules)
    sys.path.insert(0, str(function.code_dir))
    try:
        spec.loader.exec_module(module)
    except Exception as exc:  # the function's own import error is the user's to read
        raise ProjectFunctionError(
            f"function {function.name}: importing {file} failed: {type(exc).__name__}: {exc}"
        ) from exc
    finally:
        sys.path.remove(str(function.code_dir))
        _forget_siblings(function.code_dir, before)
    return module


def _forget_siblings(code_dir: Path, before: set[str]) -> None:
    # Helpers imported from this function's directory stay referenced by its module; out
    # of sys.modules, the next function's ``import utils`` finds its own utils.
    root = str(code_dir)
    for name in set(sys.modules) - before:
        origin = getattr(sys.modules[name], "__file__", None) or ""
        if origin.startswith(root):
            del sys.modules[name]


def _timed(function: ProjectFunction, handler: Handler) -> Handler:
    limit = function.timeout

    def run(event: Any, context: Any) -> Any:
        outcome: dict[str, Any] = {}

        def target() -> None:
            try:
                outcome["value"] = handler(event, context)
            except BaseException as exc:  # handed to the Task, as Lambda reports it
                outcome["error"] = exc

        # A daemon thread: Python cannot stop a thread, so one that outlives its Timeout
        # is left to finish while the Task fails, as Lambda's caller sees it.
        worker = threading.Thread(target=target, name=f"lambda-{function.name}", daemon=True)
        worker.start()
        worker.join(limit)
        if worker.is_alive():
            raise SandboxTimedout(f"Task timed out after {limit:.2f} seconds")
        if "error" in outcome:
            raise outcome["error"]
        return outcome.get("value")

    run.__name__ = function.name
    return run
