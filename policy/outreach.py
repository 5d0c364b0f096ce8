"""Outreach: which trigger wins, which channel, and when the contact may be made.

One collection outreach per step at most, its reason the first of ``COLLECTION_REASONS``
that holds; non-collection outreach (reminders, skip trace, hardship review, courtesy
follow-up) goes beside it. The channel is the first of the list that no cap or cooldown
holds back, at the end of its quiet hours; every emitted outreach counts as an attempt at once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Final

from policy import ids
from policy.config import ContactProfile, Policy
from policy.contact_rules import add_attempt, after_quiet_hours, next_allowed_time
from policy.state import Attempt
from schemas.events import Channel
from schemas.outputs import Decision, OutreachCancelled, OutreachNeeded

COLLECTION_REASONS: Final = (
    "broken_arrangement",
    "broken_promise",
    "missed_payment",
    "tier_change",
    "cadence",
)


def collection_reason(
    *,
    broke_arrangement: bool,
    broke_promise: bool,
    new_missed: bool,
    tier_up: bool,
    cadence_due: bool,
) -> str | None:
    """The one collection reason of a step, by the contract's precedence."""
    held = (broke_arrangement, broke_promise, new_missed, tier_up, cadence_due)
    for reason, holds in zip(COLLECTION_REASONS, held, strict=True):
        if holds:
            return reason
    return None


def cadence_due(
    tier: str, last_collection_at: datetime | None, now: datetime, policy: Policy
) -> bool:
    """No collection outreach with a ``not_before`` within the tier's cadence."""
    days = policy.tier(tier).cadence_days
    if days is None:
        return False
    return last_collection_at is None or now - last_collection_at >= timedelta(days=days)


def collection_channels(
    tier: str, overdue: Decimal, policy: Policy
) -> tuple[tuple[Channel, ...], int] | None:
    """Channels and priority of collection in ``tier``; ``early``'s while DPD is still 0."""
    rule = policy.tier(tier)
    if rule.channels and rule.priority is not None:
        return rule.channels, rule.priority
    if tier == "current" and overdue > 0:
        early = policy.tier("early")
        assert early.priority is not None
        return early.channels, early.priority
    return None


def choose_channel(
    channels: Sequence[Channel],
    blocked: Sequence[Channel],
    now: datetime,
    tz: str,
    attempts: Sequence[Attempt],
    profile: ContactProfile,
) -> tuple[Channel, datetime] | None:
    """The first channel no cap or cooldown holds back, at the end of its quiet hours.

    Quiet hours only delay a contact: at 23:00 the tier's first channel is still chosen,
    for 08:00, rather than a channel exempt from quiet hours (email) sent at night. A cap
    or a cooldown makes a channel unavailable, so the next one in the list is tried. When
    every channel is held back, the one allowed soonest wins (list order breaks ties).
    """
    best: tuple[Channel, datetime] | None = None
    for channel in channels:
        if channel in blocked:
            continue
        at = next_allowed_time(channel, now, tz, attempts, profile)
        if at is None:
            continue
        if at == after_quiet_hours(channel, now, tz, profile):
            return channel, at
        if best is None or at < best[1]:
            best = (channel, at)
    return best


@dataclass(slots=True)
class Planner:
    """Collects one step's outreach; each one emitted counts as an attempt for the next."""

    customer_id: str
    caused_by: str
    now: datetime
    tz: str
    tier: str
    dpd: int
    overdue: Decimal
    currency: str
    policy: Policy
    blocked: tuple[Channel, ...]
    attempts: tuple[Attempt, ...]
    decisions: list[Decision] = field(default_factory=list)

    def emit(
        self,
        reason: str,
        channels: Sequence[Channel],
        priority: int,
        earliest: datetime | None = None,
    ) -> datetime | None:
        """Emit an outreach with ``reason``, not before ``earliest`` (default: now), moved
        by quiet hours and caps; its ``not_before``, or ``None`` if no channel."""
        choice = choose_channel(
            channels,
            self.blocked,
            self.now if earliest is None else earliest,
            self.tz,
            self.attempts,
            self.policy.contact_profile,
        )
        if choice is None:
            return None
        channel, not_before = choice
        outreach_id = ids.outreach_id(self.customer_id, self.caused_by, reason)
        self.decisions.append(
            OutreachNeeded(
                outreach_id=outreach_id,
                customer_id=self.customer_id,
                channel=channel,
                tier=self.tier,
                priority=priority,
                reason=reason,
                not_before=not_before,
                expires_at=not_before + timedelta(hours=self.policy.expires_hours),
                days_past_due=self.dpd,
                overdue_amount=self.overdue,
                currency=self.currency,
                caused_by=self.caused_by,
                decided_at=self.now,
            )
        )
        collection = reason in COLLECTION_REASONS
        pending = Attempt(not_before, channel, False, outreach_id, collection)
        self.attempts = add_attempt(self.attempts, pending)
        return not_before


def cancel_pending(
    attempts: tuple[Attempt, ...],
    trigger: tuple[str, frozenset[str] | None, bool],
    now: datetime,
    expires_hours: int,
    customer_id: str,
    caused_by: str,
) -> tuple[tuple[Attempt, ...], list[OutreachCancelled]]:
    """Cancel the pending outreach ``trigger`` removes the reason for: ``(reason, channels
    or None for all, collection outreach only)``. Pending: emitted, not answered, the clock
    before its ``expires_at``. A cancelled outreach no longer counts as an attempt."""
    reason, channels, collection_only = trigger
    window = timedelta(hours=expires_hours)
    kept: list[Attempt] = []
    cancelled: list[OutreachCancelled] = []
    for a in attempts:
        if (
            a.outreach_id is not None
            and now < a.at + window
            and (channels is None or a.channel in channels)
            and (a.collection or not collection_only)
        ):
            cancelled.append(
                OutreachCancelled(a.outreach_id, customer_id, a.channel, reason, caused_by, now)
            )
        else:
            kept.append(a)
    return (tuple(kept), cancelled) if cancelled else (attempts, cancelled)
