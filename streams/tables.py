"""The per-customer state table: encoded ``CustomerState`` bytes keyed by customer id bytes.

Keys and values are raw bytes so that what the agent writes, what the changelog holds and
what recovery reads back are the same objects. The table changes only by assignment inside
the stream iteration of the event that caused the change: that is what writes the changelog,
to the partition of that event.
"""

from __future__ import annotations

from collections.abc import Iterable

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


class OwnedCustomers:
    """The customers of the partitions this worker owns, by partition, with their tier.

    The local store also holds standby copies of partitions another worker owns; only the
    owner may act for a key. Clock ticks visit ``keys_of(partition)`` instead of scanning
    the store, and ``repayment_customers{tier}`` counts ``tiers()``. Kept current on every
    state write and rebuilt from the store after each rebalance, before streams resume.
    """

    def __init__(self) -> None:
        self._tier: dict[bytes, str] = {}
        self._by_partition: dict[int, set[bytes]] = {}

    def record(self, key: bytes, partition: int, tier: str) -> None:
        self._tier[key] = tier
        self._by_partition.setdefault(partition, set()).add(key)

    def forget(self, key: bytes, partition: int) -> None:
        """An erased customer leaves every index."""
        self._tier.pop(key, None)
        self._by_partition.get(partition, set()).discard(key)

    def rebuild(self, owned: Iterable[tuple[bytes, int, str]]) -> None:
        self._tier = {}
        self._by_partition = {}
        for key, partition, tier in owned:
            self.record(key, partition, tier)

    def keys_of(self, partition: int) -> list[bytes]:
        return sorted(self._by_partition.get(partition, ()))

    def tiers(self) -> Iterable[str]:
        return self._tier.values()

    def __len__(self) -> int:
        return len(self._tier)
