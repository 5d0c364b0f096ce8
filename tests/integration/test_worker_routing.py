"""``/customers/{id}`` from any worker answers from the customer's owner, at the URL the
owner advertises (``REPAYMENT_ADVERTISED_URL``).

The two workers listen on the same port on different addresses, as two pods do: routing by
port alone, or to an address every worker shares (``http://0.0.0.0:6066``), cannot tell them
apart, and a worker would answer from its standby copy as if it owned the customer.
"""

from __future__ import annotations

import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import orjson
import pytest

from streams.tables import key_partition
from tests.integration.conftest import NamespaceFactory
from tests.integration.worker_fixtures import (
    WorkerFactory,
    WorkerProcess,
    free_port,
    produce_sequence,
    worker_env,
)

pytestmark = pytest.mark.integration

TOKEN = "routing-test-token"
BEARER = {"Authorization": f"Bearer {TOKEN}"}
PARTITIONS = 4
CUSTOMERS = [f"cust-{n:02d}" for n in range(16)]


def owned(worker: WorkerProcess) -> list[int]:
    records = worker.log_events("recovery_complete")
    return sorted(records[-1]["owned_partitions"]) if records else []  # type: ignore[arg-type]


def wait_split(a: WorkerProcess, b: WorkerProcess, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while True:
        split = owned(a) and owned(b) and sorted(owned(a) + owned(b)) == list(range(PARTITIONS))
        if split and a.get("/readyz")[0] == 200 and b.get("/readyz")[0] == 200:
            return
        assert time.monotonic() < deadline, f"no split: a={owned(a)} b={owned(b)}\n{a.tail()}"
        time.sleep(0.1)


async def test_customer_view__any_worker_answers_from_the_owner_at_its_advertised_url(
    kafka_bootstrap: str,
    topic_namespace: NamespaceFactory,
    start_worker: WorkerFactory,
    tmp_path: Path,
) -> None:
    ns = await topic_namespace(partitions=PARTITIONS)
    port = free_port()

    def env(name: str, host: str) -> dict[str, str]:
        return worker_env(
            bootstrap=kafka_bootstrap,
            namespace=ns.name,
            app_id=f"{ns.name}-app",
            partitions=PARTITIONS,
            data_dir=tmp_path / name,
            REPAYMENT_WEB_HOST=host,
            REPAYMENT_WEB_PORT=str(port),
            REPAYMENT_ADVERTISED_URL=f"http://{host}:{port}",
            REPAYMENT_API_TOKEN=TOKEN,
        )

    a = start_worker("a", env("a", "127.0.0.2"))
    b = start_worker("b", env("b", "127.0.0.3"))
    wait_split(a, b)

    due = (date.today() - timedelta(days=5)).isoformat()
    now = datetime.now(UTC).isoformat()
    await produce_sequence(
        kafka_bootstrap,
        [
            (
                ns.topic("missed-payments"),
                customer,
                {
                    "event_id": f"{customer}-m",
                    "customer_id": customer,
                    "occurred_at": now,
                    "installment_id": f"{customer}-1",
                    "due_date": due,
                    "amount_due": "80.00",
                    "currency": "CNY",
                },
            )
            for customer in CUSTOMERS
        ],
    )
    deadline = time.monotonic() + 30
    while sum(w.metrics().value("repayment_events_total") for w in (a, b)) < len(CUSTOMERS):
        assert time.monotonic() < deadline, "events not processed in time"
        time.sleep(0.1)

    owner_of = {p: a for p in owned(a)} | {p: b for p in owned(b)}
    answered: dict[tuple[str, str], str] = {}
    for customer in CUSTOMERS:
        owner = owner_of[key_partition(customer.encode(), PARTITIONS)]
        for asked in (a, b):
            path = f"/customers/{customer}"
            assert asked.get(path)[0] == 401  # no credential
            assert asked.get(path, headers={"Authorization": "Bearer wrong"})[0] == 403
            status, body = asked.get(path, headers=BEARER)  # also when routed to the owner
            assert status == 200, (asked.name, customer, body)
            summary = orjson.loads(body)
            assert summary["customer_id"] == customer and summary["tier"] == "early"
            answered[(asked.name, customer)] = summary["served_by"]
            assert summary["served_by"] == owner.env["REPAYMENT_ADVERTISED_URL"]
    # Both kinds of answer happened: from the worker asked, and routed to the other one.
    assert {(asked, served) for (asked, _), served in answered.items()} == {
        ("a", a.env["REPAYMENT_ADVERTISED_URL"]),
        ("a", b.env["REPAYMENT_ADVERTISED_URL"]),
        ("b", a.env["REPAYMENT_ADVERTISED_URL"]),
        ("b", b.env["REPAYMENT_ADVERTISED_URL"]),
    }


async def test_customer_view__off_without_a_token_on_a_non_loopback_address(
    kafka_bootstrap: str,
    topic_namespace: NamespaceFactory,
    start_worker: WorkerFactory,
    tmp_path: Path,
) -> None:
    ns = await topic_namespace(partitions=1)
    port = free_port()
    env = worker_env(
        bootstrap=kafka_bootstrap,
        namespace=ns.name,
        app_id=f"{ns.name}-app",
        partitions=1,
        data_dir=tmp_path / "open",
        REPAYMENT_WEB_HOST="0.0.0.0",
        REPAYMENT_WEB_PORT=str(port),
        REPAYMENT_ADVERTISED_URL=f"http://127.0.0.1:{port}",
    )
    worker = start_worker("open", env)
    worker.wait_ready()
    status, body = worker.get("/customers/cust-1", headers=BEARER)
    assert status == 403 and b"REPAYMENT_API_TOKEN" in body
    assert worker.get("/metrics")[0] == 200  # no customer data: open
    assert worker.get("/readyz")[0] == 200
