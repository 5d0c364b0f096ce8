"""Invariants of the decision core over generated customer histories (issue 3).

Each test states one promise of the contract and checks it at every step of a history that
the strategies in ``strategies.py`` generate. "New" decisions are those of steps that were not
duplicates: a duplicate re-emits remembered decisions, which is checked on its own.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings

import policy
from policy import apply, days_past_due, overdue_amount, tick
from policy.ledger import HOLD_DAYS, MAX_HELD
from policy.state import REMEMBERED_DECISIONS, decode_state, encode_state
from schemas.events import (
    FAILED_OUTCOMES,
    RIGHT_PARTY_OUTCOMES,
    ContactResultReported,
    PaymentMissed,
    PaymentReceived,
)
from schemas.outputs import TIERS, Decision, OutreachCancelled, OutreachNeeded, RiskEscalation

from .strategies import Applied, History, histories, long_history, run

# On top of the session profile (tests/conftest.py): POLICY_EXAMPLES=1000 for a deeper run.
PROPERTY_SETTINGS = settings(
    max_examples=int(os.environ.get("POLICY_EXAMPLES", "200")),
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

COLLECTION = ("broken_arrangement", "broken_promise", "missed_payment", "tier_change", "cadence")
BESIDE = ("promise_reminder", "verify_contact", "hardship_review", "courtesy_followup")
QUIET_HOURS = {
    "cn": (time(22), time(8), frozenset({"sms", "voice_bot", "agent_call"})),
    "us_regf": (time(21), time(8), frozenset({"sms", "email", "voice_bot", "agent_call"})),
}
CALLS = frozenset({"voice_bot", "agent_call"})
NOT_ATTEMPTS = frozenset({"delivered", "opt_out", "cease_contact", "dispute_resolved"})
WEEK = timedelta(days=7)
MAX_STATE_BYTES = 32 * 1024


def new_steps(applied: list[Applied]) -> Iterator[Applied]:
    """Steps the core accepted and that were not duplicates."""
    return (a for a in applied if a.step is not None and not a.step.duplicate)


def outcome_of(a: Applied) -> str | None:
    return a.event.outcome if isinstance(a.event, ContactResultReported) else None


def outreach(a: Applied) -> list[OutreachNeeded]:
    return [d for d in a.step.decisions if isinstance(d, OutreachNeeded)]


def money_decisions(a: Applied) -> list[OutreachNeeded | RiskEscalation]:
    """Decisions that carry the customer's DPD and overdue amount (not cancellations)."""
    assert a.step is not None
    return [d for d in a.step.decisions if not isinstance(d, OutreachCancelled)]


@PROPERTY_SETTINGS
@given(histories())
def test_outreach_not_before__is_never_inside_quiet_hours_of_its_channel(history: History) -> None:
    start, end, channels = QUIET_HOURS[history.profile]
    for a in new_steps(run(history)):
        assert a.step.state.timezone == a.zone, "the latest zone seen is the customer's zone"
        for o in outreach(a):
            local = o.not_before.astimezone(ZoneInfo(a.zone)).time()
            if o.channel in channels:
                assert end <= local < start, (o, a.zone)


class Attempts:
    """The contract's attempt count: contact results (not neutral, not self-service) at
    ``occurred_at``, plus
    emitted outreach not yet answered by a result carrying its id, at ``not_before``."""

    def __init__(self) -> None:
        self.reported: list[tuple[str, datetime]] = []
        self.pending: dict[str, tuple[str, datetime]] = {}
        self.right_party: list[datetime] = []

    def record_result(self, event: ContactResultReported) -> None:
        self.pending.pop(event.outreach_id or "", None)
        if event.channel == "self_service":
            return  # the customer's own action: never an attempt, never a call pause
        if event.outcome not in NOT_ATTEMPTS:
            self.reported.append((event.channel, event.header.occurred_at))
        if event.outcome in RIGHT_PARTY_OUTCOMES:
            self.right_party.append(event.header.occurred_at)

    def calls(self) -> list[tuple[str, datetime]]:
        return [(c, t) for c, t in [*self.reported, *self.pending.values()] if c in CALLS]


