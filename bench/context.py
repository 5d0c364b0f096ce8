"""What every suite shares: the run's settings, sizes (full or ``--quick``) and Kafka."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.portfolio import InputMessage, PortfolioSpec, generate
from streams.progress import Progress


@dataclass(frozen=True, slots=True)
class Sizes:
    """How big each suite runs; ``--quick`` shrinks everything to about three minutes."""

    core_customers: int
    stream_customers: int
    stream_months: int
    latency_seconds: float
    latency_drain_seconds: float
    latency_loads: tuple[int, ...]
    memory_customers: tuple[int, ...]
    recovery_customers: int
    tick_owned: int

    @classmethod
    def for_run(cls, customers: int, quick: bool) -> Sizes:
        if quick:
            return cls(
                core_customers=min(customers, 3_000),
                stream_customers=min(customers, 1_000),
                stream_months=6,
                latency_seconds=4.0,
                latency_drain_seconds=10.0,
                latency_loads=(200, 2_000, 5_000, 10_000),
                memory_customers=(1_000, 5_000),
                recovery_customers=2_000,
                tick_owned=100_000,
            )
        return cls(
            core_customers=customers,
            stream_customers=customers,
            stream_months=12,
            latency_seconds=30.0,
            latency_drain_seconds=30.0,
            latency_loads=(200, 2_000, 5_000, 10_000),
            memory_customers=(100_000, 1_000_000),
            recovery_customers=1_000_000,
            tick_owned=1_000_000,
        )


@dataclass
class Context:
    bootstrap: str
    seed: int
    sizes: Sizes
    partitions: int
    run_id: str
    workdir: Path
    worker_command: tuple[str, ...] = ()
    worker_env: tuple[tuple[str, str], ...] = ()
    shared: dict[str, Any] = field(default_factory=dict)

    def namespace(self, purpose: str) -> str:
        """A topic namespace of its own for each purpose of each run: no cross-talk."""
        return f"bench-{self.run_id}-{purpose}"

    def portfolio(self, customers: int, months: int) -> list[InputMessage]:
        spec = PortfolioSpec(customers=customers, months=months, seed=self.seed)
        progress = Progress(f"generate {customers:,} customers x {months} months")
        messages: list[InputMessage] = []
        for message in generate(spec):
            messages.append(message)
            if len(messages) & 0xFFFF == 0:
                progress.set(len(messages))
        progress.set(len(messages))
        progress.close()
        return messages
