"""``scale``: one worker, then two worker processes in one consumer group, on the same log.

Both configurations consume the portfolio that ``baseline`` and ``e2e`` consume (same
customers, months, seed and partitions: at least two, 6 by default), each in topics and a
consumer group of its own, with the RocksDB store and the event clock as ``e2e``. The log is
published once the group has settled (every worker ready and owning partitions): two
workers started on a pre-filled log would have the first one consume alone until the second
joins, then a rebalance re-delivers what was not committed yet, and the figure would measure
start-up, not scaling. Publishing takes about 2% of the time the workers take, before the
10% mark. Rates are ``e2e``'s: the group's ``repayment_events_total`` summed over its
workers, sustained between 10% and 90% of the log; CPU time summed over its processes. Two
workers run with production settings, each keeping a standby replica of the other's table
partitions. The issue's targets: one worker >= 15,000 events/s; two >= 1.7x one.
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Sequence
from typing import Any

from bench.context import Context
from bench.drive import Drained, drain
from bench.kafka import ensure_topics, input_topics, output_topics
from bench.portfolio import InputMessage
from bench.publisher import publish
from bench.report import Figure, figure
from bench.worker import WorkerGroup, WorkerProcess, WorkerSpec

SUITE = "scale"
STORE = "rocksdb"
ONE_TARGET = 15_000
RATIO_TARGET = 1.7


async def run(ctx: Context) -> tuple[list[Figure], dict[str, Any]]:
    if ctx.partitions < 2:
        raise RuntimeError(f"two workers need at least 2 partitions, the log has {ctx.partitions}")
    sizes = ctx.sizes
    messages = ctx.portfolio(sizes.stream_customers, sizes.stream_months)
    one, one_each = await _run_group(ctx, messages, 1)
    two, two_each = await _run_group(ctx, messages, 2)
    details = {
        "events": len(messages),
        "partitions": ctx.partitions,
        "store": STORE,
        "1": {**_as_dict(one), "events_each": one_each},
        "2": {**_as_dict(two), "events_each": two_each},
    }
    return scale_figures(one, two, two_each), details


async def _run_group(
    ctx: Context, messages: Sequence[InputMessage], size: int
) -> tuple[Drained, list[float]]:
    namespace = ctx.namespace(f"scale{size}")
    await ensure_topics(
        ctx.bootstrap, input_topics(namespace) + output_topics(namespace), ctx.partitions
    )
    workers = [
        WorkerProcess(
            WorkerSpec(
                bootstrap=ctx.bootstrap,
                app_id=f"{namespace}-{STORE}",
                namespace=namespace,
                store=STORE,
                data_dir=ctx.workdir / f"scale-{size}-{n}",
                partitions=ctx.partitions,
                command=ctx.worker_command,
                env=ctx.worker_env,
            )
        )
        for n in range(size)
    ]
    group = WorkerGroup(workers)
    print(f"scale: {size} worker(s) on {len(messages):,} events", file=sys.stderr)
    for worker in workers:
        worker.start()
    try:
        await asyncio.gather(*(w.wait_ready() for w in workers))
        await settled(group, ctx.partitions)
        await publish(
            ctx.bootstrap,
            messages,
            namespace=namespace,
            partitions=ctx.partitions,
            total=len(messages),
            label=f"publish scale{size}",
        )
        done = await drain(
            group,
            len(messages),
            bootstrap=ctx.bootstrap,
            topics=input_topics(namespace),
            label=f"scale {size}",
        )
        each = await group.events_each()
    finally:
        await asyncio.gather(*(w.stop() for w in workers))
    return done, each


async def settled(group: WorkerGroup, partitions: int, timeout: float = 300.0) -> None:
    """Until every worker is ready and owns some of the ``partitions``, all of them owned."""
    deadline = time.perf_counter() + timeout
    owned: list[float] = []
    while time.perf_counter() < deadline:
        group.check_alive()
        owned = list(
            await asyncio.gather(
                *(w.metric_sum("repayment_assigned_partitions") for w in group.workers)
            )
        )
        if is_settled(owned, partitions) and all(await group.ready_each()):
            return
        await asyncio.sleep(0.5)
    raise TimeoutError(f"the group did not settle in {timeout:.0f}s: partitions owned {owned}")


def is_settled(owned: Sequence[float], partitions: int) -> bool:
    """Every worker owns at least one partition and together they own all."""
    return all(n >= 1 for n in owned) and sum(owned) == partitions


def scale_figures(one: Drained, two: Drained, two_each: Sequence[float]) -> list[Figure]:
    """Each group's rates and two over one; the note says how the two split the events."""
    split = "/".join(f"{n:,.0f}" for n in two_each)
    ratio = two.sustained_rate / one.sustained_rate if one.sustained_rate else None
    return [
        figure(
            SUITE, "1 worker: sustained events/s", one.sustained_rate, "ev/s", at_least=ONE_TARGET
        ),
        figure(
            SUITE, "1 worker: events per CPU-second", _per_cpu(one), "ev/s", note="noise-robust"
        ),
        figure(SUITE, "2 workers: sustained events/s", two.sustained_rate, "ev/s"),
        figure(
            SUITE,
            "2 workers: events per CPU-second",
            _per_cpu(two),
            "ev/s",
            note="both processes' CPU time",
        ),
        figure(
            SUITE, "2 workers/1", ratio, "x", at_least=RATIO_TARGET, note=f"events split {split}"
        ),
    ]


def _per_cpu(done: Drained) -> float | None:
    return done.events / done.cpu_seconds if done.cpu_seconds else None


def _as_dict(done: Drained) -> dict[str, Any]:
    return {
        "events": done.events,
        "seconds": done.seconds,
        "overall_rate": done.rate,
        "sustained_rate": done.sustained_rate,
        "cpu_seconds": done.cpu_seconds,
        "committed": done.committed,
    }
