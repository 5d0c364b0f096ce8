"""The local broker and the test helpers do what every other integration test relies on."""

from __future__ import annotations

import pytest
from aiokafka.admin import AIOKafkaAdminClient

from tests.integration.conftest import NamespaceFactory
from tests.integration.fixtures import CONTRACT_SUFFIXES, consume, produce_json

pytestmark = pytest.mark.integration


async def test_namespace__creates_every_contract_topic_with_its_partitions(
    topic_namespace: NamespaceFactory,
) -> None:
    ns = await topic_namespace(partitions=3)
    admin = AIOKafkaAdminClient(bootstrap_servers=ns.bootstrap)
    await admin.start()
    try:
        described = await admin.describe_topics([ns.topic(s) for s in CONTRACT_SUFFIXES])
    finally:
        await admin.close()

    assert sorted(t["topic"] for t in described) == sorted(
        f"{ns.name}.{s}" for s in CONTRACT_SUFFIXES
    )
    assert {len(t["partitions"]) for t in described} == {3}


async def test_round_trip__keeps_values_keys_and_per_partition_order(
    topic_namespace: NamespaceFactory,
) -> None:
    ns = await topic_namespace(partitions=3)
    topic = ns.topic("payments")
    messages = [
        (
            f"cust-{i % 4}",
            {"event_id": f"pay-{i}", "customer_id": f"cust-{i % 4}", "amount": "1.50"},
        )
        for i in range(12)
    ]
    placed = await produce_json(ns.bootstrap, topic, messages)

    got = await consume(ns.bootstrap, topic, count=12, settle=0.5)

    assert len(got) == 12
    assert sorted((m.key, m.json()["event_id"]) for m in got) == sorted(
        (key.encode(), value["event_id"]) for key, value in messages
    )
    partition_of = {m.key: m.partition for m in got}
    assert all(m.partition == partition_of[m.key] for m in got), "one key, one partition"
    assert {(m.partition, m.offset) for m in got} == set(placed)
    for key in partition_of:
        ids = [m.json()["event_id"] for m in got if m.key == key]
        assert ids == [v["event_id"] for k, v in messages if k.encode() == key]


async def test_namespaces__do_not_see_each_others_messages(
    topic_namespace: NamespaceFactory,
) -> None:
    first = await topic_namespace()
    second = await topic_namespace()
    assert first.name != second.name
    await produce_json(first.bootstrap, first.topic("payments"), [("c", {"n": 1})])

    got = await consume(second.bootstrap, second.topic("payments"), count=1, timeout=2.0)

    assert got == []


async def test_raw_bytes__reach_the_topic_unchanged(topic_namespace: NamespaceFactory) -> None:
    ns = await topic_namespace()
    raw = b"\xff\x00not json"
    await produce_json(ns.bootstrap, ns.topic("payments"), [(None, raw), ("k", "{oops")])

    got = await consume(ns.bootstrap, ns.topic("payments"), count=2)

    assert [(m.key, m.value) for m in got] == [(None, raw), (b"k", b"{oops")]
