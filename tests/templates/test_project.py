"""Reading a project's functions and running them as Lambda would: each in its own module
namespace, with its environment and its timeout; what cannot run here is named."""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

import pytest

from sagaway.resources.lambda_functions import FunctionRegistry
from sagaway.templates.functions import load_project_functions
from sagaway.templates.project import read_project

TEMPLATE = """\
Transform: AWS::Serverless-2016-10-31
Globals:
  Function: {Runtime: python3.11, Handler: app.lambda_handler, Timeout: 1}
Resources:
  Machine:
    Type: AWS::StepFunctions::StateMachine
    Properties:
      StateMachineName: Checkout
      DefinitionString: !Sub |
        {"StartAt": "A", "States": {"A": {"Type": "Task", "Resource": "${First.Arn}", "End": true}}}
  First:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: first/
      Environment: {Variables: {GREETING: !Sub "hello from ${AWS::Region}"}}
  Second:
    Type: AWS::Serverless::Function
    Properties: {CodeUri: second/, FunctionName: second-fn}
  Slow:
    Type: AWS::Serverless::Function
    Properties: {CodeUri: slow/}
  Web:
    Type: AWS::Serverless::Function
    Properties: {CodeUri: web/, Runtime: nodejs20.x, Handler: index.handler}
  Queue:
    Type: AWS::SQS::Queue
"""


def _write(root: Path, folder: str, body: str) -> None:
    (root / folder).mkdir()
    (root / folder / "app.py").write_text(textwrap.dedent(body))


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "template.yaml").write_text(TEMPLATE)
    # Both functions import a sibling ``helper`` and are both ``app.lambda_handler``.
    for folder, word in (("first", "one"), ("second", "two")):
        _write(tmp_path, folder, """\
            import os
            import helper
            def lambda_handler(event, context):
                return {"helper": helper.WORD, "greeting": os.environ.get("GREETING")}
            """)  # fmt: skip
        (tmp_path / folder / "helper.py").write_text(f"WORD = {word!r}\n")
    _write(tmp_path, "slow", """\
        import time
        def lambda_handler(event, context):
            time.sleep(2)
        """)  # fmt: skip
    return tmp_path / "template.yaml"


def test_functions_with_the_same_module_names_stay_apart(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GREETING", raising=False)
    read = read_project(project)
    registry = FunctionRegistry()
    load_project_functions(read.functions, registry)
    assert registry.handlers["First"]({}, None) == {
        "helper": "one", "greeting": "hello from us-east-1"
    }  # fmt: skip
    assert registry.handlers["second-fn"]({}, None)["helper"] == "two"
    assert registry.handlers["Second"] is registry.handlers["second-fn"]  # by logical id too
    assert os.environ["GREETING"] == "hello from us-east-1"
    assert [m.name for m in read.machines] == ["Checkout"]
    assert "function:First" in read.machines[0].definition


def test_a_function_past_its_timeout_fails_as_lambda_reports_it(project: Path) -> None:
    registry = FunctionRegistry()
    load_project_functions(read_project(project).functions, registry)
    with pytest.raises(Exception, match=r"Task timed out after 1\.00 seconds") as caught:
        registry.handlers["Slow"]({}, None)
    assert type(caught.value).__name__ == "Sandbox.Timedout"


def test_what_cannot_run_here_is_named_one_line_each(project: Path) -> None:
    notes = read_project(project).notes
    assert any("function Web has runtime nodejs20.x: only Python functions run here" in n
               for n in notes)  # fmt: skip
    assert "template.yaml: AWS::SQS::Queue Queue: not run locally, ignored" in notes
    assert all("\n" not in n for n in notes)
