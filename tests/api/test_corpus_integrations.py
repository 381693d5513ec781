"""The corpus's callback, activity and nested-execution cases through a real server (issue #4).

Each case runs on its own server (recordings reuse state machine names across cases) over
boto3: the case's state machine, its children and activities are created with the recorded
names, the execution is started with the recorded name and input, and the other parties of
the recording (``tests.api.corpus_scenarios``) answer task tokens or work activity tasks.
The result and the history, read back through DescribeExecution and GetExecutionHistory,
are compared with the recording by the corpus's own ``compare.py`` (``judge``).

The cases run concurrently in a module fixture: several wait out a recorded TimeoutSeconds
or HeartbeatSeconds of 5 s, which must not add up. Under ``CI=true`` a missing corpus fails.
"""

from __future__ import annotations

import json
import os
import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from sagaway.conformance.corpus import default_dir, iter_cases, load_compare
from sagaway.conformance.runner import CaseResult, Ended, judge
from sagaway.conformance.standins import standin
from sagaway.resources.lambda_functions import FunctionRegistry
from tests.api.conftest import ROLE, Server, client
from tests.api.corpus_scenarios import Scenario, hold_tokens, run_worker, scenario

CORPUS = default_dir()
HAVE_CORPUS = (CORPUS / "index.json").is_file()
# Floors for the 31 cases: raise them when more pass, never lower them silently.
MIN_RUN = 27
MIN_PASSED = 26
MIN_HISTORY_MATCHED = 24
DEADLINE = 30.0  # seconds a case may take before it counts as hung
OTHER_NEEDS_OK = frozenset({"lambda:invoke", "lambda:function-arn"})

_CROSS_ACCOUNT = (
    "the child runs in a second AWS account, reached with Credentials.RoleArn (the input "
    "holds a placeholder for the role the recording created); Sagaway has one account"
)
_CREDENTIALS = "credentials_test_credentials_base__TestCredentialsBase__"
_SYNC_ROLE = "test_cross_account_states_start_sync_execution_SFN_START_EXECUTION_SYNC_ROLE_ARN_"
EXCLUDED: dict[str, str] = {
    f"{_CREDENTIALS}{_SYNC_ROLE}INTRINSIC_-4cf4bc4d": _CROSS_ACCOUNT,
    f"{_CREDENTIALS}{_SYNC_ROLE}JSONATA_-6a353c5a": _CROSS_ACCOUNT,
    f"{_CREDENTIALS}{_SYNC_ROLE}PATH_-a39e9123": _CROSS_ACCOUNT,
    f"{_CREDENTIALS}{_SYNC_ROLE}VARIABLE_-6cd7a75a": _CROSS_ACCOUNT,
}

# Cases that run but end unlike AWS (status, output, error or cause), with why.
KNOWN_DIFFERENCES: dict[str, str] = {
    "services_test_sfn_task_service__TestTaskServiceSfn__test_start_execution-bcdcc824": (
        "only SdkHttpMetadata's Content-Length differs: AWS's (164) is the length of its "
        "StartExecution response, which names the recording's real, unmasked resources"
    ),
}

# Cases that end like AWS but whose history differs, with why.
HISTORY_DIFFERENCES: dict[str, str] = {
    "activities_test_activities__TestActivities__test_activity_task_on_deleted-872fa201": (
        "AWS fails before scheduling; Sagaway learns that the activity is gone when it "
        "dispatches the Task, so ActivityScheduled and ActivityFailed come first"
    ),
    "callback_test_callback__TestCallback__test_sqs_failure_in_wait_for_task_tok_"
    "no_error_field_SQS_PARALLEL_WAIT_FOR_TASK_TOKEN_-c95d5aa6": (
        "AWS recorded ParallelStateFailed before a caught Task failure here (2024-04), but "
        "not in three later recordings of the same shape (2024-11), which the interpreter "
        "follows"
    ),
}

# The recordings masked request ids inside causes as "<request_id>" (the expected causes
# show the token), but the cases' normalize lists lack the rule: this is that rule.
REQUEST_ID_MASK = {"kind": "regex", "priority": 0, "replacement": "Request ID: <request_id>",
                   "regex": r"Request ID: [0-9a-fA-F-]{36}"}  # fmt: skip
