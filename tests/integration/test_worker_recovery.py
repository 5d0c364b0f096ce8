"""Crashes and rebalances: state survives in the changelog and decisions keep their ids.

Workers are subprocesses: SIGKILL is a real crash (no flush, no commit, no leave-group),
and a second worker joining or leaving the group is a real rebalance.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from rocksdict import Options, Rdict

from policy import default_policy
from streams.replay import EventItem, Replayer, timeline
from tests.integration.conftest import NamespaceFactory
from tests.integration.fixtures import Consumed, consume
from tests.integration.worker_fixtures import (
    WorkerFactory,
    WorkerProcess,
    produce_sequence,
    worker_env,
)

pytestmark = pytest.mark.integration

START = datetime(2026, 3, 1, 1, 0, tzinfo=UTC)


def history(customers: int) -> list[str]:
    """Replay lines: every customer misses an installment in each of four rounds, so tiers
    climb and modifiers switch on; ``occurred_at`` strictly increasing.

    One input topic only: Faust interleaves the partitions of different topics in no fixed
    order, so only a single partition gives a run whose decisions are known in advance.
    """
    lines: list[str] = []
    for round_, days in enumerate((0, 12, 40, 75)):
        at = START + timedelta(days=days)
        due = (at - timedelta(days=3)).date().isoformat()
        for n in range(customers):
            customer = f"cust-{n:04d}"
            value = {
                "event_id": f"{customer}-missed-{round_}",
                "customer_id": customer,
                "occurred_at": (at + timedelta(seconds=len(lines))).isoformat(),
                "installment_id": f"{customer}-{round_}",
                "due_date": due,
                "amount_due": "120.00",
                "currency": "CNY",
            }
            envelope = {"topic": "repayments.missed-payments", "key": customer, "value": value}
            lines.append(orjson.dumps(envelope).decode())
    return lines


def expected_decisions(lines: list[str]) -> dict[str, dict[str, Any]]:
    """What an uninterrupted run decides: replay of the events alone (no ticks are sent)."""
    replayer = Replayer(default_policy())
    out: dict[str, dict[str, Any]] = {}
    for item in timeline(lines):
        if isinstance(item, EventItem):
            for decision in replayer.feed(item):
                value = decision["value"]
                out[str(value.get("escalation_id") or value.get("outreach_id"))] = value
    return out


def as_messages(namespace: str, lines: list[str]) -> list[tuple[str, Any, Any]]:
    return [
        (f"{namespace}.{item.topic.removeprefix('repayments.')}", item.key, item.raw)
        for item in timeline(lines)
        if isinstance(item, EventItem)
    ]


def decision_id(value: dict[str, Any]) -> str:
    return str(value.get("escalation_id") or value.get("outreach_id"))


async def decisions_of(
    bootstrap: str, namespace: str, expected: dict[str, dict[str, Any]], timeout: float = 60.0
) -> list[Consumed]:
    """Both decision topics, read again until every expected id is there (or ``timeout``).

    Each read waits for at least as many messages as ids expected on that topic, then 1 s
    more for any duplicates.
    """
    deadline = time.monotonic() + timeout
    while True:
        found: list[Consumed] = []
        for suffix, id_field in (
            ("risk-escalations", "escalation_id"),
            ("outreach-needed", "outreach_id"),
        ):
            count = sum(1 for value in expected.values() if id_field in value)
            left = max(deadline - time.monotonic(), 1.0)
            found += await consume(
                bootstrap, f"{namespace}.{suffix}", count=count, settle=1.0, timeout=left
            )
        if {decision_id(m.json()) for m in found} >= set(expected) or time.monotonic() > deadline:
            return found


async def wait_for_commit(bootstrap: str, group: str, timeout: float = 60.0) -> None:
    """Until the worker's group has committed an offset past 0 on some input partition."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        deadline = time.monotonic() + timeout
        while not any(
            o.offset > 0 for o in (await admin.list_consumer_group_offsets(group)).values()
        ):
            assert time.monotonic() < deadline, f"group {group} committed nothing in {timeout}s"
            await asyncio.sleep(0.05)
    finally:
        await admin.close()


