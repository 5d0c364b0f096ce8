"""``OwnedCustomers`` as the clock's due-time index: a tick visits who is awake or due."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from policy import CustomerState
from streams.tables import OwnedCustomers

T0 = datetime(2026, 3, 1, 10, tzinfo=UTC)


def owned_with(*keys: bytes, partition: int = 0) -> OwnedCustomers:
    owned = OwnedCustomers()
    owned.rebuild((key, partition, "current") for key in keys)
    return owned


def test_after_a_rebuild__every_customer_is_due() -> None:
    owned = owned_with(b"b", b"a", b"c")
    assert owned.due(0, T0) == [b"a", b"b", b"c"]
    assert owned.due(1, T0) == []
    assert owned.asleep() == 0


def test_a_sleeper__is_skipped_until_the_hour_its_quiet_ends_in() -> None:
    owned = owned_with(b"a", b"b")
    owned.sleep(b"a", 0, T0 + timedelta(hours=5, minutes=30))
    assert owned.asleep() == 1
    assert owned.due(0, T0 + timedelta(hours=1)) == [b"b"]
    assert owned.due(0, T0 + timedelta(hours=4, minutes=59)) == [b"b"]
    assert owned.due(0, T0 + timedelta(hours=5)) == [b"a", b"b"]  # its hour: woken early
    assert owned.asleep() == 0


def test_a_state_write__wakes_the_customer_and_forget_removes_it() -> None:
    owned = owned_with(b"a", b"b")
    owned.sleep(b"a", 0, T0 + timedelta(days=30))
    owned.sleep(b"b", 0, T0 + timedelta(days=30))
    owned.record(b"a", 0, "early")  # an event changed a's state
    assert owned.due(0, T0 + timedelta(hours=1)) == [b"a"]
    owned.forget(b"b", 0)  # erased while asleep
    assert owned.due(0, T0 + timedelta(days=31)) == [b"a"]
    assert len(owned) == 1 and owned.asleep() == 0


def test_settle__gives_a_sleeper_the_last_tick_its_partition_saw() -> None:
    owned = owned_with(b"a", b"b")
    state = CustomerState("a", "Asia/Shanghai", last_tick=T0)
    assert owned.due(0, T0) == [b"a", b"b"]
    owned.sleep(b"a", 0, T0 + timedelta(days=3))
    later = T0 + timedelta(hours=7)
    owned.due(0, later)
    assert owned.settle(b"a", 0, state).last_tick == later
    awake = CustomerState("b", "Asia/Shanghai", last_tick=later)
    assert owned.settle(b"b", 0, awake) is awake  # awake customers are ticked for real


def test_sleeping_again_and_again__leaves_one_bucket_entry_per_sleeper() -> None:
    """A customer woken by each event and put back to sleep by the next tick adds an
    entry each time; compaction keeps the index from growing with the history."""
    owned = owned_with(b"a", b"b")
    never = datetime(9999, 12, 31, tzinfo=UTC)
    for n in range(5_000):
        owned.record(b"a", 0, "current")  # an event
        owned.sleep(b"a", 0, never)  # the next tick
        owned.sleep(b"b", 0, never) if n == 0 else None
        owned.due(0, T0 + timedelta(hours=n))
    entries = sum(len(bucket) for bucket in owned._sleeping[0].values())
    assert entries <= 2 + 1024 * 2  # bounded, whatever the number of cycles
    owned.record(b"b", 0, "early")
    for n in range(3_000):
        owned.sleep(b"a", 0, never)
        owned.record(b"a", 0, "current")
        owned.due(0, T0 + timedelta(days=1, hours=n))
    assert owned.due(0, T0 + timedelta(days=200)) == [b"a", b"b"]  # and nobody is lost


def test_the_awake_set__is_compacted_once_not_on_every_tick() -> None:
    owned = owned_with(*(f"c{n}".encode() for n in range(100)))
    owned.due(0, T0)
    for n in range(100):
        owned.sleep(f"c{n}".encode(), 0, T0 + timedelta(days=30))
    owned.due(0, T0 + timedelta(hours=1))
    compacted = owned._awake[0]
    owned.due(0, T0 + timedelta(hours=2))
    assert owned._awake[0] is compacted
