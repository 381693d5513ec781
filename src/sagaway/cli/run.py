"""``sagaway run``: run one execution of a state machine to its end and print the result.

By default on the durable engine: the definition is registered (or updated) in the journal
as the state machine named after the file, the execution is journaled step by step, and
Wait states really wait. ``--virtual`` runs in memory on a virtual clock instead.
"""

from __future__ import annotations

import re
import sqlite3
import time
import uuid
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import typer

from sagaway.asl.parser import parse_definition
from sagaway.asl.validate import validate_definition
from sagaway.cli import app
from sagaway.cli.executions import (
    DEFAULT_DB,
    console,
    echo_json,
    fail,
    history_table,
    iso,
    json_events,
    open_journal,
    tables,
)
from sagaway.cli.template_options import (
    ParameterOverrides,
    TemplateFile,
    choose,
    load_project,
    parse_overrides,
)
from sagaway.engine import arns, event_loop
from sagaway.engine.engine import Engine, ExecutionAlreadyExists
from sagaway.engine.integrations import ResourceRouter
from sagaway.engine.virtual import run_virtual
from sagaway.expressions.jsontext import dumps, loads
from sagaway.interpreter.messages import Event, InvokeTask
from sagaway.messaging.put_events import ServerBus, bus_url_beside
from sagaway.resources.lambda_functions import FunctionRegistry, invoke
from sagaway.resources.loader import (
    ISOLATION_HELP,
    FunctionsLoadError,
    Isolation,
    load_functions,
)
from sagaway.store.ports import Journal, StateMachineRecord, StoreError

EXIT_INTERRUPTED = 130


@dataclass(slots=True)
class RunResult:
    """What ``run`` reports, whichever way the execution ran."""

    execution_arn: str
    state_machine_arn: str
    name: str
    status: str
    output: Any = None
    error: str | None = None
    cause: str | None = None
    start_date: float | None = None
    stop_date: float | None = None
    history: list[dict[str, Any]] = field(default_factory=list)


@app.command()
def run(
    file: Annotated[
        Path | None, typer.Argument(help="ASL definition (JSON); omitted with --template.")
    ] = None,
    input_text: Annotated[
        str, typer.Option("--input", "-i", help="Execution input, JSON text.")
    ] = "{}",
    functions: Annotated[
        str | None,
        typer.Option("--functions", "-f", help="Python file or module with Lambda-style handlers."),
    ] = None,
    db: Annotated[
        str, typer.Option("--db", help="Journal URL: sqlite:///path.db or a file path.")
    ] = DEFAULT_DB,
    name: Annotated[
        str | None, typer.Option("--name", help="Execution name (default: a new UUID).")
    ] = None,
    history: Annotated[
        bool, typer.Option("--history", help="Also print the execution history.")
    ] = False,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the result as one JSON object on stdout.")
    ] = False,
    virtual: Annotated[
        bool,
        typer.Option("--virtual", help="Run in memory on a virtual clock (no journal, no waits)."),
    ] = False,
    isolation: Annotated[Isolation, typer.Option(help=ISOLATION_HELP)] = Isolation.THREAD,
    template: TemplateFile = None,
    state_machine: Annotated[
        str | None,
        typer.Option(
            "--state-machine",
            help="With --template: the state machine to run, by its template name "
            "(needed when the template declares several).",
        ),
    ] = None,
    parameter_overrides: ParameterOverrides = None,
) -> None:
    """Run FILE on --input until it ends; print its output, or STATUS: error: cause.

    The state machine is named after the file (order-saga.asl.json -> order-saga) and kept
    in --db, updated when the definition changed. Exits 0 when the execution SUCCEEDED, 1
    when it FAILED, TIMED_OUT or ABORTED, 2 for bad input (file, definition, JSON, functions,
    database).

    With --template FILE the state machine comes from a SAM / CloudFormation template or a
    Serverless Framework serverless.yml, under its template name, and the project's Python
    functions are the Task handlers.
    """
    _parse_input(input_text)
    registry = _registry(functions, isolation.value)
    if template is not None:
        if file is not None:
            fail("give either FILE or --template, not both")
        machines = load_project(template, registry, parse_overrides(parameter_overrides))
        chosen = choose(machines, state_machine, template)
        text, machine = chosen.definition, chosen.name
    elif file is None:
        fail("give an ASL definition FILE, or a project with --template")
    else:
        if state_machine is not None:
            fail("--state-machine chooses among a template's machines: give --template")
        text = _read(file)
        _check_definition(file, text)
        machine = machine_name(file)
    if virtual:
        result = _run_virtual(text, input_text, registry, name or "run", machine)
    else:
        result = _run_durable(text, input_text, registry, db, name or str(uuid.uuid4()), machine)
    _report(result, history, as_json)
    raise typer.Exit(0 if result.status == "SUCCEEDED" else 1)


def machine_name(file: Path) -> str:
    """The state machine's name: the file name without ``.json`` / ``.asl``, cut to what
    AWS accepts (80 characters, no spaces or punctuation AWS refuses)."""
    stem = file.name.removesuffix(".json").removesuffix(".asl")
    return re.sub(r"[^A-Za-z0-9_.-]", "-", stem)[:80] or "state-machine"


def _read(file: Path) -> str:
    try:
        return file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        fail(f"cannot read {file}: {getattr(exc, 'strerror', None) or exc}")


