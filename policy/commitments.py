"""What the customer said and how it bends collection: promises, arrangements, hardship,
disputes, refusals (opt-out, cease) and reachability.

Each function takes the ``Commitments`` record and returns a new one, with flags telling the
core what a step must emit (a broken promise, a reminder, a new unreachable episode, a new
hardship window). Day rules read the customer's local calendar.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import NamedTuple

from policy.config import Policy, add_months
from policy.state import ActiveArrangement, Commitments, OpenPromise
from schemas.errors import InvalidEvent
from schemas.events import (
    CHANNELS,
    FAILED_OUTCOMES,
    RIGHT_PARTY_OUTCOMES,
    Arrangement,
    Channel,
    ContactResultReported,
    Promise,
)

NOT_AN_ATTEMPT = frozenset({"delivered", "opt_out", "cease_contact", "dispute_resolved"})


class OutcomeEffects(NamedTuple):
    commitments: Commitments
    opened_unreachable: bool
    opened_hardship: bool
    broke_promise: bool = False


class TimeEffects(NamedTuple):
    commitments: Commitments
    broke_promise: bool
    remind_promise: bool


def check_arrangement(arrangement: Arrangement, today: date, policy: Policy) -> None:
    """``until`` must fall between the event's local date and ``max_months`` later."""
    latest = add_months(today, policy.arrangement_max_months)
    if not today <= arrangement.until <= latest:
        raise InvalidEvent(
            "invalid_field",
            f"arrangement.until {arrangement.until} is outside {today} .. {latest}",
            "arrangement.until",
        )


def check_promise(promise: Promise, today: date, policy: Policy) -> None:
    """``date`` must fall no later than ``max_months`` after the event's local date (a date
    in the past is a promise already due: kept or broken by the payments since)."""
    latest = add_months(today, policy.arrangement_max_months)
    if promise.date > latest:
        raise InvalidEvent(
            "invalid_field",
            f"promise.date {promise.date} is after {latest}, {policy.arrangement_max_months}"
            " months after the event",
            "promise.date",
        )


def on_outcome(
    c: Commitments,
    event: ContactResultReported,
    at: datetime,
    today: date,
    policy: Policy,
    paid_since: Decimal,
) -> OutcomeEffects:
    """The effect of one contact result on the commitments (``at``: when it happened;
    ``paid_since``: payments already known that were made on or after ``today``)."""
    outcome = event.outcome
    if outcome == "delivered":
        return OutcomeEffects(c, False, False)
    opened_unreachable = opened_hardship = broke = False
    streak, unreachable = c.failed_streak, c.unreachable
    broken = c.broken_promises
    promise, arrangement, hardship_until = c.promise, c.arrangement, c.hardship_until
    disputed, ceased, opted_out = c.disputed, c.ceased, c.opted_out
    if outcome in FAILED_OUTCOMES:
        streak += 1
        if streak >= policy.unreachable_failed_attempts and not unreachable:
            unreachable = opened_unreachable = True
    elif outcome in RIGHT_PARTY_OUTCOMES:
        streak, unreachable = 0, False
        if outcome == "promise_to_pay" and event.promise is not None:
            if promise is not None and today > grace_end(promise, policy):
                # The open promise's grace ended before this one was made: judge it now,
                # as a step at its grace end would have, before it is replaced.
                broke = promise.paid_since < promise.amount
                broken = broken + (broken_on(promise, policy),) if broke else broken
            promise = OpenPromise(event.promise.amount, event.promise.date, today, paid_since)
        elif outcome == "arrangement_agreed" and event.arrangement is not None:
            arrangement = ActiveArrangement(event.arrangement.type, event.arrangement.until, today)
        elif outcome == "dispute":
            disputed = True
        elif outcome == "hardship":
            opened_hardship = hardship_until is None or hardship_until <= at
            ends = at + timedelta(days=policy.hardship_days)
            hardship_until = ends if opened_hardship else max(ends, hardship_until or ends)
    elif outcome == "dispute_resolved":
        disputed = False
    elif outcome == "opt_out":
        if event.channel not in opted_out:  # kept in the contract's channel order
            opted_out = tuple(ch for ch in CHANNELS if ch in opted_out or ch == event.channel)
    elif outcome == "cease_contact":
        ceased = True
    return OutcomeEffects(
        Commitments(
            promise,
            arrangement,
            broken,
            hardship_until,
            disputed,
            ceased,
            opted_out,
            streak,
            unreachable,
        ),
        opened_unreachable,
        opened_hardship,
        broke,
    )


