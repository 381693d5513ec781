"""Where executions are kept: narrow ports, one adapter per database."""

from sagaway.store.ports import (
    ExecutionRecord,
    Journal,
    StateMachineRecord,
    StepRecord,
    VersionConflict,
)

__all__ = ["ExecutionRecord", "Journal", "StateMachineRecord", "StepRecord", "VersionConflict"]
