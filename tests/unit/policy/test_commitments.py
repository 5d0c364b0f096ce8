"""Promises, arrangements, hardship, disputes, cease, opt-out, unreachable episodes, cure."""

from __future__ import annotations

from datetime import timedelta

import pytest

from policy import default_policy
from policy.commitments import check_arrangement
from policy.localtime import local_date
from schemas.errors import InvalidEvent
from schemas.events import Arrangement

from .fixtures import (
    DAY,
    HOUR,
    NOW,
    TODAY,
    Customer,
    escalations,
    make_contact,
    make_missed,
    make_payment,
    make_promise,
    outreach,
    reasons,
)

COLLECTION = {"broken_arrangement", "broken_promise", "missed_payment", "tier_change", "cadence"}


def early_customer(amount: str = "100.00") -> Customer:
    """Missed an installment 10 days ago; got its missed_payment outreach at NOW."""
    c = Customer()
    assert reasons(c.apply(make_missed(due_date=TODAY - 10 * DAY, amount_due=amount))) == [
        "missed_payment"
    ]
    return c


def test_promise__stops_collection_until_grace_ends_then_broken_promise() -> None:
    c = early_customer()
    c.apply(make_promise("100.00", TODAY + 5 * DAY, at=NOW + HOUR))
    during = c.run(NOW + 8 * DAY + 11 * HOUR)  # last hour of local day date + 3
    assert COLLECTION.isdisjoint(reasons(during))
    after = c.run(NOW + 8 * DAY + 13 * HOUR)
    assert reasons(after) == ["broken_promise"]
    assert local_date(outreach(after)[0].decided_at, "Asia/Shanghai") == TODAY + 9 * DAY
    assert c.current.broken_promises == (TODAY + 9 * DAY,)
    assert c.current.promise is None


def test_promise__reminder_once_on_the_day_before_its_date() -> None:
    c = early_customer()
    c.apply(make_promise("100.00", TODAY + 2 * DAY, at=NOW + HOUR))
    made = c.run(NOW + 3 * DAY)
    [reminder] = [o for o in outreach(made) if o.reason == "promise_reminder"]
    assert local_date(reminder.decided_at, "Asia/Shanghai") == TODAY + DAY
    assert (reminder.tier, reminder.priority) == ("early", 4)


def test_promise__made_the_day_before_its_date_gets_no_reminder() -> None:
    c = early_customer()
    c.apply(make_promise("100.00", TODAY + DAY, at=NOW + HOUR))
    assert "promise_reminder" not in reasons(c.run(NOW + 3 * DAY))


def test_promise__kept_when_payments_since_reach_the_amount() -> None:
    c = early_customer("300.00")
    c.apply(make_promise("100.00", TODAY + DAY, at=NOW + HOUR))
    c.apply(make_payment("60.00", at=NOW + 2 * HOUR))
    c.apply(make_payment("40.00", at=NOW + 3 * HOUR))
    made = c.run(NOW + 5 * DAY)
    assert "broken_promise" not in reasons(made)
    assert c.current.broken_promises == ()
    assert "cadence" in reasons(made)  # collection resumes after the grace


def test_broken_promises__two_in_90_days_raise_the_tier() -> None:
    c = early_customer()
    c.apply(make_promise("100.00", TODAY + DAY, at=NOW + HOUR))
    c.run(NOW + 5 * DAY)
    c.apply(make_promise("100.00", TODAY + 6 * DAY, at=NOW + 5 * DAY + HOUR))
    made = c.run(NOW + 11 * DAY)
    [up] = escalations(made)
    assert (up.from_tier, up.to_tier, up.reasons) == ("early", "mid", ("broken_promises",))
    assert reasons(made).count("broken_promise") == 1
    assert [o.reason for o in outreach(made) if o.decided_at == up.decided_at] == ["broken_promise"]


def test_unreachable__three_failures_open_one_episode_with_one_verify_contact() -> None:
    c = early_customer()
    made = []
    for n in range(5):
        made += c.apply(make_contact("no_answer", "voice_bot", at=NOW + n * HOUR))
        made += c.apply(make_contact("delivered", "sms", at=NOW + n * HOUR))
    [verify] = [o for o in outreach(made) if o.reason == "verify_contact"]
    assert (verify.channel, verify.priority) == ("agent_call", 2)
    assert c.current.unreachable
    c.apply(make_contact("callback_requested", "agent_call", at=NOW + 6 * HOUR))
    assert not c.current.unreachable
    again = []
    for n in range(3):
        again += c.apply(make_contact("wrong_party", "agent_call", at=NOW + (7 + n) * HOUR))
    assert reasons(again).count("verify_contact") == 1


