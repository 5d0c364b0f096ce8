"""7x24 self-service results and customer-requested callbacks (contract, issue 14)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from policy import Policy, apply, parse_policy
from policy.contact_rules import next_allowed_time, prune_attempts
from schemas.events import CHANNELS, ContactResultReported
from schemas.outputs import OutreachCancelled, OutreachNeeded

from .fixtures import DAY, HOUR, NOW, TODAY, Customer, make_contact, make_missed, outreach
from .strategies import History, histories, run
from .test_properties import PROPERTY_SETTINGS


def self_service(outcome: str, at: datetime = NOW, **fields: Any) -> ContactResultReported:
    return replace(make_contact(outcome, "agent_call", at=at, **fields), channel="self_service")


def callback(at: datetime, when: datetime, event_id: str | None = None) -> ContactResultReported:
    event = make_contact("callback_requested", "agent_call", at=at, event_id=event_id)
    return replace(event, callback_at=when)


def late_customer(policy: Policy | None = None) -> Customer:
    c = Customer(policy)
    c.apply(make_missed(due_date=TODAY - 70 * DAY))
    return c


def test_self_service_result__is_no_attempt_and_answers_its_outreach() -> None:
    c = late_customer()
    sent = outreach(c.log)[-1]
    c.apply(self_service("reached", at=NOW + HOUR, outreach_id=sent.outreach_id))
    assert all(a.outreach_id != sent.outreach_id for a in c.current.attempts)
    assert all(a.at != NOW + HOUR for a in c.current.attempts)


def test_self_service__ends_an_unreachable_episode() -> None:
    c = late_customer()
    for n in range(3):
        c.apply(make_contact("no_answer", "voice_bot", at=NOW + n * HOUR))
    assert c.current.unreachable
    c.apply(self_service("reached", at=NOW + 23 * HOUR))  # 03:00 local: any hour will do
    assert not c.current.unreachable


def test_self_service__does_not_start_the_us_regf_call_pause() -> None:
    us = parse_policy('profile = "us_regf"')
    by_app, by_call = late_customer(us), late_customer(us)
    at = NOW + 2 * HOUR
    by_app.apply(self_service("reached", at=at))
    by_call.apply(make_contact("reached", "sms", at=at))
    profile = us.contact_profile
    later = at + DAY
    assert next_allowed_time("agent_call", later, "Asia/Shanghai", by_app.current.attempts, profile)
    assert (
        next_allowed_time("agent_call", later, "Asia/Shanghai", by_call.current.attempts, profile)
        != later
    )


def test_self_service_promise__pauses_collection_like_a_promise_on_a_call() -> None:
    for make in (self_service, lambda o, **kw: make_contact(o, "agent_call", **kw)):
        c = late_customer()
        c.apply(make("promise_to_pay", at=NOW + HOUR, promise=("100", TODAY + 5 * DAY)))
        made = c.run(NOW + 7 * DAY)
        assert [o.reason for o in outreach(made)] == ["promise_reminder"]


def test_callback__one_agent_call_at_the_time_asked_with_the_tiers_priority() -> None:
    c = late_customer()
    when = NOW + DAY + 3 * HOUR  # 15:00 local tomorrow
    made = c.apply(callback(NOW + HOUR, when, "cb-1"))
    calls = [o for o in outreach(made) if o.reason == "callback"]
    assert len(calls) == 1
    call = calls[0]
    assert (call.channel, call.not_before, call.priority) == ("agent_call", when, 2)
    assert call.expires_at == when + 24 * HOUR
    again = late_customer().apply(callback(NOW + HOUR, when, "cb-1"))
    assert [o.outreach_id for o in outreach(again) if o.reason == "callback"] == [call.outreach_id]


def test_callback__at_night_waits_for_quiet_hours_to_end_and_3_when_not_delinquent() -> None:
    c = Customer()
    night = datetime(2026, 3, 10, 15, 30, tzinfo=UTC)  # 23:30 in Shanghai
    made = c.apply(callback(NOW, night))
    (call,) = outreach(made)
    assert call.not_before == datetime(2026, 3, 11, 0, 0, tzinfo=UTC)  # 08:00 local
    assert call.priority == 3


def test_callback__a_time_already_past_is_called_as_soon_as_allowed() -> None:
    c = late_customer()
    made = c.apply(callback(NOW - 2 * DAY, NOW - DAY), now=NOW + HOUR)
    (call,) = [o for o in outreach(made) if o.reason == "callback"]
    assert call.not_before == NOW + HOUR


def test_callback__also_during_a_promise_never_after_cease_or_agent_call_opt_out() -> None:
    c = late_customer()
    c.apply(make_contact("promise_to_pay", "sms", at=NOW + HOUR, promise=("5", TODAY + 3 * DAY)))
    assert "callback" in [o.reason for o in outreach(c.apply(callback(NOW + 2 * HOUR, NOW + DAY)))]
    for refusal in (make_contact("cease_contact", "sms"), make_contact("opt_out", "agent_call")):
        c = late_customer()
        c.apply(replace(refusal, header=replace(refusal.header, occurred_at=NOW + HOUR)))
        assert outreach(c.apply(callback(NOW + 2 * HOUR, NOW + DAY))) == []


@PROPERTY_SETTINGS
@given(histories(), st.sampled_from(("reached", "refused", "dispute", "hardship", "cease_contact")))
def test_self_service_results__never_change_when_or_whether_a_call_may_be_made(
    history: History, outcome: str
) -> None:
    """Contact rules read the attempts alone; after a self-service result they are what they
    were (less what time forgot and the outreach the contract cancels, plus what the step
    itself emitted), under either profile, at any moment of any history."""
    profile = history.policy.contact_profile
    for a in run(history):
        if a.step is None:
            continue
        state = a.step.state
        at = a.now + HOUR
        event = self_service(outcome, at=at)
        event = replace(event, header=replace(event.header, customer_id=state.customer_id))
        step = apply(state, event, at, history.policy)
        emitted = {d.outreach_id for d in step.decisions if isinstance(d, OutreachNeeded)}
        cancelled = {d.outreach_id for d in step.decisions if isinstance(d, OutreachCancelled)}
        kept = tuple(x for x in step.state.attempts if x.outreach_id not in emitted)
        before = tuple(
            x
            for x in prune_attempts(state.attempts, at, profile)
            if x.outreach_id not in cancelled  # the contract's cancellations, nothing else
        )
        assert kept == before
        for channel in CHANNELS:
            assert next_allowed_time(channel, at, state.timezone, kept, profile) == (
                next_allowed_time(channel, at, state.timezone, before, profile)
            )
