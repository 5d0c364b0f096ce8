"""``memory``: worker RSS once it holds N customers (``/proc/<pid>/status``).

The worker starts on empty topics and its idle RSS is read; then one month of the
portfolio (every customer at least one event) is published and consumed, and RSS is read
again after a short settle. ``per customer`` is the growth divided by N: with the memory
store it is the in-process cost of a customer's state, with RocksDB mostly the block cache.
"""

from __future__ import annotations

import asyncio
from typing import Any

from bench.context import Context
from bench.drive import drain
from bench.kafka import ensure_topics, input_topics, output_topics
from bench.portfolio import PortfolioSpec, generate
from bench.publisher import publish
from bench.report import Figure, figure
from bench.worker import WorkerProcess, WorkerSpec

SUITE = "memory"
MONTHS = 1
SETTLE_SECONDS = 2.0


async def load_worker(
    ctx: Context, purpose: str, store: str, customers: int
) -> tuple[WorkerProcess, dict[str, Any]]:
    """Start a worker and feed it a month of ``customers``; the caller stops it."""
    namespace = ctx.namespace(purpose)
    await ensure_topics(
        ctx.bootstrap, input_topics(namespace) + output_topics(namespace), ctx.partitions
    )
    worker = WorkerProcess(
        WorkerSpec(
            bootstrap=ctx.bootstrap,
            app_id=f"{namespace}-worker",
            namespace=namespace,
            store=store,
            data_dir=ctx.workdir / purpose,
            partitions=ctx.partitions,
            command=ctx.worker_command,
            env=ctx.worker_env,
        )
    )
    worker.start()
    try:
        ready = await worker.wait_ready()
        idle = worker.memory_kib()
        spec = PortfolioSpec(customers=customers, months=MONTHS, seed=ctx.seed)
        messages = list(generate(spec))
        await publish(
            ctx.bootstrap,
            messages,
            namespace=namespace,
            partitions=ctx.partitions,
            total=len(messages),
            label=f"publish {purpose}",
        )
        done = await drain(
            worker,
            len(messages),
            bootstrap=ctx.bootstrap,
            topics=input_topics(namespace),
            label=f"{purpose} load",
            stall_seconds=300.0,
        )
        await asyncio.sleep(SETTLE_SECONDS)
        loaded = worker.memory_kib()
    except BaseException:
        await worker.stop()
        raise
    return worker, {
        "customers": customers,
        "events": len(messages),
        "ready_seconds": ready,
        "load_seconds": done.seconds,
        "idle_kib": idle,
        "loaded_kib": loaded,
    }


async def run(ctx: Context) -> tuple[list[Figure], dict[str, Any]]:
    figures: list[Figure] = []
    details: dict[str, Any] = {}
    sizes = ctx.sizes.memory_customers
    runs = [("memory", n) for n in sizes] + [("rocksdb", sizes[-1])]
    for store, customers in runs:
        worker, info = await load_worker(ctx, f"mem-{store}-{customers}", store, customers)
        await worker.stop()
        details[f"{store}-{customers}"] = info
        rss = info["loaded_kib"]["VmRSS"]
        growth = (rss - info["idle_kib"]["VmRSS"]) * 1024 / customers
        label = f"{store} {customers:,} customers"
        figures += [
            figure(
                SUITE,
                f"{label}: RSS",
                rss / 1024,
                "MiB",
                note=f"idle {info['idle_kib']['VmRSS'] / 1024:,.0f} MiB",
            ),
            figure(SUITE, f"{label}: RSS growth per customer", growth, "B"),
        ]
    return figures, details
