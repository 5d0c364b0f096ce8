"""``ticks``: what a clock tick costs when most owned customers have nothing due.

The worker's tick visits ``OwnedCustomers.due(partition, now)``: awake customers, and the
sleepers whose hour has come (``policy.quiet_until``). Here the index holds ``owned``
customers (default 1,000,000) of which 1% are awake, as after a first tick of a portfolio
that mostly pays on time; one tick then runs the worker's per-customer path on the awake
ones: ``decode_state``, ``tick``, ``encode_state``, ``asleep_after``. No Kafka: the changelog
records a real tick would also append are not timed. The index's own memory is measured
with tracemalloc, per owned customer, with and without the key bytes it keeps alive (a
RocksDB worker's keys live only there; the memory store shares them with the table).
"""

from __future__ import annotations

import itertools
import time
import tracemalloc
from datetime import timedelta
from typing import Any

from bench.context import Context
from bench.portfolio import PortfolioSpec, generate
from bench.report import Figure, figure
from schemas.decode import decode_input
from schemas.errors import InvalidEvent

SUITE = "ticks"
TICK_TARGET_SECONDS = 1.0
INDEX_TARGET_BYTES = 64
AWAKE_SHARE = 0.01


def run(ctx: Context) -> tuple[list[Figure], dict[str, Any]]:
    from policy import apply, default_policy, tick
    from policy.state import decode_state, encode_state
    from policy.wake import asleep_after
    from streams.tables import OwnedCustomers

    policy = default_policy()
    owned_count = ctx.sizes.tick_owned
    spec = PortfolioSpec(min(ctx.sizes.core_customers, 20_000), 3, seed=ctx.seed)
    states: dict[str, Any] = {}
    last = None
    for message in generate(spec):
        event = decode_input(message.topic, message.value)
        cid = event.header.customer_id
        try:
            states[cid] = apply(states.get(cid), event, event.header.occurred_at, policy).state
        except InvalidEvent:
            continue
        last = event.header.occurred_at
    assert last is not None
    now = last.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    ticked = [tick(s, now, policy).state for s in states.values()]
    dormant = sum(1 for s in ticked if asleep_after(s, now, policy) is not None)
    blobs = [encode_state(s) for s in ticked]

    keys = [f"cust-{n:08d}".encode() for n in range(owned_count)]
    awake_every = round(1 / AWAKE_SHARE)
    far = now + timedelta(days=365)
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    owned = OwnedCustomers()
    owned.rebuild((key, 0, "current") for key in keys)
    for n, key in enumerate(keys):
        if n % awake_every:
            owned.sleep(key, 0, far)
    owned.due(0, now)  # the next tick: the awake set, emptied by the sleeps, is compacted
    index_bytes = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    key_bytes = sum(len(k) + 33 for k in keys)  # a bytes object: 33 B of header + its data

    blob_of = dict(zip(keys[::awake_every], itertools.cycle(blobs), strict=False))
    cpu0, wall0 = time.process_time(), time.perf_counter()
    later = now + timedelta(hours=1)
    due = owned.due(0, later)
    for key in due:
        step = tick(decode_state(blob_of[key]), later, policy)
        encode_state(step.state)
        until = asleep_after(step.state, later, policy)
        if until is not None:
            owned.sleep(key, 0, until)
    tick_cpu, tick_wall = time.process_time() - cpu0, time.perf_counter() - wall0

    figures = [
        figure(
            SUITE,
            f"tick of {owned_count:,} owned, {len(due):,} due: CPU",
            tick_cpu,
            "s",
            at_most=TICK_TARGET_SECONDS,
            note=f"wall {tick_wall:.2f} s; changelog appends not included",
        ),
        figure(
            SUITE,
            "tick index bytes per owned customer",
            index_bytes / owned_count,
            "B",
            at_most=INDEX_TARGET_BYTES,
            note=f"{(index_bytes - key_bytes) / owned_count:.0f} B without the key objects",
        ),
        figure(
            SUITE,
            "portfolio customers dormant after a tick",
            100 * dormant / len(ticked),
            "%",
            note=f"{dormant:,} of {len(ticked):,}; 3 months of the bench portfolio",
        ),
    ]
    return figures, {"owned": owned_count, "due": len(due), "index_bytes": index_bytes}
