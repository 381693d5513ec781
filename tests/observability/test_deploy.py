"""What deploy/ holds stays right: the alert rules pass promtool's checks and unit tests,
and every dashboard query is valid PromQL over metrics the code exports."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

from tests.observability.monitoring import ROOT, binaries

DEPLOY = ROOT / "deploy"
DASHBOARD = DEPLOY / "grafana" / "sagaway-war-room.json"


def promtool(*args: str, cwd: Path) -> None:
    done = subprocess.run(["promtool", *args], cwd=cwd, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def test_promtool_checks_and_unit_tests_the_alert_rules() -> None:
    binaries()
    rules = DEPLOY / "prometheus"
    promtool("check", "rules", "alerts.yml", cwd=rules)
    promtool("test", "rules", "alerts-test.yml", cwd=rules)
    promtool("check", "config", "prometheus.yml", cwd=rules)


def exprs() -> list[str]:
    panels = json.loads(DASHBOARD.read_text())["panels"]
    return [target["expr"] for panel in panels for target in panel["targets"]]


def test_dashboard_queries_are_promql_over_exported_metrics(tmp_path: Path) -> None:
    binaries()
    # promtool parses each query as a recording rule: a typo fails here, not in Grafana.
    rules = [{"record": f"dashboard:query{n}", "expr": e} for n, e in enumerate(exprs())]
    (tmp_path / "dashboard.yml").write_text(json.dumps({"groups": [{"name": "d", "rules": rules}]}))
    promtool("check", "rules", "dashboard.yml", cwd=tmp_path)
    source = "\n".join(p.read_text() for p in (ROOT / "src").rglob("*.py"))
    used = {m for e in exprs() for m in re.findall(r"\b((?:sagaway|shop)_[a-z_]+)", e)}
    suffixes = ("_total", "_bucket", "_sum", "_count")
    missing = {m for m in used
               if f'"{re.sub("(" + "|".join(suffixes) + ")$", "", m)}"' not in source}  # fmt: skip
    assert missing == set()
