"""StartExecution without a name.

https://docs.aws.amazon.com/step-functions/latest/apireference/API_StartExecution.html, name:
"If you don't provide a name for the execution, Step Functions automatically generates a
universally unique identifier (UUID) as the execution name."
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from tests.api.conftest import ROLE

DEFINITION = json.dumps({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}})


def test_an_unnamed_execution_is_named_by_a_uuid(sfn: Any) -> None:
    arn = sfn.create_state_machine(name="named", definition=DEFINITION, roleArn=ROLE)[
        "stateMachineArn"
    ]
    names = set()
    for _ in range(2):
        execution = sfn.start_execution(stateMachineArn=arn)["executionArn"]
        name = sfn.describe_execution(executionArn=execution)["name"]
        assert str(uuid.UUID(name)) == name  # canonical lowercase 8-4-4-4-12 form
        assert execution.endswith(f":execution:named:{name}")
        names.add(name)
    assert len(names) == 2