def one_partition_env(bootstrap: str, namespace: str, tmp_path: Path, store: str) -> dict[str, str]:
    """One partition (the order, hence ``now``, is fixed), the event clock, ``store``."""
    return worker_env(
        bootstrap=bootstrap,
        namespace=namespace,
        app_id=f"{namespace}-app",
        partitions=1,
        data_dir=tmp_path / "data",
        store=store,
        clock="event",
    )


def wait_caught_up(worker: WorkerProcess, timeout: float = 90.0) -> None:
    """Every input partition fully consumed (lag 0 from the worker's own gauge)."""

    def caught_up() -> bool:
        samples = worker.metrics()
        return bool(samples.labelsets("repayment_consumer_lag")) and (
            samples.value("repayment_consumer_lag") == 0
        )

    worker.wait_until(caught_up, timeout, "caught up")


@pytest.mark.parametrize("store", ["memory://", "rocksdb://"])
async def test_sigkill_mid_stream__restart_recovers_state_and_loses_or_renames_no_decision(
    kafka_bootstrap: str,
    topic_namespace: NamespaceFactory,
    start_worker: WorkerFactory,
    tmp_path: Path,
    store: str,
) -> None:
    ns = await topic_namespace(partitions=1)
    env = one_partition_env(kafka_bootstrap, ns.name, tmp_path, store)
    lines = history(customers=800)
    expected = expected_decisions(lines)
    messages = as_messages(ns.name, lines)
    first = start_worker("first", env)
    first.wait_ready()

    half = len(messages) // 2
    await produce_sequence(kafka_bootstrap, messages[:half])
    await wait_for_commit(kafka_bootstrap, f"{ns.name}-app")  # some work is past a commit
    # The crash comes mid-stream: the last quarter is published only after it, since a
    # worker now takes the whole log faster than the test can read its metrics.
    three_quarters = len(messages) * 3 // 4
    await produce_sequence(kafka_bootstrap, messages[half:three_quarters])
    first.wait_for_metric("repayment_events_total", half + 200)
    before_kill = first.metrics().value("repayment_events_total")
    first.kill()
    await produce_sequence(kafka_bootstrap, messages[three_quarters:])

    second = start_worker("second", env)
    ready_seconds = second.wait_ready(timeout=90)
    started = time.monotonic()
    got = await decisions_of(kafka_bootstrap, ns.name, expected)
    caught_up_seconds = time.monotonic() - started
    wait_caught_up(second)

    ids = [decision_id(m.json()) for m in got]
    assert set(ids) == set(expected), _mismatch(got, expected)  # none lost, none renamed
    for message, id_ in zip(got, ids, strict=True):
        assert message.json() == expected[id_]  # a re-emitted duplicate is identical
    after_restart = second.metrics().value("repayment_events_total")
    assert after_restart > 0  # the second worker finished what the first began
    print(
        f"\n[{store}] SIGKILL after {before_kill:.0f}/{len(messages)} events; restarted worker "
        f"ready in {ready_seconds:.2f}s, all decisions out {caught_up_seconds:.2f}s later; "
        f"{after_restart:.0f} events processed after the restart; "
        f"{len(ids) - len(set(ids))} duplicate decisions (same id) of {len(set(ids))}"
    )


