"""The definition graph's layout and the path read from a history."""

from __future__ import annotations

from sagaway.console.graph import END, START, layout
from sagaway.console.path import CAUGHT, FAILED, RUNNING, SUCCEEDED, trace
from sagaway.console.svg import render


def _entered(n: int, name: str) -> dict[str, object]:
    return {"id": n, "type": "TaskStateEntered", "stateEnteredEventDetails": {"name": name}}


def _exited(n: int, name: str) -> dict[str, object]:
    return {"id": n, "type": "TaskStateExited", "stateExitedEventDetails": {"name": name}}


def test_layers_go_down_the_main_path_and_loops_are_back_edges() -> None:
    block = layout({"StartAt": "Poll", "States": {
        "Poll": {"Type": "Task", "Resource": "r", "Next": "Done?"},
        "Done?": {"Type": "Choice", "Choices": [{"Variable": "$.ok", "BooleanEquals": True,
                                                 "Next": "Ship"}], "Default": "Poll"},
        "Ship": {"Type": "Succeed"}}})  # fmt: skip
    y = {name: node.y for name, node in block.nodes.items()}
    assert y[START] < y["Poll"] < y["Done?"] < y["Ship"] < y[END]
    back = [(e.source, e.target) for e in block.edges if e.back]
    assert back == [("Done?", "Poll")]


def test_parallel_branches_and_map_processors_nest_inside_their_state() -> None:
    branch = {"StartAt": "A", "States": {"A": {"Type": "Pass", "End": True}}}
    block = layout({"StartAt": "Both", "States": {
        "Both": {"Type": "Parallel", "Branches": [branch, branch, branch], "Next": "Each"},
        "Each": {"Type": "Map", "ItemProcessor": branch, "End": True}}})  # fmt: skip
    both, each = block.nodes["Both"], block.nodes["Each"]
    assert len(both.children) == 3 and len(each.children) == 1
    assert both.w > 3 * both.children[0].width and both.h > both.children[0].height
    svg = render(block, None)
    assert svg.count('data-state="A"') == 4


def test_catch_targets_and_what_follows_them_are_compensations() -> None:
    block = layout({"StartAt": "Charge", "States": {
        "Charge": {"Type": "Task", "Resource": "r", "Next": "Ok",
                   "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Refund"}]},
        "Refund": {"Type": "Task", "Resource": "r", "Next": "Failed"},
        "Failed": {"Type": "Fail"}, "Ok": {"Type": "Succeed"}}})  # fmt: skip
    marked = {name for name, node in block.nodes.items() if node.compensation}
    assert marked == {"Refund"}


def test_the_path_tells_succeeded_caught_failed_running_and_retries() -> None:
    failure = {"error": "Boom", "cause": "it broke"}
    history = [
        {"id": 1, "type": "ExecutionStarted"},
        _entered(2, "Charge"),
        {"id": 3, "type": "LambdaFunctionScheduled"},
        {"id": 4, "type": "LambdaFunctionFailed", "lambdaFunctionFailedEventDetails": failure},
        {"id": 5, "type": "LambdaFunctionScheduled"},
        {"id": 6, "type": "LambdaFunctionFailed", "lambdaFunctionFailedEventDetails": failure},
        _exited(7, "Charge"),
        _entered(8, "Refund"),
        {"id": 9, "type": "LambdaFunctionScheduled"},
        {"id": 10, "type": "LambdaFunctionSucceeded"},
        _exited(11, "Refund"),
        _entered(12, "Notify"),
    ]
    path = trace(history)
    assert path.runs["Charge"].outcome("FAILED") == CAUGHT
    assert path.runs["Charge"].retried == 1 and path.runs["Charge"].error == "Boom"
    assert path.runs["Refund"].outcome("FAILED") == SUCCEEDED
    assert path.runs["Notify"].outcome("RUNNING") == RUNNING
    assert path.runs["Notify"].outcome("FAILED") == FAILED
    assert path.transitions == {("Charge", "Refund"), ("Refund", "Notify")}
