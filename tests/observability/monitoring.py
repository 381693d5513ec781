"""Real Prometheus and Alertmanager processes (Debian's packages) for a test, with short
scrape, evaluation and grouping intervals, the repository's alert rules, and Alertmanager
pointed at a webhook URL."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from tests.api.conftest import free_port

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "deploy" / "prometheus" / "alerts.yml"
PROMETHEUS = "prometheus"
ALERTMANAGER = "prometheus-alertmanager"


def binaries() -> tuple[str, str]:
    found = shutil.which(PROMETHEUS), shutil.which(ALERTMANAGER)
    if None in found:
        message = "prometheus and prometheus-alertmanager are needed (apt-get install them)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return found  # type: ignore[return-value]


class Monitoring:
    def __init__(self, tmp: Path, scrape_target: str, webhook: str) -> None:
        self.tmp = tmp
        self.prometheus_port, self.alertmanager_port = free_port(), free_port()
        self.prometheus_url = f"http://127.0.0.1:{self.prometheus_port}"
        self.alertmanager_url = f"http://127.0.0.1:{self.alertmanager_port}"
        self.target = scrape_target
        self.webhook = webhook
        self.procs: list[subprocess.Popen[bytes]] = []

    def __enter__(self) -> Monitoring:
        prometheus, alertmanager = binaries()
        self.tmp.mkdir(parents=True, exist_ok=True)
        (self.tmp / "alerts.yml").write_text(RULES.read_text())
        (self.tmp / "prometheus.yml").write_text(f"""
global: {{scrape_interval: 1s, evaluation_interval: 1s}}
rule_files: [alerts.yml]
alerting:
  alertmanagers: [{{static_configs: [{{targets: ["127.0.0.1:{self.alertmanager_port}"]}}]}}]
scrape_configs:
  - {{job_name: shop, static_configs: [{{targets: ["{self.target}"]}}]}}
""")
        (self.tmp / "alertmanager.yml").write_text(f"""
route: {{receiver: hook, group_by: [alertname, queue], group_wait: 1s, group_interval: 1s,
        repeat_interval: 1h}}
receivers:
  - {{name: hook, webhook_configs: [{{url: "{self.webhook}", send_resolved: true}}]}}
""")
        self.log = log = (self.tmp / "monitoring.log").open("ab")
        self.procs.append(subprocess.Popen([
            alertmanager, f"--config.file={self.tmp / 'alertmanager.yml'}",
            f"--storage.path={self.tmp / 'am'}", "--cluster.listen-address=",
            f"--web.listen-address=127.0.0.1:{self.alertmanager_port}"],
            stdout=log, stderr=log))  # fmt: skip
        self.procs.append(subprocess.Popen([
            prometheus, f"--config.file={self.tmp / 'prometheus.yml'}",
            f"--storage.tsdb.path={self.tmp / 'tsdb'}",
            f"--web.listen-address=127.0.0.1:{self.prometheus_port}"],
            stdout=log, stderr=log))  # fmt: skip
        for url in (self.alertmanager_url + "/-/ready", self.prometheus_url + "/-/ready"):
            self._ready(url)
        return self

    def _ready(self, url: str) -> None:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(url, timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline or any(p.poll() is not None for p in self.procs):
                raise RuntimeError(f"{url} not ready; see {self.tmp / 'monitoring.log'}")
            time.sleep(0.1)

    def alerts(self) -> list[dict[str, object]]:
        answer = httpx.get(self.prometheus_url + "/api/v1/alerts", timeout=5).json()
        return list(answer["data"]["alerts"])

    def __exit__(self, *exc: object) -> None:
        for proc in self.procs:
            proc.terminate()
        for proc in self.procs:
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self.log.close()
