"""Arrival order, live: the sample history published with its three topics shuffled against
each other ends in the states replay computes in ``occurred_at`` order.

Each topic keeps its own order (as Kafka keeps a partition's); across topics the messages
of a window are shuffled and published unpaced, so the worker's three agents meet them in
any order. Windows of 3 days keep the topics within the contract's 7-day late-arrival
horizon (docs/architecture.md); one clock tick after the last event lets time act for every
customer, as replay's ``--until`` does.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest

from policy import default_policy
from streams.clock import tick_message
from streams.publish import expected_inputs
from streams.replay import EventItem, Replayer, timeline
from streams.summary import customer_summary
from tests.integration.conftest import NamespaceFactory
from tests.integration.fixtures import REPO_ROOT
from tests.integration.worker_fixtures import WorkerFactory, produce_sequence, worker_env

pytestmark = pytest.mark.integration

SAMPLE = REPO_ROOT / "examples" / "sample_history.jsonl"
PARTITIONS = 2
WINDOW = timedelta(days=3)
COMPARED = (
    "tier",
    "days_past_due",
    "overdue_amount",
    "credit",
    "oldest_unpaid_due_date",
    "unpaid_installments",
    "installments",
    "held_payments",
    "currency",
)


def shuffled_windows(items: list[EventItem], seed: int) -> list[list[EventItem]]:
    """Items in windows of ``WINDOW`` by occurred_at, each shuffled across topics with every
    topic's own order kept (undecodable lines stay with the line before them)."""
    windows: list[list[EventItem]] = []
    start: datetime | None = None
    for item in items:
        at = None if isinstance(item.decoded, Exception) else item.decoded.header.occurred_at
        if at is not None and (start is None or at >= start + WINDOW):
            windows.append([])
            start = at
        if not windows:
            windows.append([])
        windows[-1].append(item)
    rng = random.Random(seed)
    out = []
    for window in windows:
        queues: dict[str, list[EventItem]] = {}
        for item in window:
            queues.setdefault(item.topic, []).append(item)
        mixed = []
        while queues:
            topic = rng.choice(sorted(queues))
            mixed.append(queues[topic].pop(0))
            if not queues[topic]:
                del queues[topic]
        out.append(mixed)
    return out


@pytest.mark.parametrize("seed", [1, 2])
async def test_sample_shuffled_across_topics__worker_states_equal_replays(
    seed: int,
    kafka_bootstrap: str,
    topic_namespace: NamespaceFactory,
    start_worker: WorkerFactory,
    tmp_path: Path,
) -> None:
    lines = SAMPLE.read_text().splitlines()
    items = [i for i in timeline(lines) if isinstance(i, EventItem)]
    accepted = [i for i in items if not isinstance(i.decoded, Exception)]
    end = max(i.decoded.header.occurred_at for i in accepted)  # type: ignore[union-attr]
    until = end.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    replayer = Replayer(default_policy())
    for _ in replayer.replay(lines, until):
        pass
    want = {cid: customer_summary(s, until) for cid, s in replayer.states.items()}

    ns = await topic_namespace(partitions=PARTITIONS)
    env = worker_env(
        bootstrap=kafka_bootstrap,
        namespace=ns.name,
        app_id=f"{ns.name}-app",
        partitions=PARTITIONS,
        data_dir=tmp_path / "data",
        clock="event",
    )
    worker = start_worker("shuffled", env)
    worker.wait_ready()
    published = 0
    moved = 0
    for window in shuffled_windows(items, seed):
        moved += [i.line_no for i in window] != sorted(i.line_no for i in window)
        batch: list[tuple[str, Any, Any]] = [
            (ns.topic(i.topic.removeprefix("repayments.")), i.key, i.raw) for i in window
        ]
        await produce_sequence(kafka_bootstrap, batch)
        published += sum(expected_inputs(i) for i in window)
        worker.wait_for_metric("repayment_events_total", published)
    assert moved > 0  # some windows really arrived out of order
    ticks = [(ns.topic("clock-ticks"), None, tick_message(until))] * PARTITIONS
    await produce_ticks(kafka_bootstrap, ticks)
    worker.wait_for_metric("repayment_clock_ticks_total", PARTITIONS)

    for customer_id, expected in want.items():
        status, body = worker.get(f"/customers/{customer_id}")
        assert status == 200, body
        got = orjson.loads(body)
        assert got["as_of"] == expected["as_of"]
        assert {k: got[k] for k in COMPARED} == {k: expected[k] for k in COMPARED}, customer_id


async def produce_ticks(bootstrap: str, ticks: list[tuple[str, Any, bytes]]) -> None:
    """One tick per partition (explicit partitions, as the leader publishes them)."""
    from aiokafka import AIOKafkaProducer

    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        for partition, (topic, _, value) in enumerate(ticks):
            await producer.send_and_wait(topic, value, partition=partition)
    finally:
        await producer.stop()
