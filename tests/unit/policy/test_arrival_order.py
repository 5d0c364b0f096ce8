"""Arrival order (contract, "Arrival order"): the state does not depend on how the three input
topics interleave.

A history is drawn in ``occurred_at`` order and split by topic; any interleaving that keeps
each topic's own order must end in the same installments, amounts, credit, days past due and
tier as the ordered history. The clock is replay's: the largest ``occurred_at`` seen so far
(a late event is applied at the clock), with daily ticks through the gaps, and one final tick.
"""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from policy import Policy, apply, days_past_due, default_policy, overdue_amount, tick
from policy.ledger import LATE_ARRIVAL_DAYS
from policy.state import CustomerState
from schemas.events import (
    ContactResultReported,
    EventHeader,
    InputEvent,
    PaymentMissed,
    PaymentReceived,
    Promise,
)

from .fixtures import DAY, make_contact, make_missed, make_payment

SETTINGS = settings(
    max_examples=int(os.environ.get("POLICY_EXAMPLES", "200")),
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    deadline=None,
)
START = datetime(2026, 1, 5, 1, tzinfo=UTC)
CUSTOMER_ID = "cust-1"  # the fixtures' customer
TOPIC = {PaymentReceived: "payments", PaymentMissed: "missed", ContactResultReported: "contacts"}
CONTACT_OUTCOMES = (
    "no_answer",
    "busy",
    "reached",
    "promise_to_pay",
    "arrangement_agreed",
    "dispute",
    "dispute_resolved",
    "hardship",
    "opt_out",
)
HORIZON = timedelta(days=LATE_ARRIVAL_DAYS)
TRIED = Counter[str]()  # interleavings tried, reported by the last test of the module


@dataclass(frozen=True)
class Outcome:
    installments: tuple[tuple[str, date, Decimal, Decimal], ...]
    credit: Decimal
    overdue: Decimal
    dpd: int
    tier: str


@st.composite
def ordered_histories(draw: st.DrawFn, max_events: int = 18) -> list[InputEvent]:
    """Events of one customer in ``occurred_at`` order, over at most ~10 months."""
    events: list[InputEvent] = []
    at = START
    installments: list[tuple[str, date, Decimal]] = []
    for n in range(draw(st.integers(1, max_events))):
        at += timedelta(hours=draw(st.integers(1, 24 * 20)))
        kind = draw(st.sampled_from(("missed", "missed", "payment", "payment", "contact")))
        eid = f"e{n}"
        local = at.astimezone(UTC).date()
        if kind == "missed":
            inst = f"i{draw(st.integers(0, 6))}"
            due = local - timedelta(days=draw(st.integers(1, 60)))
            amount = Decimal(draw(st.integers(1, 400)))
            installments.append((inst, due, amount))
            events.append(make_missed(inst, due, str(amount), at=at, event_id=eid))
        elif kind == "payment":
            named = draw(st.sampled_from((None, "known", "other")))
            inst = None
            if named == "known" and installments:
                inst = draw(st.sampled_from([i[0] for i in installments]))
            elif named == "other":
                inst = f"i{draw(st.integers(0, 6))}"
            amount = Decimal(draw(st.integers(1, 500)))
            events.append(make_payment(str(amount), installment_id=inst, at=at, event_id=eid))
        else:
            outcome = draw(st.sampled_from(CONTACT_OUTCOMES))
            promise = arrangement = None
            if outcome == "promise_to_pay":
                promise = (str(draw(st.integers(1, 500))), local + DAY * draw(st.integers(0, 20)))
            elif outcome == "arrangement_agreed":
                arrangement = ("deferral", local + DAY * draw(st.integers(2, 200)))
            events.append(
                make_contact(
                    outcome,
                    draw(st.sampled_from(("sms", "voice_bot", "agent_call"))),
                    at=at,
                    promise=promise,
                    arrangement=arrangement,
                    event_id=eid,
                )
            )
    return events


