"""Every way a message breaks the contract gives one ``InvalidEvent`` with the contract's
code and the field at fault, so the dead letter tells the producer what to fix."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from schemas.decode import decode_input
from schemas.errors import InvalidEvent
from schemas.events import CONTACT_RESULTS, INPUT_TOPICS, PAYMENTS
from tests.unit.schemas.cases import INVALID_FIELDS, MISSING_FIELDS, BadField
from tests.unit.schemas.fixtures import (
    DOC_FACTORIES,
    contact_doc,
    payment_doc,
    replaced,
    without,
)


def _error(topic: str, raw: bytes, **kwargs: Any) -> InvalidEvent:
    with pytest.raises(InvalidEvent) as raised:
        decode_input(topic, raw, **kwargs)
    return raised.value


def test_value_over_the_limit__is_too_large_before_parsing() -> None:
    raw = b"{" + b" " * 100 + b"not json"
    error = _error(PAYMENTS, raw, max_bytes=100)
    assert (error.code, error.field) == ("too_large", None)


def test_value_at_the_limit__is_parsed() -> None:
    raw = orjson.dumps(payment_doc())
    assert decode_input(PAYMENTS, raw, max_bytes=len(raw)).header.event_id == "pay-1"


def test_default_limit__is_64_kib() -> None:
    padded = orjson.dumps(payment_doc(padding="x" * 65536))
    assert _error(PAYMENTS, padded).code == "too_large"


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"{",
        b'{"event_id": "e",}',
        b"\xff\xfe{}",
        b'{"event_id": "caf\xe9"}',
        b"\xef\xbb\xbf{}",
        b'{"amount": NaN}',
        b'{"amount": Infinity}',
        b'{"amount": 1e400}',
        b"[" * 2000 + b"]" * 2000,
        b"{'event_id': 'e'}",
    ],
)
def test_not_json_or_not_utf8__is_invalid_json(raw: bytes) -> None:
    error = _error(PAYMENTS, raw)
    assert (error.code, error.field) == ("invalid_json", None)


@pytest.mark.parametrize("raw", [b"[]", b"1", b"1.5", b'"text"', b"null", b"true"])
def test_json_that_is_not_an_object__is_not_an_object(raw: bytes) -> None:
    error = _error(PAYMENTS, raw)
    assert (error.code, error.field) == ("not_an_object", None)


@pytest.mark.parametrize(("topic", "path", "outcome"), MISSING_FIELDS, ids=str)
@pytest.mark.parametrize("how", ["absent", "null"])
def test_required_field_absent_or_null__is_missing_field(
    topic: str, path: str, outcome: str, how: str
) -> None:
    doc = DOC_FACTORIES[topic]()
    if topic == CONTACT_RESULTS:
        doc["outcome"] = outcome
    doc = without(doc, path) if how == "absent" else replaced(doc, path, None)
    error = _error(topic, orjson.dumps(doc))
    assert (error.code, error.field) == ("missing_field", path)
    assert path in error.message


@pytest.mark.parametrize("case", INVALID_FIELDS, ids=str)
def test_field_breaking_its_rule__is_invalid_field(case: BadField) -> None:
    error = _error(case.topic, orjson.dumps(case.doc()))
    assert (error.code, error.field) == ("invalid_field", case.path)


@pytest.mark.parametrize(
    "number", ["1180591620717411303424", "100000000000000", "1.00001", "1e-5", "0.0", "-0.0"]
)
def test_money_number_out_of_range_or_too_precise__is_invalid_field(number: str) -> None:
    raw = orjson.dumps(payment_doc(amount="@")).replace(b'"@"', number.encode())
    error = _error(PAYMENTS, raw)
    assert (error.code, error.field) == ("invalid_field", "amount")


def test_arrangement_until_too_far__names_the_latest_allowed_day() -> None:
    doc = contact_doc(outcome="arrangement_agreed")
    doc["arrangement"]["until"] = "2027-04-04"
    assert "2027-04-03" in _error(CONTACT_RESULTS, orjson.dumps(doc)).message


@pytest.mark.parametrize("outcome", ["", "answered", "PROMISE_TO_PAY", "promise to pay"])
def test_outcome_outside_the_contract_table__is_unknown_outcome(outcome: str) -> None:
    error = _error(CONTACT_RESULTS, orjson.dumps(contact_doc(outcome=outcome)))
    assert (error.code, error.field) == ("unknown_outcome", "outcome")


def test_first_fault_in_contract_order__is_the_one_reported() -> None:
    doc = payment_doc(event_id="", amount="-1", currency="x")
    assert _error(PAYMENTS, orjson.dumps(doc)).field == "event_id"
    doc = payment_doc(amount="-1", currency="x")
    assert _error(PAYMENTS, orjson.dumps(doc)).field == "amount"


@pytest.mark.parametrize("topic", INPUT_TOPICS)
def test_empty_object__misses_event_id_first(topic: str) -> None:
    error = _error(topic, b"{}")
    assert (error.code, error.field) == ("missing_field", "event_id")


def test_error__renders_code_message_and_field_for_the_dead_letter() -> None:
    error = _error(PAYMENTS, orjson.dumps(payment_doc(currency="cny")))
    assert error.as_dict() == {
        "code": "invalid_field",
        "message": "currency must be an ISO 4217 code: three upper-case letters",
        "field": "currency",
    }