@PROPERTY_SETTINGS
@given(histories())
def test_call_outreach__never_exceeds_the_profile_caps_when_placed(history: History) -> None:
    attempts = Attempts()
    for a in new_steps(run(history)):
        if isinstance(a.event, ContactResultReported):
            attempts.record_result(a.event)
        zone = ZoneInfo(a.zone)
        for d in a.step.decisions:
            if isinstance(d, OutreachCancelled):  # never made: no longer an attempt
                del attempts.pending[d.outreach_id]
        for o in outreach(a):
            attempts.pending[o.outreach_id] = (o.channel, o.not_before)
            if o.channel not in CALLS:
                continue
            calls = attempts.calls()
            if history.profile == "cn":
                day = o.not_before.astimezone(zone).date()
                on_day = [c for c, t in calls if t.astimezone(zone).date() == day]
                assert len(on_day) <= 6, (o, on_day)
                if o.channel == "voice_bot":
                    assert on_day.count("voice_bot") <= 3, (o, on_day)
            else:
                t = o.not_before
                for s in sorted({u for _, u in calls if t - WEEK < u <= t}):
                    in_window = [u for _, u in calls if s <= u < s + WEEK]
                    assert len(in_window) <= 7, (o, s, sorted(in_window))
                for r in attempts.right_party:
                    assert not r <= t < r + WEEK, (o, r)


@PROPERTY_SETTINGS
@given(histories())
def test_after_cease_contact__no_outreach_of_any_kind_is_ever_emitted(history: History) -> None:
    ceased = False
    accepted = (a for a in run(history) if a.step is not None)
    for a in accepted:  # duplicates too: a re-emission must not bring outreach back
        ceased = ceased or outcome_of(a) == "cease_contact"
        assert policy.ceased(a.step.state) == ceased
        if ceased:
            assert outreach(a) == [], a


@PROPERTY_SETTINGS
@given(histories())
def test_opted_out_channel__is_never_chosen_again(history: History) -> None:
    opted_out: set[str] = set()
    for a in new_steps(run(history)):
        if outcome_of(a) == "opt_out":
            opted_out.add(a.event.channel)
        assert set(policy.opted_out(a.step.state)) == opted_out
        for o in outreach(a):
            assert o.channel not in opted_out, (o, opted_out)


@PROPERTY_SETTINGS
@given(histories())
def test_during_an_active_dispute__no_collection_outreach_or_reminder(history: History) -> None:
    disputed = False
    for a in new_steps(run(history)):
        outcome = outcome_of(a)
        disputed = (disputed or outcome == "dispute") and outcome != "dispute_resolved"
        assert policy.disputed(a.step.state) == disputed
        if disputed:
            reasons = [o.reason for o in outreach(a)]
            assert not set(reasons) & {*COLLECTION, "promise_reminder"}, (a, reasons)


@PROPERTY_SETTINGS
@given(histories())
def test_skip_trace_and_hardship_review__once_per_episode_and_no_automation_in_hardship(
    history: History,
) -> None:
    streak, unreachable, hardship_until = 0, False, None
    for a in new_steps(run(history)):
        opened_episode = opened_hardship = False
        if isinstance(a.event, ContactResultReported):
            at = a.event.header.occurred_at
            if a.event.outcome in FAILED_OUTCOMES:
                streak += 1
                opened_episode = streak >= 3 and not unreachable
                unreachable = unreachable or opened_episode
            elif a.event.outcome in RIGHT_PARTY_OUTCOMES:
                streak, unreachable = 0, False
            if a.event.outcome == "hardship":
                opened_hardship = hardship_until is None or hardship_until <= at
                ends = at + timedelta(days=14)
                hardship_until = ends if opened_hardship else max(ends, hardship_until)
        assert policy.unreachable(a.step.state) == unreachable
        reasons = [o.reason for o in outreach(a)]
        can_call = not policy.ceased(a.step.state) and "agent_call" not in policy.opted_out(
            a.step.state
        )
        assert ("verify_contact" in reasons) == (opened_episode and can_call), reasons
        assert ("hardship_review" in reasons) == (opened_hardship and can_call), reasons
        if hardship_until is not None and a.now < hardship_until:
            assert not {o.channel for o in outreach(a)} & {"sms", "voice_bot"}, a


