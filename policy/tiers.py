"""Risk tiers: the DPD bucket, the modifiers that raise it one step, and escalations.

Tier = DPD bucket, one step higher when any modifier holds (never out of ``current``, never
above ``severe``; ``charge_off`` is reached by DPD alone). While an arrangement is active
the tier may fall but not rise above what the facts give on the day it was agreed. An
escalation is emitted on every change of tier and only then; its reasons say what changed
since the last change of tier.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime
from decimal import Decimal
from typing import Final

from policy import ids
from policy.config import Policy
from policy.ledger import dpd_on, missed_in_window
from policy.state import MODIFIERS, Commitments, Ledger
from schemas.outputs import TIERS, RiskEscalation

RANK: Final = {tier: rank for rank, tier in enumerate(TIERS)}
_RAISABLE: Final = frozenset({"early", "mid", "late"})


def dpd_bucket(dpd: int, policy: Policy) -> str:
    """The tier whose DPD bucket holds ``dpd``."""
    for rule in policy.tiers:
        if rule.dpd_max is None or dpd <= rule.dpd_max:
            return rule.name
    raise AssertionError("unreachable: the last bucket is open-ended")


def active_modifiers(
    commitments: Commitments, ledger: Ledger, today: date, policy: Policy
) -> tuple[str, ...]:
    """The modifiers holding on local ``today``, in the contract's order."""
    if (
        not commitments.broken_promises
        and not commitments.unreachable
        and len(ledger.installments) < policy.repeat_delinquency_threshold
    ):
        return ()
    window = policy.broken_promises_window_days
    broken = len([d for d in commitments.broken_promises if (today - d).days < window])
    repeat = missed_in_window(ledger, today, policy.repeat_delinquency_window_days)
    holding = (
        broken >= policy.broken_promises_threshold,
        commitments.unreachable,
        repeat >= policy.repeat_delinquency_threshold,
    )
    return tuple(name for name, on in zip(MODIFIERS, holding, strict=True) if on)


def tier_for(bucket: str, modifiers: tuple[str, ...]) -> str:
    """The bucket, raised one step when any modifier holds (once, capped at ``severe``)."""
    if modifiers and bucket in _RAISABLE:
        return TIERS[RANK[bucket] + 1]
    return bucket


def next_tier(current: str, bucket: str, modifiers: tuple[str, ...], ceiling: str | None) -> str:
    """The new tier, never above ``ceiling`` (an active arrangement's; ``arrangement_ceiling``)."""
    target = tier_for(bucket, modifiers)
    if ceiling is not None and RANK[target] > RANK[ceiling]:
        return ceiling
    return target


def arrangement_ceiling(
    current: str, commitments: Commitments, ledger: Ledger, policy: Policy
) -> str | None:
    """While an arrangement is active the tier may fall but not rise: it is capped at the
    tier the facts give on the day it was agreed (the agreement itself is a right-party
    contact, so no unreachable episode is open then). A fact dated before that day but
    reported later raises the cap as an ordered history would have; later facts cannot.
    Arrangements stored without their day keep the tier they found."""
    a = commitments.arrangement
    if a is None:
        return None
    if a.agreed_on is None:
        return current
    day = a.agreed_on
    then = replace(
        commitments,
        unreachable=False,
        broken_promises=tuple(d for d in commitments.broken_promises if d <= day),
    )
    bucket = dpd_bucket(dpd_on(ledger, day), policy)
    return tier_for(bucket, active_modifiers(then, ledger, day, policy))


def escalation_reasons(
    old: str,
    new: str,
    bucket: str,
    modifiers: tuple[str, ...],
    basis_bucket: str,
    basis_modifiers: tuple[str, ...],
    *,
    cured: bool,
    broke_arrangement: bool,
) -> tuple[str, ...]:
    """Why the tier changed, in the contract's order, relative to the last tier change."""
    if cured:
        return ("cured",)
    up = RANK[new] > RANK[old]
    reasons = ["dpd"] if bucket != basis_bucket else []
    for name in MODIFIERS:
        now_on, was_on = name in modifiers, name in basis_modifiers
        if (up and now_on and not was_on) or (not up and was_on and not now_on):
            reasons.append(name)
    if broke_arrangement:
        reasons.append("broken_arrangement")
    return tuple(reasons) if reasons else ("dpd",)


def escalation(
    customer_id: str,
    old: str,
    new: str,
    reasons: tuple[str, ...],
    dpd: int,
    overdue: Decimal,
    currency: str,
    caused_by: str,
    now: datetime,
) -> RiskEscalation:
    """The escalation record from ``old`` to ``new`` (its id depends on the trigger only)."""
    return RiskEscalation(
        escalation_id=ids.escalation_id(customer_id, caused_by, new, reasons),
        customer_id=customer_id,
        from_tier=old,
        to_tier=new,
        direction="up" if RANK[new] > RANK[old] else "down",
        reasons=reasons,
        days_past_due=dpd,
        overdue_amount=overdue,
        currency=currency,
        caused_by=caused_by,
        decided_at=now,
    )
