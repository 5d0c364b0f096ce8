"""Tiers by DPD bucket, modifiers raising one step, escalations and their reasons."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from policy import Policy
from policy.state import Commitments, Ledger
from policy.tiers import active_modifiers, dpd_bucket, escalation_reasons, tier_for

from .fixtures import (
    DAY,
    NOW,
    TODAY,
    Customer,
    escalations,
    make_contact,
    make_missed,
    make_payment,
    outreach,
    reasons,
)

BOUNDARIES = [
    (0, "current"),
    (1, "early"),
    (30, "early"),
    (31, "mid"),
    (60, "mid"),
    (61, "late"),
    (90, "late"),
    (91, "severe"),
    (180, "severe"),
    (181, "charge_off"),
]


@pytest.mark.parametrize(("dpd", "tier"), BOUNDARIES)
def test_dpd_bucket__boundaries_follow_the_contract(dpd: int, tier: str, policy: Policy) -> None:
    assert dpd_bucket(dpd, policy) == tier


@pytest.mark.parametrize(("dpd", "tier"), BOUNDARIES)
def test_missed_installment__puts_customer_in_the_tier_of_its_dpd(dpd: int, tier: str) -> None:
    c = Customer()
    decisions = c.apply(make_missed(due_date=TODAY - timedelta(days=dpd)))
    assert c.current.tier == tier
    ups = escalations(decisions)
    assert [(e.from_tier, e.to_tier, e.reasons) for e in ups] == (
        [] if tier == "current" else [("current", tier, ("dpd",))]
    )
    assert all(e.days_past_due == dpd and e.overdue_amount == Decimal("100.00") for e in ups)


def test_time_passing__crosses_bucket_boundary_without_input() -> None:
    c = Customer()
    c.apply(make_missed(due_date=TODAY - timedelta(days=30)))
    assert c.current.tier == "early"
    made = c.run(NOW + DAY)
    [up] = escalations(made)
    assert (up.from_tier, up.to_tier, up.reasons, up.days_past_due) == (
        "early",
        "mid",
        ("dpd",),
        31,
    )
    assert up.caused_by.startswith("tick:")
    assert "tier_change" in reasons(made)


@pytest.mark.parametrize(
    ("bucket", "raised"),
    [
        ("current", "current"),
        ("early", "mid"),
        ("mid", "late"),
        ("late", "severe"),
        ("severe", "severe"),
        ("charge_off", "charge_off"),
    ],
)
def test_any_modifiers__raise_one_step_never_out_of_current_never_above_severe(
    bucket: str, raised: str
) -> None:
    assert tier_for(bucket, ("unreachable",)) == raised
    assert tier_for(bucket, ("broken_promises", "unreachable", "repeat_delinquency")) == raised
    assert tier_for(bucket, ()) == bucket


def test_repeat_delinquency__three_missed_due_within_365_days(policy: Policy) -> None:
    ledger = Ledger()
    from policy.ledger import add_missed

    for n, days_ago in enumerate((364, 100, 2)):
        ledger, _ = add_missed(ledger, f"i{n}", TODAY - timedelta(days=days_ago), Decimal(1), TODAY)
    assert active_modifiers(Commitments(), ledger, TODAY, policy) == ("repeat_delinquency",)
    assert active_modifiers(Commitments(), ledger, TODAY + DAY, policy) == ()


def test_broken_promises__two_within_90_days_is_a_modifier(policy: Policy) -> None:
    two = Commitments(broken_promises=(TODAY - timedelta(days=89), TODAY))
    assert active_modifiers(two, Ledger(), TODAY, policy) == ("broken_promises",)
    assert active_modifiers(two, Ledger(), TODAY + DAY, policy) == ()


def test_repeat_delinquency__raises_early_to_mid_with_its_reason() -> None:
    c = Customer()
    c.apply(make_missed("i1", TODAY - timedelta(days=200)))
    c.apply(make_missed("i2", TODAY - timedelta(days=100)))
    c.apply(make_payment("200.00"))
    assert c.current.tier == "current"
    decisions = c.apply(make_missed("i3", TODAY - timedelta(days=5)))
    [up] = escalations(decisions)
    assert (up.to_tier, up.reasons) == ("mid", ("dpd", "repeat_delinquency"))


def test_unreachable__raises_one_tier_and_right_party_contact_lowers_it_back() -> None:
    c = Customer()
    c.apply(make_missed(due_date=TODAY - timedelta(days=10)))
    for n in range(2):
        c.apply(make_contact("no_answer", at=NOW + n * timedelta(minutes=10)))
    assert c.current.tier == "early"
    third = c.apply(make_contact("busy", at=NOW + timedelta(minutes=30)))
    [up] = escalations(third)
    assert (up.from_tier, up.to_tier, up.direction, up.reasons) == (
        "early",
        "mid",
        "up",
        ("unreachable",),
    )
    back = c.apply(make_contact("reached", at=NOW + timedelta(hours=1)))
    [down] = escalations(back)
    assert (down.to_tier, down.direction, down.reasons) == ("early", "down", ("unreachable",))


def test_charge_off__is_escalation_only() -> None:
    c = Customer()
    c.apply(make_missed(due_date=TODAY - timedelta(days=180)))
    made = c.run(NOW + DAY)
    assert [e.to_tier for e in escalations(made)] == ["charge_off"]
    assert outreach(made) == []
    assert outreach(c.run(NOW + 10 * DAY)) == []


def test_escalation_reasons__cured_is_alone() -> None:
    assert escalation_reasons(
        "late",
        "current",
        "current",
        (),
        "late",
        ("unreachable",),
        cured=True,
        broke_arrangement=False,
    ) == ("cured",)


def test_escalation_reasons__empty_change_falls_back_to_dpd() -> None:
    assert escalation_reasons(
        "early", "mid", "early", (), "early", (), cured=False, broke_arrangement=False
    ) == ("dpd",)


def test_arrangement__freezes_upward_changes_until_broken_by_new_missed_installment() -> None:
    c = Customer()
    c.apply(make_missed("i1", TODAY - timedelta(days=29)))
    c.apply(make_contact("arrangement_agreed", arrangement=("deferral", TODAY + 60 * DAY)))
    frozen = c.run(NOW + 3 * DAY)
    assert escalations(frozen) == [] and outreach(frozen) == []
    assert c.current.tier == "early"
    broke = c.apply(make_missed("i2", TODAY + 2 * DAY, at=NOW + 3 * DAY + timedelta(hours=1)))
    [up] = escalations(broke)
    assert (up.to_tier, up.reasons) == ("mid", ("dpd", "broken_arrangement"))
    assert reasons(broke) == ["broken_arrangement"]
    assert c.current.arrangement is None


def test_arrangement__lets_the_tier_go_down() -> None:
    c = Customer()
    c.apply(make_missed("i1", TODAY - timedelta(days=40)))
    c.apply(make_contact("arrangement_agreed", arrangement=("reinstallment", TODAY + 90 * DAY)))
    [down] = escalations(c.apply(make_payment("100.00")))
    assert (down.from_tier, down.to_tier, down.reasons) == ("mid", "current", ("cured",))


def test_repeat_installment_within_arrangement__does_not_break_it() -> None:
    c = Customer()
    c.apply(make_missed("i1", TODAY - timedelta(days=5)))
    c.apply(make_contact("arrangement_agreed", arrangement=("fee_waiver", TODAY + 30 * DAY)))
    assert c.apply(make_missed("i1", TODAY - timedelta(days=5))) == ()
    assert c.current.arrangement is not None


def test_escalation__ids_are_deterministic_and_carry_currency(policy: Policy) -> None:
    first, second = Customer(), Customer()
    event = make_missed(due_date=date(2026, 3, 1), currency="USD")
    [a] = escalations(first.apply(event, NOW))
    [b] = escalations(second.apply(event, NOW + timedelta(minutes=5)))
    assert a.escalation_id == b.escalation_id
    assert a.currency == "USD"
