"""The processor's clock: what ``now`` is for an event or a clock tick.

``wall``: events are decided at wall-clock time, ticks at the time they carry.
``event``: the largest ``occurred_at`` or tick time this process has seen, as the replay
command does; the differential tests and back-fills use it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from streams.settings import ClockMode


def wall_now() -> datetime:
    return datetime.now(UTC)


class ProcessClock:
    def __init__(self, mode: ClockMode, wall: Callable[[], datetime] = wall_now) -> None:
        self.mode = mode
        self._wall = wall
        self._high: datetime | None = None

    def for_event(self, occurred_at: datetime) -> datetime:
        if self.mode == "wall":
            return self._wall()
        return self._advance(occurred_at)

    def for_tick(self, at: datetime) -> datetime:
        if self.mode == "wall":
            return at
        return self._advance(at)

    def _advance(self, seen: datetime) -> datetime:
        if self._high is None or seen > self._high:
            self._high = seen
        return self._high


def tick_slot(now: datetime, interval_seconds: float) -> datetime:
    """The start of the tick slot ``now`` falls in (whole hours for the default 3600 s).

    Ticks carry slot starts, not the moment the timer fired, so a leader that fails over
    within a slot publishes the same tick again and the core treats it as a duplicate.
    """
    seconds = now.timestamp()
    start = seconds - (seconds % interval_seconds)
    return datetime.fromtimestamp(int(start), UTC)
