"""Map configuration: ItemBatcher, tolerated failures, MaxConcurrencyPath."""

from __future__ import annotations

from typing import Any

from tests.interpreter.kit import machine, start


def _map(**extra: Any) -> Any:
    return machine(
        {
            "M": {
                "Type": "Map",
                "ItemProcessor": {
                    "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                    "StartAt": "P",
                    "States": {"P": {"Type": "Pass", "End": True}},
                },
                "End": True,
                **extra,
            }
        }
    )


def test_item_batcher_groups_items_with_batch_input() -> None:
    m = _map(ItemBatcher={"MaxItemsPerBatch": 2, "BatchInput": {"run": 1}})
    assert start(m, [1, 2, 3]).state.output == [
        {"Items": [1, 2], "BatchInput": {"run": 1}},
        {"Items": [3], "BatchInput": {"run": 1}},
    ]


def test_max_concurrency_path_must_be_an_integer() -> None:
    step = start(
        machine(
            {
                "M": {
                    "Type": "Map",
                    "ItemsPath": "$.items",
                    "MaxConcurrencyPath": "$.n",
                    "ItemProcessor": {
                        "StartAt": "P",
                        "States": {"P": {"Type": "Pass", "End": True}},
                    },
                    "End": True,
                }
            }
        ),
        {"items": [1], "n": "two"},
    )
    assert step.state.status == "FAILED"
    assert step.state.error == "States.Runtime"


def test_tolerated_failure_count_path_reads_the_input() -> None:
    m = machine(
        {
            "M": {
                "Type": "Map",
                "ItemsPath": "$.items",
                "ToleratedFailureCountPath": "$.ok",
                "ItemProcessor": {
                    "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                    "StartAt": "F",
                    "States": {"F": {"Type": "Fail", "Error": "Bad"}},
                },
                "End": True,
            }
        }
    )
    assert start(m, {"items": [1, 2], "ok": 2}).state.output == [None, None]
    failed = start(m, {"items": [1, 2], "ok": 1})
    assert failed.state.error == "States.ExceedToleratedFailureThreshold"


def test_tolerated_failure_percentage() -> None:
    m = _map(
        ItemsPath="$.items",
        ToleratedFailurePercentage=50,
        ItemProcessor={
            "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
            "StartAt": "C",
            "States": {
                "C": {
                    "Type": "Choice",
                    "Choices": [{"Variable": "$", "NumericEquals": 0, "Next": "F"}],
                    "Default": "P",
                },
                "F": {"Type": "Fail", "Error": "Bad"},
                "P": {"Type": "Pass", "End": True},
            },
        },
    )
    assert start(m, {"items": [0, 1, 0, 1]}).state.output == [None, 1, None, 1]
    assert start(m, {"items": [0, 0, 0, 1]}).state.error == "States.ExceedToleratedFailureThreshold"
