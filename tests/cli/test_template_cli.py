"""``--template`` and ``export sam`` misused: one line, exit 2; and their --help."""

from __future__ import annotations

from pathlib import Path

from tests.cli.cli_kit import ORDER_SAGA, sagaway

TWO_MACHINES = """\
Resources:
  First:
    Type: AWS::StepFunctions::StateMachine
    Properties:
      Definition: {StartAt: P, States: {P: {Type: Pass, End: true}}}
  Second:
    Type: AWS::Serverless::StateMachine
    Properties:
      Name: second-machine
      Definition: {StartAt: P, States: {P: {Type: Pass, Result: 2, End: true}}}
"""


def test_a_template_with_several_machines_needs_state_machine(tmp_path: Path) -> None:
    template = tmp_path / "template.yaml"
    template.write_text(TWO_MACHINES)
    done = sagaway("run", "--template", template, "--db", tmp_path / "x.db")
    assert done.code == 2
    assert done.err.strip() == (f"error: {template} declares 2 state machines (First, "
                                "second-machine): choose one with --state-machine")  # fmt: skip
    chosen = sagaway("run", "--template", template, "--state-machine", "second-machine",
                     "--db", tmp_path / "x.db", "--json")  # fmt: skip
    assert chosen.code == 0, chosen.err
    assert chosen.json()["output"] == 2
    assert chosen.json()["stateMachineArn"].endswith(":stateMachine:second-machine")


def test_file_and_template_together_are_refused(tmp_path: Path) -> None:
    done = sagaway("run", ORDER_SAGA, "--template", tmp_path / "t.yaml")
    assert (done.code, done.err.strip()) == (2, "error: give either FILE or --template, not both")


def test_help_names_the_new_options() -> None:
    run_help = sagaway("run", "--help").out
    assert "--template" in run_help and "--state-machine" in run_help
    export_help = sagaway("export", "sam", "--help").out
    for option in ("--state-machine", "--functions", "--out", "--start-on", "--start-source"):
        assert option in export_help


ORCHESTRATION = """\
Parameters:
  CreateOrderFunctionArn: {Type: String}
Resources:
  OrderSaga:
    Type: AWS::Serverless::StateMachine
    Properties:
      DefinitionUri: order-saga.asl.json
      DefinitionSubstitutions: {CreateOrderArn: !Ref CreateOrderFunctionArn}
"""


def test_parameters_a_parent_stack_would_pass_are_given_as_overrides(tmp_path: Path) -> None:
    # Seed 000's shape: the machine's stack gets its function ARNs as parameters.
    (tmp_path / "stack.yaml").write_text(ORCHESTRATION)
    (tmp_path / "order-saga.asl.json").write_text(
        '{"StartAt": "CreateOrder", "States": {"CreateOrder": {"Type": "Task", '
        '"Resource": "${CreateOrderArn}", "End": true}}}'
    )
    (tmp_path / "stand_ins.py").write_text(
        "def create_order(event, context):\n    return {'created': event['orderId']}\n"
    )
    done = sagaway("run", "--template", tmp_path / "stack.yaml", "--functions",
                   tmp_path / "stand_ins.py", "--db", tmp_path / "x.db", "--input",
                   '{"orderId": "7"}', "--json", "--parameter-overrides",
                   "CreateOrderFunctionArn=arn:aws:lambda:us-east-1:123456789012:function:create_order")  # fmt: skip  # noqa: E501
    assert done.code == 0, done.err
    assert done.json()["output"] == {"created": "7"}
    wrong = sagaway("run", "--template", tmp_path / "stack.yaml", "--db", tmp_path / "x.db",
                    "--parameter-overrides", "Nope=1")  # fmt: skip
    assert (wrong.code, wrong.err.strip()) == (
        2, f"error: {tmp_path / 'stack.yaml'}: no parameter Nope to override"
    )  # fmt: skip
