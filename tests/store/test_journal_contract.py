"""The journal contract: every adapter (SQLite, PostgreSQL) must pass these same tests."""

from __future__ import annotations

import os
from typing import Any

import orjson

from sagaway.store.ports import ExecutionRecord, StateMachineRecord, StepRecord

SM = "arn:aws:states:us-east-1:111111111111:stateMachine:orders"


def machine(name: str = "orders", created: float = 1.0) -> StateMachineRecord:
    return StateMachineRecord(
        arn=f"arn:aws:states:us-east-1:111111111111:stateMachine:{name}",
        name=name,
        definition='{"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}}',
        created=created,
        extra={"tags": {"team": "shop"}},
    )


def execution(name: str, start: float = 10.0) -> ExecutionRecord:
    return ExecutionRecord(
        arn=f"arn:aws:states:us-east-1:111111111111:execution:orders:{name}",
        state_machine_arn=SM,
        name=name,
        status="RUNNING",
        input='{"n":1}',
        start_date=start,
        definition="{}",
    )


def step(arn: str, version: int, first_id: int, status: str = "RUNNING") -> StepRecord:
    events = [{"id": first_id, "type": "PassStateEntered"}, {"id": first_id + 1, "type": "X"}]
    record = StepRecord(arn, version, b'{"v":%d}' % version, status, events)
    if status != "RUNNING":
        record.output, record.stop_date = '{"done":true}', 99.0
    return record


def start(journal: Any, name: str, start_date: float = 10.0) -> str:
    record = execution(name, start_date)
    assert journal.create_execution(record, step(record.arn, 0, 1))
    return record.arn


def test_state_machines_round_trip_and_list_in_creation_order(journal: Any) -> None:
    journal.put_state_machine(machine("b", created=2.0))
    journal.put_state_machine(machine("a", created=1.0))
    got = journal.get_state_machine(machine("b").arn)
    assert got == machine("b", created=2.0)
    assert [m.name for m in journal.list_state_machines()] == ["a", "b"]
    journal.put_state_machine(machine("b", created=3.0))  # replace, not duplicate
    assert journal.get_state_machine(machine("b").arn).created == 3.0
    journal.delete_state_machine(machine("a").arn)
    assert journal.get_state_machine(machine("a").arn) is None
    assert [m.name for m in journal.list_state_machines()] == ["b"]


def test_create_execution_writes_its_first_step(journal: Any) -> None:
    arn = start(journal, "o1")
    record = journal.get_execution(arn)
    assert record.status == "RUNNING" and record.version == 1 and record.state == b'{"v":0}'
    assert [e["id"] for e in journal.history(arn)] == [1, 2]
    assert journal.find_execution(SM, "o1").arn == arn


def test_a_name_is_unique_per_state_machine(journal: Any) -> None:
    start(journal, "o1")
    again = execution("o1")
    assert journal.create_execution(again, step(again.arn, 0, 1)) is False
    assert [e["id"] for e in journal.history(again.arn)] == [1, 2]  # nothing written twice


def test_steps_apply_in_order_and_end_the_execution(journal: Any) -> None:
    arn = start(journal, "o1")
    flags = journal.commit([step(arn, 1, 3), step(arn, 2, 5, status="SUCCEEDED")])
    assert flags == [True, True]
    record = journal.get_execution(arn)
    assert (record.status, record.version, record.output, record.stop_date) == (
        "SUCCEEDED",
        3,
        '{"done":true}',
        99.0,
    )
    assert [e["id"] for e in journal.history(arn)] == [1, 2, 3, 4, 5, 6]
    assert journal.open_executions() == []


def test_a_stale_version_is_refused_alone(journal: Any) -> None:
    a, b = start(journal, "a"), start(journal, "b")
    flags = journal.commit([step(a, 5, 3), step(b, 1, 3)])  # a is at version 1, not 5
    assert flags == [False, True]
    assert journal.get_execution(a).version == 1
    assert [e["id"] for e in journal.history(a)] == [1, 2]
    assert [e["id"] for e in journal.history(b)] == [1, 2, 3, 4]


