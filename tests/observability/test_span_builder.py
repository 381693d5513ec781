"""The span builder on its own: the spans of states and Task attempts built from history
events (as a list, or as the JSON the journal wrote), ids derived as the engine derives
them, and the exporter child's loop surviving a message it cannot read."""

from __future__ import annotations

import io
import marshal
import struct
from typing import Any

import orjson
from hypothesis import given
from hypothesis import strategies as st

from sagaway.observability.span_builder import SpanBuilder
from sagaway.observability.span_export import serve
from sagaway.observability.span_runs import (
    END,
    EVENTS,
    SPAN,
    START,
    SpanRecord,
    attempt_span_id,
    state_span_id,
)

TRACE, EXECUTION, ARN = 0x5759E988BD862E3FE1BE46A994272793, 0x53995C3F42CD8AD8, "arn:x"
COMMON = {"sagaway.execution.arn": ARN}
LAMBDA = "arn:aws:lambda:us-east-1:111111111111:function:Pay"


def event(id_: int, kind: str, **details: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"id": id_, "previousEventId": id_ - 1, "type": kind,
                            "timestamp": 1_800_000_000 + id_ / 10}  # fmt: skip
    if details:  # AWS's key: stateEnteredEventDetails for every state type, else the type's
        named = next((k for k in ("StateEntered", "StateExited") if kind.endswith(k)), kind)
        body[named[0].lower() + named[1:] + "EventDetails"] = details
    return body


# Pay is tried twice (a Lambda failure, then a timeout), caught, and Undo runs (a Task of a
# service integration) until the execution ends with its attempt still under way.
HISTORY = [
    event(1, "ExecutionStarted"),
    event(2, "TaskStateEntered", name="Pay"),
    event(3, "LambdaFunctionScheduled", resource=LAMBDA),
    event(4, "LambdaFunctionStarted"),
    event(5, "LambdaFunctionFailed", error="Declined"),
    event(6, "LambdaFunctionScheduled", resource=LAMBDA),
    event(7, "LambdaFunctionTimedOut", error="States.Timeout"),
    event(8, "TaskStateExited", name="Pay"),
    event(9, "TaskStateEntered", name="Undo"),
    event(10, "TaskScheduled", resource="invoke.waitForTaskToken", resourceType="lambda"),
]


def build(events: Any) -> list[SpanRecord]:
    spans: list[SpanRecord] = []
    builder = SpanBuilder(spans.append)
    builder.handle((START, ARN, TRACE, EXECUTION, COMMON, None, events[:1]))
    builder.handle((EVENTS, ARN, events[1:]))
    builder.handle((END, ARN, 1_900_000_000 * 10**9))
    return spans


def test_states_and_attempts_come_from_the_history_with_the_ids_the_engine_derives() -> None:
    spans = {(s[0], s[2]): s for s in build(HISTORY)}
    pay, undo = state_span_id(EXECUTION, 2), state_span_id(EXECUTION, 9)
    first, second = attempt_span_id(EXECUTION, 2, 0), attempt_span_id(EXECUTION, 2, 1)
    waited = attempt_span_id(EXECUTION, 9, 0)
    assert set(spans) == {("Pay", pay), ("Undo", undo), ("Pay attempt", first),
                          ("Pay attempt", second), ("Undo attempt", waited)}  # fmt: skip
    assert spans["Pay", pay][3] == EXECUTION  # the state's span, under the execution's
    assert dict(spans["Pay", pay][9])["sagaway.caught"] == "States.Timeout"  # the last error
    tried = spans["Pay attempt", first]
    assert tried[3] == pay and tried[5] == 2  # under its state, a client span
    assert dict(tried[9]) == {"sagaway.resource": LAMBDA, "sagaway.retry_count": 0,
                              "sagaway.outcome": "TaskFailed"}  # fmt: skip
    assert (tried[6], tried[7]) == (1_800_000_000_300_000_000, 1_800_000_000_500_000_000)
    assert (tried[10], tried[11]) == (2, "TaskFailed")
    timed_out = dict(spans["Pay attempt", second][9])
    assert timed_out["sagaway.retry_count"] == 1 and timed_out["sagaway.outcome"] == "TaskTimedOut"
    waiting = spans["Undo attempt", waited]
    assert dict(waiting[9])["sagaway.resource"] == "arn:aws:states:::lambda:invoke.waitForTaskToken"
    assert waiting[7] == 1_900_000_000 * 10**9  # still under way: ended with the execution
    assert dict(spans["Undo", undo][9])["sagaway.compensation"] is True


def test_the_journals_json_and_the_events_build_the_same_spans() -> None:
    encoded = [HISTORY[0], orjson.dumps(HISTORY[1:6]), orjson.dumps(HISTORY[6:])]
    spans: list[SpanRecord] = []
    builder = SpanBuilder(spans.append)
    builder.handle((START, ARN, TRACE, EXECUTION, COMMON, None, encoded[:1]))
    builder.handle((EVENTS, ARN, encoded[1]))
    builder.handle((EVENTS, ARN, encoded[2]))
    builder.handle((END, ARN, 1_900_000_000 * 10**9))
    assert sorted(spans, key=repr) == sorted(build(HISTORY), key=repr)


def test_an_aborted_state_ends_its_attempt_as_cancelled() -> None:
    history = [*HISTORY[:4], event(5, "TaskStateAborted")]
    (attempt,) = [s for s in build(history) if s[0] == "Pay attempt"]
    assert dict(attempt[9])["sagaway.outcome"] == "CancelTask" and attempt[10] == 2


@given(st.integers(1, 2**64 - 1), st.lists(st.integers(1, 2**36), min_size=2, unique=True),
       st.integers(0, 2**27 - 1))  # fmt: skip
def test_derived_ids_never_repeat_within_an_execution(
    execution: int, entered: list[int], retry: int
) -> None:
    states = {state_span_id(execution, e) for e in entered}
    attempts = {attempt_span_id(execution, e, r) for e in entered for r in (0, retry)}
    assert len(states) == len(entered)
    assert len(attempts) == len({(e, r) for e in entered for r in (0, retry)})
    assert not states & attempts and all(0 < i < 2**64 for i in states | attempts)


def test_the_exporter_child_goes_on_past_a_message_it_cannot_read() -> None:
    good: SpanRecord = ("kept", TRACE, 7, EXECUTION, False, 0, 1, 2, COMMON, (), 0, "")
    messages: list[tuple[Any, ...]] = [(START, ARN, TRACE, EXECUTION, COMMON, None, []),
                (EVENTS, ARN, b"{not json"), (SPAN, good)]  # fmt: skip
    data = marshal.dumps(messages)
    exported: list[SpanRecord] = []
    serve(io.BytesIO(struct.pack("<I", len(data)) + data), exported.extend, 512)
    assert exported == [good]