@PROPERTY_SETTINGS
@given(histories())
def test_each_step__emits_at_most_one_collection_outreach_and_one_of_each_other(
    history: History,
) -> None:
    for a in run(history):
        if a.step is None:
            continue
        reasons = Counter(o.reason for o in outreach(a))
        assert sum(reasons[r] for r in COLLECTION) <= 1, reasons
        assert all(reasons[r] <= 1 for r in BESIDE), reasons


@PROPERTY_SETTINGS
@given(histories())
def test_same_history__gives_same_decisions_ids_and_states(history: History) -> None:
    first, second = run(history), run(history)
    assert [(a.step, a.event) for a in first] == [(a.step, a.event) for a in second]


def decision_id(d: Decision) -> str:
    if isinstance(d, OutreachCancelled):
        return f"cancel:{d.outreach_id}"  # an outreach is cancelled at most once
    return d.outreach_id if isinstance(d, OutreachNeeded) else d.escalation_id


@PROPERTY_SETTINGS
@given(histories())
def test_repeated_event__is_a_duplicate_that_changes_nothing_and_reemits_remembered_decisions(
    history: History,
) -> None:
    seen: dict[str, Decision] = {}
    recent: list[Decision] = []
    applied_ids: set[str] = set()
    for a in run(history):
        if a.step is None:
            continue
        event_id = a.event.header.event_id if a.event is not None else None
        assert a.step.duplicate == (event_id in applied_ids), a
        if a.step.duplicate:
            remembered = [d for d in recent[-REMEMBERED_DECISIONS:] if d.caused_by == event_id]
            if policy.ceased(a.before):  # cease means silence: never outreach again
                remembered = [d for d in remembered if not isinstance(d, OutreachNeeded)]
            assert list(a.step.decisions) == remembered
            assert a.step.state == a.before
            continue
        for d in a.step.decisions:
            assert decision_id(d) not in seen, ("id reused by another trigger", d)
            seen[decision_id(d)] = d
            recent.append(d)
        if a.event is not None:
            applied_ids.add(event_id)


@PROPERTY_SETTINGS
@given(histories())
def test_reapplied_event_or_tick__is_a_duplicate_whatever_the_clock_and_adds_no_ids(
    history: History,
) -> None:
    emitted: set[OutreachNeeded | RiskEscalation] = set()
    for a in new_steps(run(history)):
        emitted.update(a.step.decisions)
        if a.event is None:
            again = [tick(a.step.state, a.now - timedelta(hours=h), history.policy) for h in (0, 1)]
        else:
            later = (a.now, a.now + timedelta(hours=5), a.now + timedelta(days=30))
            again = [apply(a.step.state, a.event, now, history.policy) for now in later]
        for step in again:
            assert step.duplicate, a
            assert step.state == a.step.state, a
            assert set(step.decisions) <= emitted, step


@PROPERTY_SETTINGS
@given(histories())
def test_days_past_due__is_never_negative_and_zero_when_nothing_is_overdue(
    history: History,
) -> None:
    for a in run(history):
        if a.step is None:
            continue
        dpd = days_past_due(a.step.state, a.now)
        assert dpd >= 0
        assert overdue_amount(a.step.state) >= 0
        if overdue_amount(a.step.state) == 0:
            assert dpd == 0
        for d in money_decisions(a):
            assert d.days_past_due >= 0 and d.overdue_amount >= 0, d


