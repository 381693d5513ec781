"""``sagaway bench --tracing-cost``: the same workload with tracing off and on, interleaved
(off, on, on, off, off, on, ...: drift in the machine's load falls on both alike), each run
on a fresh SQLite journal, the spans exported over OTLP/HTTP to a loopback receiver in its
own process (:mod:`sagaway.bench.otlp_sink`) that decodes and counts them.

Per run: sagas/s; CPU per transition of the engine (its process and the SQLite writer
process, as the plain benchmark counts it), and of each process apart: the engine's, the
writer's, the exporter's (its drain included) and the receiver's (its intake
during the run and the drain; its decoding, at the count, after); CPU of the exporter
process per span; the spans the receiver got; and how long the exporter took, after the
last execution ended, to send what it still held (the "drain": long when it cannot keep
up). The summary is the median of each mode and the ratio of the medians.

One exporter process serves every traced run, as a server keeps one: it starts, and is
ready, before the first run's clock starts, and after each traced run the bench waits
until it has exported that run's spans (its flush) before the next run starts.

The exporter process is configured from this process's OTEL_* variables (sampler, batch
size, ``SAGAWAY_TRACE_EXPORT=sdk`` for the SDK's exporter), with the endpoint the receiver's.
"""

from __future__ import annotations

import os
import random
import statistics
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from opentelemetry.sdk.trace import TracerProvider

from sagaway import native
from sagaway.bench.otlp_sink import OtlpSink
from sagaway.bench.runner import BenchConfig, WorkloadRun, run_workload
from sagaway.bench.workloads import Workload
from sagaway.engine import event_loop
from sagaway.engine.observer import Observer
from sagaway.observability.otlp_common import variables
from sagaway.observability.span_export import ExporterProcess, default_resource
from sagaway.observability.tracing import Tracing

# The receiver speaks OTLP/HTTP: settings inherited from the environment that would send
# the spans elsewhere, or over gRPC, are left out.
_NOT_INHERITED = (*variables("ENDPOINT"), *variables("PROTOCOL"))


# Seconds to wait for the exporter process before the clock starts: it starts before the
# run, as it does with a server (its start-up is not a cost per saga).
_READY_TIMEOUT = 60.0


@dataclass(frozen=True, slots=True)
class CostRun:
    tracing: bool
    sagas_per_second: float
    cpu_us_per_transition: float
    transitions: int
    spans_received: int = 0
    exporter_cpu_us_per_span: float = 0.0
    drain_seconds: float = 0.0
    # CPU µs per transition of each process apart (the first two add up to the above)
    engine_us: float = 0.0
    writer_us: float = 0.0
    exporter_us: float = 0.0
    receiver_us: float = 0.0


def order(rounds: int) -> list[bool]:
    """off, on, on, off, off, on, ...: ``rounds`` runs of each (False: off)."""
    pattern = [False, True, True, False]
    return [pattern[i % 4] for i in range(2 * rounds)]


def measure(config: BenchConfig, workload: Workload, rounds: int, tmp: Path) -> list[CostRun]:
    runs: list[CostRun] = []
    with OtlpSink() as sink:
        # One exporter process for every traced run, as a server keeps one: started, and
        # ready, before the first clock starts; idle (blocked on its pipe) in the runs
        # without tracing.
        exporter = ExporterProcess(exporter_env(sink.url))
        if not exporter.start(wait=_READY_TIMEOUT) or exporter.pid is None:
            raise RuntimeError("the span exporter process did not start")
        try:
            for index, tracing in enumerate(order(rounds)):
                run_config = BenchConfig(
                    config.executions, config.concurrency, tmp / f"run-{index}.db",
                    express=config.express, durable=config.durable,
                )  # fmt: skip
                traced = (sink, exporter, exporter.pid) if tracing else None
                runs.append(_one(run_config, workload, traced))
        finally:
            exporter.close(timeout=120)
    return runs


# A traced run's receiver, exporter process and that process's id.
Traced = tuple[OtlpSink, ExporterProcess, int]


def _one(config: BenchConfig, workload: Workload, traced: Traced | None) -> CostRun:
    if traced is None:
        return CostRun(False, **_figures(_timed(config, workload, Observer())))
    sink, exporter, pid = traced
    # The sampler is the SDK's, from OTEL_TRACES_SAMPLER(_ARG).
    observer = Tracing(TracerProvider(resource=default_resource()), sink=exporter)
    # Counted before the clock starts: every earlier run's spans, flushed at its end.
    before, receiver, exporter_cpu = sink.counts()["spans"], process_cpu(sink.pid), process_cpu(pid)
    run = _timed(config, workload, observer)
    drained = time.perf_counter()
    if not exporter.flush(timeout=120):  # the child exports what this run sent, then says so
        raise RuntimeError("the span exporter process did not drain within 120 s")
    drain = time.perf_counter() - drained
    exporter_cpu = process_cpu(pid) - exporter_cpu
    receiver = process_cpu(sink.pid) - receiver
    received = sink.counts()["spans"] - before  # decoded now, outside the measurement
    per = 1e6 / max(run.transitions, 1)
    return CostRun(
        True,
        **_figures(run),
        spans_received=received,
        exporter_cpu_us_per_span=round(exporter_cpu * 1e6 / max(received, 1), 1),
        drain_seconds=round(drain, 2),
        exporter_us=round(exporter_cpu * per, 1),
        receiver_us=round(receiver * per, 1),
    )


