"""The hostile corpus through a live worker on the real broker (issue 9, item 6).

The corpus of ``tests/unit/hostile/corpus.py`` (a seeded portfolio of about 3,000 valid
messages with ``HOSTILE_LIVE_INPUTS`` hostile ones mixed in, default 10,000) goes to the
three input topics of a fresh worker (memory store, wall clock, 3 partitions) as fast as
one producer sends it. The test waits until every input is decided or dead-lettered,
restarting the worker whenever it exits (each exit counts as a crash), then compares with
the oracle, replay's decision code run over the same corpus: no crash, nothing lost (every
input decided or dead-lettered), and exactly the dead letters the oracle expects (per raw
message: topic, code and field). It reports inputs, crashes, lost, dead letters by code
and the slowest input, printed and, with ``HOSTILE_REPORT=path``, written as JSON.

It runs in the default suite (about 30 s at 10,000 on 2 cores). On demand, any size:

    HOSTILE_LIVE_INPUTS=10000 HOSTILE_REPORT=var/hostile-live.json \\
        python -m pytest -m hostile_live -s

Run it at least once per change of the decoder (``schemas/decode.py``).
"""

from __future__ import annotations

import asyncio
import base64
import os
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition

from tests.integration.conftest import NamespaceFactory
from tests.integration.fixtures import consume
from tests.integration.worker_fixtures import (
    Samples,
    WorkerFactory,
    WorkerProcess,
    committed_offsets,
    produce_sequence,
    worker_env,
)
from tests.unit.hostile.corpus import Message, Oracle, build, oracle, steady_slowest
from tests.unit.hostile.strategies import LEAD

pytestmark = [pytest.mark.integration, pytest.mark.hostile_live]

INPUTS = int(os.environ.get("HOSTILE_LIVE_INPUTS", "10000"))
PARTITIONS = 3
STALLED_AFTER = 90.0  # seconds without progress: what is left is lost
MAX_CRASHES = 3  # a message that crashes the worker crashes it again after each restart
RESULTS = ("processed", "duplicate", "dead_lettered", "processing_error")


@dataclass
class Run:
    """What the workers did: counts summed over restarts (a crashed worker's last scrape)."""

    inputs: int
    counts: Counter[str] = field(default_factory=Counter)
    crashes: list[str] = field(default_factory=list)
    buckets: Counter[str] = field(default_factory=Counter)  # processing-time histogram

    def done(self, current: Counter[str]) -> int:
        return sum((self.counts + current)[r] for r in RESULTS)


def input_counts(samples: Samples, topics: list[str]) -> tuple[Counter[str], Counter[str]]:
    counts: Counter[str] = Counter()
    for result in (*RESULTS, "rekeyed"):
        counts[result] = int(
            sum(samples.value("repayment_events_total", topic=t, result=result) for t in topics)
        )
    buckets: Counter[str] = Counter()
    for labels in samples.labelsets("repayment_processing_seconds_bucket"):
        if labels.get("topic") in topics:
            le = labels["le"]
            buckets[le] = int(
                sum(
                    samples.value("repayment_processing_seconds_bucket", topic=t, le=le)
                    for t in topics
                )
            )
    return counts, buckets


async def drain(
    worker: WorkerProcess,
    start_worker: WorkerFactory,
    env: dict[str, str],
    run: Run,
    topics: list[str],
) -> WorkerProcess:
    """Until every input is decided or dead-lettered, the workers crashed MAX_CRASHES times,
    or nothing moved for STALLED_AFTER seconds."""
    current: Counter[str] = Counter()
    buckets: Counter[str] = Counter()
    best, moved = -1, time.monotonic()
    while True:
        assert worker.process is not None
        if worker.process.poll() is not None:
            fatal = [str(e.get("exc", e.get("msg")))[-600:] for e in worker.log_events("fatal")]
            run.crashes.append(f"exit {worker.process.returncode}: {fatal or worker.tail(5)}")
            run.counts += current
            run.buckets += buckets
            current, buckets = Counter(), Counter()
            if len(run.crashes) >= MAX_CRASHES:
                return worker
            worker = start_worker(f"hostile-{len(run.crashes)}", env)
            worker.wait_ready(timeout=120)
            moved = time.monotonic()
            continue
        try:
            current, buckets = input_counts(worker.metrics(), topics)
        except (OSError, AssertionError):
            await asyncio.sleep(0.5)
            continue
        done = run.done(current)
        if done >= run.inputs:
            break
        if done > best:
            best, moved = done, time.monotonic()
        elif time.monotonic() - moved > STALLED_AFTER:
            break
        await asyncio.sleep(0.5)
    run.counts += current
    run.buckets += buckets
    return worker


