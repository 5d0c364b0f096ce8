"""Erasure on a real broker: the customer is gone from the worker, from a worker recovering
from the changelog, and (once compaction ran) from the changelog but for its tombstone."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from streams.publish import publish_erasure
from streams.settings import Settings
from tests.integration.conftest import NamespaceFactory
from tests.integration.fixtures import consume
from tests.integration.worker_fixtures import WorkerFactory, produce_sequence, worker_env

pytestmark = pytest.mark.integration

COMPACT_NOW = {  # AlterConfigs replaces a topic's whole config: restate cleanup.policy
    "cleanup.policy": "compact",
    "segment.ms": "200",
    "min.cleanable.dirty.ratio": "0.0001",
    "min.compaction.lag.ms": "0",
    "delete.retention.ms": "3600000",
}


def missed(customer: str, n: int) -> dict[str, Any]:
    at = datetime.now(UTC) - timedelta(hours=1)
    return {
        "event_id": f"{customer}-m{n}",
        "customer_id": customer,
        "occurred_at": at.isoformat(),
        "installment_id": f"{customer}-i{n}",
        "due_date": (at.date() - timedelta(days=5)).isoformat(),
        "amount_due": "100.00",
        "currency": "CNY",
    }


async def changelog_records(bootstrap: str, topic: str) -> list[tuple[bytes, bytes | None]]:
    """Every (key, value) the changelog holds now, from the start of partition 0."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        tp = TopicPartition(topic, 0)
        consumer.assign([tp])
        await consumer.seek_to_beginning(tp)
        end = (await consumer.end_offsets([tp]))[tp]
        out: list[tuple[bytes, bytes | None]] = []
        while (await consumer.position(tp)) < end:
            batch = await consumer.getmany(tp, timeout_ms=1000)
            out.extend((m.key, m.value) for m in batch.get(tp, []))
        return out
    finally:
        await consumer.stop()


async def test_erasure__customer_gone_live_after_recovery_and_from_the_compacted_changelog(
    kafka_bootstrap: str,
    topic_namespace: NamespaceFactory,
    start_worker: WorkerFactory,
    tmp_path: Path,
) -> None:
    ns = await topic_namespace(partitions=1)
    app_id = f"{ns.name}-app"
    env = worker_env(
        bootstrap=kafka_bootstrap,
        namespace=ns.name,
        app_id=app_id,
        partitions=1,
        data_dir=tmp_path / "data",
        store="rocksdb://",
    )
    worker = start_worker("erasure", env)
    worker.wait_ready()
    missed_t = ns.topic("missed-payments")
    await produce_sequence(
        kafka_bootstrap,
        [(missed_t, "cust-x", missed("cust-x", 1)), (missed_t, "cust-y", missed("cust-y", 1))],
    )
    worker.wait_for_metric("repayment_events_total", 2)
    changelog = f"{app_id}-customers-changelog"
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    await admin.start()
    try:
        await admin.alter_configs(
            [ConfigResource(ConfigResourceType.TOPIC, changelog, COMPACT_NOW)]
        )
    finally:
        await admin.close()
    assert worker.get("/customers/cust-x")[0] == 200

    await publish_erasure(Settings.from_env(env), "cust-x", "erase-1")  # the erase command
    worker.wait_for_metric("repayment_events_total", 1, result="erased")
    assert worker.get("/customers/cust-x")[0] == 404
    cancelled = await consume(kafka_bootstrap, ns.topic("outreach-cancelled"), count=1)
    assert [m.json()["reason"] for m in cancelled] == ["erasure"]
    assert worker.stop() == 0

    fresh = start_worker("recovered", {**env, "REPAYMENT_DATA_DIR": str(tmp_path / "fresh")})
    fresh.wait_ready()
    assert fresh.get("/customers/cust-x")[0] == 404
    assert fresh.get("/customers/cust-y")[0] == 200

    # A later event starts a new customer; it also rolls the tombstone's segment so the
    # cleaner may compact it.
    await asyncio.sleep(0.5)
    await produce_sequence(kafka_bootstrap, [(missed_t, "cust-z", missed("cust-z", 1))])
    fresh.wait_for_metric("repayment_events_total", 1, result="processed")
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 90
    while True:
        records = await changelog_records(kafka_bootstrap, changelog)
        of_x = [value for key, value in records if key == b"cust-x"]
        if of_x == [None] or loop.time() > deadline:
            break
        await asyncio.sleep(2)
    assert of_x == [None], f"cust-x in the changelog: {len(of_x)} records"
    assert any(key == b"cust-y" and value is not None for key, value in records)
    assert orjson.loads(fresh.get("/customers/cust-z")[1])["tier"] == "early"
