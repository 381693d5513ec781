"""Run a saga in a test: the real interpreter on a virtual clock, Tasks mocked or real.

``run_saga(definition, input, functions=..., mocks=...)`` runs one execution to its end and
returns a :class:`SagaResult`. :class:`SagaTest` parses and checks a definition once for
many runs (a pytest fixture, say), each run able to add or override mocks.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from pathlib import Path
from types import ModuleType
from typing import Any

from sagaway.asl.model import Machine
from sagaway.asl.parser import parse_definition
from sagaway.asl.validate import validate_definition
from sagaway.engine import arns
from sagaway.engine.virtual import run_virtual
from sagaway.expressions.jsontext import dumps
from sagaway.resources.lambda_functions import FunctionRegistry
from sagaway.resources.loader import FunctionsLoadError, load_functions, register_module
from sagaway.testing.clock import VirtualClock
from sagaway.testing.errors import InvalidDefinitionError, SagaTestError
from sagaway.testing.invoker import TaskInvoker
from sagaway.testing.mocks import check_mocked_states, parse_mocks, state_types
from sagaway.testing.result import SagaResult

Definition = str | Path | Mapping[str, Any]
Functions = FunctionRegistry | ModuleType | Mapping[str, Callable[..., Any]] | str | Path
Mocks = Mapping[str, Any]

DEFAULT_NAME = "SagaTest"
DEFAULT_EXECUTION = "test"


class SagaTest:
    """A checked definition with its handlers and mocks, ready to run on many inputs."""

    def __init__(
        self,
        definition: Definition,
        *,
        functions: Functions | None = None,
        mocks: Mocks | None = None,
        name: str | None = None,
    ) -> None:
        text, stem = _definition_text(definition)
        self.machine: Machine = parse_definition(text)
        self.name = name or stem or DEFAULT_NAME
        self.registry = _registry(functions)
        self.mocks = parse_mocks(mocks or {})
        check_mocked_states(self.machine, self.mocks)

    @property
    def task_states(self) -> list[str]:
        """The names of every Task state (nested ones included): what mocks may name."""
        return sorted(n for n, t in state_types(self.machine).items() if t == "Task")

    def run(
        self,
        input: Any = None,
        *,
        mocks: Mocks | None = None,
        start_time: float | datetime | None = None,
        clock: VirtualClock | None = None,
        execution_name: str = DEFAULT_EXECUTION,
    ) -> SagaResult:
        """Run one execution to its end. ``input`` None means ``{}``, as StartExecution has it.

        ``mocks`` add to (and per state replace) the mocks given to the constructor. Time
        starts at ``start_time`` or at ``clock``'s time (default 2024-01-01T00:00:00Z); a
        given ``clock`` follows the run and ends at the time of the last event.
        """
        merged = {**self.mocks, **parse_mocks(mocks or {})}
        check_mocked_states(self.machine, merged)
        clock = _clock(start_time, clock)
        start = clock.now()
        invoker = TaskInvoker(self.registry, merged, clock)
        try:
            outcome = run_virtual(
                self.machine,
                {} if input is None else input,
                invoker,
                start_time=start,
                execution_arn=arns.execution(self.name, execution_name),
                state_machine_arn=arns.state_machine(self.name),
                on_time=invoker.on_time,
            )
        finally:
            invoker.close()
        if outcome.history:
            clock._move_to(float(outcome.history[-1]["timestamp"]))
        return SagaResult(
            status=outcome.status,
            output=outcome.output,
            error=outcome.error,
            cause=outcome.cause,
            start_time=start,
            history=outcome.history,
            calls=invoker.calls,
            task_states=frozenset(self.task_states),
        )


def run_saga(
    definition: Definition,
    input: Any = None,
    *,
    functions: Functions | None = None,
    mocks: Mocks | None = None,
    start_time: float | datetime | None = None,
    clock: VirtualClock | None = None,
    name: str | None = None,
    execution_name: str = DEFAULT_EXECUTION,
) -> SagaResult:
    """Run ``definition`` once on ``input``; see :class:`SagaTest` and :meth:`SagaTest.run`."""
    saga = SagaTest(definition, functions=functions, mocks=mocks, name=name)
    return saga.run(input, start_time=start_time, clock=clock, execution_name=execution_name)


def _definition_text(definition: Definition) -> tuple[str, str | None]:
    """The definition's JSON text, checked, and the file's stem when it came from a file."""
    stem: str | None = None
    if isinstance(definition, Mapping):
        text = dumps(definition)
    elif isinstance(definition, str) and definition.lstrip().startswith("{"):
        text = definition
    elif isinstance(definition, str | Path):
        path = Path(definition)
        try:
            text = path.read_text()
        except OSError as exc:
            raise SagaTestError(
                f"definition {str(definition)!r} is neither JSON text nor a readable file: {exc}"
            ) from exc
        stem = path.name.split(".", 1)[0]
    else:
        raise SagaTestError(
            f"definition must be JSON text, a dict or a file path, not {type(definition).__name__}"
        )
    problems = [p for p in validate_definition(text) if p.severity == "ERROR"]
    if problems:
        lines = "\n".join(f"  {p.location or '/'}: {p.code}: {p.message}" for p in problems)
        raise InvalidDefinitionError(f"the definition is not valid ASL:\n{lines}")
    return text, stem


def _registry(functions: Functions | None) -> FunctionRegistry:
    if functions is None:
        return FunctionRegistry()
    if isinstance(functions, FunctionRegistry):
        return functions
    if isinstance(functions, ModuleType):
        return register_module(functions)
    if isinstance(functions, str | Path):
        try:
            return load_functions(str(functions))
        except FunctionsLoadError as exc:
            raise SagaTestError(str(exc)) from exc
    if isinstance(functions, Mapping):
        registry = FunctionRegistry()
        for function_name, handler in functions.items():
            if not callable(handler):
                raise SagaTestError(f"functions[{function_name!r}] is not callable: {handler!r}")
            registry.register(str(function_name), handler)
        return registry
    raise SagaTestError(
        "functions must be a FunctionRegistry, a module, a dict of name -> handler or a "
        f"module path, not {type(functions).__name__}"
    )


def _clock(start_time: float | datetime | None, clock: VirtualClock | None) -> VirtualClock:
    if clock is not None and start_time is not None:
        raise SagaTestError("give start_time or clock, not both (a clock carries its own time)")
    if clock is not None:
        return clock
    try:
        return VirtualClock() if start_time is None else VirtualClock(start_time)
    except ValueError as exc:
        raise SagaTestError(str(exc)) from exc
