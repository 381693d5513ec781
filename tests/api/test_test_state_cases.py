"""The corpus's TestState cases through a real server and boto3.

Each case's ``request`` goes to TestState with the case's definition; the answer goes
through the recording's masking (``compare.snapshot_normalize``) and is compared member by
member with what AWS answered (JSON text compared as JSON). The report lists every case
that does not match, with why; all pure cases must pass.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sagaway.conformance.corpus import default_dir, iter_cases, load_compare
from sagaway.resources.lambda_functions import FunctionRegistry
from tests.api.conftest import Server, client

CORPUS = default_dir()
HAVE_CORPUS = (CORPUS / "index.json").is_file()
MASKED_NAME = re.compile(r"<resource:\d+>")
MEMBERS = ("status", "error", "cause", "nextState", "inspectionData")
# Floor for the whole set (117 cases); raise it when more pass, never lower it silently.
MIN_PASSED = 110


def _cases() -> list[dict[str, Any]]:
    if not HAVE_CORPUS:
        if os.environ.get("CI") == "true":
            pytest.fail(f"conformance corpus missing at {CORPUS}")
        return []
    return list(iter_cases(CORPUS, "test_state"))


@pytest.fixture(scope="module")
def sfn(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    functions = FunctionRegistry()
    functions.register("identity", lambda event, context: event)
    with Server(Path(tmp_path_factory.mktemp("ts")) / "ts.db", functions) as running:
        yield client(running.url)


def _parsed(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    if isinstance(value, dict):
        return {k: _parsed(v) for k, v in value.items()}
    return value


def _equal(want: Any, got: Any, tokens: set[str]) -> bool:
    """JSON equality as ``compare.json_equal``, where a recorded ``<resource:N>`` token (a
    name the recording masked without leaving the rule in the case) matches any name."""
    if isinstance(want, str) and MASKED_NAME.search(want):
        pattern = MASKED_NAME.sub("[A-Za-z0-9_-]+", re.escape(want))
        return isinstance(got, str) and re.fullmatch(pattern, got) is not None
    if isinstance(want, dict):
        return (
            isinstance(got, dict)
            and want.keys() == got.keys()
            and all(_equal(want[k], got[k], tokens) for k in want)
        )
    if isinstance(want, list):
        return (
            isinstance(got, list)
            and len(want) == len(got)
            and all(_equal(w, g, tokens) for w, g in zip(want, got, strict=True))
        )
    if isinstance(want, str) and want in tokens:
        return True
    if isinstance(want, bool) or isinstance(got, bool):
        return type(want) is type(got) and want == got
    return bool(want == got)


def _compare(case: dict[str, Any], answer: dict[str, Any], compare: Any) -> list[str]:
    actual = {k: answer[k] for k in (*MEMBERS, "output") if k in answer}
    normalised = compare.snapshot_normalize({"r": actual}, case.get("normalize") or [])["r"]
    expected = dict(case["expected"])
    if "output_text" in expected:
        expected["output"] = expected.pop("output_text")
    diffs = []
    for member in (*MEMBERS, "output"):
        want, got = _parsed(expected.get(member)), _parsed(normalised.get(member))
        if not _equal(want, got, set(case.get("wildcard_tokens") or [])):
            diffs.append(f"{member}: expected {json.dumps(want)[:200]} got {json.dumps(got)[:200]}")
    return diffs


def _run(sfn: Any, case: dict[str, Any]) -> dict[str, Any]:
    request = {"definition": case["definition_str"], **case["request"]}
    answer: dict[str, Any] = sfn.test_state(**request)
    return answer


def test_test_state_cases(sfn: Any) -> None:
    cases = _cases()
    if not cases:
        pytest.skip("no corpus")
    compare = load_compare(CORPUS)
    failures: dict[str, list[str]] = {}
    for case in cases:
        try:
            diffs = _compare(case, _run(sfn, case), compare)
        except Exception as exc:  # a refusal is a result to report, not a crash
            diffs = [f"{type(exc).__name__}: {exc}"[:300]]
        if diffs:
            failures[case["id"]] = diffs
    passed = len(cases) - len(failures)
    pure_failed = [c["id"] for c in cases if c.get("pure") and c["id"] in failures]
    report = "\n".join(f"{cid}\n    " + "\n    ".join(d) for cid, d in failures.items())
    print(f"\nTestState cases: {passed}/{len(cases)} passed\n{report}")
    assert not pure_failed, report
    assert passed >= MIN_PASSED, report


RETRY_TASK = {
    "Type": "Task",
    "Resource": "arn:aws:states:::lambda:invoke",
    "Parameters": {"FunctionName": "f"},
    "Retry": [{"ErrorEquals": ["Boom"], "IntervalSeconds": 2, "MaxAttempts": 2}],
    "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Recover"}],
    "Next": "Done",
}


def test_retriable_then_caught_after_retries(sfn: Any) -> None:
    """A matching retrier with attempts left: RETRIABLE with its index and next interval;
    once ``retrierRetryCount`` has used them up, the Catch takes over."""
    request = {"definition": json.dumps(RETRY_TASK), "input": "{}", "inspectionLevel": "DEBUG"}
    mock = {"errorOutput": {"error": "Boom", "cause": "bad"}}
    first = sfn.test_state(**request, mock=mock, stateConfiguration={"retrierRetryCount": 1})
    assert first["status"] == "RETRIABLE"
    assert first["inspectionData"]["errorDetails"] == {
        "retryIndex": 0,
        "retryBackoffIntervalSeconds": 4,
    }
    last = sfn.test_state(**request, mock=mock, stateConfiguration={"retrierRetryCount": 2})
    assert (last["status"], last["nextState"], last["error"]) == ("CAUGHT_ERROR", "Recover", "Boom")
    assert json.loads(last["output"]) == {"Error": "Boom", "Cause": "bad"}


def test_success_names_next_state_and_lambda_handler_answers(sfn: Any) -> None:
    definition = {**RETRY_TASK, "Parameters": {"FunctionName": "identity", "Payload.$": "$"}}
    answer = sfn.test_state(definition=json.dumps(definition), input='{"a": 1}')
    assert answer["status"] == "SUCCEEDED" and answer["nextState"] == "Done"
    assert json.loads(answer["output"])["Payload"] == {"a": 1}


def test_bad_definition_is_invalid_definition(sfn: Any) -> None:
    from botocore.exceptions import ClientError

    with pytest.raises(ClientError) as caught:
        sfn.test_state(definition='{"Comment": "no type"}', input="{}")
    assert caught.value.response["Error"]["Code"] == "InvalidDefinition"
