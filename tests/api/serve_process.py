"""One real `sagaway serve` process on a SQLite journal, for tests that must see the process
itself survive (and its log stay free of tracebacks)."""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tests.api.cluster_kit import answers, eventually
from tests.api.conftest import client, free_port


class ServeProcess:
    def __init__(self, proc: subprocess.Popen[bytes], url: str, log: Path) -> None:
        self.proc = proc
        self.url = url
        self.log = log
        self.sfn: Any = client(url)

    def output(self) -> str:
        return self.log.read_text()


@contextmanager
def serve_process(folder: Path, *extra: str) -> Iterator[ServeProcess]:
    port = free_port()
    log = folder / "serve.log"
    command = [sys.executable, "-m", "sagaway", "serve", "--port", str(port)]
    command += ["--db", f"sqlite:///{folder / 'journal.db'}", *extra]
    with log.open("wb") as out:  # the child keeps its own copy
        proc = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, cwd=folder)
    server = ServeProcess(proc, f"http://127.0.0.1:{port}", log)
    try:
        eventually(lambda: answers(server.sfn), 30, server.output)
        yield server
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
