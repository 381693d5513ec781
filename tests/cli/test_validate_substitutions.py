"""``sagaway validate --substitutions FILE`` and ``--template FILE``: a definition written
for a template validates as it will once deployed.

https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-stepfunctions-statemachine.html
(DefinitionSubstitutions replaces ``${key}`` placeholders on deploy).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import typer

from tests.cli.conftest import run

TEMPLATED = json.dumps(
    {
        "StartAt": "T",
        "States": {
            "T": {"Type": "Task", "Resource": "${FunctionArn}", "Next": "S"},
            "S": {
                "Type": "Task",
                "Resource": "arn:${AWS::Partition}:states:::sqs:sendMessage",
                "Parameters": {"QueueUrl": "${Queue}", "MessageBody": "x"},
                "End": True,
            },
        },
    }
)


def test_placeholders_fail_without_substitutions(cli: typer.Typer, tmp_path: Path) -> None:
    path = tmp_path / "flow.asl.json"
    path.write_text(TEMPLATED)
    code, output = run(cli, str(path))
    assert code == 1
    assert "The resource provided ${FunctionArn} is not recognized" in output


@pytest.mark.parametrize("suffix", [".json", ".yaml"])
def test_a_substitutions_file_fills_the_placeholders(
    cli: typer.Typer, tmp_path: Path, suffix: str
) -> None:
    path = tmp_path / "flow.asl.json"
    path.write_text(TEMPLATED)
    values = {
        "FunctionArn": "arn:aws:lambda:us-east-1:123456789012:function:work",
        "Queue": "https://sqs.us-east-1.amazonaws.com/123456789012/q",
    }
    subs = tmp_path / f"subs{suffix}"
    subs.write_text(
        json.dumps(values)
        if suffix == ".json"
        else "".join(f"{k}: {v}\n" for k, v in values.items())
    )
    assert run(cli, "--substitutions", str(subs), str(path)) == (0, f"{path}: OK\n")


def test_a_bad_substitutions_file_exits_2_with_a_reason(cli: typer.Typer, tmp_path: Path) -> None:
    path = tmp_path / "flow.asl.json"
    path.write_text(TEMPLATED)
    subs = tmp_path / "subs.json"
    subs.write_text("[1, 2]")
    code, output = run(cli, "--substitutions", str(subs), str(path))
    assert code == 2
    assert "expected a map of placeholder names to values" in output


def test_neither_files_nor_template_exits_2(cli: typer.Typer) -> None:
    code, output = run(cli)
    assert code == 2
    assert "give definition FILEs or --template" in output


def test_template_validates_each_machine_in_a_real_process(tmp_path: Path) -> None:
    (tmp_path / "flow.asl.json").write_text(TEMPLATED)
    (tmp_path / "template.yaml").write_text(
        "Resources:\n"
        "  Work:\n    Type: AWS::Serverless::Function\n"
        "  Jobs:\n    Type: AWS::SQS::Queue\n"
        "  Flow:\n    Type: AWS::Serverless::StateMachine\n    Properties:\n"
        "      DefinitionUri: flow.asl.json\n      DefinitionSubstitutions:\n"
        "        FunctionArn: !GetAtt Work.Arn\n        Queue: !Ref Jobs\n"
    )
    done = subprocess.run(
        [sys.executable, "-m", "sagaway", "validate", "--template", f"{tmp_path}/template.yaml"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout == f"{tmp_path / 'template.yaml'}#Flow: OK\n"


def test_a_template_without_machines_exits_2(cli: typer.Typer, tmp_path: Path) -> None:
    path = tmp_path / "template.yaml"
    path.write_text("Resources:\n  Q:\n    Type: AWS::SQS::Queue\n")
    code, output = run(cli, "--template", str(path))
    assert code == 2
    assert "declares no state machine" in output
