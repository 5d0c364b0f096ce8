"""The hot path's writes: decisions and state changes, straight to the app's producer.

Why not ``Topic.send`` and ``table[key] = value``: Faust wraps each of those messages in a
``FutureMessage``, a producer buffer and a background task, and ``Table.on_key_set`` adds
sensors on top. Profiled, that machinery cost more than the whole decision core (about
0.3 ms per message; ``bench/README.md``, "What each change bought"). ``app.producer.send``
is the same call Faust ends in: one record appended to aiokafka's accumulator.

What Faust guaranteed still holds:

- Faust's commit flushes ``app.producer`` before it commits offsets, so an event's offset
  is never committed before its decisions and its changelog record are acknowledged;
- a state write goes to the store and to the changelog partition of the record being
  processed (the store is read back from that changelog on recovery), and RocksDB records
  the changelog offset it holds, as ``Collection._on_changelog_sent`` does;
- a record the producer finally fails to deliver (retries and ``delivery.timeout``
  exhausted) stops the worker before any later commit: the events are processed again by
  whoever takes the partitions, and duplicates re-emit the same decision ids.
"""

from __future__ import annotations

import asyncio
import logging
from functools import partial
from typing import Any

import faust
from faust.types import TP, TableT

from streams.consumer import PartitionStore
from streams.logs import crash

log = logging.getLogger("repayment.outbox")


class Outbox:
    """Appends records to the app's producer; nothing here waits for the broker."""

    def __init__(self, app: faust.App, table: TableT, store: PartitionStore) -> None:
        self._app = app
        self._table = table
        self._store = store
        self._changelog = ""

    async def send(
        self, topic: str, key: bytes | None, value: bytes, partition: int | None = None
    ) -> None:
        """One record to ``topic``: to ``partition``, or by key with Kafka's default
        partitioner. Every record the worker writes goes through here or ``put_state``."""
        delivery = await self._app.producer.send(topic, key, value, partition, None, None)
        delivery.add_done_callback(partial(_check_delivery, topic))

    async def put_state(self, key: bytes, blob: bytes, partition: int) -> None:
        """The customer's new state into the local store and its changelog partition
        (``partition``: that of the record that caused the change)."""
        self._store.put(key, partition, blob)
        if not self._changelog:
            self._changelog = self._table.changelog_topic.get_topic_name()
        delivery = await self._app.producer.send(self._changelog, key, blob, partition, None, None)
        delivery.add_done_callback(partial(self._persisted, TP(self._changelog, partition)))

    async def delete_state(self, key: bytes, partition: int) -> None:
        """Erase the customer: gone from the local store, and a tombstone (a null value) in
        its changelog partition, so compaction removes every earlier record of the key."""
        self._store.delete(key, partition)
        if not self._changelog:
            self._changelog = self._table.changelog_topic.get_topic_name()
        delivery = await self._app.producer.send(self._changelog, key, None, partition, None, None)
        delivery.add_done_callback(partial(self._persisted, TP(self._changelog, partition)))

    def _persisted(self, tp: TP, delivery: asyncio.Future[Any]) -> None:
        if _check_delivery(tp.topic, delivery):
            self._table.data.set_persisted_offset(tp, delivery.result().offset)


def _check_delivery(topic: str, delivery: asyncio.Future[Any]) -> bool:
    """True when delivered; a failed delivery ends the process before anything commits."""
    if delivery.cancelled():
        return False
    error = delivery.exception()
    if error is None:
        return True
    crash(log, "a record could not be delivered; exiting without committing", error, topic=topic)
