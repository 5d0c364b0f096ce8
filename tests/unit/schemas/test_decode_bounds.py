"""The contract's input bounds (issue 9): years 1970-2199, RFC 3339 offsets and fields, zone
names of the shipped IANA database only, and ``occurred_at`` no later than ``not_after``.
No input may reach the core with a value its calendar arithmetic cannot handle."""

from __future__ import annotations

import zoneinfo
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta, timezone
from importlib import resources
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from schemas.decode import SHIPPED_ZONES, decode_input, shipped_zone
from schemas.errors import InvalidEvent
from schemas.events import (
    CONTACT_RESULTS,
    INPUT_TOPICS,
    MISSED_PAYMENTS,
    PAYMENTS,
    ContactResultReported,
    PaymentMissed,
)
from schemas.export import build_schemas
from tests.unit.schemas.fixtures import (
    DOC_FACTORIES,
    contact_doc,
    decode_doc,
    missed_doc,
    payment_doc,
    schema_errors,
)
from tests.unit.schemas.strategies import (
    END_INSTANT,
    FIRST_DAY,
    FIRST_INSTANT,
    LAST_DAY,
    any_instants,
    instants,
    offsets,
    rfc3339,
)

SCHEMAS = build_schemas()
relaxed = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
LAST_INSTANT = END_INSTANT - timedelta(microseconds=1)


def _error(topic: str, doc: dict[str, Any], **kwargs: Any) -> InvalidEvent:
    with pytest.raises(InvalidEvent) as raised:
        decode_input(topic, orjson.dumps(doc), **kwargs)
    return raised.value


def _occurred_at(text: str, **kwargs: Any) -> datetime:
    return decode_input(
        PAYMENTS, orjson.dumps(payment_doc(occurred_at=text)), **kwargs
    ).header.occurred_at


# --- years 1970-2199 -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "utc"),
    [
        ("1970-01-01T00:00:00Z", FIRST_INSTANT),
        ("1970-01-01T08:00:00+08:00", FIRST_INSTANT),
        ("1969-12-31T23:00:00-01:00", FIRST_INSTANT),
        ("1969-12-31T00:01:00-23:59", FIRST_INSTANT),
        ("2199-12-31T23:59:59.999999Z", LAST_INSTANT),
        ("2199-12-31T23:59:59.999999999Z", LAST_INSTANT),
        ("2200-01-01T08:59:59.999999+09:00", LAST_INSTANT),
        ("2199-12-31T22:59:59.999999-01:00", LAST_INSTANT),
    ],
)
def test_occurred_at_at_the_year_bounds_in_utc__is_accepted(text: str, utc: datetime) -> None:
    assert _occurred_at(text) == utc


@pytest.mark.parametrize(
    "text",
    [
        "1969-12-31T23:59:59Z",
        "1969-12-31T23:59:59.999999Z",
        "1970-01-01T00:59:59+01:00",
        "2200-01-01T00:00:00Z",
        "2200-01-01T09:00:00+09:00",
        "2199-12-31T23:00:00-01:00",
    ],
)
def test_occurred_at_outside_the_years_in_utc__names_the_bounds(text: str) -> None:
    error = _error(PAYMENTS, payment_doc(occurred_at=text))
    assert (error.code, error.field) == ("invalid_field", "occurred_at")
    assert "1970-01-01T00:00:00Z" in error.message
    assert "2200-01-01T00:00:00Z" in error.message


@pytest.mark.parametrize(
    "text", ["0001-01-01T00:30:00+01:00", "0001-01-01T00:00:00-01:00", "9999-12-31T23:59:59Z"]
)
def test_occurred_at_that_overflowed_the_core__is_invalid_field(text: str) -> None:
    """Issue 9: year 1 west of UTC raised OverflowError in the core."""
    error = _error(PAYMENTS, payment_doc(occurred_at=text))
    assert (error.code, error.field) == ("invalid_field", "occurred_at")
    assert "1970-2199" in error.message


def _due(day: str) -> date:
    event = decode_doc(MISSED_PAYMENTS, missed_doc(due_date=day))
    assert isinstance(event, PaymentMissed)
    return event.due_date


def _promised(day: str) -> date:
    event = decode_doc(CONTACT_RESULTS, contact_doc(promise={"amount": "1", "date": day}))
    assert isinstance(event, ContactResultReported) and event.promise is not None
    return event.promise.date


@pytest.mark.parametrize("read", [_due, _promised], ids=["due_date", "promise.date"])
def test_dates_at_the_year_bounds__are_accepted(read: Any) -> None:
    assert read("1970-01-01") == FIRST_DAY
    assert read("2199-12-31") == LAST_DAY


