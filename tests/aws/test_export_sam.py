"""``sagaway export sam``: the shop's order saga written out as a SAM project that
cfn-lint accepts, each role allowing only its holder's own resources; an ASL file with its
handlers; and a definition calling a function the module lacks, refused in one line."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

from sagaway.asl.validate import validate_definition
from sagaway.templates import substitute
from sagaway.templates.cloudformation import load_template
from tests.cli.cli_kit import ORDER_FUNCTIONS, ORDER_SAGA, sagaway

CFN_LINT = Path(sys.executable).parent / "cfn-lint"


def _lint(template: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(CFN_LINT), str(template)], capture_output=True, text=True,
                          timeout=120, check=False)  # fmt: skip


def _of_type(resources: dict[str, Any], kind: str) -> dict[str, Any]:
    return {k: v for k, v in resources.items() if v["Type"] == kind}


def _statements(role: dict[str, Any]) -> list[dict[str, Any]]:
    return [s for p in role["Properties"]["Policies"] for s in p["PolicyDocument"]["Statement"]]


def _listed(action: str | list[str]) -> list[str]:
    return [action] if isinstance(action, str) else action


def test_the_shops_order_saga_exports_to_a_template_cfn_lint_accepts(tmp_path: Path) -> None:
    out = tmp_path / "sam"
    done = sagaway("export", "sam", "--state-machine", "shop.saga:order_saga", "--functions",
                   "shop.lambdas", "--out", out, "--start-on", "OrderSubmitted")  # fmt: skip
    assert done.code == 0, done.err
    lint = _lint(out / "template.yaml")
    assert lint.returncode == 0, lint.stdout
    resources = load_template(out / "template.yaml")["Resources"]
    functions = _of_type(resources, "AWS::Serverless::Function")
    assert len(functions) == 13  # twelve steps and compensations, and ParkOrder
    for logical, function in functions.items():
        props = function["Properties"]
        assert props["Role"] == {"Fn::GetAtt": [f"{logical}Role", "Arn"]}
        module, _, attribute = props["Handler"].rpartition(".")
        code = out / "functions" / f"{module.replace('.', '/')}.py"
        assert f"def {attribute}(" in code.read_text()
        # A function's role lets it write its logs, nothing else.
        actions = {
            a for s in _statements(resources[f"{logical}Role"]) for a in _listed(s["Action"])
        }
        assert actions == {"logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"}
    ((machine_id, machine),) = _of_type(resources, "AWS::Serverless::StateMachine").items()
    invoke, send = _statements(resources[f"{machine_id}Role"])
    invoked = {r["Fn::GetAtt"][0] for r in invoke["Resource"] if "Fn::GetAtt" in r}
    assert invoke["Action"] == "lambda:InvokeFunction" and invoked == set(functions)
    queues = _of_type(resources, "AWS::SQS::Queue")
    assert {r["Fn::GetAtt"][0] for r in send["Resource"]} == set(queues)
    # One queue per dead-letter state of the saga: every forward step and compensation.
    assert len(queues) == 12
    (rule,) = _of_type(resources, "AWS::Events::Rule").values()
    assert rule["Properties"]["EventPattern"] == {"detail-type": ["OrderSubmitted"]}
    assert rule["Properties"]["Targets"][0]["Arn"] == {"Ref": machine_id}
    _check_definition(out, machine["Properties"])


def _check_definition(out: Path, props: dict[str, Any]) -> None:
    text = (out / props["DefinitionUri"]).read_text()
    placeholders = set(re.findall(r"\$\{([^}]+)\}", text))
    assert placeholders == set(props["DefinitionSubstitutions"])
    assert "arn:aws:lambda" not in text
    deployed = substitute(text, {p: f"arn:aws:lambda:us-east-1:123456789012:function:{p}"
                                 if p.endswith("FunctionArn") else
                                 f"https://sqs.us-east-1.amazonaws.com/123456789012/{p}"
                                 for p in placeholders})  # fmt: skip
    assert [p for p in validate_definition(deployed) if p.severity == "ERROR"] == []
    parked = json.loads(deployed)["States"]["CreateOrderDeadLetter"]
    assert parked["Resource"] == "arn:aws:states:::sqs:sendMessage"
    assert parked["Next"] == "CreateOrderDeadLetterPark"


def test_cfn_lint_would_catch_a_broken_export(tmp_path: Path) -> None:
    # The check above means something only if cfn-lint reads these templates closely.
    out = tmp_path / "sam"
    assert sagaway("export", "sam", "--state-machine", ORDER_SAGA, "--functions",
                   ORDER_FUNCTIONS, "--out", out).code == 0  # fmt: skip
    template = out / "template.yaml"
    assert _lint(template).returncode == 0
    text = template.read_text()
    # A policy statement IAM would refuse.
    template.write_text(text.replace("Effect: Allow", "Effect: Permit", 1))
    broken = _lint(template)
    assert broken.returncode != 0 and "'Permit' is not one of ['Allow', 'Deny']" in broken.stdout


def test_an_asl_file_exports_with_one_function_per_handler_and_no_saga_extras(
    tmp_path: Path,
) -> None:
    out = tmp_path / "sam"
    done = sagaway("export", "sam", "--state-machine", ORDER_SAGA, "--functions",
                   ORDER_FUNCTIONS, "--out", out)  # fmt: skip
    assert done.code == 0, done.err
    resources = load_template(out / "template.yaml")["Resources"]
    handlers = {f["Properties"]["Handler"]
                for f in _of_type(resources, "AWS::Serverless::Function").values()}  # fmt: skip
    assert handlers == {"order_functions.reserve_inventory", "order_functions.authorize_payment",
                        "order_functions.book_shipment", "order_functions.refund_payment",
                        "order_functions.release_inventory"}  # fmt: skip
    assert (out / "functions" / "order_functions.py").read_text() == ORDER_FUNCTIONS.read_text()
    assert not _of_type(resources, "AWS::SQS::Queue")
    assert not _of_type(resources, "AWS::Events::Rule")
    # And back: the exported project runs here as it would deploy, from its own copy of
    # the code, under its deployed name.
    order = '{"orderId": "o1", "total": 10, "address": "x"}'
    back = sagaway("run", "--template", out / "template.yaml", "--db", tmp_path / "back.db",
                   "--input", order, "--json")  # fmt: skip
    assert back.code == 0, back.err
    assert back.json()["stateMachineArn"].endswith(":stateMachine:sagaway-order-saga")
    assert back.json()["output"]["status"] == "CONFIRMED"


def test_a_function_the_module_lacks_is_one_line_and_exit_2(tmp_path: Path) -> None:
    empty = tmp_path / "none.py"
    empty.write_text("")
    done = sagaway("export", "sam", "--state-machine", ORDER_SAGA, "--functions", empty,
                   "--out", tmp_path / "sam")  # fmt: skip
    assert done.code == 2
    assert done.err.startswith("error: the state machine calls ")
    assert "authorize_payment" in done.err and len(done.err.strip().splitlines()) == 1
