"""``sagaway serve`` as a new user meets it: the startup line, a taken port, handler
modules that fail to load, the access log."""

from __future__ import annotations

import asyncio
import socket
import time
from pathlib import Path

import httpx
import pytest

from sagaway.cli.serve_setup import bind
from tests.api.serve_kit import Serve
from tests.cli.cli_kit import ORDER_FUNCTIONS, sagaway


def test_startup_line_says_where_what_and_how_to_reach_it(tmp_path: Path) -> None:
    with Serve(tmp_path, "--functions", str(ORDER_FUNCTIONS)) as running:
        line = running.stderr().strip().splitlines()[0]
    assert line.startswith(f"sagaway serve: Step Functions API on {running.url}, journal "
                           f"sqlite:///{tmp_path / 'serve.db'}, 5 function(s) loaded")  # fmt: skip
    for hint in ("AWS_DISABLE_HOST_PREFIX_INJECTION=true", "disableHostPrefix: true",
                 "inject_host_prefix=False"):  # fmt: skip
        assert hint in line


def test_access_log_prints_one_line_per_request(tmp_path: Path) -> None:
    line = '"GET /healthz HTTP/1.1" 200'
    with Serve(tmp_path, "--access-log") as running:
        httpx.get(running.url + "/healthz")
        deadline = time.monotonic() + 10  # the line is written after the answer is sent
        while line not in running.stderr() and time.monotonic() < deadline:
            time.sleep(0.01)
        log = running.stderr()
    assert line in log


def test_a_taken_port_is_one_line_and_exit_2(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = sagaway("serve", "--db", f"sqlite:///{tmp_path / 's.db'}", "--port", str(port))
    assert done.code == 2
    assert done.err.strip().splitlines() == [
        f"error: port {port} on 127.0.0.1 is taken (another process listens there); "
        "choose another with --port"
    ]


@pytest.mark.parametrize(("source", "reason"), [
    ("raise RuntimeError('no config')\n", "RuntimeError: no config"),
    ("import sys\nsys.exit(3)\n", "it called sys.exit(3) on import"),
    ("FUNCTIONS = {'Charge': 42}\n", "FUNCTIONS['Charge'] is not callable (a int)"),
    ("FUNCTIONS = ['Charge']\n", "FUNCTIONS must be a dict of name -> handler, not list"),
])  # fmt: skip
def test_functions_that_fail_to_load_are_one_line_and_exit_2(
    tmp_path: Path, source: str, reason: str
) -> None:
    module = tmp_path / "handlers.py"
    module.write_text(source)
    done = sagaway("serve", "--db", f"sqlite:///{tmp_path / 's.db'}", "--functions", module)
    assert done.code == 2, done.err
    lines = done.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: cannot load functions from")
    assert reason in lines[0]


def test_connections_to_the_serve_socket_send_without_waiting_for_acks() -> None:
    """TCP_NODELAY on every accepted connection: a response written as head, then body
    must not wait for the client's delayed ACK of the head (40 ms on Linux, per request).
    asyncio sets it only on connections of a socket made with IPPROTO_TCP."""

    async def accepted_nodelay() -> int:
        seen: asyncio.Future[int] = asyncio.get_running_loop().create_future()

        def connected(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            conn = writer.get_extra_info("socket")
            seen.set_result(conn.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
            writer.close()

        sock = bind("127.0.0.1", 0)
        server = await asyncio.start_server(connected, sock=sock)
        async with server:
            _, writer = await asyncio.open_connection(*sock.getsockname())
            value = await asyncio.wait_for(seen, 10)
            writer.close()
            return value

    assert asyncio.run(accepted_nodelay()) != 0
