"""A real Prometheus, started by scripts/prometheus.sh with the shipped config and rules,
scraping a real worker on the real broker: what an SRE's Prometheus would see.

Scrape and evaluation run every second here (the only other change from the shipped config
is where things are, checked below), so the alert's path is the production one, faster.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.integration.conftest import NamespaceFactory
from tests.integration.fixtures import REPO_ROOT
from tests.integration.prometheus_fixtures import (
    PrometheusProcess,
    as_grafana_sends,
    dashboard_queries,
    has_data,
    rendered_config_changes,
)
from tests.integration.worker_fixtures import WorkerFactory, produce_sequence, worker_env

pytestmark = pytest.mark.integration

INTERVAL = "1s"
RULES = REPO_ROOT / "deploy" / "prometheus" / "rules.yml"
JOB = 'job="repayment-worker"'


@pytest.fixture
def start_prometheus(tmp_path: Path) -> Iterator[Any]:
    started: list[PrometheusProcess] = []

    def start(targets: list[str]) -> PrometheusProcess:
        prometheus = PrometheusProcess.start(targets, tmp_path / "prometheus", INTERVAL)
        started.append(prometheus)
        return prometheus

    yield start
    for prometheus in started:
        prometheus.stop()


def missed(customer: str, event_id: str) -> dict[str, Any]:
    return {
        "event_id": event_id,
        "customer_id": customer,
        "occurred_at": datetime.now(UTC).isoformat(),
        "installment_id": f"{customer}-1",
        "due_date": (date.today() - timedelta(days=5)).isoformat(),
        "amount_due": "100.00",
        "currency": "CNY",
    }


def count(prometheus: PrometheusProcess, metric: str) -> float:
    ((_, value),) = prometheus.query(f"count({metric}{{{JOB}}})")
    return value


async def test_prometheus__alerts_on_the_first_dead_letter_and_answers_every_dashboard_query(
    kafka_bootstrap: str,
    topic_namespace: NamespaceFactory,
    start_worker: WorkerFactory,
    start_prometheus: Any,
    tmp_path: Path,
) -> None:
    ns = await topic_namespace(partitions=2)
    env = worker_env(
        bootstrap=kafka_bootstrap,
        namespace=ns.name,
        app_id=f"{ns.name}-app",
        partitions=2,
        data_dir=tmp_path / "worker",
    )
    worker = start_worker("worker", env)
    worker.wait_ready()
    target = f"127.0.0.1:{env['REPAYMENT_WEB_PORT']}"
    prometheus: PrometheusProcess = start_prometheus([target])

    changes = rendered_config_changes(prometheus.config_path)
    assert changes["targets"] == [target] and changes["alerting"] is None
    assert changes["rule_files"] == [str(RULES)]
    assert (changes["scrape_interval"], changes["evaluation_interval"]) == (INTERVAL, INTERVAL)

    prometheus.wait_until(
        lambda: prometheus.query(f"repayment_ready{{{JOB}}} == 1") != [], 30, "scraping"
    )
    assert prometheus.query(f"up{{{JOB}}}")[0][1] == 1
    assert prometheus.query(f"process_start_time_seconds{{{JOB}}}") != []
    events_series = count(prometheus, "repayment_events_total")
    decision_series = count(prometheus, "repayment_decisions_total")
    assert prometheus.alert_states("RepaymentDeadLetters") == set()

    good = missed("cust-1", "m-1")
    await produce_sequence(
        kafka_bootstrap,
        [
            (ns.topic("missed-payments"), "cust-1", good),
            (ns.topic("missed-payments"), "cust-1", good),  # a duplicate
            (ns.topic("missed-payments"), "wrong-key", missed("cust-2", "m-2")),  # re-keyed
            (ns.topic("payments"), "cust-1", b"{not json"),  # the first dead letter
        ],
    )
    worker.wait_for_metric("repayment_events_total", 1, result="dead_lettered")
    worker.wait_for_metric("repayment_events_total", 2, result="processed")

    prometheus.wait_until(
        lambda: prometheus.alert_states("RepaymentDeadLetters") & {"pending", "firing"} != set(),
        30,
        "alerting on the dead letter",
    )
    (alert,) = [
        a
        for a in prometheus.api("alerts")["alerts"]
        if a["labels"]["alertname"] == "RepaymentDeadLetters"
    ]
    assert alert["labels"]["topic"] == ns.topic("payments")
    assert alert["labels"]["severity"] == "warn"
    assert (
        alert["annotations"]["summary"]
        == f"Inputs of {ns.topic('payments')} are being dead-lettered"
    )

    # Processing created no series: every one it touched existed, at zero, from the start.
    assert count(prometheus, "repayment_events_total") == events_series
    assert count(prometheus, "repayment_decisions_total") == decision_series
    assert prometheus.query(f'repayment_events_total{{{JOB}, result="rekeyed"}} > 0') != []
    assert prometheus.query(f'repayment_events_total{{{JOB}, result="duplicate"}} > 0') != []

    without_data = [
        (title, expr)
        for title, expr in dashboard_queries()
        if not has_data(prometheus.query(as_grafana_sends(expr, "1m", "1h")))
    ]
    assert without_data == []

    shipped = [r["alert"] for g in yaml.safe_load(RULES.read_text())["groups"] for r in g["rules"]]
    rules = [r for g in prometheus.api("rules")["groups"] for r in g["rules"]]
    assert sorted(r["name"] for r in rules) == sorted(shipped)
    assert [(r["name"], r.get("lastError")) for r in rules if r["health"] != "ok"] == []
