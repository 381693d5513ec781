"""Reading a SAM / CloudFormation template's state machines as they deploy.

CloudFormation: https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-stepfunctions-statemachine.html
(DefinitionSubstitutions: placeholders ``${key}`` in the definition replaced by the map's
values, which may use intrinsic functions); SAM:
https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/sam-resource-statemachine.html
(DefinitionUri, Definition, DefinitionSubstitutions). Pseudo parameters:
https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/pseudo-parameter-reference.html
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sagaway.asl.validate import validate_definition
from sagaway.templates import read_definition, read_template, substitute
from sagaway.templates.cloudformation import TemplateError

DEFINITION = {
    "StartAt": "Call",
    "States": {
        "Call": {"Type": "Task", "Resource": "${WorkerArn}", "Next": "Sdk"},
        "Sdk": {
            "Type": "Task",
            "Resource": "arn:${AWS::Partition}:states:${AWS::Region}:${AWS::AccountId}"
            ":aws-sdk:s3:getObject",
            "Parameters": {"Bucket": "${Bucket}", "Key": "k", "Queue": "${QueueUrl}"},
            "End": True,
        },
    },
}

SAM = """\
AWSTemplateFormatVersion: '2010-09-09'
Transform: AWS::Serverless-2016-10-31
Parameters:
  Stage:
    Type: String
    Default: dev
Resources:
  Worker:
    Type: AWS::Serverless::Function
    Properties:
      Handler: app.handler
  Jobs:
    Type: AWS::SQS::Queue
  Files:
    Type: AWS::S3::Bucket
    Properties:
      BucketName: !Sub "files-${Stage}"
  FlowFromFile:
    Type: AWS::Serverless::StateMachine
    Properties:
      Type: EXPRESS
      DefinitionUri: statemachine/flow.asl.json
      DefinitionSubstitutions:
        WorkerArn: !GetAtt Worker.Arn
        Bucket: !Ref Files
        QueueUrl: !Ref Jobs
  Inline:
    Type: AWS::StepFunctions::StateMachine
    Properties:
      Definition:
        StartAt: Call
        States:
          Call:
            Type: Task
            Resource: !GetAtt [Worker, Arn]
            End: true
  FromString:
    Type: AWS::StepFunctions::StateMachine
    Properties:
      DefinitionString: !Sub |
        {"StartAt": "Call", "States": {"Call": {"Type": "Task",
         "Resource": "${Worker.Arn}", "Comment": "${!NotSubstituted}", "End": true}}}
"""


@pytest.fixture
def template(tmp_path: Path) -> Path:
    (tmp_path / "statemachine").mkdir()
    (tmp_path / "statemachine" / "flow.asl.json").write_text(json.dumps(DEFINITION))
    path = tmp_path / "template.yaml"
    path.write_text(SAM)
    return path


def test_definition_uri_is_read_and_its_substitutions_resolved(template: Path) -> None:
    machines = {m.logical_id: m for m in read_template(template)}
    flow = machines["FlowFromFile"]
    assert flow.machine_type == "EXPRESS"
    assert flow.source.endswith("flow.asl.json")
    states = json.loads(flow.definition)["States"]
    assert states["Call"]["Resource"] == "arn:aws:lambda:us-east-1:123456789012:function:Worker"
    assert states["Sdk"]["Resource"] == "arn:aws:states:us-east-1:123456789012:aws-sdk:s3:getObject"
    assert states["Sdk"]["Parameters"]["Bucket"] == "files-dev"  # BucketName, via !Sub/!Ref
    assert states["Sdk"]["Parameters"]["Queue"] == (
        "https://sqs.us-east-1.amazonaws.com/123456789012/Jobs"  # Ref of a queue is its URL
    )
    assert validate_definition(flow.definition, machine_type="EXPRESS") == []


def test_inline_definitions_resolve_their_intrinsic_functions(template: Path) -> None:
    machines = {m.logical_id: m for m in read_template(template)}
    inline = json.loads(machines["Inline"].definition)
    assert inline["States"]["Call"]["Resource"].endswith(":function:Worker")
    from_string = json.loads(machines["FromString"].definition)
    assert from_string["States"]["Call"]["Resource"].endswith(":function:Worker")
    assert from_string["States"]["Call"]["Comment"] == "${NotSubstituted}"  # Fn::Sub's ${!


def test_substitute_leaves_unknown_placeholders_and_fills_pseudo_parameters() -> None:
    text = "${A}-${B}-${AWS::Region}-${AWS::Partition}"
    assert substitute(text, {"A": "x"}) == "x-${B}-us-east-1-aws"
    assert substitute(text, {"AWS::Region": "eu-west-1"}) == "${A}-${B}-eu-west-1-aws"


def test_a_template_without_resources_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "t.yaml"
    path.write_text("Description: nothing here\n")
    with pytest.raises(TemplateError, match="no Resources"):
        read_template(path)


def test_a_missing_definition_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "t.yaml"
    path.write_text(
        "Resources:\n  M:\n    Type: AWS::Serverless::StateMachine\n"
        "    Properties:\n      DefinitionUri: nowhere.json\n"
    )
    with pytest.raises(TemplateError, match="DefinitionUri"):
        read_template(path)


YAML_DEFINITION = """\
StartAt: Ask
States:
  Ask:
    Type: Choice
    Choices:
      - Variable: $.ok
        BooleanEquals: true
        Next: Yes
    Default: No
  Yes:
    Type: Wait
    Seconds: ${WaitSeconds}
    Next: No
  No:
    Type: Succeed
"""


def test_yaml_definitions_are_substituted_then_read_with_yaml_12_booleans(
    tmp_path: Path,
) -> None:
    """SAM takes ``*.asl.yaml`` definitions (DefinitionUri); the placeholder is replaced in
    the text, so ``Seconds: ${WaitSeconds}`` becomes a number, and ``Yes`` / ``No`` remain
    state names."""
    path = tmp_path / "flow.asl.yaml"
    path.write_text(YAML_DEFINITION)
    text = read_definition(path, {"WaitSeconds": "5"})
    definition = json.loads(text)
    assert definition["States"]["Yes"]["Seconds"] == 5
    assert definition["States"]["Ask"]["Default"] == "No"
    assert validate_definition(text) == []
    (tmp_path / "template.yaml").write_text(
        "Resources:\n  Flow:\n    Type: AWS::Serverless::StateMachine\n    Properties:\n"
        "      DefinitionUri: flow.asl.yaml\n"
        "      DefinitionSubstitutions:\n        WaitSeconds: 7\n"
    )
    [machine] = read_template(tmp_path / "template.yaml")
    assert json.loads(machine.definition)["States"]["Yes"]["Seconds"] == 7
