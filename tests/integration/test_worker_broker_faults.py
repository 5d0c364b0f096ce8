"""Broker faults, seen from the worker: the broker leading its partitions dies mid-stream.

On the 3-node cluster (``kafka_cluster``) every topic has 3 replicas and
``min.insync.replicas`` 2, and the worker writes with acks=all. One node leads everything
the stream goes through: the input partition, the clock-ticks and output partitions, the
changelog partition and the consumer group's coordinator. It is ``kill -9``ed while
events are being published and processed, more events are published while it is down, and
it is restarted before the last part. The worker must carry on throughout, and in the end
every input is decided or dead-lettered, with exactly replay's decision ids and content
(a re-sent decision is an identical copy).

One partition carries the whole stream: with ``REPAYMENT_CLOCK=event`` the clock is the
largest ``occurred_at`` seen, so only a single partition gives a run whose decisions are
known in advance (see ``test_worker_recovery.history``).
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import orjson
import pytest

from policy import default_policy
from streams.replay import EventItem, Replayer, ReplayStats, timeline
from streams.tables import key_partition
from streams.topics import DEAD_LETTER_MAX_BYTES
from tests.integration.fixtures import (
    CONTRACT_SUFFIXES,
    LocalCluster,
    consume,
    create_topics,
    delete_topics_with_prefix,
    group_coordinator,
    new_namespace_name,
    partition_layouts,
    replicas_led_by,
    topic_configs,
)
from tests.integration.test_worker_recovery import (
    as_messages,
    decision_id,
    decisions_of,
    history,
    wait_caught_up,
    wait_for_commit,
)
from tests.integration.worker_fixtures import (
    WorkerFactory,
    WorkerProcess,
    committed_offsets,
    produce_sequence,
    worker_env,
)

pytestmark = pytest.mark.integration

PARTITIONS = 3
REPLICATION = 3
MIN_INSYNC = "2"
CUSTOMERS = 1200
"""Customers of ``history``; the third on the chosen partition make ~1,600 events."""
BAD_EVERY = 97
"""One malformed input after every 97th event: dead letters are written through the fault."""
CHUNK = 40
"""Events per publish while the node is killed: the kill lands in a running stream."""

DEAD_LETTER = "dead-letter"
DECISION_SUFFIXES = ("risk-escalations", "outreach-needed")


async def test_kill_9_of_the_broker_leading_the_workers_partitions__nothing_lost_no_new_id(
    kafka_cluster: LocalCluster, start_worker: WorkerFactory, tmp_path: Path
) -> None:
    bootstrap = kafka_cluster.bootstrap
    ns = new_namespace_name()
    app_id = f"{ns}-app"
    changelog = f"{app_id}-customers-changelog"
    contract = [f"{ns}.{suffix}" for suffix in CONTRACT_SUFFIXES]
    worker: WorkerProcess | None = None
    killed: int | None = None
    try:
        # The node to kill: the group's coordinator, made the preferred leader of every
        # partition of the namespace's topics.
        victim = await group_coordinator(bootstrap, app_id)
        await create_topics(
            bootstrap,
            contract,
            PARTITIONS,
            REPLICATION,
            assignments=replicas_led_by(victim, kafka_cluster.node_ids, PARTITIONS, REPLICATION),
            configs={f"{ns}.{DEAD_LETTER}": {"max.message.bytes": str(DEAD_LETTER_MAX_BYTES)}},
        )
        env = worker_env(
            bootstrap=bootstrap,
            namespace=ns,
            app_id=app_id,
            partitions=PARTITIONS,
            data_dir=tmp_path / "data",
            store="rocksdb://",
            clock="event",
            REPAYMENT_REPLICATION=str(REPLICATION),
        )
        worker = start_worker("worker", env)
        worker.wait_ready(timeout=90)

        # The worker created its changelog: 3 replicas, min.insync.replicas 2, like the rest.
        topics = [*contract, changelog]
        layouts = await partition_layouts(bootstrap, topics)
        configs = await topic_configs(bootstrap, topics)
        for name in topics:
            assert len(layouts[name]) == PARTITIONS, (name, layouts[name])
            for layout in layouts[name].values():
                assert len(layout.replicas) == REPLICATION == len(layout.isr), (name, layout)
            assert configs[name]["min.insync.replicas"] == MIN_INSYNC, name
        assert configs[changelog]["cleanup.policy"] == "compact"
        led = sorted(p for p, layout in layouts[changelog].items() if layout.leader == victim)
        assert led, f"node {victim} leads no partition of {changelog}: {layouts[changelog]}"
        partition = led[0]
        assert all(layouts[name][partition].leader == victim for name in topics)

        lines = stream_on_partition(partition)
        expected, replayed = replay_events(lines)
        decisions = {
            decision_id(o["value"]): o["value"] for o in expected if o["topic"] != DEAD_LETTER_TOPIC
        }
        letters = [o["value"] for o in expected if o["topic"] == DEAD_LETTER_TOPIC]
        messages = as_messages(ns, lines)
        first, second = len(messages) * 2 // 5, len(messages) * 4 // 5
        assert {p for p, _ in await produce_sequence(bootstrap, messages[:first])} == {partition}

        # Some work is done and committed (to the coordinator about to die) before the crash.
        await wait_for_commit(bootstrap, app_id)
        await asyncio.to_thread(worker.wait_for_metric, "repayment_events_total", first // 2)
        publishing = asyncio.create_task(publish_in_chunks(bootstrap, messages[first:second]))
        await asyncio.sleep(0.2)  # the stream is flowing
        assert not publishing.done()
        at_kill = worker.metrics().value("repayment_events_total")
        await asyncio.to_thread(kafka_cluster.kill_node, victim)
        killed = victim
        killed_at = time.monotonic()
        assert at_kill < second, "the kill must land mid-stream"

        # While the node is down: the rest of the middle part is published and processed.
        await asyncio.wait_for(publishing, timeout=90)
        await asyncio.to_thread(worker.wait_for_metric, "repayment_events_total", second, 90)
        carried_on = time.monotonic() - killed_at
        moved = await partition_layouts(bootstrap, topics)
        assert all(moved[name][partition].leader not in (victim, -1) for name in topics), moved
        assert await group_coordinator(bootstrap, app_id) != victim

        await asyncio.to_thread(kafka_cluster.start_node, victim)
        killed = None
        restarted = time.monotonic() - killed_at
        await produce_sequence(bootstrap, messages[second:])

        got = await decisions_of(bootstrap, ns, decisions, timeout=90)
        got_letters = await consume(
            bootstrap, f"{ns}.{DEAD_LETTER}", count=len(letters), settle=1.0, timeout=60
        )
        await asyncio.to_thread(wait_caught_up, worker)
        await wait_for_committed(
            bootstrap, app_id, f"{ns}.missed-payments", partition, len(messages)
        )
        assert worker.process is not None and worker.process.poll() is None, worker.tail()

        ids = [decision_id(m.json()) for m in got]
        assert set(ids) == set(decisions), (  # none lost, none under a new id
            f"missing {sorted(set(decisions) - set(ids))[:5]}, "
            f"unexpected {sorted(set(ids) - set(decisions))[:5]}"
        )
        for message, id_ in zip(got, ids, strict=True):
            assert message.json() == decisions[id_]  # a re-sent decision is an identical copy
            assert message.partition == partition
        for suffix in DECISION_SUFFIXES:
            on_topic = [m.json() for m in got if m.topic == f"{ns}.{suffix}"]
            want = [v for v in decisions.values() if decision_topic(v) == suffix]
            assert first_seen_order(on_topic) == first_seen_order(want), suffix

        assert len(letters) == len(set(map(letter_identity, letters))) > 0
        got_letter_ids = {letter_identity(m.json()) for m in got_letters}
        assert got_letter_ids == set(map(letter_identity, letters))  # one per bad input
        letter_offsets = [m.json()["offset"] for m in got_letters]
        processed = worker.metrics()
        # Each valid input changed the state exactly once (a redelivery is a duplicate).
        assert processed.value("repayment_events_total", result="processed") == replayed.processed
        print(
            f"\nnode {victim} (leader of partition {partition} of every topic, group "
            f"coordinator) killed after {at_kill:.0f}/{len(messages)} inputs processed; "
            f"worker through {second} inputs {carried_on:.1f}s after the kill; node restarted "
            f"after {restarted:.1f}s; {len(set(ids))} decisions ({len(ids) - len(set(ids))} "
            f"re-sent copies), {len(set(letter_offsets))} dead letters "
            f"({len(letter_offsets) - len(set(letter_offsets))} copies); "
            f"{processed.value('repayment_events_total'):.0f} inputs processed in all; "
            f"{len(worker.log_events('rebalance_assigned')) - 1} rebalances after the first"
        )
    finally:
        if worker is not None:
            worker.kill()
        if killed is not None:
            await asyncio.to_thread(kafka_cluster.start_node, killed)
        await delete_topics_with_prefix(bootstrap, ns)


DEAD_LETTER_TOPIC = f"repayments.{DEAD_LETTER}"


def stream_on_partition(partition: int) -> list[str]:
    """``history``'s events of the customers on ``partition``, plus a malformed input (bad
    JSON or a missing field, alternately) after every ``BAD_EVERY``-th event."""
    lines: list[str] = []
    events = [
        line
        for line in history(CUSTOMERS)
        if key_partition(orjson.loads(line)["key"].encode(), PARTITIONS) == partition
    ]
    for n, line in enumerate(events, start=1):
        lines.append(line)
        if n % BAD_EVERY == 0:
            envelope = orjson.loads(line)
            customer = envelope["key"]
            bad: Any = "{not json" if n % 2 else {"event_id": f"{customer}-bad-{n}"}
            lines.append(orjson.dumps({**envelope, "value": bad}).decode())
    return lines


def replay_events(lines: list[str]) -> tuple[list[dict[str, Any]], ReplayStats]:
    """Replay's outputs for the events alone (decisions and dead letters; no ticks sent)."""
    replayer = Replayer(default_policy())
    outputs = [
        out
        for item in timeline(lines)
        if isinstance(item, EventItem)
        for out in replayer.feed(item)
    ]
    return outputs, replayer.stats


