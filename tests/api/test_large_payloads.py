"""64 KiB payloads through boto3: the journal keeps each once, and every reader still sees
the whole text where AWS shows it."""

from __future__ import annotations

import json
from typing import Any

from tests.api.test_executions import machine, wait_done

PASSES = json.dumps({"StartAt": "A", "States": {
    "A": {"Type": "Pass", "ResultPath": "$.a", "Result": 1, "Next": "B"},
    "B": {"Type": "Pass", "End": True}}})  # fmt: skip


def test_large_payloads_read_back_whole_in_history_and_describe(sfn: Any) -> None:
    blob = "".join(chr(97 + (i * 7) % 26) for i in range(64 * 1024))
    text = json.dumps({"blob": blob})
    arn = machine(sfn, "large", PASSES)
    ex = sfn.start_execution(stateMachineArn=arn, input=text)["executionArn"]
    described = wait_done(sfn, ex)
    assert described["status"] == "SUCCEEDED"
    assert json.loads(described["input"]) == {"blob": blob}
    assert json.loads(described["output"]) == {"blob": blob, "a": 1}
    events = sfn.get_execution_history(executionArn=ex)["events"]
    texts = [
        details[key]
        for event in events
        for name, details in event.items()
        if name.endswith("EventDetails")
        for key in ("input", "output")
        if key in details
    ]
    assert len(texts) == 6  # started, A in/out, B in/out, succeeded
    assert all(json.loads(t)["blob"] == blob for t in texts)
    bare = sfn.get_execution_history(executionArn=ex, includeExecutionData=False)["events"]
    assert all("input" not in e.get("stateEnteredEventDetails", {}) for e in bare)
    assert all("output" not in e.get("stateExitedEventDetails", {}) for e in bare)
