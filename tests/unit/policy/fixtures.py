"""Factories for input events and a small driver that feeds one customer to the core.

Shared by the policy unit tests (and free for the property tests): every factory takes the
fields a test cares about and fills the rest with valid defaults. ``NOW`` is the fixed clock:
2026-03-10 12:00 in Shanghai (04:00 UTC), inside every channel's allowed hours.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from policy import CustomerState, Policy, apply, default_policy, tick
from schemas.events import (
    Arrangement,
    ArrangementType,
    Channel,
    ContactResultReported,
    EventHeader,
    PaymentMissed,
    PaymentReceived,
    Promise,
)
from schemas.outputs import Decision, OutreachNeeded, RiskEscalation

NOW = datetime(2026, 3, 10, 4, 0, tzinfo=UTC)
TODAY = date(2026, 3, 10)  # NOW's local date in Asia/Shanghai
CUSTOMER = "cust-1"
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)

_ids = itertools.count(1)


def header(
    event_id: str | None = None,
    *,
    at: datetime = NOW,
    tz: str | None = None,
    customer_id: str = CUSTOMER,
) -> EventHeader:
    return EventHeader(event_id or f"evt-{next(_ids)}", customer_id, at, tz)


def make_payment(
    amount: str = "100.00",
    *,
    installment_id: str | None = None,
    currency: str = "CNY",
    at: datetime = NOW,
    event_id: str | None = None,
    tz: str | None = None,
    customer_id: str = CUSTOMER,
) -> PaymentReceived:
    return PaymentReceived(
        header(event_id, at=at, tz=tz, customer_id=customer_id),
        Decimal(amount),
        currency,
        installment_id,
    )


def make_missed(
    installment_id: str = "inst-1",
    due_date: date = TODAY - timedelta(days=1),
    amount_due: str = "100.00",
    *,
    currency: str = "CNY",
    at: datetime = NOW,
    event_id: str | None = None,
    tz: str | None = None,
    customer_id: str = CUSTOMER,
) -> PaymentMissed:
    return PaymentMissed(
        header(event_id, at=at, tz=tz, customer_id=customer_id),
        installment_id,
        due_date,
        Decimal(amount_due),
        currency,
    )


def make_contact(
    outcome: str = "reached",
    channel: Channel = "voice_bot",
    *,
    at: datetime = NOW,
    outreach_id: str | None = None,
    promise: tuple[str, date] | None = None,
    arrangement: tuple[ArrangementType, date] | None = None,
    event_id: str | None = None,
    tz: str | None = None,
    customer_id: str = CUSTOMER,
) -> ContactResultReported:
    return ContactResultReported(
        header(event_id, at=at, tz=tz, customer_id=customer_id),
        channel,
        outcome,
        outreach_id,
        None if promise is None else Promise(Decimal(promise[0]), promise[1]),
        None if arrangement is None else Arrangement(*arrangement),
    )


def make_promise(
    amount: str,
    on: date,
    *,
    channel: Channel = "agent_call",
    at: datetime = NOW,
    event_id: str | None = None,
) -> ContactResultReported:
    return make_contact("promise_to_pay", channel, at=at, promise=(amount, on), event_id=event_id)


def outreach(decisions: Iterable[Decision]) -> list[OutreachNeeded]:
    return [d for d in decisions if isinstance(d, OutreachNeeded)]


def escalations(decisions: Iterable[Decision]) -> list[RiskEscalation]:
    return [d for d in decisions if isinstance(d, RiskEscalation)]


def reasons(decisions: Iterable[Decision]) -> list[str]:
    return [o.reason for o in outreach(decisions)]


class Customer:
    """Feeds one customer's events and clock ticks to the core, as the shell would."""

    def __init__(self, policy: Policy | None = None, now: datetime = NOW) -> None:
        self.policy = policy or default_policy()
        self.state: CustomerState | None = None
        self.now = now
        self.log: list[Decision] = []

    def apply(self, event: object, now: datetime | None = None) -> tuple[Decision, ...]:
        """Apply ``event`` at ``now`` (default: its ``occurred_at``, never before the clock)."""
        at = now or max(self.now, event.header.occurred_at)  # type: ignore[attr-defined]
        self.now = at
        step = apply(self.state, event, at, self.policy)  # type: ignore[arg-type]
        self.state = step.state
        self.log.extend(step.decisions)
        return step.decisions

    def tick(self, now: datetime) -> tuple[Decision, ...]:
        assert self.state is not None
        self.now = now
        step = tick(self.state, now, self.policy)
        self.state = step.state
        self.log.extend(step.decisions)
        return step.decisions

    def run(self, until: datetime, every: timedelta = HOUR) -> list[Decision]:
        """Tick every ``every`` after the clock up to ``until``; all decisions made."""
        made: list[Decision] = []
        at = self.now + every
        while at <= until:
            made.extend(self.tick(at))
            at += every
        return made

    @property
    def current(self) -> CustomerState:
        assert self.state is not None
        return self.state
