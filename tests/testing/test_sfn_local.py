"""load_mock_config: Step Functions Local's MockConfigFile format."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from sagaway.testing import MockConfigError, MockResponse, load_mock_config, run_saga
from tests.testing.sagas import definition, task

SAGA = definition(
    {
        "Charge": task(
            "charge",
            ResultPath="$.charge",
            Retry=[{"ErrorEquals": ["Busy", "Slow"], "IntervalSeconds": 1, "MaxAttempts": 3}],
            Next="Ship",
        ),
        "Ship": task("ship", ResultPath="$.ship", End=True),
    }
)

CONFIG: dict[str, Any] = {
    "StateMachines": {
        "Checkout": {
            "TestCases": {
                "Happy": {"Charge": "Charged", "Ship": "Shipped"},
                "Flaky": {"Charge": "FlakyCharge", "Ship": "Shipped"},
                "Hybrid": {"Charge": "Charged"},
            }
        }
    },
    "MockedResponses": {
        "Charged": {"0": {"Return": {"charged": 10}}},
        "Shipped": {"0": {"Return": {"tracking": "t-1"}}},
        "FlakyCharge": {
            "0": {"Throw": {"Error": "Busy", "Cause": "busy"}},
            "1-2": {"Throw": {"Error": "Slow", "Cause": "slow"}},
            "3": {"Return": {"charged": 10}},
        },
    },
}


def _write(tmp_path: Path, config: Any) -> Path:
    path = tmp_path / "MockConfigFile.json"
    path.write_text(json.dumps(config))
    return path


def test_a_test_case_from_a_file_drives_the_retry_path(tmp_path: Path) -> None:
    config = load_mock_config(_write(tmp_path, CONFIG))
    assert config.test_cases("Checkout") == ["Happy", "Flaky", "Hybrid"]
    result = run_saga(SAGA, {}, mocks=config.test_case("Checkout", "Flaky"))
    assert result.status == "SUCCEEDED"
    assert result.output == {"charge": {"charged": 10}, "ship": {"tracking": "t-1"}}
    assert [c.attempt for c in result.calls if c.state_name == "Charge"] == [0, 1, 2, 3]
    errors = [
        e["lambdaFunctionFailedEventDetails"]["error"]
        for e in result.events("LambdaFunctionFailed")
    ]
    assert errors == ["Busy", "Slow", "Slow"]
    assert result.elapsed == 1 + 2 + 4  # default BackoffRate 2.0


def test_ranges_expand_to_one_response_per_call() -> None:
    config = load_mock_config(CONFIG)
    flaky = config.mocked_responses["FlakyCharge"]
    assert [r.error for r in flaky] == ["Busy", "Slow", "Slow", None]
    assert flaky[3] == MockResponse(result={"charged": 10})


def test_states_a_test_case_leaves_out_call_their_handlers() -> None:
    config = load_mock_config(CONFIG)
    shipped: list[Any] = []

    def ship(event: Any, context: Any) -> Any:
        shipped.append(event)
        return {"tracking": "real"}

    result = run_saga(
        SAGA, {"id": 1}, functions={"ship": ship}, mocks=config.test_case("Checkout", "Hybrid")
    )
    assert result.output["ship"] == {"tracking": "real"}
    assert shipped == [{"id": 1, "charge": {"charged": 10}}]


def test_unknown_state_machines_and_test_cases_list_the_known_ones() -> None:
    config = load_mock_config(CONFIG)
    with pytest.raises(MockConfigError, match="no state machine 'Shop'; it has: Checkout"):
        config.test_case("Shop", "Happy")
    with pytest.raises(MockConfigError, match="test cases: Happy, Flaky, Hybrid"):
        config.test_case("Checkout", "Sad")


def test_a_test_case_naming_a_state_the_definition_lacks_is_refused() -> None:
    config = load_mock_config(
        {
            "StateMachines": {"Checkout": {"TestCases": {"T": {"Pay": "R"}}}},
            "MockedResponses": {"R": {"0": {"Return": 1}}},
        }
    )
    with pytest.raises(MockConfigError, match=r"'Pay'.*Task states you can mock: Charge, Ship"):
        run_saga(SAGA, mocks=config.test_case("Checkout", "T"))


def _responses(calls: dict[str, Any]) -> dict[str, Any]:
    return {"StateMachines": {}, "MockedResponses": {"R": calls}}


@pytest.mark.parametrize(
    ("config", "message"),
    [
        (_responses({"0": {"Return": 1}, "2": {"Return": 2}}), "leave call 1 without a response"),
        (_responses({"1": {"Return": 1}}), "leave call 0 without a response"),
        (_responses({"0-2": {"Return": 1}, "1": {"Return": 2}}), "overlap"),
        (_responses({"first": {"Return": 1}}), "is not a call number"),
        (_responses({"3-1": {"Return": 1}}), "ends before it starts"),
        (_responses({}), "at least one call"),
        (_responses({"0": {"Return": 1, "Throw": {"Error": "E"}}}), "exactly one of Return"),
        (
            {
                "StateMachines": {"M": {"TestCases": {"T": {"S": "Nope"}}}},
                "MockedResponses": {"R": {"0": {"Return": 1}}},
            },
            r"StateMachines.M.TestCases.T.S: no mocked response named 'Nope'; .* has: R",
        ),
        ({"MockedResponse": {}}, "unknown top-level field"),
        ({"StateMachines": [], "MockedResponses": {}}, "StateMachines must be an object"),
        ({"StateMachines": {"M": {"Cases": {}}}}, "unknown field"),
    ],
)
def test_malformed_configs_say_what_is_wrong(config: dict[str, Any], message: str) -> None:
    with pytest.raises(MockConfigError, match=message):
        load_mock_config(config)


def test_unreadable_files_are_mock_config_errors(tmp_path: Path) -> None:
    with pytest.raises(MockConfigError, match="cannot read"):
        load_mock_config(tmp_path / "missing.json")
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    with pytest.raises(MockConfigError, match="not valid JSON"):
        load_mock_config(str(broken))