@pytest.mark.parametrize(
    ("topic", "path", "doc"),
    [
        (MISSED_PAYMENTS, "due_date", missed_doc(due_date="2200-01-01")),
        (
            CONTACT_RESULTS,
            "promise.date",
            contact_doc(promise={"amount": "1", "date": "9999-12-31"}),
        ),
        (
            CONTACT_RESULTS,
            "arrangement.until",
            contact_doc(
                outcome="arrangement_agreed",
                occurred_at="2199-06-01T00:00:00Z",
                arrangement={"type": "deferral", "until": "2200-01-01"},
            ),
        ),
    ],
)
def test_date_outside_the_years__says_which_years(
    topic: str, path: str, doc: dict[str, Any]
) -> None:
    error = _error(topic, doc)
    assert (error.code, error.field) == ("invalid_field", path)
    assert "1970-2199" in error.message


@pytest.mark.parametrize(
    ("occurred_at", "until"),
    [("2199-06-01T00:00:00Z", "2199-12-31"), ("1970-01-01T00:00:00Z", "1970-01-01")],
)
def test_arrangement_until_at_the_year_bounds__is_accepted(occurred_at: str, until: str) -> None:
    doc = contact_doc(
        outcome="arrangement_agreed",
        occurred_at=occurred_at,
        customer_timezone="UTC",
        arrangement={"type": "deferral", "until": until},
    )
    event = decode_doc(CONTACT_RESULTS, doc)
    assert isinstance(event, ContactResultReported) and event.arrangement is not None
    assert event.arrangement.until.isoformat() == until


def test_arrangement_agreed_on_the_last_instant_east_of_utc__has_no_valid_until() -> None:
    """Local day 2200-01-01 in Kiritimati: ``until`` cannot be on or after it and in range."""
    doc = contact_doc(
        outcome="arrangement_agreed",
        occurred_at="2199-12-31T23:00:00Z",
        customer_timezone="Pacific/Kiritimati",
        arrangement={"type": "deferral", "until": "2199-12-31"},
    )
    assert _error(CONTACT_RESULTS, doc).field == "arrangement.until"


# --- RFC 3339 fields and offsets ---------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "utc"),
    [
        ("2026-03-01T09:30:00+23:59", datetime(2026, 2, 28, 9, 31, tzinfo=UTC)),
        ("2026-03-01T09:30:00-23:59", datetime(2026, 3, 2, 9, 29, tzinfo=UTC)),
        ("2026-03-01T09:30:00+08:59", datetime(2026, 3, 1, 0, 31, tzinfo=UTC)),
        ("2026-03-01T09:30:00+00:00", datetime(2026, 3, 1, 9, 30, tzinfo=UTC)),
        ("2026-03-01T09:30:00-00:00", datetime(2026, 3, 1, 9, 30, tzinfo=UTC)),
        ("2026-03-01T23:59:59Z", datetime(2026, 3, 1, 23, 59, 59, tzinfo=UTC)),
        ("2026-03-01T00:00:00Z", datetime(2026, 3, 1, tzinfo=UTC)),
        ("2028-02-29T12:00:00Z", datetime(2028, 2, 29, 12, tzinfo=UTC)),
    ],
)
def test_rfc3339_fields_at_their_limits__are_accepted(text: str, utc: datetime) -> None:
    assert _occurred_at(text) == utc


@pytest.mark.parametrize(
    "text",
    [
        "2026-03-01T09:30:00+24:00",
        "2026-03-01T09:30:00-24:00",
        "2026-03-01T09:30:00+08:60",
        "2026-03-01T09:30:00+08:75",
        "2026-03-01T09:30:60Z",
        "2026-03-01T09:60:00Z",
        "2026-03-01T24:00:00Z",
        "2026-02-29T12:00:00Z",
        "2026-04-31T12:00:00Z",
        "2026-00-01T12:00:00Z",
    ],
)
def test_rfc3339_field_out_of_range__is_invalid_field_naming_the_ranges(text: str) -> None:
    error = _error(PAYMENTS, payment_doc(occurred_at=text))
    assert (error.code, error.field) == ("invalid_field", "occurred_at")
    assert "hh 00-23, mm 00-59" in error.message


