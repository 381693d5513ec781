"""What an expression can see while a state runs."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class Scope:
    """The three roots an ASL expression can read.

    ``input`` is ``$`` in JSONPath (the value the field is applied to), ``context`` is ``$$``
    (the context object), ``variables`` are the workflow variables visible to the state
    (``$name`` in JSONPath, ``$name`` in JSONata).
    """

    input: Any
    context: Any = None
    variables: Mapping[str, Any] = field(default_factory=dict)
    # Determinism: evaluators never read the clock or a global random generator. ``now`` is the
    # event time in epoch seconds and ``entropy`` seeds ``random.Random`` for States.UUID,
    # States.MathRandom, $random and $uuid, both supplied by the interpreter from its state.
    now: float = 0.0
    entropy: int = 0
