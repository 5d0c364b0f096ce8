"""The per-customer state table: encoded ``CustomerState`` bytes keyed by customer id bytes.

Keys and values are raw bytes so that what the agent writes, what the changelog holds and
what recovery reads back are the same objects. The table changes only by assignment inside
the stream iteration of the event that caused the change: that is what writes the changelog,
to the partition of that event.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime

import faust
from aiokafka.partitioner import murmur2
from faust.types import TableT

from policy import CustomerState
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
    owner may act for a key. ``repayment_customers{tier}`` counts ``tiers()``. Kept current
    on every state write and rebuilt from the store after each rebalance, before streams
    resume.

    It is also the clock's due-time index. A tick visits ``due(partition, now)``: the
    customers who are awake, and the sleepers whose hour has come. A customer sleeps once a
    tick finds it dormant (``policy.quiet_until``), in the bucket of the UTC hour its quiet
    ends in, and wakes on any state write. Buckets are plain lists that are never searched:
    a customer woken early by a stale entry is ticked for real, which is always exact. After
    a rebalance everyone is awake until the first tick has looked.
    """

    def __init__(self) -> None:
        self._tier: dict[bytes, str] = {}
        self._awake: dict[int, set[bytes]] = {}
        self._peak: dict[int, int] = {}  # the largest each awake set was since compacted
        self._sleeping: dict[int, dict[int, list[bytes]]] = {}  # partition -> hour -> keys
        self._entries: dict[int, int] = {}  # bucket entries per partition, stale ones too
        self._compacted: dict[int, int] = {}  # entries left by the last compaction
        self._last_tick: dict[int, datetime] = {}

    def record(self, key: bytes, partition: int, tier: str) -> None:
        """The customer's state was written: its tier, and it is awake."""
        self._tier[key] = tier
        self._awake.setdefault(partition, set()).add(key)

    def forget(self, key: bytes, partition: int) -> None:
        """An erased customer leaves every index (a bucket entry left behind is skipped)."""
        self._tier.pop(key, None)
        self._awake.get(partition, set()).discard(key)

    def rebuild(self, owned: Iterable[tuple[bytes, int, str]]) -> None:
        self._tier = {}
        self._awake = {}
        self._peak = {}
        self._sleeping = {}
        self._entries = {}
        self._compacted = {}
        self._last_tick = {}
        for key, partition, tier in owned:
            self.record(key, partition, tier)

    def due(self, partition: int, now: datetime) -> list[bytes]:
        """The customers a tick at ``now`` must visit (sorted: a stable order)."""
        awake = self._awake.setdefault(partition, set())
        hours = self._sleeping.get(partition)
        if hours:
            limit = int(now.timestamp()) // HOUR_SECONDS
            owned = self._tier
            for hour in [h for h in hours if h <= limit]:
                bucket = hours.pop(hour)
                self._entries[partition] -= len(bucket)
                awake.update(key for key in bucket if key in owned)
            if self._entries[partition] > 2 * self._compacted.get(partition, 0) + COMPACT_SLACK:
                self._compact(partition, hours, awake)
        if len(awake) * 4 < self._peak.get(partition, 0):
            awake = self._awake[partition] = set(awake)  # a set never shrinks by itself
            self._peak[partition] = len(awake)
        self._peak[partition] = max(self._peak.get(partition, 0), len(awake))
        self._last_tick[partition] = now
        return sorted(awake)

    def sleep(self, key: bytes, partition: int, until: datetime) -> None:
        """No tick before ``until`` can change the customer: skip it until that hour."""
        self._awake.get(partition, set()).discard(key)
        hour = int(until.timestamp()) // HOUR_SECONDS
        self._sleeping.setdefault(partition, {}).setdefault(hour, []).append(key)
        self._entries[partition] = self._entries.get(partition, 0) + 1

    def settle(self, key: bytes, partition: int, state: CustomerState) -> CustomerState:
        """``state`` as the skipped ticks would have left it: ``last_tick`` moved on."""
        at = self._last_tick.get(partition)
        if at is None or key not in self._tier or key in self._awake.get(partition, ()):
            return state
        if state.last_tick is not None and state.last_tick >= at:
            return state
        return replace(state, last_tick=at)

    def _compact(self, partition: int, hours: dict[int, list[bytes]], awake: set[bytes]) -> None:
        """Drop bucket entries of customers awake or gone, and keep each sleeper's earliest
        (a customer woken by an event and asleep again has one entry per sleep)."""
        owned, seen = self._tier, set()
        for hour in sorted(hours):
            kept = []
            for key in hours[hour]:
                if key in owned and key not in awake and key not in seen:
                    seen.add(key)
                    kept.append(key)
            if kept:
                hours[hour] = kept
            else:
                del hours[hour]
        self._entries[partition] = self._compacted[partition] = len(seen)

    def asleep(self) -> int:
        return len(self._tier) - sum(map(len, self._awake.values()))

    def tiers(self) -> Iterable[str]:
        return self._tier.values()

    def __len__(self) -> int:
        return len(self._tier)


HOUR_SECONDS = 3600
COMPACT_SLACK = 1024  # bucket entries a partition may gather before its first compaction
