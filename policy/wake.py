"""When time next matters to a customer: before ``quiet_until``, a tick changes nothing.

A customer who is ``current``, owes nothing and has nothing promised takes the core's quiet
path on a tick: no rule can decide anything, and the state changes only by ``last_tick``
and by forgetting what has aged out (held and recent payments, old attempts), which happens
on known dates. ``quiet_until`` is the first instant at which a tick could do more than
move ``last_tick``, so a driver may skip the customer's ticks until then and lose nothing
(``tests/unit/policy/test_wake.py`` holds that as a property). The replay and the what-if
tick only customers who are awake: a long history costs the customers with time-driven
work, not customers x hours.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from policy.config import Policy
from policy.core import arm_policy
from policy.ledger import HOLD_DAYS, LATE_ARRIVAL_DAYS
from policy.records import CustomerState

_RECENT_DAYS = LATE_ARRIVAL_DAYS + 1
_NEVER = datetime.max.replace(tzinfo=UTC)


def quiet_until(state: CustomerState, policy: Policy) -> datetime | None:
    """The first instant a tick may change more than ``last_tick`` or decide anything;
    ``None`` when that may be any tick (the customer is not quiet)."""
    policy, _ = arm_policy(policy, state.customer_id)
    book, promises = state.ledger, state.commitments
    if (
        state.tier != "current"
        or book.total_due != book.paid_to_installments
        or promises.promise is not None
        or promises.arrangement is not None
        or promises.broken_promises
    ):
        return None
    wakes: list[datetime] = []
    if book.installments:
        # ``needs_pruning`` on the day after the tick's UTC date: the quiet path ends then.
        retention = policy.paid_installment_retention_days
        wakes.append(_midnight(book.installments[0].due_date + timedelta(days=retention - 1)))
    if book.held:
        # ``forget_payments`` drops a held payment once its day is before the date - HOLD.
        oldest = min(p.day for p in book.held)
        wakes.append(_midnight(oldest + timedelta(days=HOLD_DAYS + 1)))
    if book.recent:
        oldest = min(p.day for p in book.recent)
        wakes.append(_midnight(oldest + timedelta(days=_RECENT_DAYS + 1)))
    if state.attempts:
        # ``prune_attempts`` keeps an attempt while it is within the retention horizon.
        retention_days = policy.contact_profile.attempt_retention_days
        wakes.append(state.attempts[0].at + timedelta(days=retention_days))
    return min(wakes) if wakes else _NEVER


def asleep_after(state: CustomerState, now: datetime, policy: Policy) -> datetime | None:
    """Until when a driver may skip the customer after its tick at ``now``; ``None``: tick
    it next time."""
    until = quiet_until(state, policy)
    return until if until is not None and until > now else None


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(), UTC)