@PROPERTY_SETTINGS
@given(histories())
def test_days_past_due__counts_local_days_from_the_oldest_installment_still_owed(
    history: History,
) -> None:
    for a in new_steps(run(history)):
        owed = [i for i in a.step.state.ledger.installments if i.paid < i.amount_due]
        today = a.now.astimezone(ZoneInfo(a.zone)).date()
        expected = max(0, (today - owed[0].due_date).days) if owed else 0
        assert days_past_due(a.step.state, a.now) == expected
        assert overdue_amount(a.step.state) == sum(i.amount_due - i.paid for i in owed)


@PROPERTY_SETTINGS
@given(histories())
def test_money__is_conserved_between_payments_installments_credit_and_overdue(
    history: History,
) -> None:
    """The oracle follows the contract's "Arrival order" rules: a named payment made after
    its installment's due date pays it, one made on or before is paid on time, and one whose
    installment is not reported yet waits for a report dated at most 7 days after it (the
    oldest beyond 16, and any older than 15 days by the UTC date, are on time)."""
    paid = due = not_overdue = Decimal(0)
    waiting: list[tuple[str, date, Decimal]] = []
    for a in new_steps(run(history)):
        s = a.step.state
        before = a.before.ledger.installments if a.before else ()
        known = {i.installment_id: i.due_date for i in before}
        event = a.event
        if event is not None:
            day = min(event.header.occurred_at, a.now).astimezone(ZoneInfo(a.zone)).date()
        if isinstance(event, PaymentReceived):
            paid += event.amount
            if event.installment_id is None:
                pass
            elif event.installment_id not in known:
                waiting.append((event.installment_id, day, event.amount))
                while len(waiting) > MAX_HELD:
                    not_overdue += waiting.pop(0)[2]
            elif day <= known[event.installment_id]:
                not_overdue += event.amount
        elif isinstance(event, PaymentMissed) and event.installment_id not in known:
            due += event.amount_due
            for held in [w for w in waiting if w[0] == event.installment_id]:
                waiting.remove(held)
                if not (event.due_date < held[1] and day <= held[1] + timedelta(days=7)):
                    not_overdue += held[2]
        for held in [w for w in waiting if (a.now.date() - w[1]).days > HOLD_DAYS]:
            waiting.remove(held)
            not_overdue += held[2]
        on_hold = sum((w[2] for w in waiting), Decimal(0))
        assert policy.total_paid(s) == paid == s.total_paid
        assert policy.total_due(s) == due == s.total_due
        assert policy.paid_not_overdue(s) == not_overdue
        assert policy.held(s) == on_hold
        credit, to_installments = policy.credit(s), policy.paid_to_installments(s)
        assert policy.total_paid(s) == to_installments + credit + not_overdue + on_hold
        assert policy.total_due(s) == to_installments + overdue_amount(s)
        # Credit exists only once every missed installment is paid (it pays later ones).
        net = paid - not_overdue - on_hold - due
        assert (credit, overdue_amount(s)) == ((net, 0) if net >= 0 else (0, -net)), (paid, due)


@PROPERTY_SETTINGS
@given(histories())
def test_decisions__are_stamped_with_the_step_clock_and_a_24h_window(history: History) -> None:
    for a in new_steps(run(history)):
        cause = a.event.header.event_id if a.event else f"tick:{a.now:%Y-%m-%dT%H:%M:%SZ}"
        state = a.step.state
        for d in a.step.decisions:
            assert d.decided_at == a.now and d.caused_by == cause, (d, a.now, cause)
            assert d.customer_id == history.customer_id
        for d in money_decisions(a):
            assert d.days_past_due == days_past_due(state, a.now), d
            assert d.overdue_amount == overdue_amount(state), d
            assert d.currency == (state.currency or history.policy.default_currency), d
        for o in outreach(a):
            assert o.not_before >= o.decided_at, o
            assert o.expires_at == o.not_before + timedelta(hours=24), o
            assert 1 <= o.priority <= 5


