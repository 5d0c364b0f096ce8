"""The processor's clock: what ``now`` is for an event or a clock tick.

``wall``: events are decided at wall-clock time. ``event``: at the largest ``occurred_at``
or tick time this process has seen, as the replay command does (the differential tests and
back-fills use it).

Ticks are decided at the time they carry, but never before the last ``now`` used on their
partition: ticks of different partitions may be processed out of step, and a customer's
clock must never run backwards (``tick`` treats a time at or before its last tick as a
duplicate, and a tick published just after an event must not be decided before it).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import orjson

from schemas.encode import format_instant
from streams.settings import ClockMode


def wall_now() -> datetime:
    return datetime.now(UTC)


class ProcessClock:
    def __init__(self, mode: ClockMode, wall: Callable[[], datetime] = wall_now) -> None:
        self.mode = mode
        self._wall = wall
        self._high: datetime | None = None
        self._partition_high: dict[int, datetime] = {}

    def for_event(self, occurred_at: datetime, partition: int, record: bool = True) -> datetime:
        """``now`` for an event; ``record=False`` leaves the clock where it is until the
        event is accepted (``record``): a rejected input never moves the clock."""
        if self.mode == "wall":
            now = _later(self._partition_high.get(partition), self._wall())
        else:
            now = _later(self._high, occurred_at)
        return self._seen(now, partition) if record else now

    def record(self, now: datetime, partition: int) -> None:
        """An accepted event was decided at ``now``."""
        self._seen(now, partition)

    def wall(self) -> datetime:
        """Wall-clock time, whatever the mode (the bound on ``occurred_at`` in the future)."""
        return self._wall()

    def for_tick(self, at: datetime, partition: int) -> datetime:
        return self._seen(_later(self._partition_high.get(partition), at), partition)

    def current(self) -> datetime:
        """The clock as of now, for reads (the web view); never moves it."""
        if self.mode == "wall" or self._high is None:
            return self._wall()
        return self._high

    def _seen(self, now: datetime, partition: int) -> datetime:
        self._high = _later(self._high, now)
        self._partition_high[partition] = _later(self._partition_high.get(partition), now)
        return now


def _later(known: datetime | None, seen: datetime) -> datetime:
    return seen if known is None or seen > known else known


def tick_slot(now: datetime, interval_seconds: float) -> datetime:
    """The start of the tick slot ``now`` falls in (whole hours for the default 3600 s).

    Ticks carry slot starts, not the moment the timer fired, so a leader that fails over
    within a slot publishes the same tick again and the core treats it as a duplicate.
    """
    seconds = now.timestamp()
    start = seconds - (seconds % interval_seconds)
    return datetime.fromtimestamp(int(start), UTC)


def tick_message(at: datetime) -> bytes:
    """A clock tick's value: ``{"at": "<RFC 3339 UTC>"}`` (see ``streams.shell.parse_tick``)."""
    return orjson.dumps({"at": format_instant(at)})
