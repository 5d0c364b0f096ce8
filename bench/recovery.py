"""``recovery``: a worker whose table holds N customers starts; time until ``/readyz`` is 200.

The table's changelog is filled directly (a year of history of up to 10,000 distinct
customers, encoded with ``policy.state``, cloned under new ids up to N), which takes
seconds even at 1,000,000 customers where feeding events through the worker would take
hours. Then, per store:

- RocksDB, cold: a new worker with an empty data dir restores the whole changelog;
- RocksDB, restart: the same worker stopped with SIGTERM and started again on its data dir
  reads only the changelog tail (the issue's target: < 30 s at 1,000,000 customers);
- memory: every start replays the whole changelog.

Each figure runs from process start (interpreter and Faust start-up included, as an
operator waits for it) to ``/readyz`` 200, and checks that the worker then reports owning
all N customers (``repayment_customers``).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from typing import Any

from bench.context import Context
from bench.kafka import ensure_topics, input_topics, output_topics
from bench.portfolio import InputMessage, PortfolioSpec, generate
from bench.publisher import publish
from bench.report import Figure, figure
from bench.worker import WorkerProcess, WorkerSpec
from schemas.decode import decode_input
from schemas.errors import InvalidEvent
from streams.tables import TABLE_NAME

SUITE = "recovery"
TARGET_SECONDS = 30.0
TARGET_CUSTOMERS = 1_000_000
DISTINCT = 10_000
PHASES = {
    ("rocksdb", "cold"): "start, empty store",
    ("rocksdb", "restart"): "restart, local store",
    ("memory", "cold"): "start (changelog replay)",
}


def state_blobs(seed: int, customers: int) -> Iterator[tuple[bytes, bytes]]:
    """``(key, encoded state)`` for ``customers`` customers with a year of history each."""
    from policy import apply, default_policy
    from policy.state import encode_state

    policy = default_policy()
    states: dict[str, Any] = {}
    for msg in generate(PortfolioSpec(min(customers, DISTINCT), 12, seed)):
        event = decode_input(msg.topic, msg.value)
        cid = event.header.customer_id
        try:
            states[cid] = apply(states.get(cid), event, event.header.occurred_at, policy).state
        except InvalidEvent:
            continue
    blobs = [(cid, encode_state(state)) for cid, state in states.items()]
    for n in range(customers):
        cid, blob = blobs[n % len(blobs)]
        clone = n // len(blobs)
        if clone == 0:
            yield cid.encode(), blob
        else:
            new = f"{cid}-{clone}"
            yield new.encode(), blob.replace(f'"{cid}"'.encode(), f'"{new}"'.encode(), 1)


async def _start(worker: WorkerProcess, customers: int) -> dict[str, Any]:
    worker.start()
    ready = await worker.wait_ready(timeout=3_600.0)
    owned = await worker.metric_sum("repayment_customers")
    while owned < customers and time.perf_counter() - worker.started_at < ready + 300.0:
        await asyncio.sleep(0.5)
        owned = await worker.metric_sum("repayment_customers")
    return {
        "ready_seconds": ready,
        "owned": owned,
        "owned_seconds": time.perf_counter() - worker.started_at,
        "rss_kib": worker.memory_kib(),
    }


async def run(ctx: Context) -> tuple[list[Figure], dict[str, Any]]:
    customers = ctx.sizes.recovery_customers
    namespace = ctx.namespace("recovery")
    await ensure_topics(
        ctx.bootstrap, input_topics(namespace) + output_topics(namespace), ctx.partitions
    )
    figures: list[Figure] = []
    details: dict[str, Any] = {"customers": customers}
    for store in ("rocksdb", "memory"):
        app_id = f"{namespace}-{store}"
        changelog = f"{app_id}-{TABLE_NAME}-changelog"
        await ensure_topics(
            ctx.bootstrap, [changelog], ctx.partitions, {"cleanup.policy": "compact"}
        )
        filled = await publish(
            ctx.bootstrap,
            (
                InputMessage(0, changelog, key, blob)
                for key, blob in state_blobs(ctx.seed, customers)
            ),
            namespace=None,
            partitions=ctx.partitions,
            total=customers,
            label=f"fill {store} changelog",
        )
        spec = WorkerSpec(
            bootstrap=ctx.bootstrap,
            app_id=app_id,
            namespace=namespace,
            store=store,
            data_dir=ctx.workdir / f"recovery-{store}",
            partitions=ctx.partitions,
            command=ctx.worker_command,
            env=ctx.worker_env,
        )
        runs = {"cold": WorkerProcess(spec)}
        if store == "rocksdb":
            runs["restart"] = WorkerProcess(spec)
        info: dict[str, Any] = {"changelog_bytes": filled.bytes}
        for phase, worker in runs.items():
            try:
                result = await _start(worker, customers)
            finally:
                stopped = await worker.stop()
            result["stop_seconds"] = stopped
            info[phase] = result
        details[store] = info
        for phase in runs:
            result = info[phase]
            label = f"{store} {customers:,} customers: {PHASES[store, phase]}"
            target = (
                TARGET_SECONDS
                if (store, phase) == ("rocksdb", "restart") and customers >= TARGET_CUSTOMERS
                else None
            )
            note = (
                f"owned {result['owned']:,.0f} after {result['owned_seconds']:.1f}s; "
                f"RSS {result['rss_kib']['VmRSS'] / 1024:,.0f} MiB"
            )
            figures.append(
                figure(SUITE, label, result["ready_seconds"], "s", at_most=target, note=note)
            )
    return figures, details