def test_list_executions_filters_and_orders_newest_first(journal: Any) -> None:
    old, new = start(journal, "old", 1.0), start(journal, "new", 2.0)
    journal.commit([step(old, 1, 3, status="FAILED")])
    assert [e.arn for e in journal.list_executions()] == [new, old]
    assert [e.arn for e in journal.list_executions(status="FAILED")] == [old]
    assert [e.arn for e in journal.list_executions(state_machine_arn=SM, limit=1)] == [new]
    assert journal.list_executions(state_machine_arn="arn:other") == []
    assert [e.arn for e in journal.open_executions()] == [new]


def test_history_keeps_event_details(journal: Any) -> None:
    arn = start(journal, "o1")
    detail = {"id": 3, "type": "TaskScheduled", "taskScheduledEventDetails": {"parameters": "{}"}}
    record = StepRecord(arn, 1, b"{}", "RUNNING", [detail])
    assert journal.commit([record]) == [True]
    assert journal.history(arn)[-1] == orjson.loads(orjson.dumps(detail))


def test_resumed_invocations_are_counted_per_key(journal: Any) -> None:
    arn = start(journal, "resumed")
    one, two = (arn, f"{arn}#t1"), (arn, f"{arn}#t2")
    assert journal.resumed_invocations([one]) == [0]
    assert journal.resumed_invocations([one, two]) == [1, 0]
    assert journal.resumed_invocations([]) == []
    assert journal.resumed_invocations([two, one]) == [1, 2]


def large_text(n: int = 64 * 1024) -> str:
    return orjson.dumps({"blob": "".join(chr(97 + i % 26) for i in range(n))}).decode()


def test_a_large_payload_is_stored_once_and_history_shows_it_whole(journal: Any) -> None:
    arn = start(journal, "big")
    text = large_text()
    untruncated = {"truncated": False}
    events = [
        {"id": 3, "type": "TaskStateExited", "stateExitedEventDetails": {
            "name": "A", "output": text, "outputDetails": untruncated}},
        {"id": 4, "type": "TaskStateEntered", "stateEnteredEventDetails": {
            "name": "B", "input": text, "inputDetails": untruncated}},
    ]  # fmt: skip
    later = [{"id": 5, "type": "ExecutionSucceeded", "executionSucceededEventDetails": {
        "output": text, "outputDetails": untruncated}}]  # fmt: skip
    state = orjson.dumps({"input": text})
    assert journal.commit([StepRecord(arn, 1, state, "RUNNING", events)]) == [True]
    assert journal.commit([StepRecord(arn, 2, state, "RUNNING", later)]) == [True]
    assert journal.history(arn)[2:] == events + later
    assert journal.get_execution(arn).state == state
    rows, stored = (
        journal._reader().execute("SELECT count(*), sum(length(body)) FROM payloads").fetchone()
    )
    assert rows == 1  # three events, two steps: one row
    assert stored < len(text) // 10  # compressed
    (blob,) = (
        journal._reader().execute("SELECT events FROM history WHERE first_event_id = 3").fetchone()
    )
    assert len(bytes(blob)) < 1024  # the history row holds references only


def test_a_snapshot_refers_to_the_payloads_of_the_values_it_left_out(journal: Any) -> None:
    arn = start(journal, "linked")
    text = large_text()
    # A step with no events: the snapshot's own reference must bring its payload row.
    left_out = [("root", "input", text), ("root", "effective", text), ("$execution", "Input", text)]
    step = StepRecord(arn, 1, b'{"frames":{}}', "RUNNING", [], state_texts=left_out)
    assert journal.commit([step]) == [True]
    state = journal.get_execution(arn).state
    assert b"payloadRefs" in state and len(state) < 1024  # refers, does not embed
    refs = orjson.loads(state)["payloadRefs"]
    assert [(owner, field) for owner, field, _ in refs] == [(o, f) for o, f, _ in left_out]
    (digest,) = {ref for _, _, ref in refs}
    assert journal.payload_texts(arn, {digest}) == {digest: text}
    assert journal._reader().execute("SELECT count(*) FROM payloads").fetchone()[0] == 1


def test_small_payloads_stay_inline(journal: Any) -> None:
    arn = start(journal, "small")
    details = {"name": "A", "input": '{"n":1}', "inputDetails": {"truncated": False}}
    event = {"id": 3, "type": "PassStateEntered", "stateEnteredEventDetails": details}
    assert journal.commit([StepRecord(arn, 1, b"{}", "RUNNING", [event])]) == [True]
    assert journal.history(arn)[-1] == event
    assert journal._reader().execute("SELECT count(*) FROM payloads").fetchone()[0] == 0


