"""Good messages decode to exactly the records the core expects."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import orjson
import pytest

from schemas.decode import add_months, decode_input, decode_key
from schemas.errors import InvalidEvent
from schemas.events import (
    CONTACT_RESULTS,
    MISSED_PAYMENTS,
    PAYMENTS,
    Arrangement,
    ContactResultReported,
    EventHeader,
    PaymentMissed,
    PaymentReceived,
    Promise,
)
from tests.unit.schemas.fixtures import (
    ABSENT,
    contact_doc,
    decode_doc,
    missed_doc,
    payment_doc,
)


def test_payment__decodes_to_the_exact_record() -> None:
    assert decode_doc(PAYMENTS, payment_doc()) == PaymentReceived(
        header=EventHeader(
            event_id="pay-1",
            customer_id="cust-1",
            occurred_at=datetime(2026, 3, 1, 1, 30, tzinfo=UTC),
            customer_timezone="Asia/Shanghai",
            schema_version=1,
        ),
        amount=Decimal("125.50"),
        currency="CNY",
        installment_id="inst-1",
        account_id="acct-1",
    )


def test_missed_payment__decodes_to_the_exact_record() -> None:
    assert decode_doc(MISSED_PAYMENTS, missed_doc()) == PaymentMissed(
        header=EventHeader("miss-1", "cust-1", datetime(2026, 3, 2, 0, 5, tzinfo=UTC)),
        installment_id="inst-1",
        due_date=date(2026, 3, 1),
        amount_due=Decimal("300.00"),
        currency="CNY",
        account_id="acct-1",
    )


def test_promise_to_pay__decodes_with_its_promise_and_no_arrangement() -> None:
    assert decode_doc(CONTACT_RESULTS, contact_doc()) == ContactResultReported(
        header=EventHeader("contact-1", "cust-1", datetime(2026, 3, 3, 2, 0, tzinfo=UTC)),
        channel="agent_call",
        outcome="promise_to_pay",
        outreach_id="out-1",
        promise=Promise(Decimal("200.00"), date(2026, 3, 10)),
        arrangement=None,
    )


def test_arrangement_agreed__decodes_with_its_arrangement_and_no_promise() -> None:
    event = decode_doc(CONTACT_RESULTS, contact_doc(outcome="arrangement_agreed"))
    assert isinstance(event, ContactResultReported)
    assert event.arrangement == Arrangement("deferral", date(2026, 6, 30))
    assert event.promise is None


def test_other_outcome__ignores_promise_and_arrangement_even_when_malformed() -> None:
    doc = contact_doc(outcome="reached", promise="soon", arrangement=[1])
    event = decode_doc(CONTACT_RESULTS, doc)
    assert isinstance(event, ContactResultReported)
    assert (event.outcome, event.promise, event.arrangement) == ("reached", None, None)


def test_optional_fields_absent_or_null__take_their_defaults() -> None:
    doc = payment_doc(
        customer_timezone=None, schema_version=None, installment_id=ABSENT, account_id=None
    )
    event = decode_doc(PAYMENTS, doc)
    assert isinstance(event, PaymentReceived)
    assert event.header.customer_timezone is None
    assert event.header.schema_version == 1
    assert (event.installment_id, event.account_id) == (None, None)


def test_unknown_fields__are_ignored() -> None:
    doc = payment_doc(future_field={"nested": [1, 2]}, another="x")
    assert decode_doc(PAYMENTS, doc) == decode_doc(PAYMENTS, payment_doc())


def test_newer_schema_version__is_accepted_and_kept() -> None:
    assert decode_doc(PAYMENTS, payment_doc(schema_version=3)).header.schema_version == 3


@pytest.mark.parametrize(
    ("text", "utc"),
    [
        ("2026-03-01T09:30:00+08:00", datetime(2026, 3, 1, 1, 30, tzinfo=UTC)),
        ("2026-02-28T20:00:00-05:30", datetime(2026, 3, 1, 1, 30, tzinfo=UTC)),
        ("2026-03-01T01:30:00Z", datetime(2026, 3, 1, 1, 30, tzinfo=UTC)),
        ("2026-03-01t01:30:00z", datetime(2026, 3, 1, 1, 30, tzinfo=UTC)),
        ("2026-03-01T01:30:00-00:00", datetime(2026, 3, 1, 1, 30, tzinfo=UTC)),
        ("2026-03-01T01:30:00.25+00:00", datetime(2026, 3, 1, 1, 30, 0, 250000, tzinfo=UTC)),
        ("2026-03-01T01:30:00.123456789Z", datetime(2026, 3, 1, 1, 30, 0, 123456, tzinfo=UTC)),
    ],
)
def test_occurred_at_with_any_offset__is_normalised_to_utc(text: str, utc: datetime) -> None:
    occurred_at = decode_doc(PAYMENTS, payment_doc(occurred_at=text)).header.occurred_at
    assert occurred_at == utc
    assert occurred_at.utcoffset() is not None
    assert occurred_at.tzinfo is UTC


def _amount_from_raw_number(number_text: str) -> Decimal:
    raw = (
        '{"event_id":"e","customer_id":"c","occurred_at":"2026-03-01T00:00:00Z",'
        f'"currency":"CNY","amount":{number_text}}}'
    ).encode()
    event = decode_input(PAYMENTS, raw)
    assert isinstance(event, PaymentReceived)
    return event.amount


@pytest.mark.parametrize(
    ("number_text", "exact"),
    [
        ("0.1", "0.1"),
        ("0.2", "0.2"),
        ("125.5", "125.5"),
        ("125", "125"),
        ("1e2", "100"),
        ("1.50000", "1.5000"),
        ("0.0001", "0.0001"),
        ("12345678901234.5678", "12345678901234.5678"),
        ("99999999999999.9999", "99999999999999.9999"),
    ],
)
def test_money_as_json_number__is_exactly_what_was_written(number_text: str, exact: str) -> None:
    amount = _amount_from_raw_number(number_text)
    assert amount == Decimal(exact)
    assert str(amount) == exact


def test_money_from_numbers__adds_up_without_float_error() -> None:
    assert _amount_from_raw_number("0.1") + _amount_from_raw_number("0.2") == Decimal("0.3")


@pytest.mark.parametrize(
    ("text", "exact"),
    [("125.50", "125.50"), ("0.1", "0.1"), ("007", "7"), ("1.23400", "1.2340"), ("5", "5")],
)
def test_money_as_decimal_string__is_exact(text: str, exact: str) -> None:
    event = decode_doc(PAYMENTS, payment_doc(amount=text))
    assert isinstance(event, PaymentReceived)
    assert str(event.amount) == exact


def test_money_in_promise_as_number__is_exact() -> None:
    event = decode_input(
        CONTACT_RESULTS,
        orjson.dumps(contact_doc()).replace(b'"amount":"200.00"', b'"amount":199.99'),
    )
    assert isinstance(event, ContactResultReported)
    assert event.promise == Promise(Decimal("199.99"), date(2026, 3, 10))


def _arrangement_until(until: str, **overrides: object) -> date:
    doc = contact_doc(outcome="arrangement_agreed", **overrides)
    doc["arrangement"] = {"type": "reinstallment", "until": until}
    event = decode_doc(CONTACT_RESULTS, doc)
    assert isinstance(event, ContactResultReported) and event.arrangement is not None
    return event.arrangement.until


def test_arrangement_until__may_be_the_day_it_was_agreed_or_13_months_later() -> None:
    assert _arrangement_until("2026-03-03") == date(2026, 3, 3)
    assert _arrangement_until("2027-04-03") == date(2027, 4, 3)


def test_arrangement_until__uses_the_customer_zone_for_the_day_it_was_agreed() -> None:
    # 20:00 on 2 March in New York is already 3 March in Shanghai.
    late_evening = "2026-03-02T20:00:00-05:00"
    assert _arrangement_until("2026-03-02", occurred_at=late_evening) == date(2026, 3, 2)
    with pytest.raises(InvalidEvent) as raised:
        _arrangement_until(
            "2026-03-02", occurred_at=late_evening, customer_timezone="Asia/Shanghai"
        )
    assert (raised.value.code, raised.value.field) == ("invalid_field", "arrangement.until")


@pytest.mark.parametrize(
    ("start", "months", "end"),
    [
        (date(2026, 3, 3), 13, date(2027, 4, 3)),
        (date(2026, 1, 31), 13, date(2027, 2, 28)),
        (date(2027, 1, 31), 13, date(2028, 2, 29)),
        (date(2026, 11, 30), 13, date(2027, 12, 30)),
        (date(9999, 1, 1), 13, date.max),
    ],
)
def test_add_months__is_calendar_wise_and_clamped_to_month_end(
    start: date, months: int, end: date
) -> None:
    assert add_months(start, months) == end


@pytest.mark.parametrize("zone", ["Asia/Shanghai", "America/New_York", "UTC", "Etc/GMT+8"])
def test_known_iana_zone__is_kept(zone: str) -> None:
    assert decode_doc(PAYMENTS, payment_doc(customer_timezone=zone)).header.customer_timezone == (
        zone
    )


@pytest.mark.parametrize(
    ("raw_key", "key"),
    [(b"cust-1", "cust-1"), ("客户".encode(), "客户"), (None, None), (b"", None), (b"\xff", None)],
)
def test_decode_key__is_text_or_none(raw_key: bytes | None, key: str | None) -> None:
    assert decode_key(raw_key) == key


def test_unknown_topic__is_a_wiring_bug_not_bad_input() -> None:
    with pytest.raises(ValueError, match="not an input topic"):
        decode_input("repayments.outreach-needed", b"{}")
