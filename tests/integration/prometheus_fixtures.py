"""A real Prometheus for the tests, started by scripts/prometheus.sh with the shipped config.

The script writes a copy of deploy/prometheus/prometheus.yml that differs only in what names
the surroundings (targets, the rule file's path, no Alertmanager) and, for a test that cannot
wait 30 s per evaluation, the scrape and evaluation interval. ``rendered_config_changes``
says exactly what differs, so a test can check nothing else did.
"""

from __future__ import annotations

import json
import math
import signal
import subprocess
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from tests.integration.fixtures import REPO_ROOT
from tests.integration.worker_fixtures import free_port

PROMETHEUS_SH = REPO_ROOT / "scripts" / "prometheus.sh"
SHIPPED_CONFIG = REPO_ROOT / "deploy" / "prometheus" / "prometheus.yml"
DASHBOARD = REPO_ROOT / "deploy" / "grafana" / "dashboards" / "repayment-stream.json"


@dataclass
class PrometheusProcess:
    """``scripts/prometheus.sh`` in the foreground (it execs prometheus: one pid to stop)."""

    data_dir: Path
    port: int
    process: subprocess.Popen[bytes]

    @classmethod
    def start(cls, targets: Sequence[str], data_dir: Path, interval: str) -> PrometheusProcess:
        port = free_port()
        data_dir.mkdir(parents=True, exist_ok=True)
        log = open(data_dir / "prometheus.log", "ab")  # noqa: SIM115 - the process owns it
        process = subprocess.Popen(
            [
                "bash",
                str(PROMETHEUS_SH),
                "--targets",
                ",".join(targets),
                "--listen",
                f"127.0.0.1:{port}",
                "--data",
                str(data_dir),
                "--interval",
                interval,
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        prometheus = cls(data_dir, port, process)
        prometheus.wait_until(prometheus._answers, 60, "answering /-/ready")
        return prometheus

    @property
    def config_path(self) -> Path:
        return self.data_dir / "prometheus.yml"

    def _answers(self) -> bool:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/-/ready", timeout=1):
                return True
        except OSError:
            return False

    def api(self, path: str, **params: str) -> Any:
        """``/api/v1/<path>``'s ``data``; fails on an error answer."""
        query = urllib.parse.urlencode(params)
        url = f"http://127.0.0.1:{self.port}/api/v1/{path}" + (f"?{query}" if query else "")
        with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 - loopback
            body = json.load(response)
        assert body["status"] == "success", body
        return body["data"]

    def query(self, expr: str) -> list[tuple[dict[str, str], float]]:
        """An instant query's samples as (labels, value)."""
        data = self.api("query", query=expr)
        assert data["resultType"] == "vector", data
        return [(s["metric"], float(s["value"][1])) for s in data["result"]]

    def alert_states(self, name: str) -> set[str]:
        return {
            a["state"] for a in self.api("alerts")["alerts"] if a["labels"]["alertname"] == name
        }

    def wait_until(self, condition: Callable[[], bool], timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            if self.process.poll() is not None:
                raise AssertionError(f"prometheus exited {self.process.returncode}\n{self.tail()}")
            if time.monotonic() > deadline:
                raise AssertionError(f"prometheus: not {what} after {timeout}s\n{self.tail()}")
            time.sleep(0.2)

    def tail(self, lines: int = 30) -> str:
        path = self.data_dir / "prometheus.log"
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


def rendered_config_changes(rendered: Path) -> dict[str, Any]:
    """The keys scripts/prometheus.sh changed from the shipped config, with their new values;
    fails when anything else differs."""
    shipped = yaml.safe_load(SHIPPED_CONFIG.read_text())
    ours = yaml.safe_load(rendered.read_text())
    changes: dict[str, Any] = {}
    for key in ("scrape_interval", "evaluation_interval"):
        if ours["global"].get(key) != shipped["global"].get(key):
            changes[key] = ours["global"].pop(key)
            shipped["global"].pop(key, None)
    changes["rule_files"] = ours.pop("rule_files")
    shipped.pop("rule_files")
    changes["alerting"] = ours.pop("alerting", None)
    shipped.pop("alerting", None)
    (ours_job,), (shipped_job,) = ours["scrape_configs"], shipped["scrape_configs"]
    changes["targets"] = ours_job["static_configs"][0].pop("targets")
    shipped_job["static_configs"][0].pop("targets")
    assert ours == shipped, "scripts/prometheus.sh changed more than the surroundings"
    return changes


def dashboard_queries() -> list[tuple[str, str]]:
    """(panel title, expression) of every Grafana panel target."""
    dashboard = json.loads(DASHBOARD.read_text())
    return [(p["title"], t["expr"]) for p in dashboard["panels"] for t in p["targets"]]


def as_grafana_sends(expr: str, rate_interval: str, range_: str) -> str:
    """The query as Grafana sends it: its interval variables replaced."""
    return (
        expr.replace("$__rate_interval", rate_interval)
        .replace("$__interval", rate_interval)
        .replace("$__range", range_)
    )


def has_data(samples: list[tuple[dict[str, str], float]]) -> bool:
    """At least one series with a number (a histogram quantile of no traffic is NaN)."""
    return any(math.isfinite(value) for _, value in samples)
