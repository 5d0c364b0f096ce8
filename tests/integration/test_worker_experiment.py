"""A live worker running a policy experiment: arms as the pure function says, decisions as
replay decides them under the same policy file, metrics split by arm."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest

from policy import load_policy
from streams.replay import EventItem, Replayer, timeline
from tests.integration.conftest import NamespaceFactory
from tests.integration.fixtures import consume
from tests.integration.worker_fixtures import WorkerFactory, produce_sequence, worker_env

pytestmark = pytest.mark.integration

EXPERIMENT = Path(__file__).resolve().parents[2] / "examples/policies/voice-first-experiment.toml"
START = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai: no quiet hours


def history(customers: int) -> list[str]:
    """Each customer misses an installment due three days earlier: an escalation to
    ``early`` and the first outreach of the tier's channel order."""
    lines = []
    for n in range(customers):
        customer = f"cust-{n:03d}"
        value = {
            "event_id": f"{customer}-missed",
            "customer_id": customer,
            "occurred_at": (START + timedelta(seconds=n)).isoformat(),
            "installment_id": f"{customer}-1",
            "due_date": (START - timedelta(days=3)).date().isoformat(),
            "amount_due": "300.00",
            "currency": "CNY",
        }
        envelope = {"topic": "repayments.missed-payments", "key": customer, "value": value}
        lines.append(orjson.dumps(envelope).decode())
    return lines


def decision_id(value: dict[str, Any]) -> str:
    return str(value.get("escalation_id") or value.get("outreach_id"))


async def test_experiment__live_arms_and_decisions_equal_replay_and_metrics_split_by_arm(
    kafka_bootstrap: str,
    topic_namespace: NamespaceFactory,
    start_worker: WorkerFactory,
    tmp_path: Path,
) -> None:
    policy = load_policy(EXPERIMENT)
    assert policy.experiment is not None
    lines = history(customers=40)
    replayer = Replayer(policy)
    expected = {
        decision_id(v): v
        for item in timeline(lines)
        if isinstance(item, EventItem)
        for v in (d["value"] for d in replayer.feed(item))
    }
    arms = {f"cust-{n:03d}": policy.experiment.arm_of(f"cust-{n:03d}").name for n in range(40)}
    assert set(arms.values()) == {"champion", "challenger"}  # both arms are exercised

    # One partition: the event clock (the largest occurred_at seen) then moves as replay's.
    ns = await topic_namespace(partitions=1)
    env = worker_env(
        bootstrap=kafka_bootstrap,
        namespace=ns.name,
        app_id=f"{ns.name}-app",
        partitions=1,
        data_dir=tmp_path / "data",
        clock="event",
        REPAYMENT_POLICY_FILE=str(EXPERIMENT),
    )
    worker = start_worker("experiment", env)
    worker.wait_ready()
    await produce_sequence(
        kafka_bootstrap,
        [
            (ns.topic("missed-payments"), item.key.decode(), orjson.loads(item.raw))
            for item in timeline(lines)
            if isinstance(item, EventItem) and item.key is not None
        ],
    )
    escalations = await consume(kafka_bootstrap, ns.topic("risk-escalations"), count=40)
    outreach = await consume(kafka_bootstrap, ns.topic("outreach-needed"), count=40)
    got = {decision_id(m.json()): m.json() for m in escalations + outreach}

    assert got == expected  # the worker decides what replay decides under the same file
    for value in got.values():
        assert value["policy_arm"] == arms[value["customer_id"]]
    first_channel = {v["customer_id"]: v["channel"] for v in got.values() if "outreach_id" in v}
    assert {first_channel[c] for c, arm in arms.items() if arm == "challenger"} == {"voice_bot"}
    assert {first_channel[c] for c, arm in arms.items() if arm == "champion"} == {"sms"}

    samples = worker.metrics()
    for arm in ("champion", "challenger"):
        customers = sum(1 for a in arms.values() if a == arm)
        counted = samples.value("repayment_decisions_total", kind="outreach", arm=arm)
        assert counted == customers, arm
