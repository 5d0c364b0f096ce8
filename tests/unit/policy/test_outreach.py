"""Collection triggers, their precedence, cadence per tier and channel choice."""

from __future__ import annotations

import itertools

import pytest

from policy import Policy
from policy.outreach import COLLECTION_REASONS, choose_channel, collection_reason
from policy.state import Attempt

from .fixtures import (
    DAY,
    HOUR,
    NOW,
    TODAY,
    Customer,
    escalations,
    make_contact,
    make_missed,
    outreach,
    reasons,
)


def test_collection_reason__first_of_the_contract_precedence_wins() -> None:
    names = ("broke_arrangement", "broke_promise", "new_missed", "tier_up", "cadence_due")
    for flags in itertools.product((False, True), repeat=5):
        expected = next((r for r, f in zip(COLLECTION_REASONS, flags, strict=True) if f), None)
        assert collection_reason(**dict(zip(names, flags, strict=True))) == expected


def test_one_step__emits_one_collection_outreach_when_triggers_meet() -> None:
    c = Customer()
    c.apply(make_missed("i1", TODAY - 29 * DAY))
    c.apply(make_contact("arrangement_agreed", arrangement=("deferral", TODAY + 90 * DAY)))
    c.run(NOW + 3 * DAY)
    # broken arrangement + missed payment + tier up (early -> mid) in one step:
    made = c.apply(make_missed("i2", TODAY + 3 * DAY, at=NOW + 3 * DAY + HOUR))
    assert reasons(made) == ["broken_arrangement"]
    assert [e.to_tier for e in escalations(made)] == ["mid"]


def test_missed_payment_while_dpd_is_zero__uses_earlys_channels_and_priority() -> None:
    c = Customer()
    [o] = outreach(c.apply(make_missed(due_date=TODAY)))
    assert c.current.tier == "current"
    assert (o.reason, o.tier, o.channel, o.priority, o.days_past_due) == (
        "missed_payment",
        "current",
        "sms",
        4,
        0,
    )


@pytest.mark.parametrize(
    ("dpd", "tier", "cadence_days", "priority"),
    [(10, "early", 3, 4), (40, "mid", 2, 3), (70, "late", 1, 2), (100, "severe", 1, 1)],
)
def test_cadence__one_collection_outreach_per_tier_cadence(
    dpd: int, tier: str, cadence_days: int, priority: int
) -> None:
    c = Customer()
    c.apply(make_missed(due_date=TODAY - dpd * DAY))
    made = outreach(c.run(NOW + 6 * DAY))
    assert {o.reason for o in made} == {"cadence"}
    assert {(o.tier, o.priority) for o in made} == {(tier, priority)}
    gaps = {(b.not_before - a.not_before) for a, b in itertools.pairwise(made)}
    assert gaps == {cadence_days * DAY}
    assert len(made) == 6 // cadence_days


def test_current_and_charge_off__get_no_cadence(policy: Policy) -> None:
    c = Customer()
    c.apply(make_missed(due_date=TODAY - 200 * DAY))
    assert c.current.tier == "charge_off"
    assert outreach(c.run(NOW + 5 * DAY)) == []


def test_choose_channel__quiet_hours_delay_caps_move_on_else_soonest(policy: Policy) -> None:
    profile = policy.contact_profile
    night = NOW + 15 * HOUR  # 03:00 in Shanghai
    morning = NOW + 20 * HOUR  # 08:00 next day in Shanghai
    assert choose_channel(("sms", "email"), (), night, "Asia/Shanghai", (), profile) == (
        "sms",
        morning,
    )
    assert choose_channel(("email", "sms"), (), night, "Asia/Shanghai", (), profile) == (
        "email",
        night,
    )
    assert choose_channel(("agent_call", "sms"), (), night, "Asia/Shanghai", (), profile) == (
        "agent_call",
        morning,
    )
    full = tuple(Attempt(NOW + n * HOUR, "voice_bot") for n in range(3))
    assert choose_channel(
        ("voice_bot", "agent_call"), ("agent_call",), NOW + 4 * HOUR, "Asia/Shanghai", full, profile
    ) == ("voice_bot", morning)
    assert choose_channel(("sms",), ("sms",), NOW, "Asia/Shanghai", (), profile) is None


def test_no_channel_left__no_outreach() -> None:
    c = Customer()
    for channel in ("sms", "email", "voice_bot"):
        c.apply(make_contact("opt_out", channel))
    assert outreach(c.apply(make_missed(due_date=TODAY - 5 * DAY))) == []
    assert outreach(c.run(NOW + 6 * DAY)) == []
