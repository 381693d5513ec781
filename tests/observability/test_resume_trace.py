"""A traced `sagaway serve` killed with SIGKILL mid-execution and started again: the spans
of the resumed part land in the same trace, under the same execution span (real processes,
the SDK's OTLP exporter configured by OTEL_* variables, a loopback collector)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.api.conftest import client, free_port
from tests.observability.collector import Collector, Received

HERE = Path(__file__).parent
FN = "arn:aws:lambda:us-east-1:123456789012:function:"
SAGA = {"StartAt": "Reserve", "States": {
    "Reserve": {"Type": "Task", "Resource": FN + "reserve", "Next": "Hold"},
    "Hold": {"Type": "Task", "Resource": FN + "hold", "End": True},
}}  # fmt: skip
HEADER = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
TRACE_ID = "5759e988bd862e3fe1be46a994272793"


def serve(tmp: Path, port: int, collector: Collector, run: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "OTEL_TRACES_EXPORTER": "otlp",
           "OTEL_EXPORTER_OTLP_ENDPOINT": collector.url, "OTEL_BSP_SCHEDULE_DELAY": "50",
           "OTEL_RESOURCE_ATTRIBUTES": f"test.run={run}", "HOLD_MARKER": str(tmp / "held"),
           "SAGAWAY_TRACE_KEYS": json.dumps({"shop": "$.orderId"})}  # fmt: skip
    proc = subprocess.Popen(
        [str(Path(sys.executable).parent / "sagaway"), "serve", "--db", f"sqlite:///{tmp / 'j.db'}",
         "--port", str(port), "--functions", str(HERE / "crash_functions.py")],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 20
    while True:
        try:
            httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=1)
            return proc
        except httpx.TransportError:
            assert proc.poll() is None and time.monotonic() < deadline, "serve did not start"
            time.sleep(0.1)


def wait_for(collector: Collector, name: str, timeout: float = 20) -> list[Received]:
    deadline = time.monotonic() + timeout
    while not any(span.name == name for span in collector.received()):
        assert time.monotonic() < deadline, f"no span {name}: {collector.received()}"
        time.sleep(0.05)
    return collector.received()


def test_a_resumed_execution_continues_its_trace(tmp_path: Path) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with Collector() as collector:
        first = serve(tmp_path, port, collector, "first")
        try:
            sfn = client(url)
            arn = sfn.create_state_machine(name="shop", definition=json.dumps(SAGA),
                                           roleArn="arn:aws:iam::123456789012:role/r")["stateMachineArn"]  # fmt: skip  # noqa: E501
            started = sfn.start_execution(stateMachineArn=arn, input='{"orderId": "o-7"}',
                                          traceHeader=HEADER)  # fmt: skip
            wait_for(collector, "Reserve")  # exported by the first process before it dies
            while not (tmp_path / "held").exists():
                time.sleep(0.05)
        finally:
            os.kill(first.pid, signal.SIGKILL)
            first.wait()
        second = serve(tmp_path, port, collector, "second")
        try:
            spans = wait_for(collector, "execution shop")
            status = client(url).describe_execution(executionArn=started["executionArn"])
        finally:
            second.terminate()
            second.wait(20)
    assert status["status"] == "SUCCEEDED"
    assert status["traceHeader"] == HEADER  # AWS: the header passed to the execution
    assert {span.trace_id for span in spans} == {TRACE_ID}
    (execution,) = [s for s in spans if s.name == "execution shop"]
    assert execution.run == "second" and execution.parent_span_id == "53995c3f42cd8ad8"
    reserve = next(s for s in spans if s.name == "Reserve")
    assert reserve.run == "first" and reserve.parent_span_id == execution.span_id
    hold = next(s for s in spans if s.name == "Hold")
    assert hold.run == "second" and hold.attributes["sagaway.resumed"] is True
    assert hold.parent_span_id == execution.span_id
    attempts = [s for s in spans if s.name == "Hold attempt"]
    assert [a.run for a in attempts] == ["second"]  # the killed one never ended
    assert attempts[0].parent_span_id == hold.span_id
    assert {s.attributes["sagaway.business_key"] for s in spans} == {"o-7"}