@relaxed
@given(st.integers(0, 99), st.integers(0, 99), st.sampled_from("+-"))
def test_offset__is_accepted_exactly_when_hours_below_24_and_minutes_below_60(
    hours: int, minutes: int, sign: str
) -> None:
    text = f"2026-03-01T09:30:00{sign}{hours:02d}:{minutes:02d}"
    doc = payment_doc(occurred_at=text)
    valid = hours <= 23 and minutes <= 59
    assert (schema_errors(doc, SCHEMAS[PAYMENTS]) == []) == valid
    if valid:
        east = timedelta(hours=hours, minutes=minutes) * (1 if sign == "+" else -1)
        assert _occurred_at(text) == datetime(2026, 3, 1, 9, 30, tzinfo=UTC) - east
    else:
        assert _error(PAYMENTS, doc).field == "occurred_at"


@relaxed
@given(any_instants, offsets, st.booleans())
def test_any_instant_with_any_offset__decodes_exactly_when_in_the_years_in_utc(
    at: datetime, offset: int, fraction: bool
) -> None:
    text = rfc3339(at, offset, fraction)
    expected = at if fraction else at.replace(microsecond=0)
    doc = payment_doc(occurred_at=text)
    if FIRST_INSTANT <= expected < END_INSTANT:
        assert _occurred_at(text) == expected
        assert schema_errors(doc, SCHEMAS[PAYMENTS]) == []  # never stricter than the decoder
    else:
        assert _error(PAYMENTS, doc).field == "occurred_at"


@relaxed
@given(st.dates())
def test_any_date__is_accepted_by_decoder_and_schema_exactly_in_the_years(day: date) -> None:
    doc = missed_doc(due_date=day.isoformat())
    valid = FIRST_DAY <= day <= LAST_DAY
    assert (schema_errors(doc, SCHEMAS[MISSED_PAYMENTS]) == []) == valid
    if valid:
        assert _due(day.isoformat()) == day
    else:
        assert _error(MISSED_PAYMENTS, doc).field == "due_date"


# --- zone names of the shipped IANA database only ---------------------------------------


def test_shipped_zones__are_the_tzdata_package_list_without_host_only_names() -> None:
    listed = resources.files("tzdata").joinpath("zones").read_text("utf-8").split()
    assert frozenset(listed) == SHIPPED_ZONES
    assert {"Asia/Shanghai", "UTC", "Etc/GMT+8", "America/New_York"} <= SHIPPED_ZONES
    assert not {"localtime", "posixrules", "posix/Asia/Tokyo", "right/UTC"} & SHIPPED_ZONES
    assert not any(name.startswith(("posix/", "right/")) for name in SHIPPED_ZONES)


def test_every_shipped_zone__decodes_loads_and_passes_the_schema() -> None:
    schema = SCHEMAS[PAYMENTS]
    for name in sorted(SHIPPED_ZONES):
        doc = payment_doc(customer_timezone=name)
        assert decode_doc(PAYMENTS, doc).header.customer_timezone == name
        assert schema_errors(doc, schema) == [], name
        assert shipped_zone(name).key == name


@pytest.mark.parametrize(
    "name", ["localtime", "posixrules", "posix/Asia/Tokyo", "right/UTC", "Mars/Olympus_Mons"]
)
def test_shipped_zone__refuses_names_outside_the_shipped_database(name: str) -> None:
    with pytest.raises(ValueError, match="shipped IANA database"):
        shipped_zone(name)


@pytest.mark.parametrize("name", ["localtime", "posix/Asia/Tokyo", "right/UTC", "posixrules"])
def test_host_only_zone__is_invalid_field_saying_why(name: str) -> None:
    error = _error(PAYMENTS, payment_doc(customer_timezone=name))
    assert (error.code, error.field) == ("invalid_field", "customer_timezone")
    assert "shipped with the processor" in error.message


