"""``quiet_until``: before it, a tick decides nothing and moves only ``last_tick``.

The replay and the what-if skip a customer's ticks until then, so this property is what
keeps their output identical to ticking every customer every hour.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from policy import apply, default_policy, quiet_until, tick
from schemas.events import EventHeader, PaymentMissed, PaymentReceived

from .strategies import History, histories, run
from .test_properties import PROPERTY_SETTINGS

OFFSETS = st.lists(st.integers(1, 400 * 24 * 60), min_size=1, max_size=6)


@PROPERTY_SETTINGS
@given(histories(), OFFSETS)
def test_ticks_before_quiet_until__change_nothing_but_last_tick(
    history: History, offsets: list[int]
) -> None:
    for applied in run(history):
        if applied.step is None:
            continue
        state = applied.step.state
        until = quiet_until(state, history.policy)
        if until is None:
            continue
        base = max(applied.now, state.last_tick or applied.now)
        moments = [base + timedelta(minutes=m) for m in offsets]
        if until.year < 9999:  # not "never"
            moments.append(until - timedelta(microseconds=1))  # the last instant vouched for
        for at in moments:
            if not base < at < until:
                continue
            step = tick(state, at, history.policy)
            assert step.decisions == () and not step.duplicate, (at, until)
            assert step.state == replace(state, last_tick=at), (at, until)


def _header(event_id: str, at: datetime) -> EventHeader:
    return EventHeader(event_id, "cust-1", at, None)


def test_a_customer_who_paid_on_time__sleeps_until_the_paid_installment_may_be_pruned() -> None:
    policy = default_policy()
    due = date(2026, 3, 1)
    missed = PaymentMissed(
        _header("m", datetime(2026, 3, 2, 2, tzinfo=UTC)), "i1", due, Decimal("100"), "CNY"
    )
    owing = apply(None, missed, missed.header.occurred_at, policy).state
    assert quiet_until(owing, policy) is None  # overdue: every tick may escalate

    paid_at = datetime(2026, 3, 3, 2, tzinfo=UTC)
    payment = PaymentReceived(_header("p", paid_at), Decimal("100"), "CNY", "i1")
    state = apply(owing, payment, paid_at, policy).state
    state = tick(state, paid_at + timedelta(days=9), policy).state  # past the recent horizon
    retention = policy.paid_installment_retention_days
    assert quiet_until(state, policy) == datetime.combine(
        due + timedelta(days=retention - 1), datetime.min.time(), UTC
    )
