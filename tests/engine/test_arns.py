"""EXPRESS execution ARNs end with a generated id, formatted as a version 4 UUID."""

from __future__ import annotations

import uuid

from sagaway.engine import arns


def test_express_arns_end_with_a_fresh_version_4_uuid() -> None:
    made = [arns.execution("m", "n", express=True) for _ in range(1000)]
    ids = [arn.removeprefix(f"arn:aws:states:{arns.REGION}:{arns.ACCOUNT}:express:m:n:")
           for arn in made]  # fmt: skip
    for text in ids:
        parsed = uuid.UUID(text)
        assert (parsed.version, parsed.variant, str(parsed)) == (4, uuid.RFC_4122, text)
    assert len(set(ids)) == len(ids)


def test_standard_arns_have_no_generated_part() -> None:
    assert arns.execution("m", "n") == f"arn:aws:states:{arns.REGION}:{arns.ACCOUNT}:execution:m:n"


def test_an_express_execution_is_told_by_its_arn() -> None:
    from sagaway.engine import arns

    assert arns.is_express(arns.execution("M", "n", express=True))
    assert not arns.is_express(arns.execution("M", "n"))
    assert not arns.is_express("arn:aws:states:us-east-1:1:stateMachine:express")
    assert not arns.is_express("not an arn")