def _check_definition(file: Path, text: str) -> None:
    problems = validate_definition(text)
    for p in problems:
        message = " ".join(p.message.split())
        typer.echo(f"{file}: {p.location or '-'}: {p.code}: {message}", err=True)
    if any(p.severity == "ERROR" for p in problems):
        fail(f"{file} is not a valid state machine definition")


def _parse_input(text: str) -> Any:
    try:
        return loads(text)
    except ValueError as exc:
        fail(f"--input is not valid JSON: {' '.join(str(exc).split())}")


def _registry(functions: str | None, isolation: str) -> FunctionRegistry:
    registry = FunctionRegistry(isolation=isolation)
    if functions is None:
        return registry
    try:
        return load_functions(functions, registry)
    except FunctionsLoadError as exc:
        fail(" ".join(str(exc).split()))


# -- durable -------------------------------------------------------------------------------
def _run_durable(
    text: str, input_text: str, registry: FunctionRegistry, db: str, name: str, machine: str
) -> RunResult:
    journal = open_journal(db, create=True)
    try:
        # The bus a server would have: putEvents Tasks publish there as under `serve`.
        bus = ServerBus(bus_url_beside(db), journal=journal)
        return event_loop.run(_drive(journal, registry, bus, text, input_text, name, machine))
    except (StoreError, sqlite3.Error) as exc:
        fail(" ".join(str(exc).split()))
    except ExecutionAlreadyExists:
        fail(f"an execution named {name!r} already exists for {machine}; choose another --name")
    except KeyboardInterrupt:
        typer.echo(
            f"interrupted: execution {name!r} stays RUNNING in {db}; it resumes when an "
            "engine next opens that database",
            err=True,
        )
        raise typer.Exit(EXIT_INTERRUPTED) from None
    finally:
        journal.close()


async def _drive(
    journal: Journal,
    registry: FunctionRegistry,
    bus: ServerBus,
    text: str,
    input_text: str,
    name: str,
    machine: str,
) -> RunResult:
    bus.start()
    try:
        return await _run_one(journal, Engine(journal, registry, router=ResourceRouter(bus=bus)),
                              text, input_text, name, machine)  # fmt: skip
    finally:
        await bus.stop()


async def _run_one(
    journal: Journal, engine: Engine, text: str, input_text: str, name: str, machine: str
) -> RunResult:
    async with engine:
        if engine.actors:
            console.print(f"resumed {len(engine.actors)} unfinished execution(s) from the journal")
        record = register(engine, journal, machine, text)
        began = time.perf_counter()
        started = await engine.start_execution(record.arn, name, input_text)
        with _spinner(started.arn):
            ended = await engine.wait(started.arn)
        if engine.store_error is not None:
            raise engine.store_error
        assert ended is not None  # the journal holds every execution this engine started
        console.print(
            f"execution {ended.arn} {ended.status} in {time.perf_counter() - began:.3f} s"
        )
        return RunResult(
            ended.arn, ended.state_machine_arn, ended.name, ended.status,
            None if ended.output is None else loads(ended.output), ended.error, ended.cause,
            ended.start_date, ended.stop_date, journal.history(ended.arn),
        )  # fmt: skip


def register(engine: Engine, journal: Journal, name: str, text: str) -> StateMachineRecord:
    """The STANDARD state machine ``name`` with definition ``text``: reused when the journal
    has it unchanged, else created or updated (new executions use the new definition;
    running ones keep theirs)."""
    existing = journal.get_state_machine(arns.state_machine(name))
    if existing is not None and existing.definition == text and existing.type == "STANDARD":
        return existing
    if existing is not None:
        console.print(f"updating state machine {name}: the definition changed")
    return engine.create_state_machine(name, text, type="STANDARD")


def _spinner(arn: str) -> AbstractContextManager[Any]:
    # Only for a person watching: piped stderr gets no animation frames.
    if not console.is_terminal:
        return nullcontext()
    return console.status(f"running {arn.rsplit(':', 1)[-1]} …")


# -- virtual -------------------------------------------------------------------------------
def _run_virtual(
    text: str, input_text: str, registry: FunctionRegistry, name: str, machine: str
) -> RunResult:
    def invoker(command: InvokeTask) -> tuple[Event, float]:
        started = time.perf_counter()
        event = invoke(registry, command)
        return event, time.perf_counter() - started

    machine_arn = arns.state_machine(machine)
    arn = arns.execution(machine, name)
    began = time.time()
    outcome = run_virtual(
        parse_definition(text), loads(input_text), invoker,
        start_time=began, execution_arn=arn, state_machine_arn=machine_arn,
    )  # fmt: skip
    return RunResult(
        arn, machine_arn, name, outcome.status, outcome.output, outcome.error, outcome.cause,
        began, None, outcome.history,
    )  # fmt: skip


# -- output --------------------------------------------------------------------------------
def _report(result: RunResult, history: bool, as_json: bool) -> None:
    if as_json:
        body: dict[str, Any] = {
            "executionArn": result.execution_arn,
            "stateMachineArn": result.state_machine_arn,
            "name": result.name,
            "status": result.status,
            "startDate": iso(result.start_date),
            "stopDate": iso(result.stop_date),
        }
        if result.status == "SUCCEEDED":
            body["output"] = result.output
        else:
            body.update(error=result.error, cause=result.cause)
        if history:
            body["history"] = json_events(result.history)
        echo_json(body)
        return
    if history:
        tables.print(history_table(result.history))
    if result.status == "SUCCEEDED":
        typer.echo(dumps(result.output))
    else:
        typer.echo(f"{result.status}: {result.error}: {result.cause}")
