"""The transition graph of one scope (a machine, a branch, an item processor).

AWS's rules, in its order: every target (StartAt, Next, Default, Choices[i].Next,
Catch[i].Next) must name a state of the same scope (``Missing 'Next' target: X``, the word
``Next`` whatever the field); the scope needs a terminal state (``MISSING_END_STATE``, which
suppresses the next rule); and every state must be reachable from StartAt.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sagaway.asl.diagnostics import (
    MISSING_END_STATE,
    MISSING_TRANSITION_TARGET,
    Diagnostic,
    child,
    item,
)

_TERMINAL_TYPES = ("Succeed", "Fail")


def transitions(state: dict[str, Any], location: str) -> Iterator[tuple[Any, str]]:
    """Every (target, location of the field naming it) of one state."""
    if "Next" in state:
        yield state["Next"], child(location, "Next")
    if "Default" in state and state.get("Type") == "Choice":
        yield state["Default"], child(location, "Default")
    for field in ("Choices", "Catch"):
        entries = state.get(field)
        if not isinstance(entries, list):
            continue
        for index, entry in enumerate(entries):
            if isinstance(entry, dict) and "Next" in entry:
                yield entry["Next"], child(item(child(location, field), index), "Next")


def check_graph(scope: dict[str, Any], location: str) -> list[Diagnostic]:
    states = scope.get("States")
    start = scope.get("StartAt")
    if states == {} and isinstance(start, str):
        # Nothing else to check, but StartAt still names a state that is not there.
        return [_missing(start, child(location, "StartAt"))]
    if not isinstance(states, dict) or not states:
        return []
    found: list[Diagnostic] = []
    if isinstance(start, str) and start not in states:
        found.append(_missing(start, child(location, "StartAt")))
    states_location = child(location, "States")
    edges: dict[str, list[str]] = {}
    for name, state in states.items():
        if not isinstance(state, dict):
            continue
        targets = list(transitions(state, child(states_location, name)))
        edges[name] = [t for t, _ in targets if isinstance(t, str)]
        found.extend(
            _missing(t, where) for t, where in targets if isinstance(t, str) and t not in states
        )
    if not any(_is_terminal(state) for state in states.values()):
        found.append(Diagnostic(MISSING_END_STATE, "Workflow has no terminal state", None))
        return found
    if isinstance(start, str) and start in states:
        reached = _reachable(start, edges)
        found.extend(
            Diagnostic(
                MISSING_TRANSITION_TARGET,
                f'State "{name}" is not reachable.',
                child(states_location, name),
            )
            for name in states
            if name not in reached
        )
    return found


def _missing(target: str, location: str) -> Diagnostic:
    return Diagnostic(MISSING_TRANSITION_TARGET, f"Missing 'Next' target: {target}", location)


def _is_terminal(state: Any) -> bool:
    return isinstance(state, dict) and (
        state.get("End") is True or state.get("Type") in _TERMINAL_TYPES
    )


def _reachable(start: str, edges: dict[str, list[str]]) -> set[str]:
    reached = {start}
    pending = [start]
    while pending:
        for target in edges.get(pending.pop(), []):
            if target in edges and target not in reached:
                reached.add(target)
                pending.append(target)
    return reached
