"""``core``: events per second through ``policy.apply`` alone (no Kafka, one process).

Events are decoded before the clock starts, so the figure is the decision core's own cost:
the state round trip the worker pays on every event (``decode_state`` of the stored blob,
``apply``, ``encode_state``) is timed as a second figure. The clock is the event clock
(each event is decided at its ``occurred_at``), as in replay.
"""

from __future__ import annotations

import statistics
import time
from typing import Any

from bench.context import Context
from bench.progress import Progress
from bench.report import Figure, figure, percentile
from schemas.decode import decode_input
from schemas.errors import InvalidEvent
from schemas.events import InputEvent

SUITE = "core"
CORE_TARGET = 100_000
STATE_TARGET = 2_048


def run(ctx: Context) -> tuple[list[Figure], dict[str, Any]]:
    from policy import apply, default_policy, tick
    from policy.state import decode_state, encode_state

    policy = default_policy()
    started = time.perf_counter()
    messages = ctx.portfolio(ctx.sizes.core_customers, ctx.sizes.stream_months)
    generated = time.perf_counter() - started
    progress = Progress("core: decode", len(messages))
    t0 = time.process_time()
    events: list[InputEvent] = []
    for n, msg in enumerate(messages, 1):
        events.append(decode_input(msg.topic, msg.value))
        if n & 0x3FFF == 0:
            progress.set(n)
    decode_cpu = time.process_time() - t0
    progress.set(len(events))
    progress.close()

    states: dict[str, Any] = {}
    decisions = rejected = 0
    progress = Progress("core: apply", len(events))
    wall0, cpu0 = time.perf_counter(), time.process_time()
    for n, event in enumerate(events, 1):
        cid = event.header.customer_id
        try:
            step = apply(states.get(cid), event, event.header.occurred_at, policy)
        except InvalidEvent:
            rejected += 1
            continue
        states[cid] = step.state
        decisions += len(step.decisions)
        if n & 0x3FFF == 0:
            progress.set(n)
    apply_wall, apply_cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    progress.set(len(events))
    progress.close()

    # The worker's per-event path also decodes and re-encodes the stored state.
    sample = events[: min(len(events), 50_000)]
    blobs = {cid: encode_state(s) for cid, s in states.items()}
    cpu0 = time.process_time()
    for event in sample:
        cid = event.header.customer_id
        blob = blobs.get(cid)
        state = decode_state(blob) if blob is not None else None
        try:
            step = apply(state, event, event.header.occurred_at, policy)
        except InvalidEvent:
            continue
        blobs[cid] = encode_state(step.state)
    roundtrip_cpu = time.process_time() - cpu0

    last = max(e.header.occurred_at for e in events)
    cpu0 = time.process_time()
    for state in states.values():
        tick(state, last, policy)
    tick_cpu = time.process_time() - cpu0

    sizes = sorted(len(encode_state(s)) for s in states.values())
    rate_wall = len(events) / apply_wall
    rate_cpu = len(events) / apply_cpu
    figures = [
        figure(SUITE, "apply events/s (wall)", rate_wall, "ev/s", at_least=CORE_TARGET),
        figure(SUITE, "apply events/s (CPU time)", rate_cpu, "ev/s", note="noise-robust"),
        figure(
            SUITE,
            "decode_state+apply+encode_state events/s",
            len(sample) / roundtrip_cpu,
            "ev/s",
            note="CPU time; the worker's per-event core path",
        ),
        figure(SUITE, "decode_input events/s", len(events) / decode_cpu, "ev/s", note="CPU time"),
        figure(SUITE, "tick customers/s", len(states) / tick_cpu, "cust/s", note="CPU time"),
        figure(SUITE, "state bytes median", statistics.median(sizes), "B", at_most=STATE_TARGET),
        figure(SUITE, "state bytes p95", percentile(sizes, 95), "B"),
        figure(SUITE, "state bytes max", sizes[-1], "B"),
    ]
    details = {
        "customers": len(states),
        "events": len(events),
        "decisions": decisions,
        "rejected": rejected,
        "generate_seconds": generated,
        "generate_events_per_s": len(messages) / generated,
        "apply_wall_seconds": apply_wall,
        "apply_cpu_seconds": apply_cpu,
        "state_bytes_p99": percentile(sizes, 99),
    }
    return figures, details
