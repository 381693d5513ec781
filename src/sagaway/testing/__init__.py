"""The test kit: run sagas in tests on a virtual clock, with Task results mocked per state.

    from sagaway.testing import run_saga

    result = run_saga(
        "order-saga.asl.json",
        {"orderId": "o-1"},
        functions=order_functions,
        mocks={"BookShipment": {"Throw": {"Error": "CourierUnavailable"}}},
    )
    assert result.states_entered()[-3:] == ["RefundPayment", "ReleaseInventory", "OrderFailed"]

Waits, retry intervals and timeouts cost no real time. See docs/testing.md.
"""

from sagaway.testing.clock import DEFAULT_START, VirtualClock
from sagaway.testing.errors import InvalidDefinitionError, MockConfigError, SagaTestError
from sagaway.testing.invoker import TaskCall
from sagaway.testing.mocks import MockResponse
from sagaway.testing.result import SagaResult
from sagaway.testing.saga import SagaTest, run_saga
from sagaway.testing.sfn_local import MockConfig, load_mock_config

__all__ = [
    "DEFAULT_START",
    "InvalidDefinitionError",
    "MockConfig",
    "MockConfigError",
    "MockResponse",
    "SagaResult",
    "SagaTest",
    "SagaTestError",
    "TaskCall",
    "VirtualClock",
    "load_mock_config",
    "run_saga",
]