async def publish_in_chunks(bootstrap: str, messages: list[tuple[str, Any, Any]]) -> None:
    for start in range(0, len(messages), CHUNK):
        await produce_sequence(bootstrap, messages[start : start + CHUNK])


async def wait_for_committed(
    bootstrap: str, group: str, topic: str, partition: int, end: int, timeout: float = 60.0
) -> None:
    """Until the group has committed ``end`` on the partition: commits work again."""
    deadline = time.monotonic() + timeout
    while (committed := (await committed_offsets(bootstrap, group)).get((topic, partition))) != end:
        assert time.monotonic() < deadline, f"committed {committed} of {end} after {timeout}s"
        await asyncio.sleep(0.2)


def decision_topic(value: dict[str, Any]) -> str:
    return "risk-escalations" if "escalation_id" in value else "outreach-needed"


def first_seen_order(values: list[dict[str, Any]]) -> dict[str, list[str]]:
    """Each customer's decision ids in order of first appearance (copies come later)."""
    order: dict[str, list[str]] = {}
    for value in values:
        ids = order.setdefault(value["customer_id"], [])
        if decision_id(value) not in ids:
            ids.append(decision_id(value))
    return order


def letter_identity(letter: dict[str, Any]) -> bytes:
    """A dead letter without where its input sat in the namespace (replay numbers offsets
    per topic from 0, as the input partition does here, so offsets compare)."""
    kept = {k: v for k, v in letter.items() if k not in ("partition", "source_topic")}
    return orjson.dumps(kept, option=orjson.OPT_SORT_KEYS)
