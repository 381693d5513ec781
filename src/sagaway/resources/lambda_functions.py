"""Lambda-style Python handlers behind Task states, reported the way AWS Lambda reports them.

A Task whose Resource is a Lambda function ARN, or ``arn:aws:states:::lambda:invoke`` with a
``FunctionName``, calls the handler registered under that function name as
``handler(event, context)``. A raised exception becomes an ASL failure whose error is the
exception's class name and whose cause is Lambda's JSON error document.

A handler that ends its runtime (``sys.exit()``, an uncaught ``KeyboardInterrupt``, or, in a
sandbox process, ``os._exit()``) fails its Task the way Lambda's ``Runtime.ExitError`` reaches
Step Functions: as ``Lambda.Unknown``, the error Step Functions reports for unhandled runtime
failures (out of memory, timeouts, exits), with Lambda's error document as the cause.
"""

from __future__ import annotations

import functools
import hashlib
import inspect
import json
import os
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from sagaway.expressions.jsontext import MAX_DEPTH, check_aws_json, copy_json, dumps, loads
from sagaway.interpreter.limits import json_size
from sagaway.interpreter.messages import InvokeTask, TaskFailed, TaskSucceeded
from sagaway.interpreter.resources import LAMBDA, parse_resource
from sagaway.resources.lambda_response import invoke_response

Handler = Callable[[Any, Any], Any]
PAYLOAD_LIMIT_BYTES = 256 * 1024
DATA_LIMIT = "States.DataLimitExceeded"
RUNTIME_UNKNOWN = "Lambda.Unknown"
THROTTLED = "Lambda.TooManyRequestsException"
THREAD, PROCESS = "thread", "process"
ISOLATIONS = (THREAD, PROCESS)


@dataclass(slots=True)
class LambdaContext:
    """The ``context`` argument handlers receive (the subset of Lambda's that applies)."""

    function_name: str
    aws_request_id: str
    idempotency_key: str
    invoked_function_arn: str = ""
    # Call to report progress on a Task with HeartbeatSeconds; set by the engine.
    heartbeat: Callable[[], None] = field(default=lambda: None)


@dataclass(slots=True)
class FunctionRegistry:
    """The handlers by function name, and how each runs.

    ``isolation``: where handlers run unless a function says otherwise: ``"thread"`` (in the
    engine's process, the fast path) or ``"process"`` (in a pool of sandbox processes, which
    a handler can crash or hang without touching the engine; needs a ``source``).
    ``concurrency``: a function's reserved concurrency, the most invocations of it that run
    at once; more are throttled as Lambda throttles a synchronous Invoke."""

    handlers: dict[str, Handler] = field(default_factory=dict)
    isolation: str = THREAD
    isolations: dict[str, str] = field(default_factory=dict)
    concurrency: dict[str, int] = field(default_factory=dict)
    # The ``--functions`` target each handler was loaded from: what a sandbox process loads.
    sources: dict[str, str] = field(default_factory=dict)

    def register(self, name: str, handler: Handler, *, source: str | None = None) -> None:
        self.handlers[name] = handler
        if source is not None:
            self.sources[name] = source

    def resolve(self, name_or_arn: str) -> tuple[str, Handler | None]:
        name = _function_name(name_or_arn)
        return name, self.handlers.get(name)

    def isolation_of(self, name: str) -> str:
        # A handler registered in code, without a module to load, can only run in-process.
        if name not in self.sources:
            return THREAD
        return self.isolations.get(name, self.isolation)


def _is_coroutine(handler: Handler) -> bool:
    # A coroutine function, or an object whose __call__ is one.
    call = getattr(handler, "__call__", None)  # noqa: B004
    return inspect.iscoroutinefunction(handler) or inspect.iscoroutinefunction(call)


# Asked for every invocation; inspect's answer costs more than the rest of a no-op call.
_is_coroutine_cached = functools.lru_cache(maxsize=1024)(_is_coroutine)


@functools.lru_cache(maxsize=1024)
def _function_name(name_or_arn: str) -> str:
    parts = name_or_arn.split(":")
    if len(parts) >= 7 and parts[2] == "lambda":
        return parts[6]
    return name_or_arn