@st.composite
def interleavings(draw: st.DrawFn, events: list[InputEvent]) -> list[InputEvent]:
    """``events`` re-ordered across topics, each topic keeping its own order, no topic more
    than the late-arrival horizon behind another."""
    queues: dict[str, list[InputEvent]] = {}
    for event in events:
        queues.setdefault(TOPIC[type(event)], []).append(event)
    out: list[InputEvent] = []
    while queues:
        oldest = min(q[0].header.occurred_at for q in queues.values())
        ready = [t for t, q in queues.items() if q[0].header.occurred_at < oldest + HORIZON]
        topic = draw(st.sampled_from(sorted(ready)))
        out.append(queues[topic].pop(0))
        if not queues[topic]:
            del queues[topic]
    return out


def run(events: list[InputEvent], policy: Policy) -> tuple[CustomerState, datetime]:
    """Replay's clock: the largest ``occurred_at`` so far, daily ticks through gaps."""
    state: CustomerState | None = None
    clock: datetime | None = None
    for event in events:
        at = event.header.occurred_at
        if clock is not None and state is not None:
            while clock + DAY < at:
                clock += DAY
                state = tick(state, clock, policy).state
        clock = at if clock is None or at > clock else clock
        state = apply(state, event, clock, policy).state
    assert state is not None and clock is not None
    end = clock + DAY
    return tick(state, end, policy).state, end


def brief(e: InputEvent) -> str:
    """One line per event, for a readable falsifying example."""
    at = f"{e.header.event_id}@{e.header.occurred_at:%m-%dT%H}"
    if isinstance(e, PaymentMissed):
        return f"{at} missed {e.installment_id} due {e.due_date:%m-%d} {e.amount_due}"
    if isinstance(e, PaymentReceived):
        return f"{at} paid {e.amount} for {e.installment_id}"
    assert isinstance(e, ContactResultReported)
    return f"{at} {e.outcome} {e.channel} {e.promise or ''}{e.arrangement or ''}"


def outcome(state: CustomerState, now: datetime) -> Outcome:
    return Outcome(
        tuple(
            (i.installment_id, i.due_date, i.amount_due, i.paid) for i in state.ledger.installments
        ),
        state.credit,
        overdue_amount(state),
        days_past_due(state, now),
        state.tier,
    )


@SETTINGS
@given(st.data())
def test_any_interleaving_of_the_topics__ends_in_the_ordered_historys_state(data: Any) -> None:
    policy = default_policy()
    events = data.draw(ordered_histories())
    ordered, end = run(events, policy)
    for _ in range(3):
        shuffled = data.draw(interleavings(events))
        TRIED["interleavings"] += 1
        TRIED["moved"] += shuffled != events
        state, _ = run(shuffled, policy)
        assert outcome(state, end) == outcome(ordered, end), "\n".join(map(brief, shuffled))


def test_payment_before_its_missed_report__nets_it_and_nobody_is_chased() -> None:
    """The issue's example: the gateway is faster than the billing batch."""
    policy = default_policy()
    due = date(2026, 3, 1)
    paid = make_payment("100", installment_id="i1", at=datetime(2026, 3, 2, 1, tzinfo=UTC))
    report = make_missed("i1", due, "100", at=datetime(2026, 3, 2, 3, tzinfo=UTC))
    first = apply(None, paid, paid.header.occurred_at, policy)
    second = apply(first.state, report, report.header.occurred_at, policy)
    assert second.state.tier == "current"
    assert overdue_amount(second.state) == 0
    assert second.decisions == ()


def test_payment_on_or_before_due_date__is_already_in_amount_due_whatever_arrives_first() -> None:
    policy = default_policy()
    due = date(2026, 3, 1)
    on_time = make_payment("40", installment_id="i1", at=datetime(2026, 2, 28, 4, tzinfo=UTC))
    report = make_missed("i1", due, "60", at=datetime(2026, 3, 2, 3, tzinfo=UTC))
    for order in ((on_time, report), (report, on_time)):
        state = None
        for event in order:
            state = apply(state, event, datetime(2026, 3, 2, 4, tzinfo=UTC), policy).state
        assert state is not None
        assert overdue_amount(state) == Decimal(60)
        assert state.paid_not_overdue == Decimal(40)


