"""The work an execution waits on, re-derived from its state alone.

Everything a command needs is in the state (the awaited tokens, each Task frame's effective
input and timeouts, each timer's due time), so an engine recovering from a crash re-issues
exactly the commands the last committed step left outstanding, with the same tokens.
"""

from __future__ import annotations

from sagaway.asl.model import Machine
from sagaway.interpreter.execution import TASK, ExecutionState
from sagaway.interpreter.messages import Command, StartTimer
from sagaway.interpreter.run import Run
from sagaway.interpreter.states.task import invoke_command


def pending_commands(machine: Machine, state: ExecutionState, now: float) -> list[Command]:
    run = Run(machine, state, now)
    commands: list[Command] = []
    for token, fid in state.tokens.items():
        if token in state.timers:
            commands.append(StartTimer(token, state.timers[token]))
            continue
        frame = state.frames[fid]
        if frame.phase == TASK:
            commands.append(invoke_command(run, frame, run.current(frame), token))
    return commands