def _timed(config: BenchConfig, workload: Workload, observer: Observer) -> WorkloadRun:
    run, _ = event_loop.run(run_workload(config, workload, observer=observer))
    return run


def _figures(run: WorkloadRun) -> dict[str, Any]:
    """A run's figures either mode has: sagas/s, transitions, CPU µs per transition (the
    engine's process and the SQLite writer process together, then each apart)."""
    per = 1e6 / max(run.transitions, 1)
    cpu, writer = run.cpu_seconds * per, run.writer_cpu_seconds * per
    return {
        "sagas_per_second": round(run.executions / max(run.wall_seconds, 1e-9), 1),
        "cpu_us_per_transition": round(cpu, 1),
        "transitions": run.transitions,
        "engine_us": round(cpu - writer, 1),
        "writer_us": round(writer, 1),
    }


def process_cpu(pid: int) -> float:
    """The CPU seconds (user and system) process ``pid`` has used, from /proc (0 where
    there is none)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            fields = stat.read().rpartition(b")")[2].split()
    except OSError:
        return 0.0
    # after the name: state is field 3, utime and stime are 14 and 15 (clock ticks)
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def exporter_env(url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _NOT_INHERITED}
    env.update(OTEL_TRACES_EXPORTER="otlp", OTEL_EXPORTER_OTLP_ENDPOINT=url)
    env.pop("OTEL_SDK_DISABLED", None)
    return env


def summary(runs: list[CostRun]) -> dict[str, Any]:
    off = [r for r in runs if not r.tracing]
    on = [r for r in runs if r.tracing]

    def median(rows: list[CostRun], name: str) -> float:
        return round(float(statistics.median(getattr(r, name) for r in rows)), 1)

    rate_off, rate_on = median(off, "sagas_per_second"), median(on, "sagas_per_second")
    cpu_off, cpu_on = median(off, "cpu_us_per_transition"), median(on, "cpu_us_per_transition")
    apart = ("engine_us", "writer_us", "exporter_us", "receiver_us")
    pairs = paired(runs)
    return {
        "runs": [asdict(r) for r in runs],
        "off": {
            "sagas_per_second": rate_off,
            "cpu_us_per_transition": cpu_off,
            "processes_us_per_transition": {k: median(off, k) for k in apart[:2]},
        },
        "on": {
            "sagas_per_second": rate_on,
            "cpu_us_per_transition": cpu_on,
            "processes_us_per_transition": {k: median(on, k) for k in apart},
            "exporter_cpu_us_per_span": median(on, "exporter_cpu_us_per_span"),
            "spans_received": sum(r.spans_received for r in on),
            "drain_seconds": round(statistics.median(r.drain_seconds for r in on), 2),
        },
        "sagas_per_second_drop_percent": round(100 * (1 - rate_on / rate_off), 1),
        "cpu_per_transition_rise_percent": round(100 * (cpu_on / cpu_off - 1), 1),
        "paired": pairs,
        "target": verdict(pairs["sagas_per_second_drop_interval"]),
        "export_path": os.environ.get("SAGAWAY_TRACE_EXPORT", "fast") or "fast",
        "event_loop": event_loop.choice(),
        "modules": native.status().describe(),
    }


def paired(runs: list[CostRun]) -> dict[str, Any]:
    """The drop and the rise within each pair of neighbouring runs (1-2, 3-4, ...: one off,
    one on, by :func:`order`), then their medians: a drift in the machine's load between
    the start and the end of the measurement falls within each pair alike, where it can
    tip the medians of the two modes apart."""
    drops, rises = [], []
    for first, second in zip(runs[::2], runs[1::2], strict=False):
        off, on = (second, first) if first.tracing else (first, second)
        drops.append(100 * (1 - on.sagas_per_second / max(off.sagas_per_second, 1e-9)))
        rises.append(100 * (on.cpu_us_per_transition / max(off.cpu_us_per_transition, 1e-9) - 1))
    return {
        "sagas_per_second_drop_percent": round(float(statistics.median(drops)), 1),
        "sagas_per_second_drop_interval": interval(drops),
        "cpu_per_transition_rise_percent": round(float(statistics.median(rises)), 1),
    }


# The project's target for tracing at full sampling (docs/observability.md#cost): fewer
# sagas/s than without it by less than this many percent.
TARGET_DROP_PERCENT = 10.0


def verdict(drop_interval: list[float], target: float = TARGET_DROP_PERCENT) -> dict[str, Any]:
    """Whether the paired drop's 95% interval settles the target: ``met`` when all of it is
    under ``target``, ``not met`` when none of it is, else ``not settled`` (more pairs
    narrow the interval)."""
    low, high = drop_interval
    found = "met" if high < target else "not met" if low >= target else "not settled"
    return {"max_drop_percent": target, "verdict": found}


def interval(values: list[float], resamples: int = 2000) -> list[float]:
    """A 95% bootstrap interval of the median of ``values`` (percentile method, a fixed
    seed so that a report can be reproduced from its runs): how far the noise between
    pairs leaves the median uncertain. On a machine whose speed drifts, a figure is only
    settled when its whole interval is on one side of a target."""
    rng = random.Random(0)
    medians = sorted(
        statistics.median(rng.choices(values, k=len(values))) for _ in range(resamples)
    )
    low, high = medians[int(0.025 * resamples)], medians[int(0.975 * resamples) - 1]
    return [round(float(low), 1), round(float(high), 1)]
