"""The shared pre-filled input topics: generated and published once per run."""

from __future__ import annotations

import time
from dataclasses import dataclass

from bench.context import Context
from bench.kafka import ensure_topics, input_topics, output_topics
from bench.publisher import Published, publish


@dataclass(frozen=True, slots=True)
class Prefill:
    namespace: str
    customers: int
    messages: int
    published: Published
    generate_seconds: float


async def load_topics(ctx: Context, purpose: str, customers: int, months: int) -> Prefill:
    """Create a namespace's topics and publish a portfolio into its input topics."""
    namespace = ctx.namespace(purpose)
    await ensure_topics(
        ctx.bootstrap, input_topics(namespace) + output_topics(namespace), ctx.partitions
    )
    started = time.perf_counter()
    messages = ctx.portfolio(customers, months)
    generated = time.perf_counter() - started
    published = await publish(
        ctx.bootstrap,
        messages,
        namespace=namespace,
        partitions=ctx.partitions,
        total=len(messages),
        label=f"publish {purpose}",
    )
    return Prefill(namespace, customers, len(messages), published, generated)


async def shared_prefill(ctx: Context) -> Prefill:
    """The one input log that ``baseline`` and both ``e2e`` stores consume."""
    found = ctx.shared.get("prefill")
    if found is None:
        sizes = ctx.sizes
        found = ctx.shared["prefill"] = await load_topics(
            ctx, "stream", sizes.stream_customers, sizes.stream_months
        )
    assert isinstance(found, Prefill)
    return found
