"""``apply`` and ``tick``: duplicates, ids, clock rules, rejected events."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from policy import Policy, apply, default_policy, tick
from policy.state import SEEN_EVENT_IDS, decode_state, encode_state
from schemas.errors import InvalidEvent
from schemas.outputs import Decision, RiskEscalation

from .fixtures import (
    DAY,
    HOUR,
    NOW,
    TODAY,
    Customer,
    make_contact,
    make_missed,
    make_payment,
)


def test_new_customer__takes_the_event_zone_or_the_policy_default(policy: Policy) -> None:
    assert apply(None, make_payment(), NOW, policy).state.timezone == "Asia/Shanghai"
    step = apply(None, make_payment(tz="America/New_York"), NOW, policy)
    assert step.state.timezone == "America/New_York"


def test_duplicate_event_id__changes_nothing_and_re_emits_the_same_decisions(
    policy: Policy,
) -> None:
    event = make_missed(due_date=TODAY - 5 * DAY, event_id="dup-1")
    first = apply(None, event, NOW, policy)
    assert len(first.decisions) == 2 and not first.duplicate
    again = apply(first.state, event, NOW + HOUR, policy)
    assert again.duplicate and again.state is first.state
    assert again.decisions == first.decisions
    payment = make_payment("5.00", event_id="dup-1")  # same id, other content: still a duplicate
    assert apply(first.state, payment, NOW, policy).state.total_paid == 0


def test_duplicate__of_an_event_that_decided_nothing_re_emits_nothing(policy: Policy) -> None:
    state = apply(None, make_payment(event_id="p1"), NOW, policy).state
    step = apply(state, make_payment(event_id="p1"), NOW, policy)
    assert step.duplicate and step.decisions == ()


def test_duplicate_after_cease_contact__re_emits_escalations_but_never_outreach(
    policy: Policy,
) -> None:
    event = make_missed(due_date=TODAY - 5 * DAY, event_id="before-cease")
    first = apply(None, event, NOW, policy)
    assert {type(d).__name__ for d in first.decisions} == {"RiskEscalation", "OutreachNeeded"}
    ceased = apply(first.state, make_contact("cease_contact", "agent_call"), NOW, policy).state
    again = apply(ceased, event, NOW + HOUR, policy)
    assert again.duplicate
    assert again.decisions == tuple(d for d in first.decisions if isinstance(d, RiskEscalation))


def test_event_ids__the_last_1000_are_remembered(policy: Policy) -> None:
    state = apply(None, make_payment("1", event_id="first"), NOW, policy).state
    for n in range(SEEN_EVENT_IDS - 1):
        state = apply(state, make_payment("1", event_id=f"e{n}"), NOW, policy).state
    assert apply(state, make_payment("1", event_id="first"), NOW, policy).duplicate
    state = apply(state, make_payment("1", event_id="one-more"), NOW, policy).state
    assert not apply(state, make_payment("1", event_id="first"), NOW, policy).duplicate
    assert len(state.seen) == SEEN_EVENT_IDS * 8


def decision_ids(decisions: tuple[Decision, ...]) -> list[str]:
    return [
        d.escalation_id if isinstance(d, RiskEscalation) else f"{d.topic}:{d.outreach_id}"
        for d in decisions
    ]


def test_ids__depend_on_history_not_on_the_clock(policy: Policy) -> None:
    event = make_missed(due_date=TODAY - 5 * DAY, event_id="m-1")
    a = decision_ids(apply(None, event, NOW, policy).decisions)
    b = decision_ids(apply(None, event, NOW + timedelta(minutes=7), policy).decisions)
    assert len(a) == 2 and a == b
    other = make_missed(due_date=TODAY - 5 * DAY, event_id="m-2")
    assert not set(a) & set(decision_ids(apply(None, other, NOW, policy).decisions))


def test_currency_mismatch__is_raised_and_the_first_currency_stays(policy: Policy) -> None:
    state = apply(None, make_missed(currency="USD"), NOW, policy).state
    with pytest.raises(InvalidEvent) as error:
        apply(state, make_payment(currency="CNY"), NOW, policy)
    assert (error.value.code, error.value.field) == ("currency_mismatch", "currency")
    assert state.currency == "USD"


def test_outputs_before_any_money__use_the_default_currency(policy: Policy) -> None:
    c = Customer()
    c.apply(make_contact("hardship", "agent_call"))
    assert c.log and all(d.currency == "CNY" for d in c.log)


def test_arrangement_until_out_of_range__is_invalid_field(policy: Policy) -> None:
    too_late = make_contact("arrangement_agreed", arrangement=("deferral", TODAY + 500 * DAY))
    with pytest.raises(InvalidEvent) as error:
        apply(None, too_late, NOW, policy)
    assert (error.value.code, error.value.field) == ("invalid_field", "arrangement.until")


def test_naive_now__is_refused(policy: Policy) -> None:
    with pytest.raises(ValueError):
        apply(None, make_payment(), datetime(2026, 3, 10, 12), policy)
    state = apply(None, make_payment(), NOW, policy).state
    with pytest.raises(ValueError):
        tick(state, datetime(2026, 3, 10, 12), policy)


def test_tick__id_is_its_utc_instant_and_an_old_tick_is_a_duplicate(policy: Policy) -> None:
    state = apply(None, make_missed(due_date=TODAY - 30 * DAY), NOW, policy).state
    later = NOW + DAY
    step = tick(state, later + timedelta(microseconds=5), policy)
    assert {d.caused_by for d in step.decisions} == {"tick:2026-03-11T04:00:00Z"}
    assert step.decisions
    again = tick(step.state, later, policy)
    assert again.duplicate and again.state is step.state
    assert again.decisions == step.decisions
    assert tick(step.state, later - HOUR, policy).decisions == ()


def test_event_older_than_the_clock__is_decided_at_the_clock(policy: Policy) -> None:
    late = make_missed(due_date=TODAY - 5 * DAY, at=NOW - 2 * DAY)
    step = apply(None, late, NOW, policy)
    assert {d.decided_at for d in step.decisions} == {NOW}
    assert {d.days_past_due for d in step.decisions} == {5}


def test_same_history_same_clock__same_decisions_and_state(policy: Policy) -> None:
    def replay() -> Customer:
        c = Customer()
        c.apply(make_missed(due_date=TODAY - 20 * DAY, event_id="a"))
        c.apply(make_contact("no_answer", event_id="b", at=NOW + HOUR))
        c.run(NOW + 15 * DAY)
        c.apply(make_payment("40.00", event_id="c", at=NOW + 15 * DAY + HOUR))
        return c

    one, two = replay(), replay()
    assert one.log == two.log and one.state == two.state


def test_remembered_event__redelivery_resends_its_decisions_a_duplicate_sends_nothing() -> None:
    """Contract: the same message again (after a crash) re-sends the same decisions; another
    message with the same event_id has no effect and no output."""
    policy = default_policy()
    event = make_missed(due_date=TODAY - 40 * DAY, event_id="m-1")
    first = apply(None, event, NOW, policy, "missed-payments:0:7")
    assert first.decisions
    redelivered = apply(first.state, event, NOW + HOUR, policy, "missed-payments:0:7")
    assert redelivered.duplicate and redelivered.decisions == first.decisions
    assert redelivered.state is first.state
    duplicate = apply(first.state, event, NOW + HOUR, policy, "missed-payments:1:3")
    assert duplicate.duplicate and duplicate.decisions == ()
    assert duplicate.state is first.state
    upgraded = decode_state(encode_state(first.state))
    assert apply(upgraded, event, NOW, policy, "missed-payments:0:7").decisions == first.decisions
