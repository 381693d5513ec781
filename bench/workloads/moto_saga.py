"""The order saga on moto's Step Functions, with its ASL interpreter switched on. In memory.

Run inside bench/.venvs/moto. What is measured, precisely:

- `mock_aws(config={"stepfunctions": {"execute_state_machine": True}})` makes moto run
  definitions with the ASL interpreter it vendors (moto.stepfunctions.parser, from
  LocalStack) instead of returning canned histories. (`SF_EXECUTION_HISTORY_TYPE` only picks
  which canned history the *non-executing* backend returns; it does not run anything.)
- The definition is bench/workloads/order_saga.asl.json: six Lambda Tasks, Catch on each,
  compensation Tasks, a Fail state at the end of the compensation chain.
- Tasks call Lambda through an in-process boto3 client that moto intercepts (no socket):
  request signing, serialisation, moto's routing and response parsing all happen per step.
  `"lambda": {"use_docker": False}` selects moto's docker-less Lambda backend, whose
  `invoke` we replace by a direct call of the same no-op Python handler the other peers run;
  the failing handler answers the way Lambda reports an unhandled error
  (X-Amz-Function-Error + {"errorType", "errorMessage"}), which the interpreter turns into a
  catchable error.
- Sagas are started with boto3 `start_execution` (the public API, in-process); moto runs
  each execution on its own thread. Completion is observed by hooking moto's "execution
  terminated" callback (no DescribeExecution polling in the measured path).
- Nothing is durable: executions live in the process's memory.

timers: executions whose first state is a 3600 s Wait (moto sleeps on the execution's
thread: one OS thread per open execution).
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h

HERE = os.path.dirname(os.path.abspath(__file__))
ROLE = "arn:aws:iam::123456789012:role/bench"


def handler_for(name: str) -> Any:
    def handler(event: dict[str, Any]) -> dict[str, Any]:
        if name == h.FAIL_AT and event.get("fail"):
            raise h.StepFailed(f"{name} failed for {event['orderId']}")
        return h.noop_result(name, event)

    return handler


HANDLERS = {s: handler_for(s) for s in [*h.FORWARD, *h.COMPENSATION.values()]}


def lambda_invoke(
    self: Any,
    function_name: str,
    qualifier: Any,
    body: Any,
    headers: Any,
    response_headers: dict[str, str],
) -> bytes:
    name = function_name.rsplit(":", 1)[-1]
    event = json.loads(body)
    try:
        result = HANDLERS[name](event)
    except Exception as e:  # reported as Lambda reports an unhandled error
        response_headers["x-amz-function-error"] = "Unhandled"
        return json.dumps({"errorType": type(e).__name__, "errorMessage": str(e)}).encode()
    return json.dumps(result).encode()


def main() -> None:
    args = h.parse_args()
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    import boto3
    import moto.awslambda_simple.models as lambda_simple
    from moto import mock_aws
    from moto.stepfunctions.parser.backend import execution as sfn_execution

    lambda_simple.LambdaSimpleBackend.invoke = lambda_invoke  # type: ignore[method-assign]

    done: dict[str, threading.Event] = {}
    statuses: dict[str, str] = {}
    done_lock = threading.Lock()
    original_terminated = sfn_execution.BaseExecutionWorkerCommunication.terminated

    def terminated(self: Any) -> None:
        original_terminated(self)
        statuses[self.execution.exec_arn] = self.execution.exec_status.value
        with done_lock:
            ev = done.setdefault(self.execution.exec_arn, threading.Event())
        ev.set()

    sfn_execution.BaseExecutionWorkerCommunication.terminated = terminated  # type: ignore[method-assign]

    config = {"stepfunctions": {"execute_state_machine": True}, "lambda": {"use_docker": False}}
    with mock_aws(config=config):  # type: ignore[arg-type]
        sfn = boto3.client("stepfunctions", region_name="us-east-1")
        if args.workload == "timers":
            run_timers(args, sfn)
            return
        with open(os.path.join(HERE, "order_saga.asl.json")) as f:
            sm = sfn.create_state_machine(name="order-saga", definition=f.read(), roleArn=ROLE)
        fail, payload = h.WORKLOADS[args.workload]

        def one(i: int) -> None:
            arn = sfn.start_execution(
                stateMachineArn=sm["stateMachineArn"],
                name=f"o-{i}",
                input=json.dumps(h.order_input(i, fail, payload)),
            )["executionArn"]
            with done_lock:
                ev = done.setdefault(arn, threading.Event())
            if not ev.wait(60):
                raise TimeoutError(arn)
            status = statuses.pop(arn)
            del done[arn]
            expected = "FAILED" if fail else "SUCCEEDED"
            if status != expected:
                raise AssertionError(f"{arn}: {status}, expected {expected}")

        h.drive_threads(one, args.warmup, args.concurrency, first=10**6)
        cpu0 = h.cpu_seconds()
        lat, wall, errors = h.drive_threads(
            one, args.n, args.concurrency, deadline=h.run_deadline(args)
        )
        h.emit(
            h.summarize(
                workload=args.workload,
                n=args.n,
                fail=fail,
                latencies=lat,
                wall=wall,
                cpu=h.cpu_seconds() - cpu0,
                server_cpu=0.0,
                errors=errors,
                peer="moto",
                threads=threading.active_count(),
            )
        )


def run_timers(args: Any, sfn: Any) -> None:
    with open(os.path.join(HERE, "waiting_saga.asl.json")) as f:
        sm = sfn.create_state_machine(name="waiting-saga", definition=f.read(), roleArn=ROLE)
    rss0 = h.rss_kib()
    t0 = time.perf_counter()

    def start(i: int) -> None:
        sfn.start_execution(
            stateMachineArn=sm["stateMachineArn"],
            name=f"w-{i}",
            input=json.dumps(h.order_input(i, False, 0)),
        )

    lat, _, errors = h.drive_threads(
        start, args.n, args.concurrency, deadline=h.budget_deadline(args)
    )
    started = time.perf_counter() - t0
    time.sleep(3)
    h.emit(
        h.timers_summary(
            n=len(lat) - errors,
            target=args.n,
            started_in=started,
            rss_before=rss0,
            rss_after=h.rss_kib(),
            peer="moto",
            threads=threading.active_count(),
        )
    )
    os._exit(0)  # the waiting threads would otherwise keep the process alive for an hour


if __name__ == "__main__":
    main()
