"""``core``: events per second through ``policy.apply`` alone (no Kafka, one process).

Events are generated and decoded in chunks before the clock starts, so the figure is the
decision core's own cost; the state round trip the worker pays on every event
(``decode_state`` of the stored blob, ``apply``, ``encode_state``) is timed as a second
figure, on the last chunk. The clock is the event clock (each event is decided at its
``occurred_at``), as in replay.
"""

from __future__ import annotations

import itertools
import statistics
import time
from typing import Any

from bench.context import Context
from bench.portfolio import PortfolioSpec, generate
from bench.report import Figure, figure, percentile
from schemas.decode import decode_input
from schemas.errors import InvalidEvent
from schemas.events import InputEvent
from streams import gctune
from streams.progress import Progress

SUITE = "core"
CORE_TARGET = 100_000
ROUND_TRIP_TARGET = 60_000
"""Issue 10: the state round trip with 100,000 customers' states, per CPU-second."""
STATE_TARGET = 2_048
CHUNK = 50_000


def run(ctx: Context) -> tuple[list[Figure], dict[str, Any]]:
    from policy import apply, default_policy, tick
    from policy.state import decode_state, encode_state

    policy = default_policy()
    gctune.tune()  # as in the worker and replay (streams.cli)
    spec = PortfolioSpec(ctx.sizes.core_customers, ctx.sizes.stream_months, seed=ctx.seed)
    source = generate(spec)
    states: dict[str, Any] = {}
    before: dict[str, Any] = {}
    chunk: list[InputEvent] = []
    count = decisions = rejected = 0
    generate_cpu = decode_cpu = apply_cpu = apply_wall = 0.0
    progress = Progress("core: generate, decode, apply")
    while True:
        # Chunks bound memory at millions of events; only decoding and applying are timed.
        cpu0 = time.process_time()
        raw = list(itertools.islice(source, CHUNK))
        cpu1 = time.process_time()
        if not raw:
            break
        chunk = [decode_input(msg.topic, msg.value) for msg in raw]
        cpu2 = time.process_time()
        generate_cpu += cpu1 - cpu0
        decode_cpu += cpu2 - cpu1
        before = dict(states)
        wall0, cpu0 = time.perf_counter(), time.process_time()
        for event in chunk:
            cid = event.header.customer_id
            try:
                step = apply(states.get(cid), event, event.header.occurred_at, policy)
            except InvalidEvent:
                rejected += 1
                continue
            states[cid] = step.state
            decisions += len(step.decisions)
        apply_wall += time.perf_counter() - wall0
        apply_cpu += time.process_time() - cpu0
        count += len(chunk)
        progress.set(count)
    progress.close()

    # The worker's per-event path also decodes and re-encodes the stored state: replay the
    # last chunk from the states it started with, through encoded blobs.
    blobs = {cid: encode_state(s) for cid, s in before.items()}
    cpu0 = time.process_time()
    for event in chunk:
        cid = event.header.customer_id
        blob = blobs.get(cid)
        state = decode_state(blob) if blob is not None else None
        try:
            step = apply(state, event, event.header.occurred_at, policy)
        except InvalidEvent:
            continue
        blobs[cid] = encode_state(step.state)
    roundtrip_cpu = time.process_time() - cpu0

    last = max(e.header.occurred_at for e in chunk)
    cpu0 = time.process_time()
    for state in states.values():
        tick(state, last, policy)
    tick_cpu = time.process_time() - cpu0

    sizes = sorted(len(encode_state(s)) for s in states.values())
    rate_wall = count / apply_wall
    rate_cpu = count / apply_cpu
    figures = [
        figure(SUITE, "apply events/s (wall)", rate_wall, "ev/s", at_least=CORE_TARGET),
        figure(SUITE, "apply events/s (CPU time)", rate_cpu, "ev/s", note="noise-robust"),
        figure(
            SUITE,
            "decode_state+apply+encode_state events/s",
            len(chunk) / roundtrip_cpu,
            "ev/s",
            at_least=ROUND_TRIP_TARGET,
            note="CPU time; the worker's per-event core path",
        ),
        figure(SUITE, "decode_input events/s", count / decode_cpu, "ev/s", note="CPU time"),
        figure(SUITE, "tick customers/s", len(states) / tick_cpu, "cust/s", note="CPU time"),
        figure(SUITE, "state bytes median", statistics.median(sizes), "B", at_most=STATE_TARGET),
        figure(SUITE, "state bytes p95", percentile(sizes, 95), "B"),
        figure(SUITE, "state bytes max", sizes[-1], "B"),
    ]
    details = {
        "customers": len(states),
        "events": count,
        "decisions": decisions,
        "rejected": rejected,
        "generate_cpu_seconds": generate_cpu,
        "generate_events_per_cpu_s": count / generate_cpu,
        "apply_wall_seconds": apply_wall,
        "apply_cpu_seconds": apply_cpu,
        "state_bytes_p99": percentile(sizes, 99),
    }
    return figures, details
