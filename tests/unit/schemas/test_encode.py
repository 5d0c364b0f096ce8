"""Outputs leave with the contract's field names, money as decimal strings and UTC
instants with ``Z``; dead letters keep the original bytes."""

from __future__ import annotations

import base64
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import orjson
import pytest

from schemas.decode import decode_input
from schemas.encode import (
    dead_letter,
    decision_to_dict,
    encode_dead_letter,
    encode_decision,
    encode_input_event,
    format_instant,
    format_money,
    input_topic,
)
from schemas.errors import InvalidEvent
from schemas.events import (
    CONTACT_RESULTS,
    MISSED_PAYMENTS,
    PAYMENTS,
    Arrangement,
    ContactResultReported,
    EventHeader,
    InputEvent,
    PaymentMissed,
    PaymentReceived,
    Promise,
)
from schemas.outputs import OutreachNeeded, RiskEscalation

SHANGHAI = timezone(timedelta(hours=8))


def escalation() -> RiskEscalation:
    return RiskEscalation(
        escalation_id="0b7e7a52-3c1f-5d7e-9a43-6f2d1c0e8b11",
        customer_id="cust-1",
        from_tier="early",
        to_tier="mid",
        direction="up",
        reasons=("dpd", "broken_promises"),
        days_past_due=31,
        overdue_amount=Decimal("125.5"),
        currency="CNY",
        caused_by="tick:2026-04-01T00:00:00Z",
        decided_at=datetime(2026, 4, 1, 0, 0, 0, 999999, tzinfo=UTC),
    )


def outreach() -> OutreachNeeded:
    return OutreachNeeded(
        outreach_id="6a1d3f8e-2b4c-5e6f-8a9b-0c1d2e3f4a5b",
        customer_id="cust-1",
        channel="sms",
        tier="early",
        priority=4,
        reason="missed_payment",
        not_before=datetime(2026, 3, 2, 8, 0, tzinfo=SHANGHAI),
        expires_at=datetime(2026, 3, 3, 8, 0, tzinfo=SHANGHAI),
        days_past_due=1,
        overdue_amount=Decimal("300"),
        currency="CNY",
        caused_by="miss-1",
        decided_at=datetime(2026, 3, 2, 0, 5, tzinfo=UTC),
    )


def test_risk_escalation__has_the_contract_fields_in_order() -> None:
    assert list(decision_to_dict(escalation()).items()) == [
        ("escalation_id", "0b7e7a52-3c1f-5d7e-9a43-6f2d1c0e8b11"),
        ("customer_id", "cust-1"),
        ("from_tier", "early"),
        ("to_tier", "mid"),
        ("direction", "up"),
        ("reasons", ["dpd", "broken_promises"]),
        ("days_past_due", 31),
        ("overdue_amount", "125.50"),
        ("currency", "CNY"),
        ("caused_by", "tick:2026-04-01T00:00:00Z"),
        ("decided_at", "2026-04-01T00:00:00Z"),
    ]


def test_outreach__has_the_contract_fields_and_utc_instants() -> None:
    assert list(decision_to_dict(outreach()).items()) == [
        ("outreach_id", "6a1d3f8e-2b4c-5e6f-8a9b-0c1d2e3f4a5b"),
        ("customer_id", "cust-1"),
        ("channel", "sms"),
        ("tier", "early"),
        ("priority", 4),
        ("reason", "missed_payment"),
        ("not_before", "2026-03-02T00:00:00Z"),
        ("expires_at", "2026-03-03T00:00:00Z"),
        ("days_past_due", 1),
        ("overdue_amount", "300.00"),
        ("currency", "CNY"),
        ("caused_by", "miss-1"),
        ("decided_at", "2026-03-02T00:05:00Z"),
    ]


@pytest.mark.parametrize("decision", [escalation(), outreach()])
def test_encode_decision__is_the_dict_as_compact_json(
    decision: RiskEscalation | OutreachNeeded,
) -> None:
    raw = encode_decision(decision)
    assert orjson.loads(raw) == decision_to_dict(decision)
    assert b" " not in raw


@pytest.mark.parametrize(
    ("amount", "text"),
    [
        ("125.5", "125.50"),
        ("125", "125.00"),
        ("125.50", "125.50"),
        ("125.5000", "125.50"),
        ("125.5050", "125.505"),
        ("0.125", "0.125"),
        ("0.0001", "0.0001"),
        ("0", "0.00"),
        ("-0", "0.00"),
        ("0E-7", "0.00"),
        ("1E+2", "100.00"),
        ("12345678901234.5678", "12345678901234.5678"),
        ("-5.5", "-5.50"),
    ],
)
def test_format_money__plain_with_at_least_two_decimals(amount: str, text: str) -> None:
    assert format_money(Decimal(amount)) == text


