"""``sagaway validate``: output lines, --json, --type and exit statuses."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from tests.cli.conftest import run

VALID = '{"StartAt": "A", "States": {"A": {"Type": "Pass", "End": true}}}'
WAIT_FOR_TOKEN = json.dumps(
    {
        "StartAt": "T",
        "States": {
            "T": {
                "Type": "Task",
                "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
                "End": True,
            }
        },
    }
)


def test_valid_file_prints_ok(cli: typer.Typer, tmp_path: Path) -> None:
    path = tmp_path / "ok.json"
    path.write_text(VALID)
    assert run(cli, str(path)) == (0, f"{path}: OK\n")


def test_invalid_file_prints_one_line_per_problem(cli: typer.Typer, tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text(
        '{"StartAt": "A", "States": {"A": {"Type": "Pass", "End": true}, "B": {"Type": "Succeed"}}}'
    )
    code, output = run(cli, str(path))
    assert code == 1
    assert output == f'{path}: /States/B: MISSING_TRANSITION_TARGET: State "B" is not reachable.\n'


def test_syntax_error_stays_on_one_line(cli: typer.Typer, tmp_path: Path) -> None:
    path = tmp_path / "text.json"
    path.write_text("not a definition")
    code, output = run(cli, str(path))
    assert code == 1
    assert output.count("\n") == 1 and "INVALID_JSON_DESCRIPTION" in output


def test_express_type(cli: typer.Typer, tmp_path: Path) -> None:
    path = tmp_path / "callback.json"
    path.write_text(WAIT_FOR_TOKEN)
    assert run(cli, str(path))[0] == 0
    code, output = run(cli, "--type", "EXPRESS", str(path))
    assert code == 1
    assert "/States/T/Resource: SCHEMA_VALIDATION_FAILED: Express state machine" in output


def test_json_output(cli: typer.Typer, tmp_path: Path) -> None:
    good, bad = tmp_path / "good.json", tmp_path / "bad.json"
    good.write_text(VALID)
    bad.write_text("{}")
    code, output = run(cli, "--json", str(good), str(bad))
    assert code == 1
    assert json.loads(output) == [
        {"file": str(good), "result": "OK", "diagnostics": []},
        {
            "file": str(bad),
            "result": "FAIL",
            "diagnostics": [
                {
                    "code": "SCHEMA_VALIDATION_FAILED",
                    "message": "These fields are required: [States, StartAt]",
                    "location": "/",
                    "severity": "ERROR",
                }
            ],
        },
    ]


def test_unreadable_file_exits_2(cli: typer.Typer, tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{}")
    code, _ = run(cli, str(tmp_path / "missing.json"), str(bad))
    assert code == 2


def test_help_describes_the_output(cli: typer.Typer) -> None:
    code, output = run(cli, "--help")
    assert code == 0
    assert "--type" in output and "--json" in output and "FILE" in output
