"""The per-customer state table: encoded ``CustomerState`` bytes keyed by customer id bytes.

Keys and values are raw bytes so that what the agent writes, what the changelog holds and
what recovery reads back are the same objects. The table changes only by assignment inside
the stream iteration of the event that caused the change: that is what writes the changelog,
to the partition of that event.
"""

from __future__ import annotations

from collections.abc import Iterator

import faust
from aiokafka.partitioner import murmur2
from faust.types import TableT

from streams.settings import Settings

TABLE_NAME = "customers"


def customer_table(app: faust.App, settings: Settings) -> TableT:
    return app.Table(
        TABLE_NAME,
        default=None,
        key_type=bytes,  # bytes -> the "raw" serializer for keys and values
        value_type=bytes,
        partitions=settings.partitions,
        help="Per-customer decision state (policy.state encoding).",
    )


def key_partition(key: bytes, partitions: int) -> int:
    """The partition Kafka's default partitioner (murmur2, as in the Java client) gives ``key``."""
    return (murmur2(key) & 0x7FFFFFFF) % partitions


def keys_of_partition(table: TableT, partition: int, partitions: int) -> Iterator[bytes]:
    """Keys of ``table`` that belong to ``partition``.

    The local store also holds standby copies of partitions another worker owns; only the
    owner may act for a key, so callers filter by the partition of the event they process.
    """
    for key in list(table.keys()):
        if key_partition(key, partitions) == partition:
            yield key
