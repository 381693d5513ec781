"""kill -9 at random moments: a restart resumes every open execution from its journal.

A real worker process (``crash_worker.py``) runs thousands of saga executions on a SQLite
journal and is SIGKILLed at 50+ seeded random moments (during start-up and recovery, while
steps are being committed, while Tasks run, while timers wait), then run again until every
execution has ended. The end state is compared with a run that was never killed.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sagaway.store.sqlite import SqliteJournal

REPO = Path(__file__).resolve().parents[2]
COUNT = 2000  # executions in the run
KILLS = 50  # SIGKILLs that land while the worker is alive and not done
SEED = 20_250_917
MORE = 500  # orders added when the run ends before enough kills have landed
HANG_GUARD = 300.0  # seconds: a worker that runs this long without killing is stuck
# Bytes of payload each order carries (e.g. 65536 to torture the payload store; the suite
# runs without, for time).
PAYLOAD = int(os.environ.get("SAGAWAY_CRASH_PAYLOAD_BYTES", "0"))
# A life with large payloads needs longer to get as far (compressing, writing): the kills
# are spread wider so that they still land in the Wait and in the Parallel.
STRETCH = 1.0 + PAYLOAD / 32768


@dataclass
class Run:
    path: Path
    # Fewer, larger executions with payloads: each life must still get them to their timers.
    count: int = COUNT if not PAYLOAD else COUNT // 5
    lives: int = 0
    kills: int = 0
    resumed: list[int] = field(default_factory=list)  # open executions each life found
    timed: list[int] = field(default_factory=list)  # of which waiting on a timer

    @property
    def journal(self) -> str:
        return str(self.path / "journal.db")

    @property
    def effects(self) -> str:
        return str(self.path / "effects.db")

    @property
    def out(self) -> Path:
        return self.path / "worker.out"

    @property
    def err(self) -> Path:
        return self.path / "worker.err"


def _spawn(run: Run) -> subprocess.Popen[str]:
    """A life of the worker; its output goes to files (``run.out``, ``run.err``), which
    the test reads while it runs without a pipe that could fill up."""
    run.lives += 1
    run.path.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "tests.engine.crash_worker", run.journal, run.effects]
    with run.out.open("w") as out, run.err.open("w") as err:
        return subprocess.Popen(
            [*command, str(run.count), str(PAYLOAD)], cwd=REPO, stdout=out, stderr=err, text=True
        )


def _has_started(run: Run, proc: subprocess.Popen[str]) -> None:
    """Wait until this life has started the whole run (its ``started`` line) or has ended:
    from then on its executions are in flight, many of them waiting on a timer."""
    deadline = time.monotonic() + HANG_GUARD
    while "started" not in run.out.read_text().splitlines() and proc.poll() is None:
        assert time.monotonic() < deadline, f"worker did not start the run:\n{run.err.read_text()}"
        time.sleep(0.01)


def _finish(run: Run, proc: subprocess.Popen[str]) -> bool:
    """Collect a life's output; True when it ran the whole run to the end."""
    proc.wait(timeout=HANG_GUARD)
    out, err = run.out.read_text(), run.err.read_text()
    for line in out.splitlines():
        if line.startswith("resumed"):
            run.resumed.append(int(line.split()[1]))
            run.timed.append(int(line.split()[2]))
    if proc.returncode == -signal.SIGKILL:
        return False
    assert proc.returncode == 0, f"worker failed (exit {proc.returncode}):\n{err}"
    assert out.splitlines()[-1] == "done", out
    return True


def run_with_kills(run: Run, rng: random.Random) -> None:
    while True:
        proc = _spawn(run)
        if run.kills < KILLS:
            # From just after start-up to well into the work: a kill can land in the
            # imports, in recovery, mid-commit, mid-Task or while timers are armed.
            # The first life is killed a while after it has started every execution, so
            # that later kills find executions everywhere in the saga (in the Wait, in the
            # Parallel), not only at its start; counted from its ``started`` line, not from
            # its launch, since start-up alone can take seconds on a loaded machine.
            if run.lives == 1:
                _has_started(run, proc)
                delay = rng.uniform(0.5, 2.0)
            else:
                delay = rng.uniform(0.25, 1.6)
            delay *= STRETCH
            try:
                proc.wait(timeout=delay)
            except subprocess.TimeoutExpired:
                proc.send_signal(signal.SIGKILL)
                run.kills += 1
        if _finish(run, proc):
            if run.kills >= KILLS:
                return
            run.count += MORE  # ended before enough kills: the run grows, and goes on


