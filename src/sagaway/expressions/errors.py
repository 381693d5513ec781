"""The error every expression evaluator raises when AWS would fail the state.

Expressions are pure functions of their inputs; when evaluation fails the way AWS Step
Functions fails a state (a path that does not resolve, an intrinsic given bad arguments, a
JSONata expression that throws), they raise :class:`StatesError`. The interpreter catches it at
the state boundary and turns it into a ``Failure`` value with AWS's wording, prefixing the
"An error occurred while executing the state ..." sentence itself.
"""

from __future__ import annotations


class StatesError(Exception):
    """An ASL runtime error: ``error`` is the ASL error name, ``cause`` the detail sentence."""

    def __init__(self, error: str, cause: str) -> None:
        super().__init__(f"{error}: {cause}")
        self.error = error
        self.cause = cause


class RuntimeFailure(StatesError):
    """``States.Runtime``: a JSONPath-mode evaluation failure (missing path, bad argument)."""

    def __init__(self, cause: str) -> None:
        super().__init__("States.Runtime", cause)


class QueryEvaluationError(StatesError):
    """``States.QueryEvaluationError``: a JSONata-mode evaluation failure."""

    def __init__(self, cause: str) -> None:
        super().__init__("States.QueryEvaluationError", cause)


class IntrinsicFailure(StatesError):
    """``States.IntrinsicFailure``: an intrinsic function rejected its arguments."""

    def __init__(self, cause: str) -> None:
        super().__init__("States.IntrinsicFailure", cause)
