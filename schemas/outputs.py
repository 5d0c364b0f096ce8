"""Output records of the contract: what the risk team and the dialers consume."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import ClassVar, Final, Literal

RISK_ESCALATIONS: Final = "repayments.risk-escalations"
OUTREACH_NEEDED: Final = "repayments.outreach-needed"
OUTREACH_CANCELLED: Final = "repayments.outreach-cancelled"
DEAD_LETTER: Final = "repayments.dead-letter"
OUTPUT_TOPICS: Final = (RISK_ESCALATIONS, OUTREACH_NEEDED, OUTREACH_CANCELLED, DEAD_LETTER)

TIERS: Final = ("current", "early", "mid", "late", "severe", "charge_off")
ESCALATION_REASONS: Final = (
    "dpd",
    "broken_promises",
    "unreachable",
    "repeat_delinquency",
    "broken_arrangement",
    "cured",
)
OUTREACH_REASONS: Final = (
    "missed_payment",
    "tier_change",
    "cadence",
    "promise_reminder",
    "broken_promise",
    "broken_arrangement",
    "verify_contact",
    "hardship_review",
    "courtesy_followup",
    "callback",
)


@dataclass(frozen=True, slots=True)
class RiskEscalation:
    """The customer's risk tier changed (``direction`` says which way)."""

    escalation_id: str
    customer_id: str
    from_tier: str
    to_tier: str
    direction: Literal["up", "down"]
    reasons: tuple[str, ...]
    days_past_due: int
    overdue_amount: Decimal
    currency: str
    caused_by: str
    decided_at: datetime  # aware, UTC
    policy_arm: str | None = None  # the customer's experiment arm, when one runs

    topic: ClassVar[str] = RISK_ESCALATIONS


@dataclass(frozen=True, slots=True)
class OutreachNeeded:
    """One unit of contact work, already placed inside the contact rules."""

    outreach_id: str
    customer_id: str
    channel: str
    tier: str
    priority: int
    reason: str
    not_before: datetime  # aware, UTC
    expires_at: datetime  # aware, UTC
    days_past_due: int
    overdue_amount: Decimal
    currency: str
    caused_by: str
    decided_at: datetime  # aware, UTC
    policy_arm: str | None = None

    topic: ClassVar[str] = OUTREACH_NEEDED


CANCEL_REASONS: Final = (
    "cured",
    "promise",
    "arrangement",
    "dispute",
    "hardship",
    "opt_out",
    "cease_contact",
    "erasure",
)


@dataclass(frozen=True, slots=True)
class OutreachCancelled:
    """A pending outreach a dialer should drop: its reason is gone."""

    outreach_id: str
    customer_id: str
    channel: str
    reason: str
    caused_by: str
    decided_at: datetime  # aware, UTC
    policy_arm: str | None = None

    topic: ClassVar[str] = OUTREACH_CANCELLED


Decision = RiskEscalation | OutreachNeeded | OutreachCancelled
