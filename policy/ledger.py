"""Installments, payment allocation, days past due, money conservation.

Rules: a payment pays the installment it names first (when the ledger holds it), then the
oldest unpaid installments, then becomes credit; credit pays installments missed later. A
payment naming an installment the ledger never held was an on-time payment: it is recorded
as ``paid_not_overdue`` and touches neither the overdue balance nor credit. The same
``installment_id`` twice is one installment (the first report wins). Invariants, kept by
every function here: ``total_paid == paid_to_installments + credit + paid_not_overdue`` and
``total_due == paid_to_installments + overdue``.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal

from policy.localtime import local_date
from policy.state import CustomerState, Installment, Ledger


def add_missed(
    ledger: Ledger, installment_id: str, due_date: date, amount_due: Decimal
) -> tuple[Ledger, bool]:
    """Record a missed installment (credit pays it at once); ``False`` if already known."""
    installments = ledger.installments
    for known in installments:
        if known.installment_id == installment_id:
            return ledger, False
    paid = min(ledger.credit, amount_due)
    new = Installment(installment_id, due_date, amount_due, paid)
    at = len(installments)
    while at and installments[at - 1].due_date > due_date:
        at -= 1
    return (
        Ledger(
            installments[:at] + (new,) + installments[at:],
            ledger.credit - paid,
            ledger.total_paid,
            ledger.total_due + amount_due,
            ledger.paid_to_installments + paid,
            ledger.paid_not_overdue,
        ),
        True,
    )


def apply_payment(ledger: Ledger, amount: Decimal, installment_id: str | None) -> Ledger:
    """Allocate a payment: named installment, then oldest first, then credit."""
    installments = ledger.installments
    if installment_id is not None and all(i.installment_id != installment_id for i in installments):
        return Ledger(
            installments,
            ledger.credit,
            ledger.total_paid + amount,
            ledger.total_due,
            ledger.paid_to_installments,
            ledger.paid_not_overdue + amount,
        )
    left = amount
    updated = list(installments)
    if installment_id is not None:
        for index, item in enumerate(updated):
            if item.installment_id == installment_id:
                updated[index], left = _pay(item, left)
                break
    for index, item in enumerate(updated):
        if not left:
            break
        if item.paid < item.amount_due:
            updated[index], left = _pay(item, left)
    return Ledger(
        tuple(updated),
        ledger.credit + left,
        ledger.total_paid + amount,
        ledger.total_due,
        ledger.paid_to_installments + (amount - left),
        ledger.paid_not_overdue,
    )


def _pay(item: Installment, available: Decimal) -> tuple[Installment, Decimal]:
    owed = item.amount_due - item.paid
    if owed <= 0 or available <= 0:
        return item, available
    paid = min(owed, available)
    return (
        Installment(item.installment_id, item.due_date, item.amount_due, item.paid + paid),
        available - paid,
    )


def overdue(ledger: Ledger) -> Decimal:
    """Money still owed on missed installments, from the running totals (O(1)).

    Equal to the sum over installments because dropped installments are fully paid.
    """
    return ledger.total_due - ledger.paid_to_installments


def oldest_unpaid_due(ledger: Ledger) -> date | None:
    """Due date of the oldest installment with money still owed (the DPD anchor)."""
    for item in ledger.installments:
        if item.paid < item.amount_due:
            return item.due_date
    return None


def dpd_on(ledger: Ledger, today: date) -> int:
    """Calendar days from the oldest unpaid due date to local ``today``, never below 0."""
    due = oldest_unpaid_due(ledger)
    if due is None:
        return 0
    return max((today - due).days, 0)


def days_past_due(state: CustomerState, now: datetime) -> int:
    """DPD of ``state`` at ``now`` (aware), counted in the customer's zone.

    A partial payment does not reset it: only paying the oldest installment in full does.
    """
    return dpd_on(state.ledger, local_date(now, state.timezone))


def overdue_amount(state: CustomerState) -> Decimal:
    """Money still owed on ``state``'s missed installments (summed, not from the totals)."""
    return state.overdue_amount


def missed_in_window(ledger: Ledger, today: date, window_days: int) -> int:
    """Installments due in the last ``window_days`` local days (today included)."""
    start = today - timedelta(days=window_days)
    return len([i for i in ledger.installments if start < i.due_date <= today])


def prune(ledger: Ledger, today: date, retention_days: int) -> Ledger:
    """Drop fully paid installments due at least ``retention_days`` ago (bounded state)."""
    horizon = today - timedelta(days=retention_days)
    installments = ledger.installments
    if not installments or installments[0].due_date > horizon:
        return ledger
    kept = tuple(i for i in installments if i.due_date > horizon or i.paid < i.amount_due)
    if len(kept) == len(installments):
        return ledger
    return Ledger(
        kept,
        ledger.credit,
        ledger.total_paid,
        ledger.total_due,
        ledger.paid_to_installments,
        ledger.paid_not_overdue,
    )
