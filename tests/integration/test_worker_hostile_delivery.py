"""What one message can do to a live worker: a repeated event decides nothing, an input the
decision code fails on is dead-lettered (``processing_error``) and the stream moves on, a
timestamp far in the future is refused, and a rejected input never moves the event clock.

The decision code has no known input that makes it fail, so the test injects one: the worker
starts with a ``sitecustomize`` that makes ``policy.apply`` raise for event ids starting with
``boom-`` (a real worker on a real broker, with one defect planted).
"""

from __future__ import annotations

import os
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.integration.conftest import NamespaceFactory
from tests.integration.fixtures import consume
from tests.integration.worker_fixtures import WorkerFactory, produce_sequence, worker_env

pytestmark = pytest.mark.integration

PARTITIONS = 2
DEFECT = """
import policy, policy.core

_apply = policy.core.apply

def apply(state, event, now, policy_, source=None):
    if event.header.event_id.startswith("boom-"):
        raise ZeroDivisionError("planted defect")
    return _apply(state, event, now, policy_, source)

policy.apply = policy.core.apply = apply
"""


def missed(event_id: str, customer: str, at: datetime, **extra: Any) -> dict[str, Any]:
    return {
        "event_id": event_id,
        "customer_id": customer,
        "occurred_at": at.isoformat(),
        "installment_id": f"{customer}-{event_id}",
        "due_date": (at.date() - timedelta(days=5)).isoformat(),
        "amount_due": "100.00",
        "currency": "CNY",
        **extra,
    }


@pytest.mark.parametrize("clock", ["wall", "event"])
async def test_duplicate_defect_and_future_input__each_ends_once_and_the_stream_moves_on(
    clock: str,
    kafka_bootstrap: str,
    topic_namespace: NamespaceFactory,
    start_worker: WorkerFactory,
    tmp_path: Path,
) -> None:
    ns = await topic_namespace(partitions=PARTITIONS)
    plant = tmp_path / "plant"
    plant.mkdir()
    (plant / "sitecustomize.py").write_text(DEFECT)
    env = worker_env(
        bootstrap=kafka_bootstrap,
        namespace=ns.name,
        app_id=f"{ns.name}-app",
        partitions=PARTITIONS,
        data_dir=tmp_path / "data",
        clock=clock,
        PYTHONPATH=os.pathsep.join(filter(None, [str(plant), os.environ.get("PYTHONPATH")])),
    )
    worker = start_worker("hostile", env)
    worker.wait_ready()
    now = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    first = missed("m-1", "cust-a", now)
    missed_t = ns.topic("missed-payments")
    items: list[tuple[str, Any, Any]] = [
        (missed_t, "cust-a", first),
        (missed_t, "cust-b", missed("boom-1", "cust-b", now)),
        (missed_t, "cust-c", missed("far-1", "cust-c", now + timedelta(days=400))),
        (missed_t, "cust-a", first),  # the publisher sent it again: a duplicate
        (missed_t, "cust-b", missed("m-2", "cust-b", now)),
        (missed_t, "cust-c", missed("m-3", "cust-c", now)),
    ]
    await produce_sequence(kafka_bootstrap, items)
    worker.wait_for_metric("repayment_events_total", len(items))

    letters = [m.json() for m in await consume(kafka_bootstrap, ns.topic("dead-letter"), count=2)]
    codes = sorted((letter["error"]["code"], letter["error"]["field"]) for letter in letters)
    assert codes == [("invalid_field", "occurred_at"), ("processing_error", None)]
    defect = next(x for x in letters if x["error"]["code"] == "processing_error")
    assert "ZeroDivisionError: planted defect" in defect["error"]["message"]
    assert defect["key"] == "cust-b"

    outreach = await consume(kafka_bootstrap, ns.topic("outreach-needed"), count=3, settle=3.0)
    causes = Counter(m.json()["caused_by"] for m in outreach)
    assert causes == Counter({"m-1": 1, "m-2": 1, "m-3": 1})  # the duplicate decided nothing
    if clock == "event":  # the refused event of day +400 did not move anybody's clock
        assert {m.json()["decided_at"][:10] for m in outreach} == {now.date().isoformat()}

    samples = worker.metrics()
    assert samples.value("repayment_events_total", result="processing_error") == 1
    assert samples.value("repayment_events_total", result="dead_lettered") == 1
    assert samples.value("repayment_events_total", result="duplicate") == 1
    assert samples.value("repayment_events_total", result="processed") == 3
    assert worker.process is not None and worker.process.poll() is None
