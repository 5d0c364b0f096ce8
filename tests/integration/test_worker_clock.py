"""The wall clock: only the leader publishes ticks, one per partition per slot, and each
worker applies the ticks of its own partitions to its own customers."""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime, timedelta
from pathlib import Path

import orjson
import pytest

from tests.integration.conftest import NamespaceFactory
from tests.integration.fixtures import consume
from tests.integration.worker_fixtures import (
    WorkerFactory,
    produce_sequence,
    worker_env,
)

pytestmark = pytest.mark.integration

PARTITIONS = 3


async def test_two_wall_clock_workers__leader_alone_publishes_one_tick_per_partition_per_slot(
    kafka_bootstrap: str,
    topic_namespace: NamespaceFactory,
    start_worker: WorkerFactory,
    tmp_path: Path,
) -> None:
    ns = await topic_namespace(partitions=PARTITIONS)

    def env(name: str) -> dict[str, str]:
        return worker_env(
            bootstrap=kafka_bootstrap,
            namespace=ns.name,
            app_id=f"{ns.name}-app",
            partitions=PARTITIONS,
            data_dir=tmp_path / name,
            REPAYMENT_TICK_SECONDS="1",
        )

    a = start_worker("a", env("a"))
    b = start_worker("b", env("b"))
    a.wait_ready()
    b.wait_ready()
    customer = {
        "event_id": "m-1",
        "customer_id": "cust-1",
        "occurred_at": datetime.now().astimezone().isoformat(),
        "installment_id": "i-1",
        "due_date": "2026-01-01",
        "amount_due": "10.00",
        "currency": "CNY",
    }
    await produce_sequence(kafka_bootstrap, [(ns.topic("missed-payments"), "cust-1", customer)])

    def ticks_applied() -> float:
        return sum(w.metrics().value("repayment_clock_ticks_total") for w in (a, b))

    def customer_ticked() -> bool:
        status, body = a.get("/customers/cust-1")  # routed to the customer's owner
        return status == 200 and orjson.loads(body)["last_tick"] is not None

    a.wait_until(lambda: ticks_applied() >= 4 * PARTITIONS, 30, "ticking")
    # Ticks applied before cust-1's event reached its owner do not count for it.
    a.wait_until(customer_ticked, 30, "a tick applied to cust-1")
    ticks = await consume(kafka_bootstrap, ns.topic("clock-ticks"), count=4 * PARTITIONS)
    per_slot = Counter(orjson.loads(m.value)["at"] for m in ticks)
    complete = [at for at, n in per_slot.items() if n == PARTITIONS]
    assert len(complete) >= 3
    assert max(per_slot.values()) == PARTITIONS  # one leader: no slot published twice
    assert all(at.endswith("Z") and len(at) == 20 for at in per_slot)
    for partition in range(PARTITIONS):
        slots = [orjson.loads(m.value)["at"] for m in ticks if m.partition == partition]
        assert slots == sorted(set(slots))

    state = orjson.loads(a.get("/customers/cust-1")[1])
    assert state["last_tick"] >= min(complete)  # the ticks reached the customer's owner
    assert [w.metrics().value("repayment_clock_ticks_total") > 0 for w in (a, b)] == [True, True]


async def test_a_dormant_customer__is_not_ticked_but_its_view_shows_the_ticks(
    kafka_bootstrap: str,
    topic_namespace: NamespaceFactory,
    start_worker: WorkerFactory,
    tmp_path: Path,
) -> None:
    """A customer who paid is dormant (``policy.quiet_until``): ticks skip it, so its state
    is not rewritten to the changelog each tick, while an overdue customer's is."""
    ns = await topic_namespace(partitions=1)
    env = worker_env(
        bootstrap=kafka_bootstrap,
        namespace=ns.name,
        app_id=f"{ns.name}-app",
        partitions=1,
        data_dir=tmp_path / "data",
        REPAYMENT_TICK_SECONDS="1",
    )
    worker = start_worker("only", env)
    worker.wait_ready()
    now = datetime.now().astimezone().isoformat()

    def missed(customer: str) -> dict[str, str]:
        return {
            "event_id": f"{customer}-m",
            "customer_id": customer,
            "occurred_at": now,
            "installment_id": f"{customer}-1",
            "due_date": (date.today() - timedelta(days=5)).isoformat(),
            "amount_due": "10.00",
            "currency": "CNY",
        }

    paid = {"event_id": "paid-p", "customer_id": "paid", "occurred_at": now, "amount": "10.00"}
    await produce_sequence(
        kafka_bootstrap,
        [
            (ns.topic("missed-payments"), "paid", missed("paid")),
            (ns.topic("payments"), "paid", {**paid, "currency": "CNY", "installment_id": "paid-1"}),
            (ns.topic("missed-payments"), "owing", missed("owing")),
        ],
    )
    worker.wait_for_metric("repayment_events_total", 3, result="processed")
    ticks_before = worker.metrics().value("repayment_clock_ticks_total")
    worker.wait_for_metric("repayment_clock_ticks_total", ticks_before + 6)
    assert worker.metrics().value("repayment_customers_dormant") == 1

    changelog = await consume(
        kafka_bootstrap, f"{ns.name}-app-customers-changelog", count=9, settle=1.0
    )
    writes = Counter(m.key for m in changelog)
    assert writes[b"owing"] >= 6  # rewritten by every tick
    assert writes[b"paid"] <= 3  # its two events, and the first tick that found it dormant

    applied = int(ticks_before) + 6
    ticks = await consume(kafka_bootstrap, ns.topic("clock-ticks"), count=applied)
    reached = orjson.loads(ticks[applied - 1].value)["at"]  # applied: ticks go in order
    view = orjson.loads(worker.get("/customers/paid")[1])
    assert view["tier"] == "current"
    assert view["last_tick"][:19] >= reached[:19]  # as if every tick had reached it
