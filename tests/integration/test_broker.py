"""The local broker and the test helpers do what every other integration test relies on."""

from __future__ import annotations

import asyncio

import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient

from tests.integration.conftest import NamespaceFactory
from tests.integration.fixtures import (
    CONTRACT_SUFFIXES,
    LocalCluster,
    consume,
    create_topics,
    new_namespace_name,
    produce_json,
)

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


async def test_transactions__readers_see_committed_writes_and_never_aborted_ones(
    topic_namespace: NamespaceFactory,
) -> None:
    ns = await topic_namespace()
    topic = ns.topic("outreach-needed")
    producer = AIOKafkaProducer(bootstrap_servers=ns.bootstrap, transactional_id=f"{ns.name}-tx")
    await producer.start()
    try:
        async with producer.transaction():
            await producer.send(topic, b'{"n": "committed"}', key=b"c")
        await producer.begin_transaction()
        await producer.send(topic, b'{"n": "aborted"}', key=b"c")
        await producer.abort_transaction()
    finally:
        await producer.stop()

    got = await consume(ns.bootstrap, topic, count=1, settle=1.0)

    assert [m.json() for m in got] == [{"n": "committed"}]


async def test_cluster__acks_all_writes_survive_a_crashed_node(kafka_cluster: LocalCluster) -> None:
    topic = f"{new_namespace_name()}.payments"
    await create_topics(kafka_cluster.bootstrap, [topic], partitions=3, replication=3)
    before = [(f"cust-{i}", {"n": i}) for i in range(10)]
    after = [(f"cust-{i}", {"n": 10 + i}) for i in range(10)]
    await produce_json(kafka_cluster.bootstrap, topic, before)

    kafka_cluster.kill_node(2)
    try:
        await asyncio.wait_for(produce_json(kafka_cluster.bootstrap, topic, after), timeout=60)
    finally:
        kafka_cluster.start_node(2)

    got = await consume(kafka_cluster.bootstrap, topic, count=20, settle=0.5)
    assert sorted(m.json()["n"] for m in got) == list(range(20))
    for key in {m.key for m in got}:
        numbers = [m.json()["n"] for m in got if m.key == key]
        assert numbers == sorted(numbers), "per-key order holds across the failover"