@PROPERTY_SETTINGS
@given(histories())
def test_escalations__form_a_chain_of_real_tier_changes_in_the_right_direction(
    history: History,
) -> None:
    tier = "current"
    for a in new_steps(run(history)):
        for e in (d for d in a.step.decisions if isinstance(d, RiskEscalation)):
            assert e.from_tier == tier != e.to_tier, (tier, e)
            up = TIERS.index(e.to_tier) > TIERS.index(e.from_tier)
            assert e.direction == ("up" if up else "down"), e
            if e.to_tier == "charge_off":
                assert e.days_past_due >= 181, e
            tier = e.to_tier
        assert policy.tier(a.step.state) == tier, "every tier change is escalated"
        if tier == "charge_off":
            assert days_past_due(a.step.state, a.now) >= 181


@PROPERTY_SETTINGS
@given(histories())
def test_tier__is_the_dpd_bucket_raised_at_most_one_step_by_modifiers(history: History) -> None:
    rules = history.policy.tiers
    for a in new_steps(run(history)):
        dpd = days_past_due(a.step.state, a.now)
        bucket = next(r.name for r in rules if r.dpd_max is None or dpd <= r.dpd_max)
        tier, base = TIERS.index(policy.tier(a.step.state)), TIERS.index(bucket)
        if a.step.state.arrangement is not None:
            before = TIERS.index(policy.tier(a.before)) if a.before else 0
            assert tier <= max(base + 1, before), "an arrangement freezes the tier upwards"
        elif bucket in ("current", "severe", "charge_off"):
            assert tier == base, (bucket, policy.tier(a.step.state))
        else:
            assert tier in (base, base + 1), (bucket, policy.tier(a.step.state))


@PROPERTY_SETTINGS
@given(histories())
def test_collection_outreach__follows_the_tier_table(history: History) -> None:
    for a in new_steps(run(history)):
        tier = policy.tier(a.step.state)
        for o in outreach(a):
            assert o.tier == tier, o
            if o.reason not in (*COLLECTION, "promise_reminder"):
                continue
            assert tier != "charge_off", o
            rule = history.policy.tier("early" if tier == "current" else tier)
            if tier == "current":  # early's rule, for a new missed installment at DPD 0
                assert overdue_amount(a.step.state) > 0, o
                if o.reason != "promise_reminder":
                    # A new missed installment at DPD 0; or, reported before the agreement
                    # of an arrangement whose day precedes its due date, the miss breaks it
                    # as the arrangement arrives (arrival order, docs/architecture.md).
                    assert isinstance(a.event, PaymentMissed) or (
                        o.reason == "broken_arrangement"
                        and isinstance(a.event, ContactResultReported)
                        and a.event.arrangement is not None
                    ), o
                    assert o.reason in COLLECTION[:3], o
            assert o.channel in rule.channels and o.priority == rule.priority, o


@PROPERTY_SETTINGS
@given(histories())
def test_state__round_trips_through_its_encoding_and_stays_small(history: History) -> None:
    for a in run(history):
        if a.step is None:
            continue
        blob = encode_state(a.step.state)
        assert decode_state(blob) == a.step.state
        assert len(blob) < MAX_STATE_BYTES, len(blob)


@pytest.mark.parametrize(("seed", "profile"), [(1, "cn"), (2, "us_regf")])
def test_state__stays_small_over_a_long_history(seed: int, profile: str) -> None:
    largest = 0
    for a in run(long_history(seed, 1500, profile)):
        if a.step is not None:
            largest = max(largest, len(encode_state(a.step.state)))
    assert largest < MAX_STATE_BYTES, largest
