"""Hypothesis strategies: every valid input record, and arbitrary JSON for fuzzing."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import strategies as st

from schemas.decode import ARRANGEMENT_MAX_MONTHS, MAX_ID_CHARS, add_months
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
instants = st.datetimes(
    min_value=datetime(1970, 1, 1), max_value=datetime(2200, 1, 1), timezones=st.just(UTC)
)
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
missed_payments = st.builds(
    PaymentMissed, headers, ids, st.dates(), money, currencies, optional_ids
)


def _local_date(header: EventHeader) -> date:
    """The day the decoder measures ``until`` from, for a message written in UTC."""
    if header.customer_timezone is None:
        return header.occurred_at.date()
    return header.occurred_at.astimezone(ZoneInfo(header.customer_timezone)).date()


@st.composite
def contact_results(draw: st.DrawFn) -> ContactResultReported:
    header = draw(headers)
    outcome = draw(
        st.sampled_from(["promise_to_pay", "arrangement_agreed"])
        | st.sampled_from(sorted(OUTCOMES))
    )
    promise = arrangement = None
    if outcome == "promise_to_pay":
        promise = Promise(draw(money), draw(st.dates()))
    elif outcome == "arrangement_agreed":
        start = _local_date(header)
        last = add_months(start, ARRANGEMENT_MAX_MONTHS)
        days = draw(st.integers(0, (last - start).days))
        arrangement = Arrangement(
            draw(st.sampled_from(ARRANGEMENT_TYPES)), start + timedelta(days=days)
        )
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