async def uncommitted(bootstrap: str, group: str, topics: list[str], wait: float = 20.0) -> int:
    """Input messages (re-keyed copies included) the worker's group has not committed:
    neither decided nor dead-lettered yet. Waits up to ``wait`` seconds for the last commit."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap)
    await consumer.start()
    try:
        partitions = [TopicPartition(t, p) for t in topics for p in range(PARTITIONS)]
        ends = await consumer.end_offsets(partitions)
    finally:
        await consumer.stop()
    deadline = time.monotonic() + wait
    while True:
        committed = await committed_offsets(bootstrap, group)
        left = sum(ends[tp] - committed.get((tp.topic, tp.partition), 0) for tp in partitions)
        if left == 0 or time.monotonic() > deadline:
            return int(left)
        await asyncio.sleep(0.5)


def letter_identity(letter: dict[str, Any], namespace: str) -> tuple[str, bytes, str, str | None]:
    raw = letter["raw"]
    value = base64.b64decode(raw) if letter.get("raw_encoding") == "base64" else raw.encode()
    topic = str(letter["source_topic"]).removeprefix(namespace + ".")
    return topic, value, letter["error"]["code"], letter["error"]["field"]


def slowest_bucket(buckets: Counter[str]) -> str:
    """The smallest histogram bound every input stayed under, e.g. "<= 0.05 s"."""
    total = buckets.get("+Inf", 0)
    for le in sorted((b for b in buckets if b != "+Inf"), key=float):
        if buckets[le] >= total:
            return f"<= {le} s"
    return "> the largest bucket"


def report(
    corpus: list[Message],
    expected: Oracle,
    run: Run,
    live: Counter[Any],
    stuck: int,
    seconds: dict[str, float],
) -> dict[str, Any]:
    """``lost``: inputs neither decided nor dead-lettered. Without a crash every input is
    counted once (decided by the workers' counters, dead-lettered as found on the topic);
    after a crash a restarted worker processes the uncommitted tail again and the counters
    count it twice, so ``lost`` is then the inputs left uncommitted (``stuck``)."""
    not_after = datetime.now(UTC) + LEAD
    slowest_seconds, slowest_index = steady_slowest(corpus, expected, not_after=not_after)
    dead_lettered = sum(live.values())
    decided = run.counts["processed"] + run.counts["duplicate"]
    return {
        "inputs": len(corpus),
        "hostile": sum(1 for m in corpus if m.family != "valid"),
        "crashes": len(run.crashes),
        "crash_log": run.crashes,
        "lost": stuck if run.crashes else len(corpus) - decided - dead_lettered,
        "stuck": stuck,
        "decided": {"live": decided, "oracle": expected.decided()},
        "rekeyed": run.counts["rekeyed"],
        "dead_letters_by_code": {
            "live": dict(Counter(code for _, _, code, _ in live.elements()).most_common()),
            "oracle": dict(expected.dead_letters().most_common()),
        },
        "slowest_input": {
            "live": slowest_bucket(run.buckets),
            "live_over_50_ms": run.buckets.get("+Inf", 0) - run.buckets.get("0.05", 0),
            "replay_ms": round(slowest_seconds * 1000, 2),
            "replay_message": repr(corpus[slowest_index])[:300],
        },
        "seconds": {k: round(v, 1) for k, v in seconds.items()},
    }


async def test_hostile_corpus__live_worker_decides_or_dead_letters_each_input_as_replay_does(
    kafka_bootstrap: str,
    topic_namespace: NamespaceFactory,
    start_worker: WorkerFactory,
    tmp_path: Path,
) -> None:
    started = time.monotonic()
    ns = await topic_namespace(partitions=PARTITIONS)
    env = worker_env(
        bootstrap=kafka_bootstrap,
        namespace=ns.name,
        app_id=f"{ns.name}-app",
        partitions=PARTITIONS,
        data_dir=tmp_path / "data",
    )
    worker = start_worker("hostile", env)
    corpus = build(INPUTS)
    expected = oracle(corpus, not_after=datetime.now(UTC) + LEAD)
    worker.wait_ready(timeout=120)
    topic = {m.topic: ns.topic(m.topic.removeprefix("repayments.")) for m in corpus}
    published = time.monotonic()

    await produce_sequence(kafka_bootstrap, [(topic[m.topic], m.key, m.value) for m in corpus])
    drained = time.monotonic()
    run = Run(len(corpus))
    worker = await drain(worker, start_worker, env, run, sorted(set(topic.values())))
    letters = await consume(
        kafka_bootstrap,
        ns.topic("dead-letter"),
        count=sum(expected.dead_letters().values()),
        settle=3.0,
        timeout=120,
    )

    stuck = await uncommitted(kafka_bootstrap, f"{ns.name}-app", sorted(set(topic.values())))
    live = Counter(letter_identity(m.json(), ns.name) for m in letters)
    want = Counter(
        (m.topic.removeprefix("repayments."), m.value, e.code, e.field)
        for m, e in zip(corpus, expected.expected, strict=True)
        if e.code is not None
    )
    seconds = {
        "publish": drained - published,
        "drain": time.monotonic() - drained,
        "total": time.monotonic() - started,
    }
    result = report(corpus, expected, run, live, stuck, seconds)
    text = orjson.dumps(result, option=orjson.OPT_INDENT_2).decode()
    print(text)
    if os.environ.get("HOSTILE_REPORT"):
        Path(os.environ["HOSTILE_REPORT"]).parent.mkdir(parents=True, exist_ok=True)
        Path(os.environ["HOSTILE_REPORT"]).write_text(text + "\n")
    assert result["crashes"] == 0, text
    assert result["lost"] == result["stuck"] == 0, text
    assert "processing_error" not in result["dead_letters_by_code"]["live"], text  # a defect
    assert result["dead_letters_by_code"]["live"] == result["dead_letters_by_code"]["oracle"], text
    missing, extra = want - live, live - want
    assert not missing and not extra, (
        f"{text}\nmissing: {list(missing)[:5]}\nunexpected: {list(extra)[:5]}"
    )
    assert result["decided"]["live"] == result["decided"]["oracle"], text
    # At the default log level nothing personal reaches the log, whatever the input.
    log = worker.log_path.read_text(errors="replace")
    keys = {m.key.decode(errors="replace") for m in corpus if m.key}
    customers = {k for k in keys if len(k) >= 8}  # shorter keys could match any log text
    assert log.strip() and customers
    assert [c for c in sorted(customers) if c in log][:5] == []
