"""Hypothesis strategies: every valid input record, and arbitrary JSON for fuzzing."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from hypothesis import strategies as st

from schemas.decode import (
    ARRANGEMENT_MAX_MONTHS,
    EARLIEST_YEAR,
    LATEST_YEAR,
    MAX_ID_CHARS,
    add_months,
    shipped_zone,
)
from schemas.events import (
    ARRANGEMENT_TYPES,
    CHANNELS,
    OUTCOMES,
    Arrangement,
    ContactResultReported,
    EventHeader,
    InputEvent,
    PaymentMissed,
    PaymentReceived,
    Promise,
)

ids = st.text(min_size=1, max_size=MAX_ID_CHARS)
optional_ids = st.none() | ids
FIRST_DAY = date(EARLIEST_YEAR, 1, 1)
LAST_DAY = date(LATEST_YEAR, 12, 31)
FIRST_INSTANT = datetime(EARLIEST_YEAR, 1, 1, tzinfo=UTC)
END_INSTANT = datetime(LATEST_YEAR + 1, 1, 1, tzinfo=UTC)
"""The contract's bounds: the first accepted instant, and the first refused one."""

instants = st.datetimes(
    min_value=datetime(EARLIEST_YEAR, 1, 1),
    max_value=datetime(LATEST_YEAR, 12, 31, 23, 59, 59, 999999),
    timezones=st.just(UTC),
)
days = st.dates(min_value=FIRST_DAY, max_value=LAST_DAY)
any_instants = st.datetimes(
    min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=st.just(UTC)
)
"""Any instant Python can write with any offset (years 1-9999): the decoder bounds them."""
offsets = st.integers(-(24 * 60 - 1), 24 * 60 - 1)
"""Offsets in minutes that RFC 3339 can write: -23:59 .. +23:59."""
zones = st.none() | st.sampled_from(
    ["Asia/Shanghai", "America/New_York", "Europe/London", "Pacific/Kiritimati", "UTC"]
)
currencies = st.from_regex(r"[A-Z]{3}", fullmatch=True)
money = st.integers(0, 4).flatmap(
    lambda places: st.decimals(
        min_value=Decimal(1).scaleb(-places),
        max_value=Decimal("99999999999999"),
        places=places,
        allow_nan=False,
        allow_infinity=False,
    )
)
headers = st.builds(EventHeader, ids, ids, instants, zones, st.integers(1, 2**31))

payments = st.builds(PaymentReceived, headers, money, currencies, optional_ids, optional_ids)
missed_payments = st.builds(PaymentMissed, headers, ids, days, money, currencies, optional_ids)


def rfc3339(at: datetime, offset_minutes: int, fraction: bool = True) -> str:
    """``at`` written as the producer would, with an offset of ``offset_minutes``."""
    sign = "-" if offset_minutes < 0 else "+"
    hours, minutes = divmod(abs(offset_minutes), 60)
    wall = at.astimezone(UTC).replace(tzinfo=None) + timedelta(minutes=offset_minutes)
    text = wall.isoformat(timespec="microseconds" if fraction else "seconds")
    return f"{text}{sign}{hours:02d}:{minutes:02d}"


def _local_date(header: EventHeader) -> date:
    """The day the decoder measures ``until`` from, for a message written in UTC."""
    if header.customer_timezone is None:
        return header.occurred_at.date()
    return header.occurred_at.astimezone(shipped_zone(header.customer_timezone)).date()


@st.composite
def contact_results(draw: st.DrawFn) -> ContactResultReported:
    header = draw(headers)
    outcome = draw(
        st.sampled_from(["promise_to_pay", "arrangement_agreed"])
        | st.sampled_from(sorted(OUTCOMES))
    )
    promise = arrangement = None
    if outcome == "arrangement_agreed":
        # until: from the agreed local day to 13 months later, within the years bound (an
        # arrangement agreed on 2200-01-01 local time, east of UTC, has no valid until).
        start = max(_local_date(header), FIRST_DAY)
        last = min(add_months(_local_date(header), ARRANGEMENT_MAX_MONTHS), LAST_DAY)
        if start > last:
            outcome = "reached"
        else:
            until = start + timedelta(days=draw(st.integers(0, (last - start).days)))
            arrangement = Arrangement(draw(st.sampled_from(ARRANGEMENT_TYPES)), until)
    if outcome == "promise_to_pay":
        promise = Promise(draw(money), draw(days))
    return ContactResultReported(
        header, draw(st.sampled_from(CHANNELS)), outcome, draw(optional_ids), promise, arrangement
    )


input_events: st.SearchStrategy[InputEvent] = st.one_of(
    payments, missed_payments, contact_results()
)

json_values: st.SearchStrategy[Any] = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**64 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)
"""Anything orjson can write: the decoder must turn each into a record or InvalidEvent."""
