"""The hot path's writes: decisions and state changes, straight to the Kafka producer.

Why not ``Topic.send`` and ``table[key] = value``: Faust wraps each of those messages in a
``FutureMessage``, a producer buffer and a background task, and ``Table.on_key_set`` adds
sensors on top. Profiled, that machinery cost more than the whole decision core (about
0.3 ms per message; ``bench/README.md``, "What each change bought"). Records go to the
aiokafka producer under ``app.producer`` (``streams.consumer.kafka_producer``: what
Faust's own send ends in, without its produce-message signal): one record appended to
aiokafka's accumulator.

What Faust guaranteed still holds:

- Faust's commit flushes ``app.producer`` before it commits offsets, so an event's offset
  is never committed before its decisions and its changelog record are acknowledged;
- a state write goes to the store and to the changelog partition of the record being
  processed (the store is read back from that changelog on recovery), and RocksDB records
  the changelog offset it holds, as ``Collection._on_changelog_sent`` does, once per batch
  rather than per record (``persist_offsets``, after each batch and whenever the consumer
  has drained for a rebalance or a stop): an offset that lags only means recovery re-reads
  a few records it already has;
- a record the producer finally fails to deliver (retries and ``delivery.timeout``
  exhausted) stops the worker before any later commit: the events are processed again by
  whoever takes the partitions, and duplicates re-emit the same decision ids.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from functools import partial
from typing import Any

import faust
from faust.types import TableT

from streams.consumer import PartitionStore, kafka_producer
from streams.logs import crash

log = logging.getLogger("repayment.outbox")


class Outbox:
    """Appends records to the producer; nothing here waits for the broker."""

    def __init__(self, app: faust.App, table: TableT, store: PartitionStore) -> None:
        self._app = app
        self._table = table
        self._store = store
        self._changelog = ""
        self._delivered: dict[int, int] = {}  # changelog partition -> highest offset acked
        # One delivery callback per topic and per changelog partition, not one per record.
        self._checks: dict[str, Callable[[asyncio.Future[Any]], None]] = {}
        self._persists: dict[int, Callable[[asyncio.Future[Any]], None]] = {}

    async def send(
        self, topic: str, key: bytes | None, value: bytes, partition: int | None = None
    ) -> None:
        """One record to ``topic``: to ``partition``, or by key with Kafka's default
        partitioner. Every record the worker writes goes through here or ``put_state``."""
        producer = kafka_producer(self._app)
        delivery = await producer.send(topic, value, key=key, partition=partition)
        check = self._checks.get(topic)
        if check is None:
            check = self._checks[topic] = partial(_check_delivery, topic)
        delivery.add_done_callback(check)

    async def put_state(self, key: bytes, blob: bytes, partition: int) -> None:
        """The customer's new state into the local store and its changelog partition
        (``partition``: that of the record that caused the change)."""
        self._store.put(key, partition, blob)
        await self.append_changelog(key, blob, partition)

    async def delete_state(self, key: bytes, partition: int) -> None:
        """Erase the customer: gone from the local store, and a tombstone (a null value) in
        its changelog partition, so compaction removes every earlier record of the key."""
        self._store.delete(key, partition)
        await self.append_changelog(key, None, partition)

    async def append_changelog(self, key: bytes, value: bytes | None, partition: int) -> None:
        """``value`` (``None``: a tombstone) to the changelog partition, the store as it is."""
        if not self._changelog:
            self._changelog = self._table.changelog_topic.get_topic_name()
        producer = kafka_producer(self._app)
        delivery = await producer.send(self._changelog, value, key=key, partition=partition)
        persist = self._persists.get(partition)
        if persist is None:
            persist = self._persists[partition] = partial(self._persisted, partition)
        delivery.add_done_callback(persist)

    def _persisted(self, partition: int, delivery: asyncio.Future[Any]) -> None:
        if _check_delivery(self._changelog, delivery):
            offset = delivery.result().offset
            if offset > self._delivered.get(partition, -1):
                self._delivered[partition] = offset

    def persist_offsets(self) -> None:
        """Record in the store the changelog offsets acknowledged since the last call."""
        if self._delivered:
            delivered, self._delivered = self._delivered, {}
            for partition, offset in delivered.items():
                self._store.persisted(self._changelog, partition, offset)


def _check_delivery(topic: str, delivery: asyncio.Future[Any]) -> bool:
    """True when delivered; a failed delivery ends the process before anything commits."""
    if delivery.cancelled():
        return False
    error = delivery.exception()
    if error is None:
        return True
    crash(log, "a record could not be delivered; exiting without committing", error, topic=topic)