@dataclass(slots=True)
class Invocation:
    """One call of a handler, prepared: the engine calls ``handler(event, context)`` (in a
    thread when it is synchronous, awaited when it is a coroutine function) and turns the
    outcome into an interpreter event with :meth:`succeeded` or :meth:`failed`."""

    command: InvokeTask
    handler: Handler
    event: Any
    context: LambdaContext
    direct: bool
    label: str
    payload_limit: int | None

    @property
    def is_async(self) -> bool:
        try:
            return _is_coroutine_cached(self.handler)
        except TypeError:  # an unhashable callable object
            return _is_coroutine(self.handler)

    def succeeded(self, value: Any) -> TaskSucceeded | TaskFailed:
        token = self.command.token
        try:
            result, size, plain = _normalise(value)
            # The handler's own value: the encoder would render NaN as null unseen.
            if not plain:
                check_aws_json(result if isinstance(value, bytes | bytearray) else value,
                               other_types=True)  # fmt: skip
        except (TypeError, ValueError, RecursionError) as exc:
            reason = "nested too deeply" if isinstance(exc, RecursionError) else exc
            return TaskFailed(
                token, "Runtime.MarshalError", f"Unable to marshal response: {reason}"
            )
        if self.payload_limit is not None and size > self.payload_limit:
            return TaskFailed(
                token,
                DATA_LIMIT,
                f"The state/task '{self.label}' returned a result with a size exceeding the "
                "maximum number of bytes service limit.",
            )
        if self.direct:
            return TaskSucceeded(token, result)
        payload = self.command.payload
        log_tail = isinstance(payload, Mapping) and payload.get("LogType") == "Tail"
        return TaskSucceeded(token, invoke_response(result, self.context.aws_request_id, log_tail))

    def failed(self, exc: BaseException) -> TaskFailed:
        if not isinstance(exc, Exception):
            return self.runtime_exited(_exit_reason(exc))
        try:
            cause = _cause(exc, self.context.aws_request_id, self.direct)
        except Exception:  # a broken __str__ or traceback must still fail the Task
            cause = _cause_without_trace(exc, self.context.aws_request_id)
        return TaskFailed(self.command.token, type(exc).__name__, cause)

    def runtime_exited(self, reason: str) -> TaskFailed:
        """The failure Step Functions reports when the function's runtime ended before it
        answered (Lambda: ``Runtime.ExitError``); ``reason`` as Lambda words it."""
        message = f"RequestId: {self.context.aws_request_id} Error: {reason}"
        document = {"errorMessage": message, "errorType": "Runtime.ExitError"}
        cause = json.dumps(document) if self.direct else dumps(document)
        return TaskFailed(self.command.token, RUNTIME_UNKNOWN, cause)

    def throttled(self) -> TaskFailed:
        """Lambda's answer to an Invoke beyond the function's reserved concurrency."""
        cause = (
            "Rate Exceeded. (Service: AWSLambda; Status Code: 429; Error Code: "
            f"TooManyRequestsException; Request ID: {self.context.aws_request_id}; Proxy: null)"
        )
        return TaskFailed(self.command.token, THROTTLED, cause)

    def call(self) -> TaskSucceeded | TaskFailed:
        """Call a synchronous handler in this thread. Whatever it raises fails only its
        Task: ``SystemExit`` and ``KeyboardInterrupt`` would otherwise end the engine."""
        try:
            value = self.handler(self.event, self.context)
        except BaseException as exc:  # the handler's exit is its Task's failure
            return self.failed(exc)
        return self.succeeded(value)


def prepare(
    registry: FunctionRegistry,
    command: InvokeTask,
    idempotency_key: str | None = None,
    payload_limit: int | None = PAYLOAD_LIMIT_BYTES,
) -> Invocation | TaskFailed:
    """Resolve the handler a Lambda Task names, or the failure AWS reports when it is missing."""
    ref = parse_resource(command.resource)
    direct = ref.family == LAMBDA
    target = ref.arn if direct else _invoke_target(command.payload)
    name, handler = registry.resolve(target)
    key = idempotency_key or command.token
    request_id = request_id_for(key)
    if handler is None:
        cause = _not_found(target, ref.region, request_id)
        return TaskFailed(command.token, "Lambda.ResourceNotFoundException", cause)
    # Lambda hands a function its own copy of the input: a handler that changes it must not
    # change the execution's data (nor the texts already rendered for it, interpreter.texts).
    event = copy_json(command.payload if direct else _invoke_payload(command.payload))
    context = LambdaContext(name, request_id, key, target)
    label = ref.arn if direct else ref.resource_type
    return Invocation(command, handler, event, context, direct, label, payload_limit)


def request_id_for(key: str) -> str:
    """A UUID-shaped request id derived from the idempotency key (stable across retries of
    the same attempt after a crash, as a caller-supplied request id would be): the text of
    ``uuid.UUID(bytes=digest)``, formatted directly (one is made per invocation)."""
    h = hashlib.blake2b(key.encode(), digest_size=16).hexdigest()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def invoke(
    registry: FunctionRegistry,
    command: InvokeTask,
    payload_limit: int | None = PAYLOAD_LIMIT_BYTES,
) -> TaskSucceeded | TaskFailed:
    """Call a synchronous handler in this thread (the virtual-clock driver's way)."""
    invocation = prepare(registry, command, payload_limit=payload_limit)
    if isinstance(invocation, TaskFailed):
        return invocation
    return invocation.call()


