"""The ``validate`` command in a group of its own, so it is invoked by name as under the real
``sagaway``: shared by the validate tests."""

from __future__ import annotations

import pytest
import typer
from typer.testing import CliRunner

from sagaway.cli.validate import validate_command


@pytest.fixture
def cli() -> typer.Typer:
    app = typer.Typer()
    app.callback()(lambda: None)
    app.command("validate")(validate_command)
    return app


def run(app: typer.Typer, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["validate", *args])
    return result.exit_code, result.output
