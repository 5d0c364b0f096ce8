"""``latency``: produce -> decision at a fixed offered load (p50/p95/p99).

A paced producer sends missed payments of fresh customers (due yesterday, so each one
yields an escalation and a ``missed_payment`` outreach at once) and stamps the send time of
every ``event_id``; a consumer of both decision topics, positioned at their end before the
first send, matches decisions by ``caused_by`` and keeps the first arrival. The first 10%
of each load is warm-up and not counted. An event with no decision within the drain window
(30 s after the last send, 10 s with ``--quick``) counts as infinitely late, so a worker
that cannot keep up shows ``-`` rather than a flattering percentile of the few that made
it. Each load gets a fresh worker (wall clock).
"""

from __future__ import annotations

import asyncio
import math
import time
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from bench.context import Context
from bench.kafka import ensure_topics, input_topics, namespaced, output_topics
from bench.report import Figure, figure, percentile
from bench.worker import WorkerProcess, WorkerSpec
from schemas.events import MISSED_PAYMENTS
from schemas.outputs import OUTREACH_NEEDED, RISK_ESCALATIONS
from streams.progress import Progress

SUITE = "latency"
P99_TARGETS_MS: dict[int, float] = {2_000: 50.0, 5_000: 100.0}
"""Issue 10: p99 <= 50 ms at 2,000 events/s and <= 100 ms at 5,000 events/s offered."""
WARMUP = 0.1


def _missed_payment(event_id: str, customer: str, due: str) -> bytes:
    now = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return orjson.dumps(
        {
            "event_id": event_id,
            "customer_id": customer,
            "occurred_at": now,
            "installment_id": f"{customer}-1",
            "due_date": due,
            "amount_due": "1200.00",
            "currency": "CNY",
        }
    )


async def _collect(
    consumer: AIOKafkaConsumer, sent: dict[str, float], got: dict[str, float], stop: asyncio.Event
) -> None:
    while not stop.is_set():
        batches = await consumer.getmany(timeout_ms=50)
        now = time.perf_counter()
        for records in batches.values():
            for record in records:
                cause = orjson.loads(record.value).get("caused_by")
                if cause in sent and cause not in got:
                    got[cause] = now


async def _one_load(ctx: Context, load: int) -> dict[str, Any]:
    namespace = ctx.namespace(f"lat{load}")
    await ensure_topics(
        ctx.bootstrap, input_topics(namespace) + output_topics(namespace), ctx.partitions
    )
    worker = WorkerProcess(
        WorkerSpec(
            bootstrap=ctx.bootstrap,
            app_id=f"{namespace}-worker",
            namespace=namespace,
            store="memory",
            data_dir=ctx.workdir / f"latency-{load}",
            partitions=ctx.partitions,
            command=ctx.worker_command,
            env=ctx.worker_env,
            clock="wall",
        )
    )
    consumer = AIOKafkaConsumer(
        bootstrap_servers=ctx.bootstrap, enable_auto_commit=False, fetch_max_wait_ms=5
    )
    producer = AIOKafkaProducer(bootstrap_servers=ctx.bootstrap, acks=1, linger_ms=1)
    worker.start()
    await consumer.start()
    await producer.start()
    try:
        await worker.wait_ready()
        parts = [
            TopicPartition(namespaced(t, namespace), p)
            for t in (RISK_ESCALATIONS, OUTREACH_NEEDED)
            for p in range(ctx.partitions)
        ]
        consumer.assign(parts)
        await consumer.seek_to_end(*parts)
        for tp in parts:
            await consumer.position(tp)
        sent: dict[str, float] = {}
        got: dict[str, float] = {}
        stop = asyncio.Event()
        collector = asyncio.create_task(_collect(consumer, sent, got, stop))
        total = int(load * ctx.sizes.latency_seconds)
        topic = namespaced(MISSED_PAYMENTS, namespace)
        yesterday = datetime.now(ZoneInfo("Asia/Shanghai")).date() - timedelta(days=1)
        due = yesterday.isoformat()
        progress = Progress(f"latency {load:,}/s", total)
        order: list[str] = []
        start = time.perf_counter()
        i = 0
        while i < total:
            due_now = min(int((time.perf_counter() - start) * load) + 1, total)
            while i < due_now:
                event_id = f"lat-{ctx.run_id}-{load}-{i}"
                customer = f"L{load}-{i:07d}"
                value = _missed_payment(event_id, customer, due)
                order.append(event_id)
                sent[event_id] = time.perf_counter()
                await producer.send(topic, key=customer.encode(), value=value)
                i += 1
            progress.set(i)
            await asyncio.sleep(0.002)
        send_seconds = time.perf_counter() - start
        progress.close()
        deadline = time.perf_counter() + ctx.sizes.latency_drain_seconds
        while len(got) < total and time.perf_counter() < deadline:
            await asyncio.sleep(0.1)
        stop.set()
        await collector
    finally:
        await producer.stop()
        await consumer.stop()
        await worker.stop()
    counted = order[int(WARMUP * total) :]
    lat = sorted((got[e] - sent[e]) * 1000 if e in got else math.inf for e in counted)
    missing = sum(1 for e in counted if e not in got)

    def pct(q: float) -> float | None:
        value = percentile(lat, q)
        return None if math.isinf(value) else value

    return {
        "offered_rate": total / send_seconds,
        "events": total,
        "counted": len(counted),
        "missing": missing,
        "p50_ms": pct(50),
        "p95_ms": pct(95),
        "p99_ms": pct(99),
        "max_ms": pct(100),
    }


async def run(ctx: Context) -> tuple[list[Figure], dict[str, Any]]:
    figures: list[Figure] = []
    details: dict[str, Any] = {}
    for load in ctx.sizes.latency_loads:
        r = details[str(load)] = await _one_load(ctx, load)
        note = f"offered {r['offered_rate']:,.0f}/s; {r['missing']:,} of {r['counted']:,} undecided"
        for q in ("p50", "p95"):
            figures.append(figure(SUITE, f"{load:,}/s {q}", r[f"{q}_ms"], "ms"))
        p99_target = P99_TARGETS_MS.get(load)
        figures.append(
            figure(SUITE, f"{load:,}/s p99", r["p99_ms"], "ms", at_most=p99_target, note=note)
        )
    return figures, details