def test_kill_9_at_random_points_loses_nothing_and_repeats_nothing(tmp_path: Path) -> None:
    began = time.monotonic()
    reference = Run(tmp_path / "reference")
    unkilled = _spawn(reference)  # runs beside the killed one (the two share nothing)
    crashed = Run(tmp_path / "crashed")
    run_with_kills(crashed, random.Random(SEED))
    crash_seconds = time.monotonic() - began
    assert _finish(reference, unkilled)
    if crashed.count > reference.count:  # the killed run grew: the reference does too
        reference.count = crashed.count
        assert _finish(reference, _spawn(reference))

    print(
        f"\nkill -9: {crashed.kills} kills over {crashed.lives} lives, {crashed.count} "
        f"executions; open executions found per life: {crashed.resumed}, of which waiting "
        f"on a timer: {crashed.timed}; killed run "
        f"{crash_seconds:.1f} s, total {time.monotonic() - began:.1f} s"
    )
    expected, actual = _executions(reference), _executions(crashed)
    assert len(actual) == crashed.count  # none lost, none stuck: every one has ended
    assert {e["status"] for e in actual.values()} == {"SUCCEEDED", "FAILED"}
    for name, execution in actual.items():
        assert execution == expected[name], name

    ref_effects, effects = _effects(reference.effects), _effects(crashed.effects)
    # Exactly the reference's effects, each once: no Task effect lost, none doubled, and
    # no extra attempt (a new key) invented by recovery.
    assert {k: v[:2] for k, v in effects.items()} == {k: v[:2] for k, v in ref_effects.items()}
    assert all(calls == 1 for _, _, calls in ref_effects.values())
    repeated = sum(calls - 1 for _, _, calls in effects.values())
    # Tasks whose results were not journaled when the process died were called again,
    # with the same idempotency key (their effect rows above are the reference's).
    assert repeated > 0
    assert max(crashed.resumed) > 0  # kills landed with executions open
    assert max(crashed.timed) > 0  # ... and with their timers armed

    print(f"kill -9: {len(effects)} effects, each once; {repeated} repeated invocations")


def _executions(run: Run) -> dict[str, dict[str, Any]]:
    journal = SqliteJournal(run.journal)
    try:
        return {
            record.name: {
                "status": record.status,
                "output": record.output,
                "error": record.error,
                "cause": record.cause,
                "history": _canonical(_well_formed(record.name, journal.history(record.arn))),
            }
            for record in journal.list_executions(limit=1_000_000)
        }
    finally:
        journal.close()


# A Map or Parallel runs its branches concurrently: their events interleave differently from
# run to run, and the event that closes the state points at whichever branch ended last.
OPENERS = {"MapStateStarted", "ParallelStateStarted"}
CLOSERS = {"MapStateSucceeded", "MapStateFailed", "MapStateAborted",
           "ParallelStateSucceeded", "ParallelStateFailed", "ParallelStateAborted",
           "ParallelStateExited"}  # fmt: skip


def _canonical(events: list[dict[str, Any]]) -> list[Any]:
    """History modulo timestamps and interleaving. Outside Map and Parallel the events must
    come in the same order; inside one (this saga does not nest them) each event is taken
    with the event it follows (previousEventId), as a multiset: branches that end in another
    order compare equal, a repeated, missing or re-parented event does not."""
    content = {0: ""} | {e["id"]: _content(e) for e in events}
    spine: list[Any] = []
    region: list[str] | None = None
    for event in events:
        text = content[event["id"]]
        if region is None:
            spine.append(text)
            region = [] if event["type"] in OPENERS else None
        elif event["type"] in CLOSERS:
            spine += [tuple(sorted(region)), text]
            region = None
        else:
            region.append(f"{text}<-{content[event['previousEventId']]}")
    return spine


def _content(event: dict[str, Any]) -> str:
    body = {k: v for k, v in event.items() if k not in ("id", "previousEventId", "timestamp")}
    return hashlib.blake2b(json.dumps(body, sort_keys=True).encode(), digest_size=12).hexdigest()


def _well_formed(name: str, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Ids 1..n in order (none repeated, none missing), each previousEventId pointing to an
    earlier event, and every Wait left once (its timer fired exactly once)."""
    assert [e["id"] for e in events] == list(range(1, len(events) + 1)), name
    assert all(0 <= e["previousEventId"] < e["id"] for e in events), name
    kinds = Counter(e["type"] for e in events)
    assert kinds["WaitStateExited"] == kinds["WaitStateEntered"], name
    return events


def _effects(path: str) -> dict[str, tuple[str, str, int]]:
    with sqlite3.connect(path) as conn:
        rows = conn.execute("SELECT key, fn, result, calls FROM effects").fetchall()
    return {key: (fn, result, calls) for key, fn, result, calls in rows}
