"""Stand-ins for the Lambda functions the corpus's recordings called (see its README).

The recorded causes of failing functions include Lambda's stack trace, which names the
deployed file (``/var/task/handler.py``) and line. The raising stand-ins are therefore
compiled from source under that file name, laid out like the recorded functions, so the
trace Sagaway reports is produced by the same mechanism it uses for any handler.
"""

from __future__ import annotations

import linecache
from collections.abc import Callable
from typing import Any

HANDLER_FILE = "/var/task/handler.py"

_RAISE_EXCEPTION = """def handler(event, context):
    raise Exception("Some exception was raised.")
"""

_RAISE_CUSTOM = """class CustomException(Exception):
    def __init__(self):
        self.message = "CustomException message"




def handler(event, context):
    raise CustomException()
"""

# Seconds of virtual time a stand-in takes (the virtual clock turns these into timeouts).
DURATIONS = {"sleep_60_then_identity": 60.0}


def _compiled(source: str) -> Callable[[Any, Any], Any]:
    linecache.cache[HANDLER_FILE] = (len(source), None, source.splitlines(True), HANDLER_FILE)
    namespace: dict[str, Any] = {}
    exec(compile(source, HANDLER_FILE, "exec"), namespace)
    handler: Callable[[Any, Any], Any] = namespace["handler"]
    return handler


def standin(behaviour: str) -> Callable[[Any, Any], Any]:
    """The handler for one of the README's behaviours."""
    if behaviour == "raise_exception":
        return _compiled(_RAISE_EXCEPTION)
    if behaviour == "raise_custom_exception":
        return _compiled(_RAISE_CUSTOM)
    simple: dict[str, Callable[[Any, Any], Any]] = {
        "identity": lambda event, context: event,
        "return_bytes_json_string": lambda event, context: b'"HelloWorld!"',
        "return_257KiB_bytes": lambda event, context: b"a" * (257 * 1024),
        "return_decorated_input": lambda event, context: f"input-event-{event}",
        "return_hello_world": lambda event, context: {"Return": "HelloWorld"},
        "sleep_60_then_identity": lambda event, context: event,
    }
    return simple[behaviour]
