"""A sandbox process: runs Lambda-style handlers for the engine, one invocation at a time.

Started by :mod:`sagaway.resources.sandbox`, which calls :func:`main` in a new interpreter.
Frames (a 4-byte big-endian length, then a pickle) arrive on stdin and leave on stdout; the
handler's own prints go to stderr instead, so nothing it writes can corrupt the frames.

The first frame is ``(sys_path, source)``: the parent's import path and the ``--functions``
target to load. Each following frame is ``(command, idempotency_key, payload_limit)``; the
answer is zero or more ``("beat",)`` frames (``context.heartbeat()``) and then the interpreter
event, built here so a failure's trace shows the handler's frames. A handler that ends its
runtime (``sys.exit()``) is answered as Lambda answers it, and then this process exits, as
Lambda discards a sandbox whose runtime exited: the next invocation gets a fresh one.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import pickle
import signal
import struct
import sys
import threading
import time
from typing import IO, Any

HEADER = struct.Struct(">I")


def read_frame(stream: IO[bytes]) -> Any:
    header = stream.read(HEADER.size)
    if len(header) < HEADER.size:
        raise EOFError
    body = stream.read(HEADER.unpack(header)[0])
    return pickle.loads(body)


def write_frame(stream: IO[bytes], value: Any) -> None:
    body = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(HEADER.pack(len(body)) + body)
    stream.flush()


def _orphan_watch(parent: int) -> None:
    # A handler that never returns never reads the EOF of a dead engine's pipe: leave when
    # the engine is gone (reparented), not when the handler is done.
    while os.getppid() == parent:
        time.sleep(1.0)
    os._exit(1)


def main() -> None:
    # Ctrl-C in a terminal reaches the whole process group: the engine decides what stops.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    threading.Thread(target=_orphan_watch, args=(os.getppid(),), daemon=True).start()
    # Keep the frame pipes on private descriptors; fd 1 becomes stderr and fd 0 /dev/null.
    frames_in = os.fdopen(os.dup(0), "rb")
    frames_out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    sys.stdout = os.fdopen(1, "w", buffering=1)
    sys.stdin = os.fdopen(0, "r")
    with contextlib.suppress(EOFError):  # the engine closed the pipe: done with this sandbox
        serve(frames_in, frames_out)


def serve(frames_in: IO[bytes], frames_out: IO[bytes]) -> None:
    from sagaway.resources.lambda_functions import RUNTIME_UNKNOWN, Invocation, prepare
    from sagaway.resources.loader import load_functions

    sys_path, source = read_frame(frames_in)
    sys.path[:] = sys_path
    registry = load_functions(source)
    while True:
        command, key, payload_limit = read_frame(frames_in)
        invocation = prepare(registry, command, key, payload_limit)
        if isinstance(invocation, Invocation):
            invocation.context.heartbeat = lambda: write_frame(frames_out, ("beat",))
            event = _call(invocation)
        else:
            event = invocation
        write_frame(frames_out, event)
        if getattr(event, "error", None) == RUNTIME_UNKNOWN:
            return


def _call(invocation: Any) -> Any:
    if not invocation.is_async:
        return invocation.call()
    try:
        value = asyncio.run(invocation.handler(invocation.event, invocation.context))
    except BaseException as exc:  # the handler's exit is its Task's failure
        return invocation.failed(exc)
    return invocation.succeeded(value)
