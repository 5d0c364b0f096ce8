"""``recovery``: restart a worker whose table is full; time until ``/readyz`` is 200.

A worker is loaded with one month of N customers (as in ``memory``), stopped cleanly
(SIGTERM), and started again with the same app id and data dir. With RocksDB the table is
on local disk and only the changelog tail is read; with the memory store the whole
changelog is replayed. The figure is from process start to ready, interpreter and Faust
start-up included, because that is what an operator waits for.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from bench.context import Context
from bench.memory import load_worker
from bench.report import Figure, figure
from bench.worker import WorkerProcess

SUITE = "recovery"
TARGET_SECONDS = 30.0
TARGET_CUSTOMERS = 1_000_000


async def _owned(worker: WorkerProcess, expected: int, within: float = 10.0) -> float:
    """Customers the restarted worker reports owning (its census may lag readiness a bit)."""
    deadline = time.perf_counter() + within
    owned = await worker.metric_sum("repayment_customers")
    while owned < expected and time.perf_counter() < deadline:
        await asyncio.sleep(0.5)
        owned = await worker.metric_sum("repayment_customers")
    return owned


async def run(ctx: Context) -> tuple[list[Figure], dict[str, Any]]:
    figures: list[Figure] = []
    details: dict[str, Any] = {}
    customers = ctx.sizes.recovery_customers
    for store in ("rocksdb", "memory"):
        worker, info = await load_worker(ctx, f"rec-{store}-{customers}", store, customers)
        info["stop_seconds"] = await worker.stop()
        again = WorkerProcess(worker.spec)
        again.start()
        try:
            info["ready_seconds_after_restart"] = await again.wait_ready()
            info["restarted_kib"] = again.memory_kib()
            info["customers_after_restart"] = await _owned(again, customers)
        finally:
            await again.stop()
        details[store] = info
        target = TARGET_SECONDS if store == "rocksdb" and customers >= TARGET_CUSTOMERS else None
        figures += [
            figure(
                SUITE,
                f"{store} {customers:,} customers: restart to ready",
                info["ready_seconds_after_restart"],
                "s",
                at_most=target,
                note=f"first start {info['ready_seconds']:.1f}s; stop {info['stop_seconds']:.1f}s",
            ),
            figure(
                SUITE,
                f"{store} {customers:,} customers: customers owned after restart",
                info["customers_after_restart"],
                "cust",
                note="repayment_customers; should equal N",
            ),
            figure(
                SUITE,
                f"{store} {customers:,} customers: RSS after restart",
                info["restarted_kib"]["VmRSS"] / 1024,
                "MiB",
                note=f"before restart {info['loaded_kib']['VmRSS'] / 1024:,.0f} MiB",
            ),
        ]
    return figures, details
