"""Cheap read accessors of a customer state, for the web view and the property tests.

Plain functions of the state (and the clock where time matters), so callers never reach
into the record layout. Money conservation holds for every state the core returns:
``total_paid == paid_to_installments + credit + paid_not_overdue + held`` and
``total_due == paid_to_installments + overdue_amount``.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from policy.ledger import days_past_due, overdue_amount
from policy.state import Attempt, CustomerState
from schemas.events import Channel

__all__ = [
    "ceased",
    "credit",
    "days_past_due",
    "disputed",
    "hardship_active",
    "held",
    "opted_out",
    "overdue_amount",
    "paid_not_overdue",
    "paid_to_installments",
    "pending_outreach",
    "tier",
    "total_due",
    "total_paid",
    "unreachable",
]


def tier(state: CustomerState) -> str:
    """The customer's risk tier (a contract tier name)."""
    return state.tier


def credit(state: CustomerState) -> Decimal:
    """Money paid beyond every missed installment, kept for installments missed later."""
    return state.ledger.credit


def total_paid(state: CustomerState) -> Decimal:
    """Sum of every payment applied."""
    return state.ledger.total_paid


def total_due(state: CustomerState) -> Decimal:
    """Sum of ``amount_due`` of every missed installment."""
    return state.ledger.total_due


def paid_to_installments(state: CustomerState) -> Decimal:
    """Money allocated to missed installments (by payments or credit)."""
    return state.ledger.paid_to_installments


def paid_not_overdue(state: CustomerState) -> Decimal:
    """Payments made on or before their installment's due date, or whose installment was
    never reported within the retention period (paid on time)."""
    return state.ledger.paid_not_overdue


def held(state: CustomerState) -> Decimal:
    """Payments naming an installment not reported yet, waiting for its report."""
    return sum((p.amount for p in state.ledger.held), Decimal(0))


def opted_out(state: CustomerState) -> tuple[Channel, ...]:
    """Channels the customer refused; never chosen again."""
    return state.commitments.opted_out


def ceased(state: CustomerState) -> bool:
    """The customer refused all collection contact: no outreach ever again."""
    return state.commitments.ceased


def disputed(state: CustomerState) -> bool:
    """A dispute is open (no collection outreach until ``dispute_resolved``)."""
    return state.commitments.disputed


def unreachable(state: CustomerState) -> bool:
    """An unreachable episode is open (a risk modifier)."""
    return state.commitments.unreachable


def hardship_active(state: CustomerState, now: datetime) -> bool:
    """Within a hardship window at ``now`` (no automated channels)."""
    until = state.commitments.hardship_until
    return until is not None and now < until


def pending_outreach(state: CustomerState) -> tuple[Attempt, ...]:
    """Outreach emitted and not yet answered by a result carrying its id."""
    return state.pending_outreach