ACTIVITY_ARN = re.compile(r"arn:aws:states:[a-z0-9-]+:\d{12}:activity:[A-Za-z0-9_-]+")
MACHINE_ARN = re.compile(r"arn:aws:states:[a-z0-9-]+:\d{12}:stateMachine:[A-Za-z0-9_-]+")


def _ours(need: str) -> bool:
    return (
        need.endswith(".waitForTaskToken")
        or need == "activity"
        or need.startswith(("states:", "aws-sdk:sfn:"))
    )


@cache
def _cases() -> tuple[dict[str, Any], ...]:
    if not HAVE_CORPUS:
        return ()
    found = iter_cases(CORPUS, "execution")
    return tuple(c for c in found if any(_ours(n) for n in c.get("needs") or []))


@cache
def _compare() -> ModuleType:
    return load_compare(CORPUS)


# -- playing one case ------------------------------------------------------------------------
def _registry(case: dict[str, Any], release: threading.Event) -> FunctionRegistry:
    """The case's Lambda stand-ins; on the server's real clock the sleeping one really
    sleeps (until ``release``, so its thread does not outlive the case)."""

    def sleep_60_then_identity(event: Any, context: Any) -> Any:
        release.wait(60)
        return event

    functions = FunctionRegistry()
    for name, spec in (case.get("lambdas") or {}).items():
        behaviour = spec["behaviour"]
        sleeping = behaviour == "sleep_60_then_identity"
        functions.register(name, sleep_60_then_identity if sleeping else standin(behaviour))
    return functions


def _prepare(sfn: Any, case: dict[str, Any], plan: Scenario) -> str | None:
    """Create the case's child state machines and its activity (the ARN, if it has one)."""
    own = case["context"]["state_machine_arn"]
    children = set(MACHINE_ARN.findall(case["input"] + case["definition_str"])) - {own}
    for arn in sorted(children) if plan.child is not None else ():
        definition = json.dumps(plan.child(case))
        sfn.create_state_machine(name=arn.split(":")[-1], definition=definition, roleArn=ROLE)
    activities = ACTIVITY_ARN.findall(case["definition_str"])
    if not activities:
        return None
    arn: str = sfn.create_activity(name=activities[0].split(":")[-1])["activityArn"]
    if plan.delete_activity:
        sfn.delete_activity(activityArn=arn)
    return arn


def _start(sfn: Any, case: dict[str, Any]) -> str:
    context = case["context"]
    created = sfn.create_state_machine(
        name=context["state_machine_name"], definition=case["definition_str"],
        roleArn=context["role_arn"], type=case["state_machine_type"],
    )  # fmt: skip
    started = sfn.start_execution(stateMachineArn=created["stateMachineArn"],
                                  name=context["execution_name"], input=case["input"])  # fmt: skip
    arn: str = started["executionArn"]
    return arn


def _attend(sfn: Any, arn: str, plan: Scenario, activity: str | None) -> dict[str, Any]:
    """Let the other party act until the execution ends; DescribeExecution's answer."""
    stop, failures = threading.Event(), []

    def party() -> None:
        try:
            if plan.worker and activity:
                run_worker(sfn, activity, plan.worker, stop)
            elif plan.answer:
                hold_tokens(sfn, arn, plan, stop)
        except Exception as exc:  # reported by the case, not as a stray thread error
            failures.append(exc)

    thread = threading.Thread(target=party)
    thread.start()
    described = _wait_done(sfn, arn)
    stop.set()
    thread.join(timeout=10)
    if failures:
        raise failures[0]
    return described


def _wait_done(sfn: Any, arn: str) -> dict[str, Any]:
    deadline = time.monotonic() + DEADLINE
    while True:
        described: dict[str, Any] = sfn.describe_execution(executionArn=arn)
        if described["status"] != "RUNNING" or time.monotonic() > deadline:
            return described
        time.sleep(0.05)


