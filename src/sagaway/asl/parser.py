"""JSON text -> :class:`Machine`. Assumes the definition already passed validation.

Every expression is compiled here once; the interpreter never parses text at run time.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sagaway.asl.choice_rules import parse_choice_rule
from sagaway.asl.model import (
    ABSENT,
    JSONATA,
    JSONPATH,
    Catcher,
    ChoiceSpec,
    FailSpec,
    Machine,
    MapSpec,
    ParallelSpec,
    PassSpec,
    Program,
    Retrier,
    State,
    TaskSpec,
    WaitSpec,
)
from sagaway.expressions import jsontext
from sagaway.expressions.exprs import Expr, jsonata_expr, path_expr, payload_expr, value_expr


def parse_definition(text: str | Mapping[str, Any]) -> Machine:
    """Parse a definition (text or already-decoded JSON) into a :class:`Machine`."""
    raw = jsontext.loads(text) if isinstance(text, str | bytes) else text
    language = raw.get("QueryLanguage", JSONPATH)
    programs: dict[str, Program] = {}
    _parse_program(raw, "", language, "", programs)
    return Machine(
        programs=programs,
        query_language=language,
        timeout_seconds=raw.get("TimeoutSeconds"),
        comment=raw.get("Comment"),
        raw=raw,
    )


def _parse_program(
    raw: Mapping[str, Any], pid: str, language: str, pointer: str, out: dict[str, Program]
) -> None:
    states: dict[str, State] = {}
    for name, body in raw["States"].items():
        states[name] = _parse_state(name, body, pid, language, f"{pointer}/States/{name}", out)
    out[pid] = Program(id=pid, start_at=raw["StartAt"], states=states, query_language=language)


def _parse_state(
    name: str,
    body: Mapping[str, Any],
    pid: str,
    inherited: str,
    pointer: str,
    out: dict[str, Program],
) -> State:
    language = body.get("QueryLanguage", inherited)
    kind = body["Type"]
    jsonata = language == JSONATA
    return State(
        name=name,
        type=kind,
        query_language=language,
        next=body.get("Next"),
        end=bool(body.get("End", False)),
        comment=body.get("Comment"),
        input_path=body.get("InputPath", "$"),
        output_path=body.get("OutputPath", "$"),
        result_path=body.get("ResultPath", "$"),
        parameters=_template(body, "Arguments" if jsonata else "Parameters", jsonata),
        result_selector=_template(body, "ResultSelector", jsonata),
        output=_template(body, "Output", jsonata),
        assign=_template(body, "Assign", jsonata),
        retry=tuple(_retrier(r) for r in body.get("Retry", ())),
        catch=tuple(_catcher(c, jsonata) for c in body.get("Catch", ())),
        spec=_spec(kind, name, body, pid, language, pointer, out),
        pointer=pointer,
    )


def _template(body: Mapping[str, Any], key: str, jsonata: bool) -> Expr | None:
    if key not in body:
        return None
    return jsonata_expr(body[key]) if jsonata else payload_expr(body[key])


def _number(body: Mapping[str, Any], key: str, jsonata: bool) -> Expr | None:
    if key not in body:
        return None
    return jsonata_expr(body[key]) if jsonata else value_expr(body[key])


def _path(body: Mapping[str, Any], key: str) -> Expr | None:
    return path_expr(body[key]) if key in body else None


def _retrier(raw: Mapping[str, Any]) -> Retrier:
    return Retrier(
        error_equals=tuple(raw["ErrorEquals"]),
        interval_seconds=raw.get("IntervalSeconds", 1),
        max_attempts=raw.get("MaxAttempts", 3),
        backoff_rate=raw.get("BackoffRate", 2.0),
        max_delay_seconds=raw.get("MaxDelaySeconds"),
        jitter_strategy=raw.get("JitterStrategy", "NONE"),
    )


def _catcher(raw: Mapping[str, Any], jsonata: bool) -> Catcher:
    return Catcher(
        error_equals=tuple(raw["ErrorEquals"]),
        next=raw["Next"],
        result_path=raw.get("ResultPath", "$"),
        output=_template(raw, "Output", jsonata),
        assign=_template(raw, "Assign", jsonata),
    )


def _spec(
    kind: str,
    name: str,
    body: Mapping[str, Any],
    pid: str,
    language: str,
    pointer: str,
    out: dict[str, Program],
) -> Any:
    jsonata = language == JSONATA
    if kind == "Pass":
        return PassSpec(result=body.get("Result", ABSENT))
    if kind == "Task":
        return TaskSpec(
            resource=body["Resource"],
            timeout_seconds=_number(body, "TimeoutSeconds", jsonata)
            or _path(body, "TimeoutSecondsPath"),
            heartbeat_seconds=_number(body, "HeartbeatSeconds", jsonata)
            or _path(body, "HeartbeatSecondsPath"),
            credentials=body.get("Credentials"),
        )
    if kind == "Choice":
        rules = tuple(parse_choice_rule(r, jsonata) for r in body.get("Choices", ()))
        return ChoiceSpec(choices=rules, default=body.get("Default"))
    if kind == "Wait":
        return WaitSpec(
            seconds=_number(body, "Seconds", jsonata),
            timestamp=_number(body, "Timestamp", jsonata),
            seconds_path=body.get("SecondsPath"),
            timestamp_path=body.get("TimestampPath"),
        )
    if kind == "Fail":
        return FailSpec(
            error=_number(body, "Error", jsonata),
            cause=_number(body, "Cause", jsonata),
            error_path=_path(body, "ErrorPath"),
            cause_path=_path(body, "CausePath"),
        )
    if kind == "Parallel":
        ids = []
        for i, branch in enumerate(body["Branches"]):
            bid = f"{pid}/{name}#{i}"
            _parse_program(branch, bid, language, f"{pointer}/Branches/{i}", out)
            ids.append(bid)
        return ParallelSpec(branches=tuple(ids))
    if kind == "Map":
        return _map_spec(name, body, pid, language, pointer, out)
    return None  # Succeed has no fields of its own


def _map_spec(
    name: str,
    body: Mapping[str, Any],
    pid: str,
    language: str,
    pointer: str,
    out: dict[str, Program],
) -> MapSpec:
    jsonata = language == JSONATA
    processor_key = "ItemProcessor" if "ItemProcessor" in body else "Iterator"
    processor = body[processor_key]
    mid = f"{pid}/{name}#map"
    _parse_program(processor, mid, language, f"{pointer}/{processor_key}", out)
    config = processor.get("ProcessorConfig", {})
    # The legacy form calls ItemSelector "Parameters".
    selector_key = "ItemSelector" if "ItemSelector" in body else "Parameters"
    selector = None
    if selector_key in body and not (jsonata and selector_key == "Parameters"):
        raw_selector = body[selector_key]
        selector = jsonata_expr(raw_selector) if jsonata else payload_expr(raw_selector)
    return MapSpec(
        processor=mid,
        mode=config.get("Mode", "INLINE"),
        execution_type=config.get("ExecutionType"),
        items_path=body.get("ItemsPath", "$"),
        items=jsonata_expr(body["Items"]) if "Items" in body else None,
        item_selector=selector,
        item_batcher=body.get("ItemBatcher"),
        max_concurrency=_number(body, "MaxConcurrency", jsonata),
        max_concurrency_path=body.get("MaxConcurrencyPath"),
        tolerated_failure_count=_number(body, "ToleratedFailureCount", jsonata),
        tolerated_failure_count_path=body.get("ToleratedFailureCountPath"),
        tolerated_failure_percentage=_number(body, "ToleratedFailurePercentage", jsonata),
        tolerated_failure_percentage_path=body.get("ToleratedFailurePercentagePath"),
        label=body.get("Label"),
        item_reader=body.get("ItemReader"),
        result_writer=body.get("ResultWriter"),
    )
