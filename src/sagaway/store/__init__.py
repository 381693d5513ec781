"""Where executions are kept: narrow ports, one adapter per database."""

from sagaway.store.ports import (
    ClusterOperations,
    ExecutionRecord,
    Journal,
    StateMachineRecord,
    StepRecord,
    VersionConflict,
)

__all__ = [
    "ClusterOperations",
    "ExecutionRecord",
    "Journal",
    "StateMachineRecord",
    "StepRecord",
    "VersionConflict",
]
