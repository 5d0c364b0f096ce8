"""State encoding (round trip, versions) and bounded histories."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import orjson
import pytest

from policy import state as state_module
from policy.state import (
    REMEMBERED_DECISIONS,
    STATE_VERSION,
    CustomerState,
    StateError,
    decode_state,
    encode_state,
    stored_tier,
)

from .fixtures import (
    DAY,
    HOUR,
    NOW,
    TODAY,
    Customer,
    make_contact,
    make_missed,
    make_payment,
    make_promise,
)


def busy_customer() -> Customer:
    """A customer touching every part of the state."""
    c = Customer()
    c.apply(make_missed("i1", TODAY - 40 * DAY, "120.50", tz="America/New_York"))
    c.apply(make_missed("i2", TODAY - 10 * DAY, "80.00"))
    c.apply(make_payment("30.25", installment_id="i2", at=NOW + HOUR))
    c.apply(make_payment("9.99", installment_id="on-time", at=NOW + HOUR))
    c.apply(make_contact("opt_out", "email", at=NOW + 2 * HOUR))
    c.apply(make_contact("opt_out", "sms", at=NOW + 2 * HOUR))
    c.apply(make_contact("hardship", "agent_call", at=NOW + 3 * HOUR + timedelta(microseconds=7)))
    c.apply(make_promise("50.00", TODAY + 5 * DAY, at=NOW + 4 * HOUR))
    c.apply(make_contact("dispute", "agent_call", at=NOW + 5 * HOUR))
    c.apply(make_contact("no_answer", "voice_bot", at=NOW + 6 * HOUR))
    c.apply(make_contact("arrangement_agreed", arrangement=("fee_waiver", TODAY + 30 * DAY)))
    c.run(NOW + 2 * DAY)
    return c


def test_encode_decode__round_trips_a_busy_state() -> None:
    state = busy_customer().current
    assert state.promise and state.arrangement and state.hardship_until and state.disputed
    assert state.recent and state.attempts and state.opted_out == ("sms", "email")
    blob = encode_state(state)
    assert decode_state(blob) == state
    assert orjson.loads(blob)[0] == STATE_VERSION


def test_encode_decode__round_trips_remembered_decisions_with_their_ids() -> None:
    c = Customer()
    c.apply(make_missed(due_date=TODAY - 10 * DAY))
    c.apply(make_payment("100.00", at=NOW + timedelta(minutes=3, microseconds=250)))
    decoded = decode_state(encode_state(c.current))
    assert decoded.recent == tuple(c.log)
    kinds = [type(d).__name__ for d in c.log]  # the cure cancels the pending missed_payment
    assert kinds == [
        "RiskEscalation",
        "OutreachNeeded",
        "RiskEscalation",
        "OutreachCancelled",
        "OutreachNeeded",
    ]


def test_typical_customer__encodes_small() -> None:
    c = Customer()
    c.apply(make_missed("i1", TODAY - 3 * DAY, "1250.00"))
    c.run(NOW + 4 * DAY, every=6 * HOUR)
    c.apply(make_contact("no_answer", "voice_bot", at=NOW + 4 * DAY + HOUR))
    c.apply(make_promise("1250.00", TODAY + 7 * DAY, at=NOW + 4 * DAY + 2 * HOUR))
    c.apply(make_payment("1250.00", at=NOW + 6 * DAY))
    assert len(encode_state(c.current)) < 2048


def test_decode__upgrades_an_older_version(monkeypatch: pytest.MonkeyPatch) -> None:
    state = busy_customer().current
    old_blob = encode_state(state)
    upgraded: list[int] = []

    def to_next(data: list[Any]) -> list[Any]:
        upgraded.append(data[0])
        return [data[0] + 1, *data[1:]]

    monkeypatch.setattr(state_module, "STATE_VERSION", STATE_VERSION + 1)
    monkeypatch.setitem(state_module.UPGRADES, STATE_VERSION, to_next)
    assert decode_state(old_blob) == state
    assert upgraded == [STATE_VERSION]
    assert orjson.loads(encode_state(state))[0] == STATE_VERSION + 1


def test_decode__refuses_a_newer_version_and_corrupt_data() -> None:
    with pytest.raises(StateError, match="newer"):
        decode_state(orjson.dumps([STATE_VERSION + 1]))
    for corrupt in (b"{}", b"not json", orjson.dumps([STATE_VERSION, "c"])):
        with pytest.raises(StateError):
            decode_state(corrupt)


def test_remembered_decisions__are_the_last_16() -> None:
    c = Customer()
    c.apply(make_missed(due_date=TODAY - 70 * DAY))
    c.run(NOW + 30 * DAY)
    assert len(c.log) > REMEMBERED_DECISIONS
    assert c.current.recent == tuple(c.log[-REMEMBERED_DECISIONS:])


def test_attempts__are_pruned_to_what_the_caps_can_read() -> None:
    c = Customer()
    for n in range(20):
        c.apply(make_contact("reached", "voice_bot", at=NOW + n * DAY))
    horizon = c.now - timedelta(days=c.policy.contact_profile.attempt_retention_days)
    assert c.current.attempts and all(a.at >= horizon for a in c.current.attempts)


def test_broken_promises__are_forgotten_after_90_days() -> None:
    c = Customer()
    c.apply(make_missed(due_date=TODAY - 5 * DAY, amount_due="500.00"))
    c.apply(make_promise("100.00", TODAY + DAY, at=NOW + HOUR))
    c.run(NOW + 10 * DAY, every=6 * HOUR)
    assert len(c.current.broken_promises) == 1
    c.run(NOW + 100 * DAY, every=12 * HOUR)
    assert c.current.broken_promises == ()


def test_state__is_immutable() -> None:
    state = CustomerState("c", "Asia/Shanghai")
    with pytest.raises(AttributeError):
        state.tier = "late"  # type: ignore[misc]


def test_stored_tier__reads_the_tier_without_decoding_and_refuses_newer_versions() -> None:
    c = Customer()
    c.apply(make_missed(due_date=TODAY - 40 * DAY))
    blob = encode_state(c.current)
    assert stored_tier(blob) == c.current.tier == "mid"
    newer = orjson.dumps([STATE_VERSION + 1, *orjson.loads(blob)[1:]])
    with pytest.raises(StateError, match="newer"):
        stored_tier(newer)


def test_decode__reads_a_version_1_state_whose_decisions_had_no_source() -> None:
    """Version 1 stored remembered decisions without the message that produced them: they
    upgrade to "any redelivery re-sends them", the at-least-once of version 1."""
    state = busy_customer().current
    data = orjson.loads(encode_state(state))
    assert data[0] == 2
    v1 = [1, *data[1:-1], [[*g[:5], *g[7:]] for g in data[-1]]]
    upgraded = decode_state(orjson.dumps(v1))
    assert upgraded.recent == state.recent
    assert all(g[5] is None and g[6] is None for g in orjson.loads(upgraded.memory))
