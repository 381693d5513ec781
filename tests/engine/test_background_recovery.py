"""Recovery runs in the background: the engine serves calls at once, and a call for an
execution recovery has not reached yet resumes that execution first."""

from __future__ import annotations

from sagaway.engine.engine import Engine
from sagaway.store.sqlite import SqliteJournal
from tests.engine.conftest import Node, definition, run

OPEN = 400


def test_a_stop_during_recovery_reaches_an_execution_not_resumed_yet(node: Node) -> None:
    async def scenario() -> None:
        engine = await node.open()
        machine = engine.create_state_machine(
            "Waits", definition({"W": {"Type": "Wait", "Seconds": 3600, "End": True}})
        )
        arns = [(await engine.start_execution(machine.arn, f"w{i}", "{}")).arn
                for i in range(OPEN)]  # fmt: skip
        await node.close()

        journal = SqliteJournal(str(node.path))
        restarted = Engine(journal)
        await restarted.start()  # returns before the executions are resumed
        assert not restarted.recovery.done and len(restarted.actors) < OPEN
        await restarted.stop_execution(arns[-1], "Operator", "stopped while recovering")
        stopped = journal.get_execution(arns[-1])
        assert stopped is not None and stopped.status == "ABORTED"
        await restarted.recovery.finished()
        assert len(restarted.actors) == OPEN - 1 and restarted.recovery.failed == 0
        await restarted.close()
        journal.close()

    run(scenario())