@pytest.mark.parametrize("committed", [False, True], ids=["first start", "restart"])
async def test_input_fetched_as_recovery_ends__is_processed_not_dropped(
    kafka_bootstrap: str,
    topic_namespace: NamespaceFactory,
    start_worker: WorkerFactory,
    tmp_path: Path,
    committed: bool,
) -> None:
    """faust-streaming #596: Faust seeks the inputs to their committed offsets, then clears
    the stream queues. ``slow_recovery_end`` holds that window open for half a second on
    every rebalance, so the worker is sure to have input to fetch inside it."""
    ns = await topic_namespace(partitions=1)
    env = one_partition_env(kafka_bootstrap, ns.name, tmp_path, "memory://")
    lines = history(customers=400)
    expected = expected_decisions(lines)
    messages = as_messages(ns.name, lines)
    if committed:  # a restart: state in the changelog, offsets committed, a backlog after
        first = start_worker("first", env)
        first.wait_ready()
        await produce_sequence(kafka_bootstrap, messages[:400])
        first.wait_for_metric("repayment_events_total", 400)
        await wait_for_commit(kafka_bootstrap, f"{ns.name}-app")
        assert first.stop() == 0
        await produce_sequence(kafka_bootstrap, messages[400:])
    else:  # a first start on a backlog: no committed offset yet
        await produce_sequence(kafka_bootstrap, messages)
    slow = start_worker("slow", env, module="tests.integration.slow_recovery_end")
    slow.wait_ready(timeout=90)

    got = await decisions_of(kafka_bootstrap, ns.name, expected)
    ids = [decision_id(m.json()) for m in got]
    assert set(ids) == set(expected), _mismatch(got, expected)
    wait_caught_up(slow)
    processed = slow.metrics().value("repayment_events_total")
    assert processed >= len(messages) - (400 if committed else 0)


def _mismatch(got: list[Consumed], expected: dict[str, dict[str, Any]], shown: int = 3) -> str:
    """The first customers whose decisions differ, both sides in full, to read on failure."""
    values = [m.json() for m in got]
    new = {decision_id(v) for v in values} - set(expected)
    lost = set(expected) - {decision_id(v) for v in values}
    customers = sorted(
        {v["customer_id"] for v in values if decision_id(v) in new}
        | {expected[i]["customer_id"] for i in lost}
    )
    lines = [f"{len(new)} new ids, {len(lost)} lost, {len(customers)} customers"]
    for customer in customers[:shown]:
        lines.append(f"{customer} expected:")
        lines += [f"  {v}" for v in expected.values() if v["customer_id"] == customer]
        lines.append(f"{customer} got:")
        lines += [f"  {v}" for v in values if v["customer_id"] == customer]
    return "\n".join(lines)


async def test_two_workers_split_partitions__stopping_one_moves_its_customers_with_state(
    kafka_bootstrap: str,
    topic_namespace: NamespaceFactory,
    start_worker: WorkerFactory,
    tmp_path: Path,
) -> None:
    partitions = 4
    ns = await topic_namespace(partitions=partitions)

    def env(name: str) -> dict[str, str]:
        return worker_env(
            bootstrap=kafka_bootstrap,
            namespace=ns.name,
            app_id=f"{ns.name}-app",
            partitions=partitions,
            data_dir=tmp_path / name,
            store="rocksdb://",
        )

    a = start_worker("a", env("a"))
    a.wait_ready()
    b = start_worker("b", env("b"))
    b.wait_ready()
    _wait_split(a, b, partitions)

    customers = [f"cust-{n:02d}" for n in range(24)]
    due = (date.today() - timedelta(days=5)).isoformat()
    missed = [
        (
            ns.topic("missed-payments"),
            c,
            _event(c, "m", installment_id=f"{c}-1", due_date=due, amount_due="80.00"),
        )
        for c in customers
    ]
    await produce_sequence(kafka_bootstrap, missed)
    _wait_total([a, b], len(customers))
    on_a = a.metrics().value("repayment_events_total", result="processed")
    assert 0 < on_a < len(customers)  # the partitions really were split

    owned_by_a = sorted(a.log_events("recovery_complete")[-1]["owned_partitions"])  # type: ignore[arg-type]
    a_customer = next(c for c in customers if _partition(c, partitions) in owned_by_a)
    status, body = b.get(f"/customers/{a_customer}")  # routed by Faust to the owner, a
    assert status == 200 and orjson.loads(body)["tier"] == "early"

    assert a.stop() == 0
    b.wait_until(lambda: len(_owned(b)) == partitions, 60, "owning every partition")
    b.wait_ready()

    payments = [(ns.topic("payments"), c, _event(c, "p", amount="80.00")) for c in customers]
    await produce_sequence(kafka_bootstrap, payments)
    b_processed = len(customers) - on_a + len(customers)
    b.wait_for_metric("repayment_events_total", b_processed, result="processed")

    escalations = await consume(
        kafka_bootstrap, ns.topic("risk-escalations"), count=len(customers) * 2
    )
    cured = {
        v["customer_id"]: v for v in (m.json() for m in escalations) if v["reasons"] == ["cured"]
    }
    assert sorted(cured) == customers  # every customer, including a's, kept its debt
    assert all(v["from_tier"] == "early" and v["caused_by"] == f"{k}-p" for k, v in cured.items())
    assert b.metrics().value("repayment_customers", tier="current") == len(customers)


