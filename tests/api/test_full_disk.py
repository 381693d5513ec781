"""A `sagaway serve` process whose disk fills up: StartExecution answers a retryable 503
(never a 500), /readyz says why, and once space is freed the same process is ready again
and takes new executions. The disk is a real 8 MiB tmpfs mounted for the test (root only)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from tests.api.cluster_kit import eventually
from tests.api.conftest import ROLE, client, free_port
from tests.api.test_restart_recovery import probe, serve

BLOB = "x" * 200_000
PASS = json.dumps({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}})


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8M", "tmpfs", str(mount)],
                          capture_output=True, text=True)  # fmt: skip
    if done.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here (needs root): {done.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=True)


def test_a_full_disk_answers_503_and_readiness_recovers_when_space_is_freed(
    small_disk: Path, tmp_path: Path
) -> None:
    port, log = free_port(), tmp_path / "serve.log"
    server = serve(small_disk / "journal.db", port, log)
    try:
        sfn = client(f"http://127.0.0.1:{port}")
        eventually(lambda: probe(port, "/readyz") == (200, {"status": "ready"}), 30,
                   log.read_text)  # fmt: skip
        machine = sfn.create_state_machine(name="p", definition=PASS, roleArn=ROLE)
        arn = machine["stateMachineArn"]
        filler = small_disk / "filler"
        filler.write_bytes(b"\0" * (os.statvfs(small_disk).f_bavail * 4096 - 400_000))
        with pytest.raises(ClientError) as full:
            for i in range(20):
                sfn.start_execution(stateMachineArn=arn, name=f"b{i}",
                                    input=json.dumps({"blob": BLOB}))  # fmt: skip
        error = full.value.response
        assert (error["Error"]["Code"], error["ResponseMetadata"]["HTTPStatusCode"]) == (
            "ServiceUnavailable", 503), log.read_text()[-2000:]  # fmt: skip
        status, body = probe(port, "/readyz") or (0, {})
        assert status == 503 and "disk full" in body["reason"], body
        assert probe(port, "/healthz") == (200, {"status": "alive"})

        filler.unlink()  # space is back: the same process is ready again
        eventually(lambda: probe(port, "/readyz") == (200, {"status": "ready"}), 15,
                   log.read_text)  # fmt: skip
        again = sfn.start_execution(stateMachineArn=arn, name="after", input="{}")
        assert again["executionArn"].endswith(":after")
        assert "Traceback" not in log.read_text()
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
