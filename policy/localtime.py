"""The customer's local calendar: every day boundary the rules read is a local one.

Zone objects are cached by name (parsing a zone is far slower than using one), and local
midnights and wall times are resolved through zoneinfo, so DST days have 23 or 25 hours.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from schemas.decode import shipped_zone


def zone(name: str) -> ZoneInfo:
    """The ``ZoneInfo`` of an IANA name, read from the shipped tz database (never the
    host's, so decisions do not depend on the host), parsed once."""
    return shipped_zone(name)


@lru_cache(maxsize=4096)
def local_datetime(at: datetime, zone_name: str) -> datetime:
    """Instant ``at`` on the customer's wall clock (cached: a step asks several times)."""
    return at.astimezone(zone(zone_name))


def local_date(at: datetime, zone_name: str) -> date:
    """The customer's calendar date at instant ``at``."""
    return local_datetime(at, zone_name).date()


@lru_cache(maxsize=8192)
def local_instant(day: date, minute: int, zone_name: str) -> datetime:
    """The UTC instant of local wall time ``minute`` (from midnight) on ``day``.

    A wall time skipped by a DST jump maps to the instant of the jump (zoneinfo's fold=0).
    Cached: the contact rules ask for the same few midnights and quiet-hour ends again and
    again.
    """
    wall = datetime.combine(day, time(minute // 60, minute % 60), zone(zone_name))
    return wall.astimezone(UTC)


def start_of_day(day: date, zone_name: str) -> datetime:
    """The UTC instant local ``day`` begins."""
    return local_instant(day, 0, zone_name)


def end_of_day(day: date, zone_name: str) -> datetime:
    """The UTC instant local ``day`` ends (the next day begins)."""
    return start_of_day(day + timedelta(days=1), zone_name)


def as_utc(at: datetime) -> datetime:
    """``at`` in UTC; refuses naive datetimes (the core never guesses a zone)."""
    if at.tzinfo is UTC:
        return at
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"expected an aware datetime, got naive {at!r}")
    return at.astimezone(UTC)
