"""``floor``: what Faust itself costs per event, the ceiling of any Faust worker here.

A Faust agent that only decodes each input and produces one record (``bench.floor_app``),
on the same pre-filled log as ``baseline`` and ``e2e``: once with stock ``faust.App``, once
with the worker's ``FastConsumer``. Read ``e2e`` against these: the gap between ``floor``
and ``baseline`` is Faust's stream machinery, the gap between ``e2e`` and ``floor`` is
ours (decoding, the decision core, state round trip, changelog, metrics).
"""

from __future__ import annotations

import sys
from typing import Any

from bench.child import run_child
from bench.context import Context
from bench.kafka import ensure_topics
from bench.prefill import shared_prefill
from bench.report import Figure, figure

SUITE = "floor"
VARIANTS = (("faust.App", "0"), ("FastConsumer", "1"))


async def run(ctx: Context) -> tuple[list[Figure], dict[str, Any]]:
    pre = await shared_prefill(ctx)
    await ensure_topics(ctx.bootstrap, [f"{pre.namespace}.floor-out"], ctx.partitions)
    figures: list[Figure] = []
    details: dict[str, Any] = {"events": pre.messages}
    base_rate = ctx.shared.get("baseline_rate")
    for name, fast in VARIANTS:
        print(f"floor: {name} on {pre.messages:,} events", file=sys.stderr)
        result = await _run_floor(ctx, pre.namespace, pre.messages, fast)
        rate = result["events"] / result["seconds"]
        details[name] = result
        figures += [
            figure(SUITE, f"{name}: events/s", rate, "ev/s"),
            figure(
                SUITE,
                f"{name}: events per CPU-second",
                result["events"] / result["cpu_seconds"],
                "ev/s",
                note="noise-robust",
            ),
        ]
        if base_rate:
            figures.append(figure(SUITE, f"{name}: /baseline", rate / base_rate, "x"))
    return figures, details


async def _run_floor(ctx: Context, namespace: str, events: int, fast: str) -> dict[str, Any]:
    env = {
        "FLOOR_BOOTSTRAP": ctx.bootstrap,
        "FLOOR_NAMESPACE": namespace,
        "FLOOR_EVENTS": str(events),
        "FLOOR_FAST": fast,
        "FLOOR_GROUP": f"{namespace}-floor-{fast}",
    }
    return await run_child(
        ctx.workdir,
        f"floor-{fast}",
        ("-m", "bench.floor_app", "worker", "-l", "warn"),
        env,
        result_variable="FLOOR_RESULT",
        timeout=60 + events / 500,
    )
