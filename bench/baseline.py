"""``baseline``: what bare aiokafka does with the same input log, as the worker's yardstick.

One consumer reads the pre-filled input topics, ``orjson.loads`` each value and produces one
small message per input (commit after every poll), the least a Python stream processor can
do. The clock starts at the first record, so group joining is not counted, as for ``e2e``.
"""

from __future__ import annotations

import time
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer

from bench.context import Context
from bench.kafka import ensure_topics, input_topics
from bench.prefill import shared_prefill
from bench.publisher import make_producer
from bench.report import Figure, figure
from streams.progress import Progress

SUITE = "baseline"
STALL_SECONDS = 60.0


async def run(ctx: Context) -> tuple[list[Figure], dict[str, Any]]:
    pre = await shared_prefill(ctx)
    sink = f"{pre.namespace}.baseline-out"
    await ensure_topics(ctx.bootstrap, [sink], ctx.partitions)
    consumer = AIOKafkaConsumer(
        *input_topics(pre.namespace),
        bootstrap_servers=ctx.bootstrap,
        group_id=f"{pre.namespace}-baseline",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    producer = make_producer(ctx.bootstrap, linger_ms=5)
    await consumer.start()
    await producer.start()
    progress = Progress("baseline", pre.messages)
    count = 0
    first = last_seen = time.perf_counter()
    cpu0 = 0.0
    try:
        while count < pre.messages:
            batches = await consumer.getmany(timeout_ms=500, max_records=2_000)
            now = time.perf_counter()
            if not batches:
                if now - last_seen > STALL_SECONDS:
                    raise RuntimeError(f"baseline stalled at {count}/{pre.messages}")
                continue
            if count == 0:
                first, cpu0 = now, time.process_time()
            last_seen = now
            for records in batches.values():
                for record in records:
                    doc = orjson.loads(record.value)
                    out = {"caused_by": doc["event_id"], "customer_id": doc["customer_id"]}
                    await producer.send(sink, key=record.key, value=orjson.dumps(out))
                    count += 1
            await consumer.commit()
            progress.set(count)
        await producer.flush()
        elapsed = time.perf_counter() - first
        cpu = time.process_time() - cpu0
    finally:
        await producer.stop()
        await consumer.stop()
    progress.close()
    rate = count / elapsed
    ctx.shared["baseline_rate"] = rate
    ctx.shared["baseline_cpu_rate"] = count / cpu
    figures = [
        figure(SUITE, "bare consume->loads->produce events/s", rate, "ev/s"),
        figure(SUITE, "events per CPU-second", count / cpu, "ev/s", note="bench process"),
        figure(SUITE, "prefill publish events/s", pre.published.rate, "ev/s"),
    ]
    details = {
        "namespace": pre.namespace,
        "events": count,
        "seconds": elapsed,
        "cpu_seconds": cpu,
        "prefill_messages": pre.messages,
        "prefill_bytes": pre.published.bytes,
        "prefill_generate_seconds": pre.generate_seconds,
    }
    return figures, details
