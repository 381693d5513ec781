"""The parsed form of an ASL definition: frozen data, no behaviour (house rule 1).

Expressions are compiled once here, at parse time, so the interpreter only evaluates.
Field names follow the ASL specification (``input_path`` is ``InputPath``, and so on).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sagaway.expressions.exprs import Expr

JSONPATH = "JSONPath"
JSONATA = "JSONata"

# A sentinel distinguishing "field absent" (use the ASL default) from an explicit ``null``.
ABSENT: Any = type("Absent", (), {"__repr__": lambda self: "ABSENT"})()


@dataclass(frozen=True, slots=True)
class Retrier:
    error_equals: tuple[str, ...]
    interval_seconds: float = 1
    max_attempts: int = 3
    backoff_rate: float = 2.0
    max_delay_seconds: float | None = None
    jitter_strategy: str = "NONE"


@dataclass(frozen=True, slots=True)
class Catcher:
    error_equals: tuple[str, ...]
    next: str
    result_path: str | None = "$"
    output: Expr | None = None
    assign: Expr | None = None


@dataclass(frozen=True, slots=True)
class ChoiceRule:
    """One Choice rule: a comparison, a boolean combinator, or a JSONata Condition."""

    next: str | None = None
    variable: str | None = None  # JSONPath of the value compared
    operator: str | None = None  # e.g. "StringEquals", "NumericLessThanPath", "IsPresent"
    operand: Any = None  # the comparison value (a path for *Path operators)
    and_: tuple[ChoiceRule, ...] | None = None
    or_: tuple[ChoiceRule, ...] | None = None
    not_: ChoiceRule | None = None
    condition: Expr | None = None  # JSONata
    assign: Expr | None = None
    output: Expr | None = None


@dataclass(frozen=True, slots=True)
class State:
    """Fields every state type may carry; type-specific data lives in ``spec``."""

    name: str
    type: str
    query_language: str
    next: str | None = None
    end: bool = False
    comment: str | None = None
    input_path: str | None = "$"
    output_path: str | None = "$"
    result_path: str | None = "$"
    parameters: Expr | None = None  # Parameters (JSONPath) or Arguments (JSONata)
    result_selector: Expr | None = None
    output: Expr | None = None
    assign: Expr | None = None
    retry: tuple[Retrier, ...] = ()
    catch: tuple[Catcher, ...] = ()
    spec: Any = None  # the type's own dataclass below
    pointer: str = ""  # JSON Pointer of this state in the definition, for diagnostics

    @property
    def is_jsonata(self) -> bool:
        return self.query_language == JSONATA


@dataclass(frozen=True, slots=True)
class PassSpec:
    result: Any = ABSENT


@dataclass(frozen=True, slots=True)
class TaskSpec:
    resource: str
    timeout_seconds: Expr | None = None
    heartbeat_seconds: Expr | None = None
    credentials: Any = None


@dataclass(frozen=True, slots=True)
class ChoiceSpec:
    choices: tuple[ChoiceRule, ...]
    default: str | None = None


@dataclass(frozen=True, slots=True)
class WaitSpec:
    seconds: Expr | None = None
    timestamp: Expr | None = None
    seconds_path: str | None = None
    timestamp_path: str | None = None


@dataclass(frozen=True, slots=True)
class FailSpec:
    error: Expr | None = None
    cause: Expr | None = None
    error_path: Expr | None = None
    cause_path: Expr | None = None


@dataclass(frozen=True, slots=True)
class ParallelSpec:
    branches: tuple[str, ...]  # program ids


@dataclass(frozen=True, slots=True)
class MapSpec:
    processor: str  # program id
    mode: str = "INLINE"
    execution_type: str | None = None
    items_path: str | None = "$"
    items: Expr | None = None
    item_selector: Expr | None = None
    item_batcher: Mapping[str, Any] | None = None
    max_concurrency: Expr | None = None
    max_concurrency_path: str | None = None
    tolerated_failure_count: Expr | None = None
    tolerated_failure_count_path: str | None = None
    tolerated_failure_percentage: Expr | None = None
    tolerated_failure_percentage_path: str | None = None
    label: str | None = None
    item_reader: Any = None
    result_writer: Any = None


@dataclass(frozen=True, slots=True)
class Program:
    """A ``StartAt`` + ``States`` block: the machine, a Parallel branch or a Map processor."""

    id: str
    start_at: str
    states: Mapping[str, State]
    query_language: str


@dataclass(frozen=True, slots=True)
class Machine:
    """A whole parsed definition: every program, indexed by id (the root program is ``""``)."""

    programs: Mapping[str, Program]
    query_language: str
    timeout_seconds: int | None = None
    comment: str | None = None
    raw: Mapping[str, Any] = field(default_factory=dict)

    @property
    def root(self) -> Program:
        return self.programs[""]

    def state(self, program: str, name: str) -> State:
        return self.programs[program].states[name]
