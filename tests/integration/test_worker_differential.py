"""The live worker and the replay command decide alike: same ids, same content.

The sample history goes to the input topics in replay's exact interleaving of events and
clock ticks, one item at a time, to a worker in ``REPAYMENT_CLOCK=event`` mode.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest

from policy import default_policy
from streams.publish import publish_history
from streams.replay import Replayer
from streams.settings import Settings
from tests.integration.conftest import NamespaceFactory
from tests.integration.fixtures import REPO_ROOT, consume
from tests.integration.worker_fixtures import WorkerFactory, worker_env

pytestmark = pytest.mark.integration

SAMPLE = REPO_ROOT / "examples" / "sample_history.jsonl"
UNTIL = datetime(2026, 5, 24, tzinfo=UTC)  # past the last event: time alone decides too
PARTITIONS = 2


def replay_outputs(lines: list[str], until: datetime) -> tuple[list[dict[str, Any]], int]:
    """Replay's output lines and how many clock ticks it applied."""
    replayer = Replayer(default_policy())
    return list(replayer.replay(lines, until)), replayer.stats.ticks


def decision_id(value: dict[str, Any]) -> str:
    return str(value.get("escalation_id") or value["outreach_id"])


async def test_event_clock_worker__emits_exactly_the_decisions_replay_emits(
    kafka_bootstrap: str,
    topic_namespace: NamespaceFactory,
    start_worker: WorkerFactory,
    tmp_path: Path,
) -> None:
    ns = await topic_namespace(partitions=PARTITIONS)
    env = worker_env(
        bootstrap=kafka_bootstrap,
        namespace=ns.name,
        app_id=f"{ns.name}-app",
        partitions=PARTITIONS,
        data_dir=tmp_path / "data",
        clock="event",
    )
    worker = start_worker("differential", env)
    worker.wait_ready()
    lines = SAMPLE.read_text().splitlines()
    expected, ticks = replay_outputs(lines, UNTIL)

    await publish_history(
        Settings.from_env(env), lines, until=UNTIL, ticks=True, worker_url=worker.url
    )

    for suffix in ("risk-escalations", "outreach-needed", "outreach-cancelled"):
        want = [o for o in expected if o["topic"] == f"repayments.{suffix}"]
        assert want, suffix  # the sample exercises every output
        got = await consume(kafka_bootstrap, ns.topic(suffix), count=len(want), settle=2.0)
        got_values = [m.json() for m in got]
        assert sorted(map(decision_id, got_values)) == sorted(decision_id(o["value"]) for o in want)
        by_id = {decision_id(v): v for v in got_values}
        for out in want:
            assert by_id[decision_id(out["value"])] == out["value"]
        assert all(m.key == m.json()["customer_id"].encode() for m in got)
        assert _per_customer_order(got_values) == _per_customer_order([o["value"] for o in want])

    samples = worker.metrics()
    outreach = [o["value"] for o in expected if o["topic"] == "repayments.outreach-needed"]
    escalations = [o for o in expected if o["topic"] == "repayments.risk-escalations"]
    deferred = [v for v in outreach if v["not_before"] > v["decided_at"]]
    assert samples.value("repayment_decisions_total", kind="outreach") == len(outreach)
    assert samples.value("repayment_decisions_total", kind="escalation") == len(escalations)
    assert samples.value("repayment_outreach_deferred_total") == len(deferred) > 0
    assert samples.value("repayment_clock_ticks_total") == PARTITIONS * ticks

    assert_no_personal_data(worker.log_path.read_text(errors="replace"), lines)

    want_letters = [o["value"] for o in expected if o["topic"] == "repayments.dead-letter"]
    letters = await consume(
        kafka_bootstrap, ns.topic("dead-letter"), count=len(want_letters), settle=1.0
    )
    assert Counter(_letter_identity(m.json(), ns.name) for m in letters) == Counter(
        _letter_identity(v, "repayments") for v in want_letters
    )


def _per_customer_order(values: list[dict[str, Any]]) -> dict[str, list[str]]:
    """Decisions of one customer share a partition, so their order is part of the contract."""
    order: dict[str, list[str]] = {}
    for value in values:
        order.setdefault(value["customer_id"], []).append(decision_id(value))
    return order


def _letter_identity(letter: dict[str, Any], namespace: str) -> bytes:
    """Everything but the broker-assigned partition and offset (replay numbers lines)."""
    topic = str(letter["source_topic"]).removeprefix(namespace + ".")
    kept = {k: v for k, v in letter.items() if k not in ("partition", "offset", "source_topic")}
    return orjson.dumps({"topic": topic, **kept}, option=orjson.OPT_SORT_KEYS)


def assert_no_personal_data(log: str, lines: list[str]) -> None:
    """At the default log level the worker logs no customer id, amount or raw input."""
    values = [orjson.loads(text)["value"] for text in lines]
    documents = [v for v in values if isinstance(v, dict)]
    customers = {str(v["customer_id"]) for v in documents if "customer_id" in v}
    amounts = {str(v[k]) for v in documents for k in ("amount", "amount_due") if k in v}
    assert log.strip(), "the worker logged nothing: the scan would prove nothing"
    text = _without_timestamps(log)
    found = sorted(x for x in customers | amounts | {'"event_id"'} if x in text)
    assert found == [], f"personal data in the worker's log: {found}"


def _without_timestamps(log: str) -> str:
    """The log with each JSON record's own ``ts`` left out: a time like 14:02:10.004 holds
    the amount "10.00". Every other field, and every line that is not JSON, is kept."""
    kept = []
    for line in log.splitlines():
        try:
            record = orjson.loads(line)
        except orjson.JSONDecodeError:
            kept.append(line)
            continue
        if isinstance(record, dict):
            record.pop("ts", None)
            kept.append(orjson.dumps(record).decode())
        else:
            kept.append(line)
    return "\n".join(kept)
