"""Installments, payment allocation, days past due, money conservation.

The ledger is a function of the facts it was told, not of their arrival order (contract,
"Arrival order"):

- a payment naming an installment counts against it when it was made after the due date
  (local end of day); one made on or before is already reflected in ``amount_due`` and is
  recorded as ``paid_not_overdue``. When the installment is not reported yet, the payment
  is ``held`` for its report: a report dated at most ``LATE_ARRIVAL_DAYS`` after the
  payment judges it by the same rule; a later one, or none within ``HOLD_DAYS``, finds it
  paid on time (most held payments are on-time payments whose installment never falls
  overdue, so they must not be kept long);
- every other payment, and what a named payment pays beyond its installment, is unnamed
  money: it pays the installments oldest due first, and what is left is ``credit``. It is
  reallocated whenever an installment is reported, so a report arriving late for an older
  installment takes the money an ordered history would have given it;
- the same ``installment_id`` twice is one installment (the first report wins).

Invariants, kept by every function here: ``total_paid == paid_to_installments + credit +
paid_not_overdue + held`` and ``total_due == paid_to_installments + overdue``.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Final

from policy.localtime import local_date
from policy.records import Payment
from policy.state import ZERO, CustomerState, Installment, Ledger

LATE_ARRIVAL_DAYS: Final = 7
_LATE: Final = timedelta(days=LATE_ARRIVAL_DAYS)
MAX_HELD: Final = 16
"""Payments naming unreported installments kept at most; the oldest is then taken as on time."""
HOLD_DAYS: Final = 2 * LATE_ARRIVAL_DAYS + 1
"""How long a held payment waits: a report dated up to 7 days after it may arrive 7 days
late (a day more for the local calendar)."""
_HOLD: Final = timedelta(days=HOLD_DAYS)
_RECENT: Final = timedelta(days=LATE_ARRIVAL_DAYS + 1)
"""The late-arrival horizon: how far the input topics may lag each other with every rule
still judging on the facts' own dates (payments are remembered this long for a promise
reported after them; a broken promise is revisited this long by payments made in time)."""


def add_missed(
    ledger: Ledger, installment_id: str, due_date: date, amount_due: Decimal, reported_on: date
) -> tuple[Ledger, bool]:
    """Record a missed installment reported on local day ``reported_on`` (unnamed money and
    held payments pay it at once); ``False`` if already known."""
    installments = ledger.installments
    for known in installments:
        if known.installment_id == installment_id:
            return ledger, False
    named, not_overdue, held = ZERO, ledger.paid_not_overdue, ledger.held
    if held:
        kept = []
        for payment in held:
            if payment.installment_id != installment_id:
                kept.append(payment)
            elif due_date < payment.day and reported_on <= payment.day + _LATE:
                named += payment.amount
            else:
                not_overdue += payment.amount
        held = tuple(kept)
    excess = max(named - amount_due, ZERO)
    new = Installment(installment_id, due_date, amount_due, named - excess, named - excess)
    at = len(installments)
    while at and installments[at - 1].due_date > due_date:
        at -= 1
    return (
        _allocate(
            ledger,
            installments[:at] + (new,) + installments[at:],
            ledger.total_due + amount_due,
            extra_unnamed=excess,
            paid_not_overdue=not_overdue,
            held=held,
        ),
        True,
    )


def apply_payment(ledger: Ledger, amount: Decimal, installment_id: str | None, day: date) -> Ledger:
    """Record a payment made on local ``day``: named installment, else held, else unnamed."""
    recent = ledger.recent + (Payment(day, amount),)
    if installment_id is None:
        return _allocate(
            ledger, ledger.installments, extra_unnamed=amount, paid=amount, recent=recent
        )
    index = next(
        (n for n, i in enumerate(ledger.installments) if i.installment_id == installment_id), -1
    )
    if index < 0:
        held = ledger.held + (Payment(day, amount, installment_id),)
        not_overdue = ledger.paid_not_overdue
        while len(held) > MAX_HELD:
            not_overdue += held[0].amount
            held = held[1:]
        return _replace(
            ledger,
            total_paid=ledger.total_paid + amount,
            held=held,
            paid_not_overdue=not_overdue,
            recent=recent,
        )
    item = ledger.installments[index]
    if day <= item.due_date:
        return _replace(
            ledger,
            total_paid=ledger.total_paid + amount,
            paid_not_overdue=ledger.paid_not_overdue + amount,
            recent=recent,
        )
    room = item.amount_due - item.named
    to_item = min(room, amount)
    installments = list(ledger.installments)
    installments[index] = Installment(
        item.installment_id, item.due_date, item.amount_due, item.paid, item.named + to_item
    )
    return _allocate(
        ledger, tuple(installments), extra_unnamed=amount - to_item, paid=amount, recent=recent
    )


def _allocate(
    ledger: Ledger,
    installments: tuple[Installment, ...],
    total_due: Decimal | None = None,
    *,
    extra_unnamed: Decimal = ZERO,
    paid: Decimal = ZERO,
    paid_not_overdue: Decimal | None = None,
    held: tuple[Payment, ...] | None = None,
    recent: tuple[Payment, ...] | None = None,
) -> Ledger:
    """Spread the unnamed money over ``installments`` oldest due first; the rest is credit.

    Unnamed money is what the ledger already allocated beyond named payments, plus its
    credit, plus ``extra_unnamed``. Recomputed in full: a ledger holds a few installments.
    """
    unnamed = ledger.credit + extra_unnamed
    if not installments and not ledger.installments:  # the common case: nothing overdue
        return Ledger(
            (),
            unnamed,
            ledger.total_paid + paid,
            ledger.total_due if total_due is None else total_due,
            ledger.paid_to_installments,
            ledger.paid_not_overdue if paid_not_overdue is None else paid_not_overdue,
            ledger.held if held is None else held,
            ledger.recent if recent is None else recent,
        )
    for item in ledger.installments:
        unnamed += item.paid - item.named
    before = sum((i.paid for i in ledger.installments), ZERO)
    out = []
    for item in installments:
        share = min(item.amount_due - item.named, unnamed)
        unnamed -= share
        now_paid = item.named + share
        out.append(
            item
            if now_paid == item.paid
            else Installment(
                item.installment_id, item.due_date, item.amount_due, now_paid, item.named
            )
        )
    after = sum((i.paid for i in out), ZERO)
    return Ledger(
        tuple(out),
        unnamed,
        ledger.total_paid + paid,
        ledger.total_due if total_due is None else total_due,
        ledger.paid_to_installments + after - before,
        ledger.paid_not_overdue if paid_not_overdue is None else paid_not_overdue,
        ledger.held if held is None else held,
        ledger.recent if recent is None else recent,
    )


def _replace(
    ledger: Ledger,
    *,
    total_paid: Decimal,
    paid_not_overdue: Decimal,
    held: tuple[Payment, ...] | None = None,
    recent: tuple[Payment, ...] | None = None,
) -> Ledger:
    return Ledger(
        ledger.installments,
        ledger.credit,
        total_paid,
        ledger.total_due,
        ledger.paid_to_installments,
        paid_not_overdue,
        ledger.held if held is None else held,
        ledger.recent if recent is None else recent,
    )


def paid_since(ledger: Ledger, day: date) -> Decimal:
    """What the remembered recent payments made on or after local ``day`` add up to."""
    return sum((p.amount for p in ledger.recent if p.day >= day), ZERO)


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
    if not needs_pruning(ledger, today, retention_days):
        return ledger
    horizon = today - timedelta(days=retention_days)
    kept = tuple(i for i in ledger.installments if i.due_date > horizon or i.paid < i.amount_due)
    if len(kept) == len(ledger.installments):
        return ledger
    return Ledger(
        kept,
        ledger.credit,
        ledger.total_paid,
        ledger.total_due,
        ledger.paid_to_installments,
        ledger.paid_not_overdue,
        ledger.held,
        ledger.recent,
    )


def needs_pruning(ledger: Ledger, today: date, retention_days: int) -> bool:
    """Whether the oldest installment may be old enough for ``prune`` (cheap)."""
    installments = ledger.installments
    return bool(installments) and (today - installments[0].due_date).days >= retention_days


def forget_payments(ledger: Ledger, utc_today: date) -> Ledger:
    """Forget held payments older than ``HOLD_DAYS`` (taken as paid on time) and recent ones
    older than the horizon, counted from the UTC date (a day of margin for any zone), so
    every step forgets at the same clock whatever path it takes."""
    held, recent = ledger.held, ledger.recent
    if not held and not recent:
        return ledger
    hold_cutoff = utc_today - _HOLD
    recent_cutoff = utc_today - _RECENT
    if all(p.day >= recent_cutoff for p in recent) and all(p.day >= hold_cutoff for p in held):
        return ledger
    expired = sum((p.amount for p in held if p.day < hold_cutoff), ZERO)
    return _replace(
        ledger,
        total_paid=ledger.total_paid,
        paid_not_overdue=ledger.paid_not_overdue + expired,
        held=tuple(p for p in held if p.day >= hold_cutoff),
        recent=tuple(p for p in recent if p.day >= recent_cutoff),
    )
