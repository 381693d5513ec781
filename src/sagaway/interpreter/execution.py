"""The whole state of one execution, as explicit serialisable data (house rule 2).

Every bit of progress lives here: which state each thread of control is in, retry attempt
counts, Map and Parallel child progress, variables, the awaited task or timer. Nothing is
kept in hidden dicts keyed by object ids, so the state can be journaled, rebuilt and moved
between processes.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass, field
from typing import Any

# Frame phases.
READY = "READY"  # about to enter ``state`` with ``input``
TASK = "TASK"  # waiting for a Task result (``token``)
TIMER = "TIMER"  # waiting for a Wait state or a retry interval (``token``)
CHILDREN = "CHILDREN"  # a Parallel or Map waiting for its branches / iterations
DONE = "DONE"  # finished: ``output`` or ``failure`` is set

RUNNING = "RUNNING"
SUCCEEDED = "SUCCEEDED"
FAILED = "FAILED"
ABORTED = "ABORTED"
TIMED_OUT = "TIMED_OUT"


@dataclass(slots=True)
class Frame:
    """One thread of control: the execution itself, a Parallel branch or a Map iteration."""

    id: str
    program: str
    parent: str | None
    index: int
    state: str
    input: Any
    phase: str = READY
    entered_id: int = 0
    last_id: int = 0
    entered_at: float = 0.0
    entered_count: int = 0
    variables: dict[str, Any] = field(default_factory=dict)
    attempts: list[int] = field(default_factory=list)
    retry_count: int = 0
    effective: Any = None
    token: str | None = None
    data: dict[str, Any] = field(default_factory=dict)
    output: Any = None
    failure: tuple[str | None, str | None] | None = None
    # Context-object entries this frame adds (``$$.Map.Item`` for a Map iteration).
    context_extra: dict[str, Any] = field(default_factory=dict)
    # A Distributed Map iteration is a child execution: its events are not in this history.
    quiet: bool = False

    def clone(self) -> Frame:
        # Written out rather than dataclasses.replace: this runs for every frame of every step.
        return Frame(
            self.id,
            self.program,
            self.parent,
            self.index,
            self.state,
            self.input,
            self.phase,
            self.entered_id,
            self.last_id,
            self.entered_at,
            self.entered_count,
            dict(self.variables),
            list(self.attempts),
            self.retry_count,
            self.effective,
            self.token,
            {k: list(v) if isinstance(v, list) else v for k, v in self.data.items()},
            self.output,
            self.failure,
            dict(self.context_extra),
            self.quiet,
        )


@dataclass(slots=True)
class ExecutionState:
    """Everything :func:`advance` needs to continue an execution."""

    execution: dict[str, Any]  # $$.Execution: Id, Name, RoleArn, StartTime, Input, RedriveCount
    state_machine: dict[str, Any]  # $$.StateMachine: Id, Name
    status: str = RUNNING
    next_id: int = 1
    frames: dict[str, Frame] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)  # awaited token -> frame id
    output: Any = None
    error: str | None = None
    cause: str | None = None
    seed: int = 0
    timers: dict[str, float] = field(default_factory=dict)  # pending timer token -> due time
    # A random secret the engine draws once per execution (empty: none). With it, the task
    # tokens handed out ($$.Task.Token, activity tasks) cannot be guessed (see task_token).
    token_key: str = ""
    # Distributed Map runs by mapRunArn: settings and final counts (see map_runs.py).
    map_runs: dict[str, dict[str, Any]] = field(default_factory=dict)
    # The execution's trace context (W3C ``traceparent``; see sagaway.observability), kept
    # with the state so a resumed execution continues its trace. Never changed in place.
    trace: dict[str, str] = field(default_factory=dict)

    def clone(self) -> ExecutionState:
        """A copy ``advance`` may change freely. JSON values (inputs, outputs, variable
        values) are shared, not copied: the interpreter never changes one in place, it
        builds new ones (``set_result_path`` copies). Containers it does change are copied."""
        # Written out: copy.copy of a slots dataclass goes through __reduce_ex__, which
        # cost about a tenth of the event loop's time on this hot path.
        return ExecutionState(
            dict(self.execution),
            self.state_machine,
            self.status,
            self.next_id,
            {fid: frame.clone() for fid, frame in self.frames.items()},
            dict(self.tokens),
            self.output,
            self.error,
            self.cause,
            self.seed,
            dict(self.timers),
            self.token_key,
            dict(self.map_runs),
            self.trace,
        )

    @property
    def root(self) -> Frame:
        return self.frames["root"]


def new_execution(
    *,
    execution_arn: str,
    name: str,
    state_machine_arn: str,
    state_machine_name: str,
    role_arn: str = "arn:aws:iam::111111111111:role/sagaway",
    seed: int = 0,
    express: bool = False,
    token_key: str = "",
    trace: dict[str, str] | None = None,
) -> ExecutionState:
    """A not-yet-started execution; feed it a ``Start`` event to begin."""
    execution: dict[str, Any] = {"Id": execution_arn, "Name": name, "RoleArn": role_arn}
    if not express:  # EXPRESS executions cannot be redriven and carry no RedriveCount
        execution["RedriveCount"] = 0
    return ExecutionState(
        execution=execution,
        state_machine={"Id": state_machine_arn, "Name": state_machine_name},
        seed=seed,
        token_key=token_key,
        trace=trace or {},
    )


def task_token(state: ExecutionState, token: str) -> str:
    """The task token the outside world sees for the attempt ``token``.

    Without a key it is the attempt token itself (the pure runs and the corpus). With one it
    is opaque: the execution ARN and attempt, sealed with a MAC keyed by the execution's
    secret, so it names exactly one attempt and cannot be forged. It is a function of the
    journaled state, so it survives restarts."""
    if not state.token_key:
        return token
    return seal_token(state.execution["Id"], token, state.token_key)


def seal_token(execution_arn: str, token: str, key: str) -> str:
    mac = hashlib.blake2b(token.encode(), key=key.encode(), digest_size=16).hexdigest()
    raw = f"{execution_arn}\x1f{token}\x1f{mac}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")