def test_hardship__no_sms_or_voice_bot_for_14_days_and_one_review() -> None:
    c = early_customer()
    first = c.apply(make_contact("hardship", "agent_call", at=NOW + HOUR))
    [review] = outreach(first)
    assert (review.reason, review.channel, review.priority) == ("hardship_review", "agent_call", 2)
    assert reasons(c.apply(make_contact("hardship", "agent_call", at=NOW + 2 * HOUR))) == []
    during = outreach(c.run(NOW + 13 * DAY))
    assert during and all(o.channel == "email" for o in during)
    after = outreach(c.run(NOW + 20 * DAY))
    assert any(o.channel == "sms" for o in after)


def test_dispute__stops_collection_and_reminders_until_resolved() -> None:
    c = early_customer()
    c.apply(make_contact("dispute", "agent_call", at=NOW + HOUR))
    during = c.run(NOW + 40 * DAY)
    assert outreach(during) == []
    assert [e.to_tier for e in escalations(during)] == ["mid"]  # escalations still flow
    resolved = c.apply(make_contact("dispute_resolved", "agent_call", at=NOW + 40 * DAY + HOUR))
    assert reasons(resolved) == ["cadence"]


def test_cease_contact__silences_every_outreach_but_escalations_flow() -> None:
    c = early_customer()
    c.apply(make_contact("cease_contact", "agent_call", at=NOW + HOUR))
    made = list(c.run(NOW + 30 * DAY))
    for n in range(3):
        made += c.apply(make_contact("no_answer", "voice_bot", at=NOW + 30 * DAY + n * HOUR))
    made += c.apply(make_contact("hardship", "agent_call", at=NOW + 30 * DAY + 4 * HOUR))
    made += c.apply(make_missed("i2", TODAY + 30 * DAY, at=NOW + 30 * DAY + 5 * HOUR))
    made += c.apply(make_payment("200.00", at=NOW + 30 * DAY + 6 * HOUR))
    assert outreach(made) == []
    # mid by DPD, late when unreachable, mid again on the right-party hardship, then cured.
    assert [e.to_tier for e in escalations(made)] == ["mid", "late", "mid", "current"]


def test_opt_out__channel_is_never_chosen_again() -> None:
    c = Customer()
    c.apply(make_contact("opt_out", "sms"))
    made = c.apply(make_missed(due_date=TODAY - 10 * DAY, at=NOW + HOUR))
    made += tuple(c.run(NOW + 30 * DAY))
    assert outreach(made) and all(o.channel != "sms" for o in outreach(made))
    assert c.current.opted_out == ("sms",)


def test_cure__down_escalation_cured_and_one_courtesy_followup() -> None:
    c = early_customer()
    made = c.apply(make_payment("100.00", at=NOW + HOUR))
    [down] = escalations(made)
    assert (down.from_tier, down.to_tier, down.direction, down.reasons) == (
        "early",
        "current",
        "down",
        ("cured",),
    )
    [follow] = outreach(made)
    assert (follow.reason, follow.channel, follow.priority) == ("courtesy_followup", "email", 5)
    assert outreach(c.run(NOW + 10 * DAY)) == []


def test_cure__clears_the_open_promise_as_kept() -> None:
    c = early_customer()
    c.apply(make_promise("50.00", TODAY + 3 * DAY, at=NOW + HOUR))
    c.apply(make_payment("100.00", at=NOW + 2 * HOUR))
    assert c.current.promise is None and c.current.broken_promises == ()


def test_arrangement_until__must_be_within_13_months_of_the_local_date() -> None:
    policy = default_policy()
    check_arrangement(Arrangement("deferral", TODAY.replace(year=2027, month=4)), TODAY, policy)
    for until in (TODAY - DAY, TODAY.replace(year=2027, month=4, day=11)):
        with pytest.raises(InvalidEvent) as error:
            check_arrangement(Arrangement("deferral", until), TODAY, policy)
        assert (error.value.code, error.value.field) == ("invalid_field", "arrangement.until")


def test_arrangement__stops_collection_until_its_end_then_cadence_resumes() -> None:
    c = early_customer()
    c.apply(make_contact("arrangement_agreed", arrangement=("deferral", TODAY + 5 * DAY)))
    assert COLLECTION.isdisjoint(reasons(c.run(NOW + 5 * DAY + 11 * HOUR)))
    assert "cadence" in reasons(c.run(NOW + 6 * DAY + timedelta(hours=12)))
