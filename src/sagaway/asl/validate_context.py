"""What every validation rule needs: the machine's type and language, and where to report.

Map and Parallel states hold nested state machines; their rules call back into the scope
validator through :attr:`Context.check_scope` instead of importing it, which keeps the rule
modules free of an import cycle with :mod:`sagaway.asl.validate`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, TypeGuard

from sagaway.asl.diagnostics import SCHEMA_VALIDATION_FAILED, Diagnostic


@dataclass
class Context:
    machine_type: str
    # The machine's top-level QueryLanguage: states inherit it, even inside a Map or Parallel
    # that declares another one (AWS does not propagate a state's QueryLanguage inward).
    language: str
    check_scope: Callable[[Context, dict[str, Any], str], None]
    diagnostics: list[Diagnostic] = field(default_factory=list)

    def report(
        self, message: str, location: str | None, code: str = SCHEMA_VALIDATION_FAILED
    ) -> None:
        self.diagnostics.append(Diagnostic(code, message, location))

    def extend(self, found: Iterable[Diagnostic]) -> None:
        self.diagnostics.extend(found)


def is_int(value: Any) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def is_number(value: Any) -> TypeGuard[int | float]:
    return isinstance(value, int | float) and not isinstance(value, bool)


def must_be(name: str, expectation: str) -> str:
    """AWS's sentence for a field whose value has the wrong type or range."""
    return f"The value for the field '{name}' must be {expectation}"


def exclusive(obj: dict[str, Any], names: tuple[str, ...]) -> str | None:
    """The message when more than one of ``names`` is present in ``obj``, else None."""
    present = [name for name in names if name in obj]
    if len(present) < 2:
        return None
    return f"These fields are mutually exclusive: [{', '.join(present)}]"
