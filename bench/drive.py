"""Watch a worker consume a known number of input events; derive its sustained rate."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass

import aiohttp

from bench.kafka import GroupOffsets
from bench.worker import WorkerGroup, WorkerProcess
from streams.progress import Progress

# Each /metrics scrape costs the worker CPU (its tier census walks every customer), so long
# runs are polled less often.
MIN_POLL_SECONDS = 0.2
MAX_POLL_SECONDS = 1.0


@dataclass(frozen=True, slots=True)
class Drained:
    events: int
    seconds: float  # first processed event -> all processed
    sustained_rate: float  # events/s between 10% and 90% of the log
    cpu_seconds: float  # worker CPU over ``seconds``
    committed: int  # the group's committed input offsets at the end

    @property
    def rate(self) -> float:
        return self.events / self.seconds if self.seconds else 0.0


def crossing(samples: Sequence[tuple[float, float]], level: float) -> float:
    """When the count first reached ``level``, interpolated between polls."""
    prev_t, prev_n = samples[0]
    for t, n in samples:
        if n >= level:
            if n == prev_n:
                return t
            return prev_t + (t - prev_t) * (level - prev_n) / (n - prev_n)
        prev_t, prev_n = t, n
    raise ValueError(f"never reached {level}")


def sustained(samples: Sequence[tuple[float, float]], total: int) -> float:
    """Events/s between 10% and 90% of the log: no start-up, no tail."""
    t10, t90 = crossing(samples, 0.1 * total), crossing(samples, 0.9 * total)
    return 0.8 * total / (t90 - t10) if t90 > t10 else float("nan")


async def drain(
    worker: WorkerProcess | WorkerGroup,
    total: int,
    *,
    bootstrap: str,
    topics: Sequence[str],
    label: str,
    stall_seconds: float = 120.0,
) -> Drained:
    """Poll ``/metrics`` until ``total`` events are processed, then await the commits.

    ``worker`` may be a ``WorkerGroup``: the group's events and CPU time, summed."""
    progress = Progress(label, total)
    samples: list[tuple[float, float]] = []
    first = cpu_first = 0.0
    last_change, last_n = time.perf_counter(), -1.0
    while True:
        worker.check_alive()
        try:
            n = await worker.events_total()
        except (aiohttp.ClientError, TimeoutError):
            n = max(last_n, 0.0)
        now = time.perf_counter()
        if n > 0 and not samples:
            first, cpu_first = now, worker.cpu_seconds()
            samples.append((now, 0.0))
        if samples:
            samples.append((now, n))
        if n != last_n:
            last_change, last_n = now, n
        progress.set(int(n))
        if n >= total:
            break
        if now - last_change > stall_seconds:
            raise RuntimeError(f"{label}: stalled at {n:,.0f}/{total:,} events")
        elapsed = now - first if samples else 0.0
        await asyncio.sleep(min(MAX_POLL_SECONDS, max(MIN_POLL_SECONDS, elapsed / 20)))
    cpu = worker.cpu_seconds() - cpu_first
    progress.close()
    committed = 0
    async with GroupOffsets(bootstrap, worker.spec.app_id) as offsets:
        deadline = time.perf_counter() + 30.0
        while committed < total and time.perf_counter() < deadline:
            committed = await offsets.committed(topics)
            await asyncio.sleep(0.5)
    seconds = samples[-1][0] - first
    return Drained(int(n), seconds, sustained(samples, total), cpu, committed)
