"""Pre-fills input topics fast: one batch builder per partition, no per-message futures.

Partitions are chosen with the Java client's murmur2 (aiokafka's ``DefaultPartitioner``,
cached per key), so a customer's events land in the same partition of every input topic,
as the contract's keying promises and the worker's co-partitioned tables expect.
"""

from __future__ import annotations

import asyncio
import importlib.util
import time
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass

from aiokafka import AIOKafkaProducer
from aiokafka.partitioner import DefaultPartitioner

from bench.kafka import namespaced
from bench.portfolio import InputMessage
from streams.progress import Progress

COMPRESSION = "lz4" if importlib.util.find_spec("lz4") else None
_IN_FLIGHT = 32


@dataclass(frozen=True, slots=True)
class Published:
    messages: int
    bytes: int
    seconds: float

    @property
    def rate(self) -> float:
        return self.messages / self.seconds if self.seconds else 0.0


def make_producer(bootstrap: str, *, linger_ms: int = 20) -> AIOKafkaProducer:
    return AIOKafkaProducer(
        bootstrap_servers=bootstrap,
        acks=1,
        linger_ms=linger_ms,
        max_batch_size=512 * 1024,
        max_request_size=4 * 1024 * 1024,
        compression_type=COMPRESSION,
    )


async def publish(
    bootstrap: str,
    messages: Iterable[InputMessage],
    *,
    namespace: str | None,
    partitions: int,
    total: int | None = None,
    label: str = "publish",
) -> Published:
    """Send every message to its topic, namespaced unless ``namespace`` is None; returns once
    the broker has acked all."""
    producer = make_producer(bootstrap)
    await producer.start()
    progress = Progress(label, total)
    started = time.perf_counter()
    count = size = 0
    try:
        partitioner = DefaultPartitioner()
        all_parts = list(range(partitions))
        part_of: dict[bytes, int] = {}
        names: dict[str, str] = {}
        builders: dict[tuple[str, int], object] = {}
        in_flight: deque[asyncio.Future[object]] = deque()

        async def ship(topic: str, partition: int, batch: object) -> None:
            in_flight.append(await producer.send_batch(batch, topic, partition=partition))
            while len(in_flight) > _IN_FLIGHT:
                await in_flight.popleft()

        for msg in messages:
            topic = names.get(msg.topic)
            if topic is None:
                topic = names[msg.topic] = (
                    msg.topic if namespace is None else namespaced(msg.topic, namespace)
                )
            partition = part_of.get(msg.key)
            if partition is None:
                partition = part_of[msg.key] = partitioner(msg.key, all_parts, all_parts)
            slot = (topic, partition)
            batch = builders.get(slot)
            if batch is None:
                batch = builders[slot] = producer.create_batch()
            if batch.append(key=msg.key, value=msg.value, timestamp=None) is None:  # type: ignore[attr-defined]
                await ship(topic, partition, batch)
                batch = builders[slot] = producer.create_batch()
                batch.append(key=msg.key, value=msg.value, timestamp=None)  # type: ignore[attr-defined]
            count += 1
            size += len(msg.value)
            if count & 0xFFF == 0:
                progress.set(count)
                await asyncio.sleep(0)
        for (topic, partition), batch in builders.items():
            await ship(topic, partition, batch)
        while in_flight:
            await in_flight.popleft()
    finally:
        await producer.stop()
    progress.set(count)
    progress.close()
    return Published(count, size, time.perf_counter() - started)
