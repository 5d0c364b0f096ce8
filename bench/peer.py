"""``peer``: quixstreams hosting this project's own core on the same log, beside the worker.

``bench.peer_app`` runs in a child process (its CPU time is its own, as the worker's is) on
the pre-filled input log that ``baseline`` and ``e2e`` consume, in a consumer group of its
own. Its rate is defined as ``e2e``'s: sustained between 10% and 90% of the log, CPU time
from the first event to the last. Read it per CPU-second beside ``baseline`` and ``e2e`` of
the same run: worker/peer per CPU-second is the issue's target (the RocksDB worker >= 1.0x).
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Mapping
from typing import Any

from bench.child import run_child
from bench.context import Context
from bench.drive import Drained
from bench.prefill import shared_prefill
from bench.report import Figure, figure

SUITE = "peer"
PEER = "quixstreams+core"
WORKER_TARGET = 1.0  # the RocksDB worker per CPU-second over the peer's


async def run(ctx: Context) -> tuple[list[Figure], dict[str, Any]]:
    if importlib.util.find_spec("quixstreams") is None:
        raise RuntimeError("quixstreams is not installed: pip install -e '.[bench]'")
    pre = await shared_prefill(ctx)
    print(f"peer: quixstreams on {pre.messages:,} events", file=sys.stderr)
    env = {
        "PEER_BOOTSTRAP": ctx.bootstrap,
        "PEER_NAMESPACE": pre.namespace,
        "PEER_EVENTS": str(pre.messages),
        "PEER_GROUP": f"{pre.namespace}-peer",
        "PEER_STATE_DIR": str(ctx.workdir / "peer-state"),
    }
    result = await run_child(
        ctx.workdir,
        "peer",
        ("-m", "bench.peer_app"),
        env,
        result_variable="PEER_RESULT",
        timeout=120 + pre.messages / 500,
    )
    figures = peer_figures(
        result,
        baseline_rate=ctx.shared.get("baseline_rate"),
        baseline_cpu_rate=ctx.shared.get("baseline_cpu_rate"),
        workers=ctx.shared.get("e2e", {}),
    )
    return figures, {"events": pre.messages, "namespace": pre.namespace, PEER: result}


def peer_figures(
    result: Mapping[str, Any],
    *,
    baseline_rate: float | None,
    baseline_cpu_rate: float | None,
    workers: Mapping[str, Drained],
) -> list[Figure]:
    """The peer's rates, over ``baseline``'s, and ``e2e``'s workers over the peer's."""
    rate = result["sustained_rate"]
    per_cpu = result["events"] / result["cpu_seconds"] if result["cpu_seconds"] else None
    figures = [
        figure(SUITE, f"{PEER}: sustained events/s", rate, "ev/s"),
        figure(SUITE, f"{PEER}: events per CPU-second", per_cpu, "ev/s", note="noise-robust"),
    ]
    if baseline_rate:
        figures.append(figure(SUITE, f"{PEER}: /baseline", rate / baseline_rate, "x"))
    if baseline_cpu_rate and per_cpu:
        figures.append(
            figure(SUITE, f"{PEER}: /baseline per CPU-second", per_cpu / baseline_cpu_rate, "x")
        )
    for store, done in workers.items():
        worker_cpu = done.events / done.cpu_seconds if done.cpu_seconds else None
        figures.append(
            figure(
                SUITE,
                f"worker {store}/peer per CPU-second",
                worker_cpu / per_cpu if worker_cpu and per_cpu else None,
                "x",
                at_least=WORKER_TARGET if store == "rocksdb" else None,
                note="e2e of this run",
            )
        )
        figures.append(
            figure(
                SUITE,
                f"worker {store}/peer events/s",
                done.sustained_rate / rate if rate else None,
                "x",
            )
        )
    return figures
