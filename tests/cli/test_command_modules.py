"""``sagaway.cli.COMMANDS`` names the module of every command: a command line imports only
that module, so a command missing from it (or mapped to the wrong module) would vanish."""

from __future__ import annotations

import typer

from sagaway import cli


def _declared() -> dict[str, str]:
    """Each command of the whole registration, with the module that declares it."""
    cli._register()
    found: dict[str, str] = {}
    for command in cli.app.registered_commands:
        assert command.callback is not None
        name = command.name or command.callback.__name__.replace("_", "-")
        found[name] = command.callback.__module__
    for group in cli.app.registered_groups:
        sub: typer.Typer | None = group.typer_instance
        assert sub is not None and group.name is not None
        (first, *_) = sub.registered_commands
        assert first.callback is not None
        found[group.name] = first.callback.__module__
    return found


def test_every_command_is_found_in_the_module_commands_names() -> None:
    declared = _declared()
    assert declared == {name: f"sagaway.cli.{module}" for name, module in cli.COMMANDS.items()}
