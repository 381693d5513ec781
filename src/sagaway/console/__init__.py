"""The operator console: executions, the path each took, the state machines, the audit
log, and the operator's actions, as web pages at ``/console`` (see docs/console.md)."""

from sagaway.console.app import Console, ConsoleExtension, ExtensionPage, create_console
from sagaway.console.settings import ConsoleSettings, exposure_problem, is_loopback

__all__ = [
    "Console", "ConsoleExtension", "ConsoleSettings", "ExtensionPage", "create_console",
    "exposure_problem", "is_loopback",
]  # fmt: skip