def grace_end(promise: OpenPromise, policy: Policy) -> date:
    """The last local day of a promise's grace."""
    return promise.date + timedelta(days=policy.promise_grace_days)


def broken_on(promise: OpenPromise, policy: Policy) -> date:
    """The local day a promise not kept counts as broken: the day after its grace, whenever
    a step notices it (so the 90-day window does not depend on when ticks come)."""
    return grace_end(promise, policy) + timedelta(days=1)


def on_payment(c: Commitments, amount: Decimal, day: date) -> Commitments:
    """Payments made (local ``day``) on or after the promise's day count toward keeping it,
    whenever they arrive."""
    p = c.promise
    if p is None or day < p.made_on:
        return c
    paid = OpenPromise(p.amount, p.date, p.made_on, p.paid_since + amount, p.reminded)
    return replace(c, promise=paid)


def on_settled(c: Commitments) -> Commitments:
    """Nothing overdue any more: an open promise is kept. An arrangement runs on to its
    ``until`` (a miss due after it was agreed still breaks it): ending it on payoff would
    make the tier depend on whether a payment or a report arrived first."""
    if c.promise is None:
        return c
    return replace(c, promise=None)


def on_new_missed(c: Commitments, due_date: date) -> tuple[Commitments, bool]:
    """A new missed installment due after the day an active arrangement was agreed breaks it
    (``True`` when it did); one due on that day or before, reported late, does not."""
    a = c.arrangement
    if a is None or (a.agreed_on is not None and due_date <= a.agreed_on):
        return c, False
    return replace(c, arrangement=None), True


def on_agreed(c: Commitments, due_dates: Iterable[date]) -> tuple[Commitments, bool]:
    """An arrangement just agreed is broken at once by a known installment due after its
    day: that miss was reported after the agreement (it could not be missed before it fell
    due), and only arrived first. Breaking it here is what ``on_new_missed`` would have
    done in the order things happened."""
    a = c.arrangement
    if a is None or a.agreed_on is None or not any(d > a.agreed_on for d in due_dates):
        return c, False
    return replace(c, arrangement=None), True


def advance(c: Commitments, now: datetime, today: date, policy: Policy) -> TimeEffects:
    """Time passing: promise reminders and grace ends, arrangement and hardship ends."""
    if (
        c.promise is None
        and c.arrangement is None
        and c.hardship_until is None
        and not c.broken_promises
    ):
        return TimeEffects(c, False, False)
    broke = remind = False
    promise, arrangement, hardship_until = c.promise, c.arrangement, c.hardship_until
    broken = c.broken_promises
    if promise is not None:
        if today > grace_end(promise, policy):
            if promise.paid_since < promise.amount:
                broke = True
                broken = broken + (broken_on(promise, policy),)
            promise = None
        elif (
            not promise.reminded
            and today == promise.date - timedelta(days=1)
            and promise.made_on < today
            and promise.paid_since < promise.amount
        ):
            remind = True
            promise = OpenPromise(
                promise.amount, promise.date, promise.made_on, promise.paid_since, True
            )
    if arrangement is not None and today > arrangement.until:
        arrangement = None
    if hardship_until is not None and hardship_until <= now:
        hardship_until = None
    window = policy.broken_promises_window_days
    if broken and (today - broken[0]).days >= window:
        broken = tuple(d for d in broken if (today - d).days < window)
    if (
        promise is c.promise
        and arrangement is c.arrangement
        and hardship_until is c.hardship_until
        and broken is c.broken_promises
    ):
        return TimeEffects(c, broke, remind)
    return TimeEffects(
        replace(
            c,
            promise=promise,
            arrangement=arrangement,
            hardship_until=hardship_until,
            broken_promises=broken,
        ),
        broke,
        remind,
    )


def collection_suppressed(c: Commitments) -> bool:
    """Dispute, an open promise or an active arrangement stop collection outreach.

    Call after ``advance``: an open promise or arrangement there is an active one.
    """
    return c.disputed or c.promise is not None or c.arrangement is not None


def blocked_channels(c: Commitments, now: datetime, policy: Policy) -> tuple[Channel, ...]:
    """Channels never chosen now: opted out, and automated ones during hardship."""
    if c.hardship_until is not None and now < c.hardship_until:
        return c.opted_out + policy.hardship_blocked_channels
    return c.opted_out
