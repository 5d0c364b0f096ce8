"""Contact rules: when a channel may be used, per jurisdiction profile.

Quiet hours are the customer's local wall time (a window may cross midnight); caps count
attempts per local calendar day (23 or 25 hours on DST days) or per rolling window; after a
right-party contact, a cooldown may forbid calls. Attempts are contact results and outreach
emitted but not yet answered (at its ``not_before``). Forbidden now is not dropped: the
outreach waits for ``next_allowed_time``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Final

from policy.config import Cap, ContactProfile
from policy.localtime import end_of_day, local_datetime, local_instant, start_of_day
from policy.state import Attempt
from schemas.events import Channel

_MAX_MOVES: Final = 64  # far more than any real profile needs; beyond it, never allowed


def next_allowed_time(
    channel: Channel,
    earliest: datetime,
    tz: str,
    attempts: Sequence[Attempt],
    profile: ContactProfile,
) -> datetime | None:
    """The first instant at or after ``earliest`` when ``channel`` is allowed; ``None`` if never.

    Each rule moves the candidate forward to where it stops forbidding it; the rules are
    re-checked until none moves it (a cap may push it into quiet hours and back).
    """
    at = earliest
    for _ in range(_MAX_MOVES):
        moved = after_quiet_hours(channel, at, tz, profile)
        for cap in profile.caps:
            if channel in cap.channels:
                moved = _after_cap(cap, moved, tz, attempts)
        moved = _after_cooldown(channel, moved, attempts, profile)
        if moved == at:
            return at
        at = moved
    return None


def is_allowed(
    channel: Channel,
    at: datetime,
    tz: str,
    attempts: Sequence[Attempt],
    profile: ContactProfile,
) -> bool:
    """Whether ``channel`` may be used at instant ``at``."""
    return next_allowed_time(channel, at, tz, attempts, profile) == at


def after_quiet_hours(channel: Channel, at: datetime, tz: str, profile: ContactProfile) -> datetime:
    """``at``, or the end of the quiet hours ``at`` falls in for ``channel``."""
    window = _quiet_window(channel, profile)
    if window is None:
        return at
    start, end = window
    local = local_datetime(at, tz)
    minute = local.hour * 60 + local.minute
    day = local.date()
    if start > end:  # crosses midnight: quiet from start to midnight, and midnight to end
        if minute >= start:
            day += timedelta(days=1)
        elif minute >= end:
            return at
    elif not start <= minute < end:
        return at
    ends = local_instant(day, end, tz)
    return ends if ends > at else at


def _quiet_window(channel: Channel, profile: ContactProfile) -> tuple[int, int] | None:
    for quiet_channel, start, end in profile.quiet_hours:
        if quiet_channel == channel:
            return start, end
    return None


def _after_cap(cap: Cap, at: datetime, tz: str, attempts: Sequence[Attempt]) -> datetime:
    channels = cap.channels
    counted = [a.at for a in attempts if a.channel in channels]
    if len(counted) < cap.max:  # the usual case: too few attempts to reach the cap at all
        return at
    if cap.per == "local_day":
        day = local_datetime(at, tz).date()
        start, end = start_of_day(day, tz), end_of_day(day, tz)
        used = len([t for t in counted if start <= t < end])
        return end if used >= cap.max else at
    span = timedelta(days=cap.days)
    times = sorted(t for t in counted if at - span < t < at + span)
    # Every window [first, first + span) holding ``at`` must keep at most ``max`` attempts
    # with the new one; the first offending window is left by moving past its end.
    for first in times:
        if first > at:
            break
        if 1 + len([t for t in times if first <= t < first + span]) > cap.max:
            return first + span
    if 1 + len([t for t in times if at <= t < at + span]) > cap.max:
        return max(times) + timedelta(seconds=1)
    return at


def _after_cooldown(
    channel: Channel, at: datetime, attempts: Sequence[Attempt], profile: ContactProfile
) -> datetime:
    days = profile.right_party_cooldown_days
    if not days or channel not in profile.right_party_cooldown_channels:
        return at
    last = None
    for attempt in attempts:
        if attempt.right_party and attempt.at <= at and (last is None or attempt.at > last):
            last = attempt.at
    if last is not None and at < last + timedelta(days=days):
        return last + timedelta(days=days)
    return at


def add_attempt(attempts: tuple[Attempt, ...], attempt: Attempt) -> tuple[Attempt, ...]:
    """``attempts`` with ``attempt`` inserted in time order."""
    at = len(attempts)
    while at and attempts[at - 1].at > attempt.at:
        at -= 1
    return attempts[:at] + (attempt,) + attempts[at:]


def record_result(
    attempts: tuple[Attempt, ...],
    channel: Channel | None,
    at: datetime,
    outreach_id: str | None,
    right_party: bool,
) -> tuple[Attempt, ...]:
    """A contact result answers its pending outreach and, on a ``channel`` (``None``: not an
    attempt, e.g. the customer's own self-service action), is an attempt."""
    if outreach_id is not None and any(a.outreach_id == outreach_id for a in attempts):
        attempts = tuple(a for a in attempts if a.outreach_id != outreach_id)
    if channel is not None:
        attempts = add_attempt(attempts, Attempt(at, channel, right_party))
    return attempts


def prune_attempts(
    attempts: tuple[Attempt, ...], now: datetime, profile: ContactProfile
) -> tuple[Attempt, ...]:
    """Forget attempts older than any rule of ``profile`` can still read."""
    if not attempts:
        return attempts
    horizon = now - timedelta(days=profile.attempt_retention_days)
    if attempts[0].at >= horizon:
        return attempts
    return tuple(a for a in attempts if a.at >= horizon)