def _event(customer: str, kind: str, **fields: str) -> dict[str, Any]:
    return {
        "event_id": f"{customer}-{kind}",
        "customer_id": customer,
        "occurred_at": datetime.now(UTC).isoformat(),
        "currency": "CNY",
        **fields,
    }


def _partition(customer: str, partitions: int) -> int:
    from streams.tables import key_partition

    return key_partition(customer.encode(), partitions)


def _owned(worker: WorkerProcess) -> list[int]:
    records = worker.log_events("recovery_complete")
    return sorted(records[-1]["owned_partitions"]) if records else []  # type: ignore[arg-type]


def _wait_split(a: WorkerProcess, b: WorkerProcess, partitions: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while True:
        owned_a, owned_b = _owned(a), _owned(b)
        split = owned_a and owned_b and sorted(owned_a + owned_b) == list(range(partitions))
        if split and a.get("/readyz")[0] == 200 and b.get("/readyz")[0] == 200:
            return
        assert time.monotonic() < deadline, f"no split: a={owned_a} b={owned_b}\n{a.tail()}"
        time.sleep(0.1)


def _wait_total(workers: list[WorkerProcess], count: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while sum(w.metrics().value("repayment_events_total") for w in workers) < count:
        assert time.monotonic() < deadline, "events not processed in time"
        time.sleep(0.1)


async def test_rocksdb_worker__records_how_far_it_holds_each_changelog_partition(
    kafka_bootstrap: str,
    topic_namespace: NamespaceFactory,
    start_worker: WorkerFactory,
    tmp_path: Path,
) -> None:
    """``streams.outbox`` sends changelog records itself, so it must also keep RocksDB's
    persisted offset: without it every restart would replay the whole changelog."""
    ns = await topic_namespace(partitions=2)
    data_dir = tmp_path / "data"
    env = worker_env(
        bootstrap=kafka_bootstrap,
        namespace=ns.name,
        app_id=f"{ns.name}-app",
        partitions=2,
        data_dir=data_dir,
        store="rocksdb://",
        clock="event",
    )
    messages = as_messages(ns.name, history(customers=60))
    worker = start_worker("only", env)
    worker.wait_ready()
    await produce_sequence(kafka_bootstrap, messages)
    worker.wait_for_metric("repayment_events_total", len(messages), timeout=60)
    assert worker.stop() == 0

    changelog = f"{ns.name}-app-customers-changelog"
    ends = await _end_offsets(kafka_bootstrap, changelog, partitions=2)
    assert all(end > 0 for end in ends.values()), ends  # both partitions hold states
    for partition, end in ends.items():
        (path,) = data_dir.rglob(f"customers-{partition}.db")
        db = Rdict(str(path), options=Options(raw_mode=True))
        try:
            persisted = db.get(b"__faust\0offset__")
        finally:
            db.close()
        assert persisted is not None and int(persisted) == end - 1, (partition, persisted, end)


async def _end_offsets(bootstrap: str, topic: str, partitions: int) -> dict[int, int]:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap)
    await consumer.start()
    try:
        tps = [TopicPartition(topic, p) for p in range(partitions)]
        return {tp.partition: end for tp, end in (await consumer.end_offsets(tps)).items()}
    finally:
        await consumer.stop()