def test_large_execution_texts_read_back_as_written(journal: Any) -> None:
    text = large_text()
    record = ExecutionRecord(
        arn=f"{SM.replace('stateMachine', 'execution')}:large",
        state_machine_arn=SM,
        name="large",
        status="RUNNING",
        input=text,
        start_date=10.0,
        definition=text,
    )
    assert journal.create_execution(record, step(record.arn, 0, 1))
    end = StepRecord(record.arn, 1, b"{}", "SUCCEEDED", [{"id": 3, "type": "X"}])
    end.output, end.stop_date = text, 11.0
    assert journal.commit([end]) == [True]
    for got in (journal.get_execution(record.arn), journal.find_execution(SM, "large")):
        assert (got.input, got.definition, got.output) == (text, text, text)


def test_outbox_rows_commit_with_their_step_and_leave_once_relayed(journal: Any) -> None:
    a, b = start(journal, "a"), start(journal, "b")
    published = step(a, 1, 3)
    published.outbox = [("default", b'{"id":"e1"}'), ("default", b'{"id":"e2"}')]
    refused = step(b, 7, 3)  # stale: its outbox row must not be written either
    refused.outbox = [("default", b'{"id":"lost"}')]
    assert journal.commit([published, refused]) == [True, False]
    pending = journal.pending_outbox()
    assert [(topic, body) for _, topic, body in pending] == published.outbox
    assert [row[2] for row in journal.pending_outbox(limit=1)] == [b'{"id":"e1"}']
    journal.remove_outbox([pending[0][0]])
    assert [row[2] for row in journal.pending_outbox()] == [b'{"id":"e2"}']


def test_large_members_are_stored_once_and_documents_read_back_whole(
    journal: Any, monkeypatch: Any
) -> None:
    from sagaway.interpreter.texts import TextMemo
    from sagaway.store import payloads as P

    memo = TextMemo()
    monkeypatch.setattr(P, "PARTS_OF", memo.parts_of)
    arn = start(journal, "members")
    member = os.urandom(32 * 1024).hex()  # random: compressed, still far above 1 KiB
    first = {"orderId": "o-1", "blob": member}
    second = {**first, "Reserve": {"ok": True}}
    third = {"order": second, "note": 'é\u2028"quoted"'}
    texts = [memo.text(value) for value in (first, second, third)]
    assert all(memo.parts_of(text) is not None for text in texts)
    untruncated = {"truncated": False}
    events = [
        {"id": 3 + i, "type": "TaskStateExited", "stateExitedEventDetails": {
            "name": "A", "output": text, "outputDetails": untruncated}}
        for i, text in enumerate(texts)
    ]  # fmt: skip
    left_out = [("root", "input", texts[1]), ("$execution", "Input", texts[0])]
    step = StepRecord(arn, 1, b'{"frames":{}}', "RUNNING", events, state_texts=left_out)
    assert journal.commit([step]) == [True]
    refs = orjson.loads(journal.get_execution(arn).state)["payloadRefs"]
    found = journal.payload_texts(arn, {ref for _, _, ref in refs})
    assert sorted(found.values()) == sorted(texts[:2])  # the snapshot's texts, whole
    # A later step written the way earlier versions wrote it: whole documents.
    monkeypatch.setattr(P, "PARTS_OF", P._no_parts)
    again = texts[2][:1] + texts[2][1:]  # another object: nothing known about it
    whole = [{"id": 6, "type": "TaskStateEntered", "stateEnteredEventDetails": {
        "name": "B", "input": again, "inputDetails": untruncated}}]  # fmt: skip
    assert journal.commit([StepRecord(arn, 2, b'{"frames":{}}', "RUNNING", whole)]) == [True]
    assert journal.history(arn)[2:] == events + whole
    assert journal.history_page(arn, 2, 3) == events[1:]
    bodies = [bytes(b) for (b,) in journal._reader().execute("SELECT body FROM payloads")]
    # The member once; a small parts row per document; the document stored whole once.
    assert sum(len(b) > 1024 for b in bodies) == 2
    assert sum(b.startswith(P.PARTS_MAGIC) for b in bodies) == 3
    assert sum(len(b) for b in bodies if b.startswith(P.PARTS_MAGIC)) < 1024
