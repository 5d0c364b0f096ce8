"""Self-service results and callback requests (contract: contact results, issue 14)."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson
import pytest

from schemas.decode import decode_input
from schemas.errors import InvalidEvent
from schemas.events import CONTACT_RESULTS, OUTCOMES, SELF_SERVICE_OUTCOMES
from tests.unit.schemas.fixtures import contact_doc


def decode(**overrides: object) -> object:
    return decode_input(CONTACT_RESULTS, orjson.dumps(contact_doc(**overrides)))


@pytest.mark.parametrize("outcome", sorted(SELF_SERVICE_OUTCOMES))
def test_self_service__takes_right_party_outcomes_dispute_resolved_and_cease(outcome: str) -> None:
    event = decode(channel="self_service", outcome=outcome)
    assert event.channel == "self_service"  # type: ignore[attr-defined]


@pytest.mark.parametrize("outcome", sorted(OUTCOMES - SELF_SERVICE_OUTCOMES))
def test_self_service__refuses_outcomes_of_our_own_attempts(outcome: str) -> None:
    with pytest.raises(InvalidEvent) as caught:
        decode(channel="self_service", outcome=outcome)
    assert (caught.value.code, caught.value.field) == ("invalid_field", "outcome")


def test_self_service__is_an_input_channel_only_listed_once() -> None:
    assert {"delivered", "no_answer", "opt_out"}.isdisjoint(SELF_SERVICE_OUTCOMES)


def test_callback_at__read_with_callback_requested_up_to_14_days_later() -> None:
    event = decode(outcome="callback_requested", callback_at="2026-03-17T10:00:00+08:00")
    assert event.callback_at == datetime(2026, 3, 17, 2, tzinfo=UTC)  # type: ignore[attr-defined]
    same = decode(outcome="callback_requested", callback_at="2026-03-03T10:00:00+08:00")
    assert same.callback_at == same.header.occurred_at  # type: ignore[attr-defined]
    assert decode(outcome="callback_requested").callback_at is None  # type: ignore[attr-defined]


def test_callback_at__ignored_with_other_outcomes_like_unknown_fields() -> None:
    event = decode(outcome="reached", callback_at="not even a time")
    assert event.callback_at is None  # type: ignore[attr-defined]
