"""``sagaway demo`` end to end in a subprocess: 200 orders, failures injected at every step,
the engine process SIGKILLed midway and restarted; then the audit, re-run here from the
databases the demo left behind."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

from sagaway import DeadLetterQueue
from shop.audit import run_audit
from shop.config import ShopConfig


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_small_demo_with_a_crash_keeps_every_invariant(tmp_path: Path) -> None:
    workdir = tmp_path / "demo"
    cmd = [sys.executable, "-m", "sagaway", "demo", "--orders", "200", "--workdir", str(workdir),
           "--port", str(free_port()), "--seed", "11"]  # fmt: skip
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SIGKILL to the engine process" in done.stdout
    assert "audit passed" in done.stdout
    assert "operator: faults off, redrove" in done.stdout
    assert "after the redrive" in done.stdout
    audit = run_audit(ShopConfig(workdir=workdir))
    assert audit.ok, audit.checks
    assert sum(audit.counts.values()) == 200
    assert audit.counts.get("CONFIRMED", 0) > 0 and audit.counts.get("CANCELLED_COMPENSATED", 0) > 0
    # The operator phase redrove every parked order: no dead letter is left waiting unless
    # its order parked again (then it has a new one, which the audit checks).
    assert audit.counts.get("NEEDS_REVIEW", 0) == len(DeadLetterQueue(
        ShopConfig(workdir=workdir).url("orders")).list())  # fmt: skip