def _history(sfn: Any, arn: str) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    for page in sfn.get_paginator("get_execution_history").paginate(executionArn=arn):
        events.extend(page["events"])
    return events


def play(case: dict[str, Any], workdir: Path) -> Ended:
    """Run ``case`` through a fresh server, as the recording did."""
    plan = scenario(case)
    assert plan is not None, f"no scenario for {case['id']}"
    release = threading.Event()
    with Server(workdir / "api.db", _registry(case, release), poll_timeout=1.0) as server:
        sfn = client(server.url)
        try:
            activity = _prepare(sfn, case, plan)
            arn = _start(sfn, case)
            described = _attend(sfn, arn, plan, activity)
            events = _history(sfn, arn)
        finally:
            release.set()
            sfn.close()
    return Ended(described["status"], described.get("output"), described.get("error"),
                 described.get("cause"), events)  # fmt: skip


def _judged(case: dict[str, Any], workdir: Path) -> CaseResult:
    result = CaseResult(case["id"], False, features=list(case.get("features") or []))
    try:
        ended = play(case, workdir)
    except Exception as exc:
        result.diffs = [f"crashed: {type(exc).__name__}: {exc}"]
        return result
    if "Request ID: <request_id>" in str(case["expected"].get("cause")):
        case = {**case, "normalize": [*case["normalize"], REQUEST_ID_MASK]}
    return judge(case, _compare(), ended, result)


# -- the tests -------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, CaseResult]:
    todo = [c for c in _cases() if c["id"] not in EXCLUDED]
    with ThreadPoolExecutor(max_workers=8) as pool:
        futures = {c["id"]: pool.submit(_judged, c, tmp_path_factory.mktemp("case")) for c in todo}
        return {case_id: future.result() for case_id, future in futures.items()}


def test_corpus_is_present() -> None:
    if _cases():
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"conformance corpus missing at {CORPUS}")
    pytest.skip(f"conformance corpus not found at {CORPUS} (set SAGAWAY_CONFORMANCE_DIR)")


def test_every_case_has_a_scenario_or_an_exclusion() -> None:
    listed = set(EXCLUDED) | set(KNOWN_DIFFERENCES) | set(HISTORY_DIFFERENCES)
    assert not _cases() or listed <= {c["id"] for c in _cases()}, "a listed case is gone"
    for case in _cases():
        other = set(case.get("needs") or []) - OTHER_NEEDS_OK
        unplayable = scenario(case) is None or not all(_ours(n) for n in other)
        assert not unplayable or case["id"] in EXCLUDED, case["id"]


CASE_IDS = [c["id"] for c in _cases()]


@pytest.mark.parametrize("case_id", CASE_IDS, ids=CASE_IDS)  # whole ids: pytest cuts long ones
def test_integration_case(case_id: str, results: dict[str, CaseResult]) -> None:
    if case_id in EXCLUDED:
        pytest.skip(EXCLUDED[case_id])
    result = results[case_id]
    if case_id in KNOWN_DIFFERENCES:
        assert not result.passed, f"passes now: drop it from KNOWN_DIFFERENCES ({case_id})"
        pytest.xfail(KNOWN_DIFFERENCES[case_id])
    assert result.passed, "\n".join(result.diffs)
    if case_id in HISTORY_DIFFERENCES:
        assert not result.history_matched, "history matches now: drop it from the list"
        pytest.xfail(HISTORY_DIFFERENCES[case_id])
    assert result.history_matched or not result.history_checked, "\n".join(result.diffs)


def test_pass_counts_stay_above_their_floors(results: dict[str, CaseResult]) -> None:
    if not _cases():
        pytest.skip("no corpus")
    passed = [r for r in results.values() if r.passed]
    matched = [r for r in passed if r.history_matched]
    print(f"integration cases through the API: {len(results)} run, {len(passed)} passed, "
          f"{len(matched)}/{sum(r.history_checked for r in passed)} histories matched, "
          f"{len(EXCLUDED)} excluded")  # fmt: skip
    assert len(results) >= MIN_RUN
    assert len(passed) >= MIN_PASSED
    assert len(matched) >= MIN_HISTORY_MATCHED