def test_late_report_of_an_installment_due_before_an_arrangement__does_not_break_it() -> None:
    policy = default_policy()
    agreed_at = datetime(2026, 3, 10, 2, tzinfo=UTC)
    agree = make_contact(
        "arrangement_agreed", "agent_call", at=agreed_at, arrangement=("deferral", date(2026, 5, 1))
    )
    late = make_missed("i0", date(2026, 3, 1), "100", at=agreed_at + DAY)
    state = apply(make_missed_state(policy, agreed_at), agree, agreed_at, policy).state
    step = apply(state, late, agreed_at + DAY, policy)
    assert step.state.arrangement is not None
    assert "broken_arrangement" not in [getattr(d, "reason", "") for d in step.decisions]
    later = make_missed("i2", date(2026, 3, 20), "100", at=datetime(2026, 3, 21, tzinfo=UTC))
    broken = apply(step.state, later, datetime(2026, 3, 21, tzinfo=UTC), policy)
    assert broken.state.arrangement is None


def test_an_arrangement_and_a_miss_due_after_its_day__break_it_whichever_arrives_first() -> None:
    """The miss could only be reported after the arrangement's day (it was not due before),
    so arriving first must not save the arrangement; a miss due on that day never breaks it."""
    policy = default_policy()
    agreed_at = datetime(2026, 3, 10, 2, tzinfo=UTC)
    agree = make_contact(
        "arrangement_agreed", "agent_call", at=agreed_at, arrangement=("deferral", date(2026, 5, 1))
    )
    now = datetime(2026, 3, 13, tzinfo=UTC)
    for due, broken in ((date(2026, 3, 11), True), (date(2026, 3, 10), False)):
        miss = make_missed("i9", due, "100", at=now)
        for order in ((agree, miss), (miss, agree)):
            state = make_missed_state(policy, agreed_at)
            for event in order:
                state = apply(state, event, now, policy).state
            assert (state.arrangement is None) == broken, (due, order[0].header.event_id)


def make_missed_state(policy: Policy, at: datetime) -> CustomerState:
    report = make_missed("i-1", date(2026, 2, 20), "50", at=at - DAY)
    return apply(None, report, at - DAY, policy).state


def test_promise_reported_after_the_payment_that_keeps_it__is_kept_without_a_reminder() -> None:
    policy = default_policy()
    at = datetime(2026, 3, 10, 2, tzinfo=UTC)
    state = make_missed_state(policy, at)
    pay = make_payment("10", at=at + timedelta(hours=2))
    promise = ContactResultReported(
        EventHeader("p1", CUSTOMER_ID, at, None),
        "agent_call",
        "promise_to_pay",
        None,
        Promise(Decimal(10), date(2026, 3, 15)),
        None,
    )
    state = apply(state, pay, at + timedelta(hours=2), policy).state
    state = apply(state, promise, at + timedelta(hours=3), policy).state
    assert state.promise is not None and state.promise.paid_since == Decimal(10)
    reminders = []
    clock = at + timedelta(hours=3)
    while clock < datetime(2026, 3, 22, tzinfo=UTC):
        clock += timedelta(hours=1)
        step = tick(state, clock, policy)
        state = step.state
        reminders += [d for d in step.decisions if getattr(d, "reason", "") == "promise_reminder"]
    assert reminders == []
    assert state.broken_promises == ()


def test_interleavings_were_tried() -> None:
    """Runs last in the module: the property above really re-ordered histories."""
    if TRIED["interleavings"]:
        assert TRIED["moved"] > 0
        print(f"\narrival order: {TRIED['interleavings']} interleavings, {TRIED['moved']} moved")
