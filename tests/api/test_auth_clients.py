"""The AWS CLI and the AWS SDK for JavaScript sign their requests to a ``sagaway serve``
that has credentials, unchanged; a wrong secret is refused with AWS's code."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.api.serve_kit import BIN, Serve, aws

HERE = Path(__file__).parent
KEYS = "AKIDOPERATOR operator-secret full\nAKIDAUDITOR auditor-secret read-only\n"
PASS = json.dumps({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}})
ROLE = "arn:aws:iam::111111111111:role/r"


@pytest.fixture
def signed_server(tmp_path: Path) -> Iterator[Serve]:
    keys = tmp_path / "credentials"
    keys.write_text(KEYS)
    keys.chmod(0o600)
    with Serve(tmp_path, "--credentials", str(keys)) as running:
        yield running


@pytest.fixture(scope="module")
def js_sdk(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """@aws-sdk/client-sfn installed with npm into a folder of this test run."""
    npm, node = shutil.which("npm"), shutil.which("node")
    if npm is None or node is None:
        if os.environ.get("CI") == "true":
            pytest.fail("node and npm are required under CI=true")
        pytest.skip("node or npm not installed")
    folder = tmp_path_factory.mktemp("jssdk")
    (folder / "package.json").write_text('{"type": "module", "private": true}')
    subprocess.run([npm, "install", "--no-audit", "--no-fund", "--silent",
                    "@aws-sdk/client-sfn@3"], cwd=folder, check=True, timeout=300)  # fmt: skip
    shutil.copy(HERE / "js" / "sfn_client.mjs", folder)
    return folder


def test_the_aws_cli_signs_and_a_wrong_secret_is_refused(signed_server: Serve) -> None:
    url = signed_server.url
    created = aws(url, "AKIDOPERATOR", "operator-secret", "create-state-machine", "--name",
                  "cli", "--definition", PASS, "--role-arn", ROLE, "--type", "EXPRESS")  # fmt: skip
    assert created.returncode == 0, created.stderr
    arn = json.loads(created.stdout)["stateMachineArn"]
    sync = aws(url, "AKIDOPERATOR", "operator-secret", "start-sync-execution",
               "--state-machine-arn", arn, "--input", '{"a": 1}')  # fmt: skip
    assert json.loads(sync.stdout)["status"] == "SUCCEEDED", sync.stderr
    wrong = aws(url, "AKIDOPERATOR", "guessed", "list-state-machines")
    assert wrong.returncode != 0 and "InvalidSignatureException" in wrong.stderr
    denied = aws(url, "AKIDAUDITOR", "auditor-secret", "start-sync-execution",
                 "--state-machine-arn", arn)  # fmt: skip
    assert "AccessDeniedException" in denied.stderr
    listed = aws(url, "AKIDAUDITOR", "auditor-secret", "list-state-machines")
    assert [m["name"] for m in json.loads(listed.stdout)["stateMachines"]] == ["cli"]


def test_the_js_sdk_signs_and_a_wrong_secret_is_refused(
    signed_server: Serve, js_sdk: Path
) -> None:
    def run(secret: str) -> dict[str, object]:
        done = subprocess.run(
            ["node", "sfn_client.mjs", signed_server.url, "AKIDOPERATOR", secret],
            cwd=js_sdk, capture_output=True, text=True, timeout=60, check=True,
        )  # fmt: skip
        answer: dict[str, object] = json.loads(done.stdout)
        return answer

    assert run("guessed") == {"error": "InvalidSignatureException"}
    ok = run("operator-secret")
    assert ok["list"] == [] and ok["sync"] == {"status": "SUCCEEDED", "output": '{"from":"js"}'}


def test_serve_refuses_to_listen_off_loopback_without_credentials(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "SAGAWAY_CREDENTIALS"}
    done = subprocess.run([str(BIN / "sagaway"), "serve", "--host", "0.0.0.0", "--db",
                           f"sqlite:///{tmp_path / 'x.db'}"], capture_output=True, text=True,
                          env=env, timeout=30, check=False)  # fmt: skip
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "error: refusing to listen on 0.0.0.0 without credentials: give --credentials FILE "
        "or set SAGAWAY_CREDENTIALS (or listen on 127.0.0.1)"
    ]
    assert not (tmp_path / "x.db").exists()


def test_a_credentials_file_others_can_read_is_refused(tmp_path: Path) -> None:
    keys = tmp_path / "credentials"
    keys.write_text(KEYS)
    keys.chmod(0o644)
    done = subprocess.run([str(BIN / "sagaway"), "serve", "--credentials", str(keys), "--db",
                           f"sqlite:///{tmp_path / 'x.db'}"], capture_output=True, text=True,
                          timeout=30, check=False)  # fmt: skip
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        f"error: {keys} is readable by others: chmod 600 it"]  # fmt: skip
