"""What ``GET /customers/{id}`` shows: a readable summary of one customer's state.

Money as decimal strings and instants as RFC 3339 UTC, as in the outputs; the recent
decisions are the ones the core remembers for re-emission (the last 16).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from policy import days_past_due, overdue_amount
from policy.config import ContactProfile
from policy.localtime import zone
from policy.state import CustomerState
from schemas.encode import decision_to_dict
from schemas.outputs import Decision, OutreachNeeded


def _instant(at: datetime | None) -> str | None:
    return None if at is None else at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def customer_summary(state: CustomerState, as_of: datetime) -> dict[str, Any]:
    """The customer as the worker holds it, with DPD as of the processor's clock."""
    ledger = state.ledger
    unpaid = [i for i in ledger.installments if i.paid < i.amount_due]
    c = state.commitments
    promise = c.promise
    arrangement = c.arrangement
    return {
        "customer_id": state.customer_id,
        "as_of": _instant(as_of),
        "tier": state.tier,
        "days_past_due": days_past_due(state, as_of),
        "overdue_amount": str(overdue_amount(state)),
        "currency": state.currency,
        "timezone": state.timezone,
        "oldest_unpaid_due_date": min(i.due_date for i in unpaid).isoformat() if unpaid else None,
        "unpaid_installments": len(unpaid),
        "credit": str(ledger.credit),
        "installments": [
            {
                "installment_id": i.installment_id,
                "due_date": i.due_date.isoformat(),
                "amount_due": str(i.amount_due),
                "paid": str(i.paid),
            }
            for i in ledger.installments
        ],
        "held_payments": [
            {"installment_id": p.installment_id, "day": p.day.isoformat(), "amount": str(p.amount)}
            for p in ledger.held
        ],
        "promise": None
        if promise is None
        else {
            "amount": str(promise.amount),
            "date": promise.date.isoformat(),
            "made_on": promise.made_on.isoformat(),
        },
        "arrangement": None
        if arrangement is None
        else {"type": arrangement.type, "until": arrangement.until.isoformat()},
        "broken_promises": len(c.broken_promises),
        "hardship_until": _instant(c.hardship_until),
        "disputed": c.disputed,
        "ceased": c.ceased,
        "opted_out": list(c.opted_out),
        "unreachable": c.unreachable,
        "last_collection_at": _instant(state.last_collection_at),
        "last_tick": _instant(state.last_tick),
        "recent_decisions": [decision_to_dict(d) for d in state.recent],
    }


def deferred_rule(decision: Decision, timezone: str, profile: ContactProfile) -> str | None:
    """Why an outreach's ``not_before`` lies after its decision: ``quiet_hours`` or ``cap``.

    Quiet hours when the decision fell inside the channel's quiet hours in the customer's
    local time; otherwise a cap (or a cooldown after a right-party contact) held it back.
    ``None`` when the outreach may be made at once.
    """
    if not isinstance(decision, OutreachNeeded) or decision.not_before <= decision.decided_at:
        return None
    local = decision.decided_at.astimezone(zone(timezone))
    minute = local.hour * 60 + local.minute
    for channel, start, end in profile.quiet_hours:
        if channel != decision.channel:
            continue
        inside = start <= minute < end if start < end else minute >= start or minute < end
        if inside:
            return "quiet_hours"
    return "cap"
