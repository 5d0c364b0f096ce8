"""``e2e``: one worker from a pre-filled input log to decisions, memory and RocksDB stores.

The rate is read from the worker's own ``repayment_events_total`` (every input counted once,
whatever its result) and confirmed by the consumer group's committed offsets. It is compared
with ``baseline`` on the same log in the same run, which cancels most of the machine noise.
"""

from __future__ import annotations

from typing import Any

from bench import baseline
from bench.context import Context
from bench.drive import drain
from bench.kafka import input_topics
from bench.prefill import shared_prefill
from bench.report import Figure, figure
from bench.worker import WorkerProcess, WorkerSpec

SUITE = "e2e"
E2E_TARGET = 20_000
RATIO_TARGET = 0.5
STORES = ("memory", "rocksdb")


async def run(ctx: Context) -> tuple[list[Figure], dict[str, Any]]:
    pre = await shared_prefill(ctx)
    figures: list[Figure] = []
    details: dict[str, Any] = {"events": pre.messages, "namespace": pre.namespace}
    if "baseline_rate" not in ctx.shared:
        base_figures, details["baseline"] = await baseline.run(ctx)
        figures.extend(base_figures)
    base_rate = ctx.shared["baseline_rate"]
    for store in STORES:
        spec = WorkerSpec(
            bootstrap=ctx.bootstrap,
            app_id=f"{pre.namespace}-e2e-{store}",
            namespace=pre.namespace,
            store=store,
            data_dir=ctx.workdir / f"e2e-{store}",
            partitions=ctx.partitions,
            command=ctx.worker_command,
            env=ctx.worker_env,
        )
        worker = WorkerProcess(spec)
        worker.start()
        try:
            ready = await worker.wait_ready()
            done = await drain(
                worker,
                pre.messages,
                bootstrap=ctx.bootstrap,
                topics=input_topics(pre.namespace),
                label=f"e2e {store}",
            )
            memory = worker.memory_kib()
            decisions = await worker.metric_sum("repayment_decisions_total")
        finally:
            await worker.stop()
        rate = done.sustained_rate
        figures += [
            figure(SUITE, f"{store}: sustained events/s", rate, "ev/s", at_least=E2E_TARGET),
            figure(
                SUITE, f"{store}: worker/baseline", rate / base_rate, "x", at_least=RATIO_TARGET
            ),
            figure(
                SUITE,
                f"{store}: events per worker CPU-second",
                done.events / done.cpu_seconds if done.cpu_seconds else None,
                "ev/s",
                note="noise-robust",
            ),
        ]
        ctx.shared.setdefault("e2e", {})[store] = done  # for ``peer``: worker/peer
        details[store] = {
            "ready_seconds": ready,
            "events": done.events,
            "seconds": done.seconds,
            "overall_rate": done.rate,
            "sustained_rate": rate,
            "cpu_seconds": done.cpu_seconds,
            "committed": done.committed,
            "rss_kib": memory,
            "decisions": decisions,
            "baseline_rate": base_rate,
        }
    return figures, details