def exit_reason(returncode: int) -> str:
    """How Lambda words a runtime process's end (its ``Runtime.ExitError`` message)."""
    if returncode == 0:
        return "Runtime exited without providing a reason"
    if returncode < 0:
        name = _SIGNAL_NAMES.get(-returncode, f"signal {-returncode}")
        return f"Runtime exited with error: signal: {name}"
    return f"Runtime exited with error: exit status {returncode}"


# Lambda's runtime manager (in Go) names signals the way Go's os/exec does.
_SIGNAL_NAMES = {
    2: "interrupt", 6: "aborted", 9: "killed", 11: "segmentation fault", 15: "terminated",
}  # fmt: skip


def _exit_reason(exc: BaseException) -> str:
    # What the runtime process's exit would have been, had the exception ended it.
    if isinstance(exc, SystemExit):
        code = exc.code
        if code is None:
            return exit_reason(0)
        return exit_reason(code if isinstance(code, int) else 1)
    if isinstance(exc, KeyboardInterrupt):
        return exit_reason(-2)  # Python ends by SIGINT on an uncaught KeyboardInterrupt
    return exit_reason(1)


def _not_found(target: str, region: str, request_id: str) -> str:
    arn = (
        target
        if target.startswith("arn:")
        else (f"arn:aws:lambda:{region}:111111111111:function:{target}")
    )
    if arn.count(":") < 7:
        arn += ":$LATEST"
    return (
        f"Function not found: {arn} (Service: AWSLambda; Status Code: 404; Error Code: "
        f"ResourceNotFoundException; Request ID: {request_id}; Proxy: null)"
    )


def _invoke_target(payload: Any) -> str:
    if isinstance(payload, Mapping):
        return str(payload.get("FunctionName", ""))
    return ""


def _invoke_payload(payload: Any) -> Any:
    # Lambda hands a function invoked without a payload the empty object.
    if isinstance(payload, Mapping) and payload.get("Payload") is not None:
        value = payload.get("Payload")
        if isinstance(value, str):
            try:
                return loads(value)
            except ValueError:
                return value
        return value
    return {}


_BYTES = (bytes, bytearray)


def _normalise(result: Any) -> tuple[Any, int, bool]:
    """Lambda serialises the handler's return value to JSON; bytes are taken as JSON text.
    The value the Task gets, the UTF-8 size of its JSON text (from the one encoding), and
    whether that encoding alone shows the value is JSON as AWS accepts it (``plain``)."""
    if isinstance(result, _BYTES):  # a tuple: a union would be built at each call
        try:
            value = loads(bytes(result))
        except ValueError:
            value = bytes(result).decode("utf-8", "replace")
        return value, json_size(value), False
    try:
        text = orjson.dumps(result)
    except (TypeError, orjson.JSONEncodeError):
        fallback = dumps(result)  # what orjson refuses (e.g. integers beyond 64 bits)
        return loads(fallback), len(fallback.encode("utf-8", "surrogatepass")), False
    # orjson refuses integers beyond 64 bits and renders NaN and Infinity as null: a text
    # with no null and fewer brackets than MAX_DEPTH needs no walk of check_aws_json.
    plain = b"null" not in text and text.count(b"[") + text.count(b"{") <= MAX_DEPTH
    # The parsed text renders as the same text again: its size is the result's.
    return loads(text), len(text), plain


_ENGINE_DIRS = tuple(
    str(Path(__file__).resolve().parents[1] / part) + os.sep for part in ("engine", "resources")
)


def _ours(filename: str) -> bool:
    return filename.startswith(_ENGINE_DIRS) or filename.endswith(
        ("asyncio/tasks.py", "asyncio/events.py", "concurrent/futures/thread.py")
    )


def _message(exc: BaseException) -> str:
    try:
        return str(exc)
    except Exception:
        return "<exception str() failed>"  # what Python's own traceback prints


def _cause_without_trace(exc: BaseException, request_id: str) -> str:
    document = {
        "errorMessage": _message(exc),
        "errorType": type(exc).__name__,
        "requestId": request_id,
        "stackTrace": [],
    }
    return dumps(document)


def _cause(exc: BaseException, request_id: str, direct: bool) -> str:
    # Lambda's trace starts in the handler: drop the engine's own frames above it.
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if not _ours(f.filename)]
    document = {
        "errorMessage": _message(exc),
        "errorType": type(exc).__name__,
        "requestId": request_id,
        "stackTrace": traceback.format_list(frames),
    }
    # Lambda's runtime renders the document differently for the two integrations.
    return json.dumps(document) if direct else dumps(document)
