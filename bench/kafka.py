"""Small Kafka helpers for the benchmarks: namespaced topics, creation, offsets."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable

from aiokafka import TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from schemas.events import INPUT_TOPICS
from schemas.outputs import OUTPUT_TOPICS
from streams.topics import DEAD_LETTER_MAX_BYTES, MAX_MESSAGE_BYTES

CONTRACT_NAMESPACE = "repayments"


def namespaced(topic: str, namespace: str) -> str:
    """``repayments.payments`` -> ``<namespace>.payments`` (one namespace per bench run)."""
    return namespace + topic[len(CONTRACT_NAMESPACE) :]


def input_topics(namespace: str) -> list[str]:
    return [namespaced(t, namespace) for t in INPUT_TOPICS]


def output_topics(namespace: str) -> list[str]:
    return [namespaced(t, namespace) for t in OUTPUT_TOPICS]


async def ensure_topics(
    bootstrap: str, names: Iterable[str], partitions: int, config: dict[str, str] | None = None
) -> None:
    """Create the topics that do not exist yet (the worker expects co-partitioned inputs).

    A dead-letter topic gets the size limit the worker checks at start.
    """
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        wanted = [
            NewTopic(
                name,
                num_partitions=partitions,
                replication_factor=1,
                topic_configs=_topic_config(name, config),
            )
            for name in names
            if name not in existing
        ]
        if wanted:
            await admin.create_topics(wanted)
    finally:
        await admin.close()


def _topic_config(name: str, config: dict[str, str] | None) -> dict[str, str] | None:
    if not name.endswith(".dead-letter"):
        return config
    return {**(config or {}), MAX_MESSAGE_BYTES: str(DEAD_LETTER_MAX_BYTES)}


class GroupOffsets:
    """Reads a consumer group's committed offsets (how far a worker has got)."""

    def __init__(self, bootstrap: str, group: str) -> None:
        self._admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
        self._group = group

    async def __aenter__(self) -> GroupOffsets:
        await self._admin.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._admin.close()

    async def committed(self, topics: Iterable[str]) -> int:
        """Sum of committed offsets over ``topics`` (0 while the group has none)."""
        wanted = set(topics)
        offsets: dict[TopicPartition, object] = {}
        with contextlib.suppress(Exception):  # coordinator not ready yet: nothing committed
            offsets = await self._admin.list_consumer_group_offsets(self._group)
        return sum(
            max(meta.offset, 0)  # type: ignore[attr-defined]
            for tp, meta in offsets.items()
            if tp.topic in wanted
        )