@pytest.mark.parametrize("amount", ["NaN", "Infinity", "-Infinity"])
def test_format_money__refuses_non_finite(amount: str) -> None:
    with pytest.raises(ValueError, match="finite"):
        format_money(Decimal(amount))


def test_format_instant__utc_z_whole_seconds() -> None:
    local = datetime(2026, 3, 1, 9, 30, 59, 999999, tzinfo=SHANGHAI)
    assert format_instant(local) == "2026-03-01T01:30:59Z"
    assert format_instant(datetime(5, 1, 2, 3, 4, 5, tzinfo=UTC)) == "0005-01-02T03:04:05Z"


def test_format_instant__refuses_naive() -> None:
    with pytest.raises(ValueError, match="aware"):
        format_instant(datetime(2026, 3, 1, 9, 30))


ERROR = InvalidEvent("invalid_field", "currency must be an ISO 4217 code", "currency")


def test_dead_letter__carries_utf8_key_and_value_as_text() -> None:
    raw = '{"customer_id":"客户-1","currency":"cny"}'.encode()
    assert dead_letter(PAYMENTS, 3, 42, "客户-1".encode(), raw, ERROR) == {
        "source_topic": PAYMENTS,
        "partition": 3,
        "offset": 42,
        "key": "客户-1",
        "raw": '{"customer_id":"客户-1","currency":"cny"}',
        "error": {
            "code": "invalid_field",
            "message": "currency must be an ISO 4217 code",
            "field": "currency",
        },
    }


def test_dead_letter__carries_non_utf8_bytes_as_base64_and_says_so() -> None:
    raw, key = b"\xff\xfe\x00garbage", b"\x80key"
    error = InvalidEvent("invalid_json", "not UTF-8")
    record = dead_letter(PAYMENTS, 0, 7, key, raw, error)
    assert record["raw_encoding"] == "base64"
    assert record["key_encoding"] == "base64"
    assert base64.b64decode(record["raw"]) == raw
    assert base64.b64decode(record["key"]) == key
    assert record["error"] == {"code": "invalid_json", "message": "not UTF-8", "field": None}


def test_dead_letter__without_a_key_has_a_null_key_and_no_key_encoding() -> None:
    record = dead_letter(PAYMENTS, 0, 7, None, b"{}", ERROR)
    assert record["key"] is None
    assert "key_encoding" not in record and "raw_encoding" not in record


def test_encode_dead_letter__is_the_dict_as_json() -> None:
    raw = encode_dead_letter(PAYMENTS, 1, 2, b"k", b"\xff", ERROR)
    assert orjson.loads(raw) == dead_letter(PAYMENTS, 1, 2, b"k", b"\xff", ERROR)


HEADER = EventHeader(
    "e-1", "cust-1", datetime(2026, 3, 1, 1, 30, 0, 5, tzinfo=UTC), "Asia/Shanghai", 2
)
INPUTS: list[InputEvent] = [
    PaymentReceived(HEADER, Decimal("125.50"), "CNY", "inst-1", None),
    PaymentMissed(HEADER, "inst-1", date(2026, 3, 1), Decimal("300"), "CNY", "acct-1"),
    ContactResultReported(
        HEADER, "sms", "promise_to_pay", None, Promise(Decimal("0.1"), date(2026, 3, 9))
    ),
    ContactResultReported(
        HEADER,
        "agent_call",
        "arrangement_agreed",
        "out-9",
        arrangement=Arrangement("fee_waiver", date(2026, 9, 1)),
    ),
]


def test_encode_input_event__is_what_a_producer_sends() -> None:
    assert encode_input_event(INPUTS[0]) == {
        "event_id": "e-1",
        "customer_id": "cust-1",
        "occurred_at": "2026-03-01T01:30:00.000005Z",
        "customer_timezone": "Asia/Shanghai",
        "schema_version": 2,
        "amount": "125.50",
        "currency": "CNY",
        "installment_id": "inst-1",
    }
    assert encode_input_event(INPUTS[2])["promise"] == {"amount": "0.1", "date": "2026-03-09"}
    assert encode_input_event(INPUTS[3])["arrangement"] == {
        "type": "fee_waiver",
        "until": "2026-09-01",
    }


@pytest.mark.parametrize("event", INPUTS, ids=lambda e: type(e).__name__)
def test_encode_input_event__decodes_back_to_the_same_record(
    event: PaymentReceived | PaymentMissed | ContactResultReported,
) -> None:
    raw = orjson.dumps(encode_input_event(event))
    assert decode_input(input_topic(event), raw) == event


def test_input_topic__names_each_record_topic() -> None:
    assert [input_topic(e) for e in INPUTS] == [
        PAYMENTS,
        MISSED_PAYMENTS,
        CONTACT_RESULTS,
        CONTACT_RESULTS,
    ]
