"""Properties: encoding then decoding gives the same record; money keeps every digit;
no input whatsoever makes the decoder raise anything but ``InvalidEvent``."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from schemas.decode import SHIPPED_ZONES, decode_input
from schemas.encode import encode_input_event, input_topic
from schemas.errors import InvalidEvent
from schemas.events import (
    CONTACT_RESULTS,
    INPUT_TOPICS,
    OUTCOMES,
    PAYMENTS,
    ContactResultReported,
    ErasureRequested,
    InputEvent,
    PaymentMissed,
    PaymentReceived,
)
from tests.unit.schemas.fixtures import DOC_FACTORIES, payment_doc
from tests.unit.schemas.strategies import (
    END_INSTANT,
    FIRST_DAY,
    FIRST_INSTANT,
    LAST_DAY,
    input_events,
    json_values,
    money,
)

topics = st.sampled_from(INPUT_TOPICS)
relaxed = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])


@relaxed
@given(input_events)
def test_encode_then_decode__gives_the_same_record(event: InputEvent) -> None:
    raw = orjson.dumps(encode_input_event(event))
    assert decode_input(input_topic(event), raw) == event


@relaxed
@given(money, st.sampled_from(["f", "e", "E"]))
def test_money_sent_as_a_json_number__keeps_every_digit(amount: Decimal, notation: str) -> None:
    number = format(amount, notation)
    raw = orjson.dumps(payment_doc(amount="@")).replace(b'"@"', number.encode())
    event = decode_input(PAYMENTS, raw)
    assert isinstance(event, PaymentReceived)
    assert event.amount == amount


def _check_decoded(event: InputEvent) -> None:
    """What the core relies on for every record the decoder lets through."""
    offset = event.header.occurred_at.utcoffset()
    assert offset is not None and offset.total_seconds() == 0
    assert FIRST_INSTANT <= event.header.occurred_at < END_INSTANT
    zone = event.header.customer_timezone
    assert zone is None or zone in SHIPPED_ZONES
    amounts: list[Decimal] = []
    days = []
    if isinstance(event, PaymentReceived):
        amounts.append(event.amount)
    elif isinstance(event, PaymentMissed):
        amounts.append(event.amount_due)
        days.append(event.due_date)
    elif isinstance(event, ErasureRequested):
        pass  # the common fields only
    elif event.promise is not None:
        amounts.append(event.promise.amount)
        days.append(event.promise.date)
    elif event.arrangement is not None:
        days.append(event.arrangement.until)
    assert all(FIRST_DAY <= day <= LAST_DAY for day in days)
    for amount in amounts:
        assert amount > 0
        assert amount.as_tuple().exponent in range(-4, 1)


def _decode_or_invalid(topic: str, raw: bytes) -> None:
    try:
        event = decode_input(topic, raw)
    except InvalidEvent as error:
        assert error.code in {
            "invalid_json",
            "not_an_object",
            "missing_field",
            "invalid_field",
            "unknown_outcome",
            "too_large",
        }
        return
    _check_decoded(event)


@relaxed
@given(topics, st.binary(max_size=300))
def test_arbitrary_bytes__decode_or_raise_invalid_event(topic: str, raw: bytes) -> None:
    _decode_or_invalid(topic, raw)


@relaxed
@given(topics, json_values)
def test_arbitrary_json__decodes_or_raises_invalid_event(topic: str, value: Any) -> None:
    _decode_or_invalid(topic, orjson.dumps(value))


FIELDS = sorted(
    {name for factory in DOC_FACTORIES.values() for name in factory()}
    | {"promise.amount", "promise.date", "arrangement.type", "arrangement.until"}
)


@relaxed
@given(
    topics,
    st.sampled_from(["", *sorted(OUTCOMES)]),
    st.dictionaries(st.sampled_from(FIELDS), json_values, max_size=4),
)
def test_good_message_with_fields_replaced_by_any_json__decodes_or_raises_invalid_event(
    topic: str, outcome: str, replacements: dict[str, Any]
) -> None:
    doc = DOC_FACTORIES[topic]()
    if topic == CONTACT_RESULTS and outcome:
        doc["outcome"] = outcome
    for path, value in replacements.items():
        parent, _, name = path.rpartition(".")
        target = doc.get(parent) if parent else doc
        if isinstance(target, dict):
            target[name] = value
    _decode_or_invalid(topic, orjson.dumps(doc))


@relaxed
@given(st.text(max_size=200))
def test_arbitrary_text__decodes_or_raises_invalid_event(text: str) -> None:
    _decode_or_invalid(CONTACT_RESULTS, text.encode())


def test_contact_result_strategy__covers_promises_and_arrangements() -> None:
    """Guards the round-trip property against a strategy that stopped drawing them."""
    seen: set[str] = set()

    @settings(max_examples=300, deadline=None, database=None)
    @given(input_events)
    def collect(event: InputEvent) -> None:
        if isinstance(event, ContactResultReported):
            if event.promise is not None:
                seen.add("promise")
            elif event.arrangement is not None:
                seen.add("arrangement")
            else:
                seen.add("none")

    collect()
    assert seen == {"promise", "arrangement", "none"}
