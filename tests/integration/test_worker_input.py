"""Bad input beside good input, and what a worker reports about it over HTTP.

Each bad message must reach the dead-letter topic exactly once, pointing at its source
(topic, partition, offset) with its original bytes; every good message must be decided;
the metrics scraped from ``/metrics`` must count both.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest

from tests.integration.conftest import NamespaceFactory
from tests.integration.fixtures import consume, create_topics
from tests.integration.worker_fixtures import (
    WorkerFactory,
    WorkerProcess,
    committed_offsets,
    produce_sequence,
    worker_env,
)

pytestmark = pytest.mark.integration

PARTITIONS = 3
MAX_BYTES = 1024


def _now() -> str:
    return datetime.now(UTC).isoformat()


def missed(customer: str, n: int, *, currency: str = "CNY") -> dict[str, Any]:
    """An installment due five days ago: the customer goes to ``early`` and gets outreach."""
    return {
        "event_id": f"{customer}-missed-{n}",
        "customer_id": customer,
        "occurred_at": _now(),
        "installment_id": f"{customer}-inst-{n}",
        "due_date": (date.today() - timedelta(days=5)).isoformat(),
        "amount_due": "100.00",
        "currency": currency,
    }


def good_and_bad(ns: str) -> tuple[list[tuple[str, Any, Any]], dict[int, tuple[str, str | None]]]:
    """The input sequence, and for each bad message its index -> (error code, field)."""
    payments, missed_t, contacts = (
        f"{ns}.{s}" for s in ("payments", "missed-payments", "contact-results")
    )
    no_date = {k: v for k, v in missed("cust-d", 1).items() if k != "due_date"}
    negative = {
        "event_id": "neg-1",
        "customer_id": "cust-a",
        "occurred_at": _now(),
        "amount": "-5",
        "currency": "CNY",
    }
    unknown_outcome = {
        "event_id": "c-1",
        "customer_id": "cust-b",
        "occurred_at": _now(),
        "channel": "sms",
        "outcome": "teleported",
    }
    oversized = {**missed("cust-e", 9), "padding": "x" * MAX_BYTES}
    items: list[tuple[str, Any, Any]] = [
        (missed_t, "cust-a", missed("cust-a", 1)),
        (payments, "cust-a", b"{not json"),
        (missed_t, "cust-b", missed("cust-b", 1)),
        (payments, "cust-b", b"[1, 2]"),
        (missed_t, "cust-c", missed("cust-c", 1)),
        (missed_t, "cust-d", no_date),
        (payments, "cust-a", negative),
        (contacts, "cust-b", unknown_outcome),
        (missed_t, "cust-e", oversized),
        (missed_t, "cust-a", missed("cust-a", 2, currency="USD")),
        (missed_t, "wrong-key", missed("cust-f", 1)),
        (missed_t, None, missed("cust-g", 1)),
        (missed_t, "cust-h", missed("cust-h", 1)),
    ]
    bad = {
        1: ("invalid_json", None),
        3: ("not_an_object", None),
        5: ("missing_field", "due_date"),
        6: ("invalid_field", "amount"),
        7: ("unknown_outcome", "outcome"),
        8: ("too_large", None),
        9: ("currency_mismatch", "currency"),
    }
    return items, bad


async def test_bad_input__dead_lettered_once_each_and_every_good_event_decided(
    kafka_bootstrap: str,
    topic_namespace: NamespaceFactory,
    start_worker: WorkerFactory,
    tmp_path: Path,
) -> None:
    ns = await topic_namespace(partitions=PARTITIONS)
    worker = _start(start_worker, kafka_bootstrap, ns.name, tmp_path)
    items, bad = good_and_bad(ns.name)
    good = [i for i in range(len(items)) if i not in bad]
    rekeyed = [i for i in good if items[i][1] != items[i][2]["customer_id"]]

    placed = await produce_sequence(kafka_bootstrap, items)
    worker.wait_for_metric("repayment_events_total", len(items) + len(rekeyed))

    letters = await consume(kafka_bootstrap, ns.topic("dead-letter"), count=len(bad), settle=2.0)
    by_source = {
        (m.json()["source_topic"], m.json()["partition"], m.json()["offset"]): m for m in letters
    }
    assert len(letters) == len(bad) == len(by_source)
    for index, (code, field) in bad.items():
        topic, key, value = items[index]
        letter = by_source[(topic, *placed[index])].json()
        assert letter["error"]["code"] == code
        assert letter["error"]["field"] == field
        assert letter["key"] == key
        raw = value if isinstance(value, bytes) else orjson.dumps(value)
        assert letter["raw"].encode() == raw

    escalations = await consume(kafka_bootstrap, ns.topic("risk-escalations"), count=len(good))
    outreach = await consume(kafka_bootstrap, ns.topic("outreach-needed"), count=len(good))
    causes = {m.json()["caused_by"] for m in escalations} | {
        m.json()["caused_by"] for m in outreach
    }
    assert {items[i][2]["event_id"] for i in good} <= causes
    assert all(m.key == m.json()["customer_id"].encode() for m in escalations + outreach)

    samples = worker.metrics()
    assert samples.value("repayment_events_total", result="dead_lettered") == len(bad)
    assert samples.value("repayment_events_total", result="processed") == len(good)
    assert samples.value("repayment_events_total", result="rekeyed") == len(rekeyed)
    assert samples.value("repayment_rekeyed_total", topic=ns.topic("missed-payments")) == 2
    assert samples.value("repayment_decisions_total", kind="escalation") == len(escalations)
    assert samples.value("repayment_decisions_total", kind="outreach") == len(outreach)
    assert samples.value("repayment_customers", tier="early") == len(good)
    assert samples.value("repayment_processing_seconds_count") == len(items) + len(rekeyed)
    assert samples.value("repayment_event_age_seconds_count") == len(good)
    assert samples.value("repayment_rebalances_total") >= 1
    labels = [v for n, ls, _ in samples.series if n.startswith("repayment_") for _, v in ls]
    assert not [v for v in labels if v.startswith(("cust-", "wrong-key"))]


async def test_worker_http__health_readiness_metrics_and_customer_view(
    kafka_bootstrap: str,
    topic_namespace: NamespaceFactory,
    start_worker: WorkerFactory,
    tmp_path: Path,
) -> None:
    ns = await topic_namespace(partitions=PARTITIONS)
    worker = _start(start_worker, kafka_bootstrap, ns.name, tmp_path)
    await produce_sequence(
        kafka_bootstrap, [(ns.topic("missed-payments"), "cust-1", missed("cust-1", 1))] * 2
    )
    worker.wait_for_metric("repayment_events_total", 2)

    assert worker.readiness_seen == [503, 200]  # not ready until the table is recovered
    assert worker.get("/healthz") == (200, b'{"status":"ok"}')
    assert worker.get("/readyz")[0] == 200
    samples = worker.metrics()
    assert samples.value("repayment_events_total", result="processed") == 1
    assert samples.value("repayment_events_total", result="duplicate") == 1
    assert samples.value("repayment_decisions_total", kind="escalation", tier="early") == 1
    assert samples.value("repayment_customers", tier="early") == 1
    worker.wait_until(lambda: bool(worker.metrics().labelsets("repayment_consumer_lag")), 15, "lag")
    lag = worker.metrics()
    assert {s["topic"] for s in lag.labelsets("repayment_consumer_lag")} == {
        ns.topic(s)
        for s in ("payments", "missed-payments", "contact-results", "erasures", "clock-ticks")
    }
    assert lag.value("repayment_consumer_lag") == 0

    status, body = worker.get("/customers/cust-1")
    assert status == 200
    customer = orjson.loads(body)
    assert customer["tier"] == "early"
    assert customer["overdue_amount"] == "100.00"
    assert customer["days_past_due"] >= 4
    assert [d["customer_id"] for d in customer["recent_decisions"]] == ["cust-1", "cust-1"]
    assert worker.get("/customers/nobody")[0] == 404


def _start(
    start_worker: WorkerFactory, bootstrap: str, namespace: str, tmp_path: Path
) -> WorkerProcess:
    env = worker_env(
        bootstrap=bootstrap,
        namespace=namespace,
        app_id=f"{namespace}-app",
        partitions=PARTITIONS,
        data_dir=tmp_path / "data",
        REPAYMENT_MAX_MESSAGE_BYTES=str(MAX_BYTES),
    )
    worker = start_worker("input", env)
    worker.wait_ready()
    return worker


async def test_state_from_a_newer_release__worker_stops_during_recovery_before_processing(
    kafka_bootstrap: str,
    topic_namespace: NamespaceFactory,
    start_worker: WorkerFactory,
    tmp_path: Path,
) -> None:
    ns = await topic_namespace(partitions=1)
    app_id = f"{ns.name}-app"
    changelog = f"{app_id}-customers-changelog"
    await create_topics(kafka_bootstrap, [changelog], partitions=1, replication=ns.replication)
    # Not bad input: a downgrade. Guessing at the state would make wrong decisions.
    await produce_sequence(kafka_bootstrap, [(changelog, "cust-x", b"[999]")])
    await produce_sequence(
        kafka_bootstrap, [(ns.topic("missed-payments"), "cust-y", missed("cust-y", 1))]
    )
    env = worker_env(
        bootstrap=kafka_bootstrap,
        namespace=ns.name,
        app_id=app_id,
        partitions=1,
        data_dir=tmp_path / "data",
    )
    worker = start_worker("downgraded", env)

    assert worker.process is not None
    assert worker.process.wait(timeout=60) == 1
    assert "state version 999 is newer than" in worker.log_path.read_text()
    assert await committed_offsets(kafka_bootstrap, app_id) == {}
    assert await consume(kafka_bootstrap, ns.topic("risk-escalations"), count=0, settle=1) == []


async def test_input_near_the_broker_limit__dead_letter_keeps_every_byte(
    kafka_bootstrap: str,
    topic_namespace: NamespaceFactory,
    start_worker: WorkerFactory,
    tmp_path: Path,
) -> None:
    ns = await topic_namespace(partitions=1, create=False)  # the worker declares its topics
    env = worker_env(
        bootstrap=kafka_bootstrap,
        namespace=ns.name,
        app_id=f"{ns.name}-app",
        partitions=1,
        data_dir=tmp_path / "data",
    )
    worker = start_worker("big", env)
    worker.wait_ready()
    raw = b'"' * 900_000  # JSON-escaped in the dead letter: twice the size of the input

    await produce_sequence(kafka_bootstrap, [(ns.topic("payments"), "cust-1", raw)])

    letters = await consume(kafka_bootstrap, ns.topic("dead-letter"), count=1)
    assert len(letters) == 1
    letter = letters[0].json()
    assert letter["error"]["code"] == "too_large"
    assert letter["raw"].encode() == raw
    assert worker.process is not None and worker.process.poll() is None
