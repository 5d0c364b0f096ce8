"""``repayments.outreach-cancelled``: pending outreach whose reason is gone (contract)."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from hypothesis import given

from policy import pending_outreach
from schemas.events import ContactResultReported
from schemas.outputs import OutreachCancelled, OutreachNeeded

from .fixtures import DAY, HOUR, NOW, TODAY, Customer, make_contact, make_missed, make_payment
from .strategies import History, histories, run
from .test_properties import PROPERTY_SETTINGS


def cancelled(decisions: object) -> list[tuple[str, str]]:
    return [(d.reason, d.channel) for d in decisions if isinstance(d, OutreachCancelled)]  # type: ignore[attr-defined]


def delinquent() -> tuple[Customer, OutreachNeeded]:
    c = Customer()
    c.apply(make_missed(due_date=TODAY - 10 * DAY, amount_due="100.00"))
    (sent,) = [d for d in c.log if isinstance(d, OutreachNeeded)]
    return c, sent


def test_cure__cancels_pending_collection_outreach_which_stops_counting() -> None:
    c, sent = delinquent()
    made = c.apply(make_payment("100.00", at=NOW + HOUR))
    (cancel,) = [d for d in made if isinstance(d, OutreachCancelled)]
    assert (cancel.outreach_id, cancel.channel, cancel.reason) == (sent.outreach_id, "sms", "cured")
    assert (cancel.caused_by, cancel.decided_at) == (made[0].caused_by, NOW + HOUR)
    assert all(a.outreach_id != sent.outreach_id for a in c.current.attempts)
    assert [o.reason for o in made if isinstance(o, OutreachNeeded)] == ["courtesy_followup"]


def test_promise_arrangement_dispute__cancel_collection_outreach_only() -> None:
    for outcome, fields, reason in (
        ("promise_to_pay", {"promise": ("100", TODAY + 3 * DAY)}, "promise"),
        ("arrangement_agreed", {"arrangement": ("deferral", TODAY + 30 * DAY)}, "arrangement"),
        ("dispute", {}, "dispute"),
    ):
        c, _ = delinquent()
        for n in range(3):  # an unreachable episode: a verify_contact outreach is pending
            c.apply(make_contact("no_answer", "agent_call", at=NOW + n * HOUR))
        verify = [o for o in c.log if getattr(o, "reason", "") == "verify_contact"]
        assert verify
        made = c.apply(make_contact(outcome, "agent_call", at=NOW + 4 * HOUR, **fields))  # type: ignore[arg-type]
        pending_before = {o.outreach_id: o.reason for o in c.log if isinstance(o, OutreachNeeded)}
        ids = [d.outreach_id for d in made if isinstance(d, OutreachCancelled)]
        assert {r for r, _ in cancelled(made)} == {reason}
        assert ids and {pending_before[i] for i in ids} <= {"missed_payment", "tier_change"}
        pending = {a.outreach_id for a in pending_outreach(c.current)}
        assert verify[0].outreach_id in pending


def test_hardship__cancels_sms_and_voice_bot_outreach_whatever_its_reason() -> None:
    c, _ = delinquent()
    made = c.apply(make_contact("hardship", "agent_call", at=NOW + HOUR))
    assert cancelled(made) == [("hardship", "sms")]


def test_opt_out__cancels_outreach_on_that_channel_only() -> None:
    c, _ = delinquent()
    assert cancelled(c.apply(make_contact("opt_out", "email", at=NOW + HOUR))) == []
    assert cancelled(c.apply(make_contact("opt_out", "sms", at=NOW + 2 * HOUR))) == [
        ("opt_out", "sms")
    ]


def test_cease__cancels_every_pending_outreach_a_callback_too() -> None:
    c, _ = delinquent()
    ask = make_contact("callback_requested", "voice_bot", at=NOW + HOUR)
    c.apply(replace(ask, callback_at=NOW + 2 * DAY))
    made = c.apply(make_contact("cease_contact", "sms", at=NOW + 2 * HOUR))
    assert sorted(cancelled(made)) == [("cease_contact", "agent_call"), ("cease_contact", "sms")]
    assert pending_outreach(c.current) == ()


def test_answered_or_expired_outreach__is_never_cancelled() -> None:
    c, sent = delinquent()
    answer: ContactResultReported = make_contact("no_answer", "sms", at=NOW + HOUR)
    c.apply(replace(answer, outreach_id=sent.outreach_id))
    assert cancelled(c.apply(make_payment("100.00", at=NOW + 2 * HOUR))) == []
    c, sent = delinquent()
    after_expiry: datetime = sent.expires_at
    assert cancelled(c.apply(make_payment("100.00", at=after_expiry))) == []


def test_late_payment_that_nets_its_report__cancels_what_the_report_started() -> None:
    c = Customer()
    c.apply(make_missed("i1", TODAY - 2 * DAY, "100.00"))
    made = c.apply(make_payment("100.00", installment_id="i1", at=NOW - DAY))
    assert cancelled(made) == [("cured", "sms")]


@PROPERTY_SETTINGS
@given(histories())
def test_cancellation__names_an_emitted_outreach_not_answered_not_expired_once(
    history: History,
) -> None:
    emitted: dict[str, OutreachNeeded] = {}
    answered: set[str] = set()
    done: set[str] = set()
    for a in run(history):
        if a.step is None or a.step.duplicate:
            continue
        if isinstance(a.event, ContactResultReported) and a.event.outreach_id:
            answered.add(a.event.outreach_id)
        for d in a.step.decisions:
            if isinstance(d, OutreachCancelled):
                o = emitted[d.outreach_id]
                assert d.outreach_id not in answered and d.outreach_id not in done, d
                assert d.decided_at < o.expires_at and d.channel == o.channel, (d, o)
                done.add(d.outreach_id)
            elif isinstance(d, OutreachNeeded):
                emitted[d.outreach_id] = d
