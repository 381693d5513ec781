"""Sandbox processes for Lambda-style handlers (``--isolation process``).

Lambda runs each function in a sandbox of its own, so a function that exits, crashes or hangs
harms only its own invocation. Here a pool of worker processes
(:mod:`sagaway.resources.sandbox_worker`) plays that part: each loads the ``--functions``
module once and then runs one invocation at a time, reused while it lives (a warm sandbox).

- A sandbox that dies during an invocation (``os._exit``, a signal, running out of memory)
  fails that invocation as Lambda reports ``Runtime.ExitError`` and is not reused; the next
  invocation starts a new one (a cold start: a Python process and the module's import).
- An invocation that times out has its sandbox killed: unlike a thread, the work stops.
- At most ``size`` sandboxes live at once; an invocation waits for one when all are busy.

Everything runs on the event loop (asyncio subprocess pipes): no thread per sandbox.
"""

from __future__ import annotations

import asyncio
import contextlib
import pickle
import sys
from collections.abc import Callable

from sagaway.interpreter.messages import TaskFailed, TaskSucceeded
from sagaway.resources.lambda_functions import RUNTIME_UNKNOWN, Invocation, exit_reason
from sagaway.resources.sandbox_worker import HEADER

Outcome = TaskSucceeded | TaskFailed


class _Sandbox:
    def __init__(self, process: asyncio.subprocess.Process, source: str) -> None:
        self.process = process
        self.source = source

    async def invoke(
        self, invocation: Invocation, key: str, payload_limit: int | None, beat: Callable[[], None]
    ) -> Outcome | None:
        """The invocation's outcome, or None when the process ended before answering."""
        assert self.process.stdin is not None
        self.process.stdin.write(_frame((invocation.command, key, payload_limit)))
        try:
            await self.process.stdin.drain()
            while True:
                answer = await self._read()
                if isinstance(answer, TaskSucceeded | TaskFailed):
                    return answer
                beat()  # ("beat",): the handler called context.heartbeat()
        except (asyncio.IncompleteReadError, ConnectionError):
            return None

    async def _read(self) -> object:
        assert self.process.stdout is not None
        header = await self.process.stdout.readexactly(HEADER.size)
        body = await self.process.stdout.readexactly(HEADER.unpack(header)[0])
        return pickle.loads(body)

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            self.process.kill()


def _frame(value: object) -> bytes:
    body = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    return HEADER.pack(len(body)) + body


class SandboxPool:
    """Up to ``size`` sandbox processes, shared by every function loaded from a source."""

    def __init__(self, size: int = 16) -> None:
        self._slots = asyncio.Semaphore(size)
        self._idle: dict[str, list[_Sandbox]] = {}
        self._live: set[_Sandbox] = set()

    async def run(
        self,
        invocation: Invocation,
        source: str,
        key: str,
        payload_limit: int | None,
        beat: Callable[[], None],
    ) -> Outcome:
        async with self._slots:
            sandbox = self._take(source) or await self._start(source)
            reusable = False
            try:
                outcome = await sandbox.invoke(invocation, key, payload_limit, beat)
                if outcome is None:
                    code = await sandbox.process.wait()
                    return invocation.runtime_exited(exit_reason(code))
                # After a handler's exit the sandbox ends itself, as Lambda discards it.
                exited = isinstance(outcome, TaskFailed) and outcome.error == RUNTIME_UNKNOWN
                reusable = not exited and sandbox.process.returncode is None
                return outcome
            finally:
                # Cancelled (a timeout, an abort) mid-invocation: the sandbox still runs the
                # handler, so it is killed, never handed to the next invocation.
                self._give_back(sandbox, reusable)

    def _take(self, source: str) -> _Sandbox | None:
        idle = self._idle.get(source)
        while idle:
            sandbox = idle.pop()
            if sandbox.process.returncode is None:
                return sandbox
            self._live.discard(sandbox)
        return None

    async def _start(self, source: str) -> _Sandbox:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-c", "from sagaway.resources.sandbox_worker import main; main()",
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        )  # fmt: skip
        sandbox = _Sandbox(process, source)
        assert process.stdin is not None
        process.stdin.write(_frame((list(sys.path), source)))
        self._live.add(sandbox)
        return sandbox

    def _give_back(self, sandbox: _Sandbox, reusable: bool) -> None:
        if reusable:
            self._idle.setdefault(sandbox.source, []).append(sandbox)
            return
        sandbox.kill()
        self._live.discard(sandbox)

    @property
    def processes(self) -> int:
        return len(self._live)

    async def close(self) -> None:
        """End every sandbox (closing its pipe ends an idle one; a busy one is killed)."""
        for sandbox in list(self._live):
            if sandbox.process.stdin is not None:
                sandbox.process.stdin.close()
            sandbox.kill()
        for sandbox in list(self._live):
            with contextlib.suppress(ProcessLookupError):
                await sandbox.process.wait()
        self._live.clear()
        self._idle.clear()