@pytest.fixture
def fake_host_zoneinfo(tmp_path: Path) -> Iterator[Path]:
    """A host zoneinfo directory whose Asia/Shanghai is UTC and which has host-only names;
    zoneinfo searches it before the tzdata package."""
    utc = resources.files("tzdata.zoneinfo").joinpath("UTC").read_bytes()
    for name in ("Asia/Shanghai", "localtime", "posix/Asia/Tokyo", "right/UTC"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(utc)
    zoneinfo.reset_tzpath(to=[str(tmp_path)])
    shipped_zone.cache_clear()
    try:
        yield tmp_path
    finally:
        zoneinfo.reset_tzpath()
        shipped_zone.cache_clear()


def test_decisions__do_not_depend_on_the_host_zoneinfo(fake_host_zoneinfo: Path) -> None:
    # zoneinfo itself prefers the host's file: this is what the decoder must not read.
    at = datetime(2026, 3, 2, 23, tzinfo=UTC)
    assert at.astimezone(zoneinfo.ZoneInfo.no_cache("Asia/Shanghai")).utcoffset() == timedelta(0)
    assert zoneinfo.ZoneInfo.no_cache("localtime").key == "localtime"
    # 23:00 UTC on 2 March is 3 March in the real Shanghai: an until of 2 March is refused.
    doc = contact_doc(
        outcome="arrangement_agreed",
        occurred_at="2026-03-02T23:00:00Z",
        customer_timezone="Asia/Shanghai",
        arrangement={"type": "deferral", "until": "2026-03-02"},
    )
    assert _error(CONTACT_RESULTS, doc).field == "arrangement.until"
    assert at.astimezone(shipped_zone("Asia/Shanghai")).utcoffset() == timedelta(hours=8)
    for name in ("localtime", "posix/Asia/Tokyo", "right/UTC"):
        assert _error(PAYMENTS, payment_doc(customer_timezone=name)).field == "customer_timezone"


# --- occurred_at no later than not_after ------------------------------------------------

LIMIT = datetime(2026, 3, 2, 1, 30, tzinfo=UTC)


@pytest.mark.parametrize("topic", INPUT_TOPICS)
def test_occurred_at_equal_to_not_after__is_accepted(topic: str) -> None:
    doc = DOC_FACTORIES[topic](occurred_at="2026-03-02T09:30:00+08:00")
    assert decode_input(topic, orjson.dumps(doc), not_after=LIMIT).header.occurred_at == LIMIT


@pytest.mark.parametrize("topic", INPUT_TOPICS)
def test_occurred_at_one_microsecond_after_not_after__is_invalid_field_naming_it(
    topic: str,
) -> None:
    doc = DOC_FACTORIES[topic](occurred_at="2026-03-02T09:30:00.000001+08:00")
    error = _error(topic, doc, not_after=LIMIT)
    assert (error.code, error.field) == ("invalid_field", "occurred_at")
    assert "2026-03-02T01:30:00Z" in error.message


def test_not_after_in_any_offset__is_the_same_instant() -> None:
    limit = LIMIT.astimezone(timezone(timedelta(hours=-5)))
    assert _occurred_at("2026-03-02T01:30:00Z", not_after=limit) == LIMIT
    error = _error(
        PAYMENTS, payment_doc(occurred_at="2026-03-02T01:30:00.000001Z"), not_after=limit
    )
    assert "2026-03-02T01:30:00Z" in error.message


def test_not_after_none__checks_nothing() -> None:
    assert _occurred_at("2199-12-31T23:59:59Z", not_after=None).year == 2199


def test_naive_not_after__is_a_wiring_bug() -> None:
    with pytest.raises(ValueError, match="aware"):
        decode_input(PAYMENTS, orjson.dumps(payment_doc()), not_after=datetime(2026, 3, 2))


def test_not_after__is_checked_in_contract_order() -> None:
    """After occurred_at's own form, before the fields that follow it."""
    late = payment_doc(occurred_at="2026-03-03T00:00:00Z", customer_timezone="localtime")
    assert "processor's wall clock" in _error(PAYMENTS, late, not_after=LIMIT).message
    malformed = payment_doc(occurred_at="2026-03-03T00:00:00+08:75")
    assert "hh 00-23" in _error(PAYMENTS, malformed, not_after=LIMIT).message
    bad_id = payment_doc(event_id="", occurred_at="2026-03-03T00:00:00Z")
    assert _error(PAYMENTS, bad_id, not_after=LIMIT).field == "event_id"


def test_not_after__holds_when_money_is_read_again_exactly() -> None:
    raw = orjson.dumps(payment_doc(amount="@", occurred_at="2026-03-02T01:30:00Z"))
    raw = raw.replace(b'"@"', b"12.5")
    assert decode_input(PAYMENTS, raw, not_after=LIMIT).header.occurred_at == LIMIT
    with pytest.raises(InvalidEvent):
        decode_input(PAYMENTS, raw, not_after=LIMIT - timedelta(microseconds=1))


@relaxed
@given(instants, instants)
def test_occurred_at__is_accepted_exactly_when_not_after_the_limit(
    at: datetime, limit: datetime
) -> None:
    doc = payment_doc(occurred_at=rfc3339(at, 0))
    if at <= limit:
        assert _occurred_at(doc["occurred_at"], not_after=limit) == at
    else:
        assert _error(PAYMENTS, doc, not_after=limit).field == "occurred_at"
