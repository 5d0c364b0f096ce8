"""The decision core: ``apply`` an input event, or ``tick`` the clock, for one customer.

Both are pure: ``(state, input, now, policy) -> Step(state, decisions, duplicate)``, with
``now`` the processor's clock passed in. A step first records what the event says (money,
contact results), then lets time act (grace ends, windows close), then decides the tier
(and an escalation when it changed) and the outreach, in the contract's precedence.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Final, NamedTuple

from policy import commitments as cm
from policy import ids, ledger, memory, tiers
from policy.config import OutreachRule, Policy
from policy.contact_rules import prune_attempts, record_result
from policy.localtime import as_utc, local_date
from policy.outreach import (
    COLLECTION_REASONS,
    Planner,
    cadence_due,
    cancel_pending,
    collection_channels,
    collection_reason,
)
from policy.state import (
    REMEMBERED_DECISIONS,
    Attempt,
    Commitments,
    CustomerState,
    Ledger,
    remember_seen,
    seen_index,
)
from schemas.errors import InvalidEvent
from schemas.events import (
    RIGHT_PARTY_OUTCOMES,
    SELF_SERVICE,
    Channel,
    ContactResultReported,
    ErasureRequested,
    InputEvent,
    PaymentMissed,
    PaymentReceived,
)
from schemas.outputs import Decision, OutreachCancelled, OutreachNeeded


class Step(NamedTuple):
    """What one event or tick did: the new state, the decisions to publish, and whether the
    input was a duplicate (then ``state`` is unchanged and ``decisions`` are re-emitted)."""

    state: CustomerState
    decisions: tuple[Decision, ...]
    duplicate: bool


class _Facts(NamedTuple):
    """What the input of a step did, for the decisions that follow."""

    new_missed: bool = False
    broke_arrangement: bool = False
    opened_unreachable: bool = False
    opened_hardship: bool = False
    broke_promise: bool = False
    callback_at: datetime | None = None
    cancel: Trigger | None = None  # what pending outreach lost its reason


Trigger = tuple[str, frozenset[str] | None, bool]
"""(cancellation reason, channels or ``None`` for all, collection outreach only)."""
_CURED: Final[Trigger] = ("cured", None, True)
_OUTCOME_TRIGGERS: Final[dict[str, Trigger]] = {
    "promise_to_pay": ("promise", None, True),
    "arrangement_agreed": ("arrangement", None, True),
    "dispute": ("dispute", None, True),
    "cease_contact": ("cease_contact", None, False),
}


_NO_FACTS = _Facts()
_DAY = timedelta(days=1)  # the UTC date is within a day of any local one


def apply(
    state: CustomerState | None,
    event: InputEvent,
    now: datetime,
    policy: Policy,
    source: str | None = None,
) -> Step:
    """Apply one input event at clock ``now`` (aware); ``source`` names the message that
    carried it (``ids.message_source``).

    A remembered ``event_id`` changes nothing. Its remembered decisions are sent again only
    when the same message comes again (a redelivery after a crash); another message with
    that id is a duplicate and decides nothing. Raises ``InvalidEvent`` as ``validate``
    does; the caller keeps the old state.
    """
    now = as_utc(now)
    header = event.header
    policy, arm = arm_policy(policy, header.customer_id)
    if state is None:
        state = CustomerState(
            header.customer_id, header.customer_timezone or policy.default_timezone
        )
    digest = ids.event_digest(header.event_id)
    if seen_index(state.seen, digest) >= 0:
        return Step(state, remembered(state, header.event_id, source), True)
    validate(state, event, policy)
    tz = header.customer_timezone or state.timezone
    at = min(header.occurred_at, now)
    book, promises, attempts = state.ledger, state.commitments, state.attempts
    currency = state.currency
    facts = _NO_FACTS
    if isinstance(event, PaymentReceived):
        currency = event.currency
        day = local_date(at, tz)
        owed_before = ledger.overdue(book)
        book = ledger.apply_payment(book, event.amount, event.installment_id, day)
        promises = cm.on_payment(promises, event.amount, day)
        if owed_before > 0 and ledger.overdue(book) <= 0:
            promises = cm.on_settled(promises)
            facts = _Facts(cancel=_CURED)
    elif isinstance(event, PaymentMissed):
        currency = event.currency
        owed_before = ledger.overdue(book)
        book, new = ledger.add_missed(
            book, event.installment_id, event.due_date, event.amount_due, local_date(at, tz)
        )
        if new:
            promises, broke = cm.on_new_missed(promises, event.due_date)
            facts = _Facts(new_missed=True, broke_arrangement=broke)
            if owed_before > 0 and ledger.overdue(book) <= 0:
                promises = cm.on_settled(promises)
    elif isinstance(event, ContactResultReported):
        promises, attempts, facts = _contact_result(promises, attempts, book, event, at, tz, policy)
    else:
        raise TypeError("an erasure is not applied to a state: call erase()")
    return _decide(
        state,
        now,
        policy,
        header.event_id,
        tz,
        currency,
        book,
        promises,
        attempts,
        facts,
        remember_seen(state.seen, digest),
        state.last_tick,
        source,
        arm,
    )


def erase(
    state: CustomerState | None, event: ErasureRequested, now: datetime, policy: Policy
) -> tuple[Decision, ...]:
    """What erasing the customer decides at clock ``now``: every pending outreach cancelled
    (``erasure``), nothing else. The caller then deletes the state (and its changelog
    record); a later event starts a new customer with no history. Erasing a customer the
    processor does not hold decides nothing (a repeat included)."""
    if state is None:
        return ()
    now = as_utc(now)
    policy, arm = arm_policy(policy, state.customer_id)
    _, cancelled = cancel_pending(
        state.attempts,
        ("erasure", None, False),
        now,
        policy.expires_hours,
        state.customer_id,
        event.header.event_id,
    )
    return tuple(replace(d, policy_arm=arm) for d in cancelled) if arm else tuple(cancelled)


def tick(state: CustomerState, now: datetime, policy: Policy) -> Step:
    """Let time act at clock ``now`` (aware): the id ``tick:<now>`` causes what it decides.

    A tick at or before the last one is a duplicate.
    """
    now = as_utc(now)
    policy, arm = arm_policy(policy, state.customer_id)
    caused_by = ids.tick_id(now)
    if state.last_tick is not None and now <= state.last_tick:
        return Step(state, remembered(state, caused_by), True)
    return _decide(
        state,
        now,
        policy,
        caused_by,
        state.timezone,
        state.currency,
        state.ledger,
        state.commitments,
        state.attempts,
        _NO_FACTS,
        state.seen,
        now,
        None,
        arm,
    )


def validate(state: CustomerState | None, event: InputEvent, policy: Policy) -> None:
    """Raise ``InvalidEvent`` when the event contradicts the state or the policy:
    ``currency_mismatch``, or ``promise.date`` / ``arrangement.until`` outside the event's
    local date .. ``arrangement_max_months`` later. Pure and cheap: replay calls it before
    the event may move its clock."""
    policy, _ = arm_policy(policy, event.header.customer_id)
    known = None if state is None else state.currency
    if isinstance(event, PaymentReceived | PaymentMissed):
        _same_currency(known, event.currency)
        return
    if not isinstance(event, ContactResultReported):
        return
    if event.promise is None and event.arrangement is None:
        return
    header = event.header
    zone = header.customer_timezone or (
        policy.default_timezone if state is None else state.timezone
    )
    today = local_date(header.occurred_at, zone)
    if event.outcome == "arrangement_agreed" and event.arrangement is not None:
        cm.check_arrangement(event.arrangement, today, policy)
    if event.outcome == "promise_to_pay" and event.promise is not None:
        cm.check_promise(event.promise, today, policy)


def arm_policy(policy: Policy, customer_id: str) -> tuple[Policy, str | None]:
    """The policy of the customer's experiment arm and its name (``None``: no experiment)."""
    if policy.experiment is None:
        return policy, None
    arm = policy.experiment.arm_of(customer_id)
    return arm.policy, arm.name


def remembered(
    state: CustomerState, caused_by: str, source: str | None = None
) -> tuple[Decision, ...]:
    """The decisions still remembered for ``caused_by``, when ``source`` is the message that
    produced them (a redelivery; a group stored without its source counts as one).

    Cease contact wins over re-emission: once a customer has asked for silence, a
    re-processed older event brings back its escalations and cancellations but never its
    outreach.
    """
    decisions = memory.recall(state.memory, state.customer_id, caused_by, source)
    if state.commitments.ceased:
        return tuple(d for d in decisions if not isinstance(d, OutreachNeeded))
    return decisions


def _same_currency(known: str | None, currency: str) -> str:
    if known is not None and currency != known:
        raise InvalidEvent(
            "currency_mismatch", f"customer's currency is {known}, event has {currency}", "currency"
        )
    return currency


def _contact_result(
    promises: Commitments,
    attempts: tuple[Attempt, ...],
    book: Ledger,
    event: ContactResultReported,
    at: datetime,
    tz: str,
    policy: Policy,
) -> tuple[Commitments, tuple[Attempt, ...], _Facts]:
    today = local_date(at, tz)
    right_party = event.outcome in RIGHT_PARTY_OUTCOMES
    channel = event.channel
    # The customer's own action is never an attempt of ours (no cap, no us_regf pause).
    attempt_on = None if channel == SELF_SERVICE or event.outcome in cm.NOT_AN_ATTEMPT else channel
    attempts = record_result(attempts, attempt_on, at, event.outreach_id, right_party)
    effects = cm.on_outcome(promises, event, at, today, policy, ledger.paid_since(book, today))
    commitments, broke_arrangement = cm.on_agreed(
        effects.commitments, (i.due_date for i in book.installments)
    )
    facts = _NO_FACTS
    callback_at = event.callback_at if event.outcome == "callback_requested" else None
    cancel = _cancel_trigger(event, policy)
    if (
        effects.opened_unreachable
        or effects.opened_hardship
        or effects.broke_promise
        or broke_arrangement
        or callback_at is not None
        or cancel is not None
    ):
        facts = _Facts(
            opened_unreachable=effects.opened_unreachable,
            opened_hardship=effects.opened_hardship,
            broke_promise=effects.broke_promise,
            broke_arrangement=broke_arrangement,
            callback_at=callback_at,
            cancel=cancel,
        )
    return commitments, attempts, facts


def _cancel_trigger(event: ContactResultReported, policy: Policy) -> Trigger | None:
    """What pending outreach this contact result removes the reason for (contract,
    ``repayments.outreach-cancelled``)."""
    outcome = event.outcome
    if outcome == "hardship":
        return ("hardship", frozenset(policy.hardship_blocked_channels), False)
    if outcome == "opt_out":
        return ("opt_out", frozenset((event.channel,)), False)
    return _OUTCOME_TRIGGERS.get(outcome)


def _decide(
    state: CustomerState,
    now: datetime,
    policy: Policy,
    caused_by: str,
    tz: str,
    currency: str | None,
    book: Ledger,
    promises: Commitments,
    attempts: tuple[Attempt, ...],
    facts: _Facts,
    seen: bytes,
    last_tick: datetime | None,
    source: str | None = None,
    arm: str | None = None,
) -> Step:
    """Time acts, then the tier and the outreach are decided as of ``now``."""
    book = ledger.forget_payments(book, now.date())
    if (
        facts is _NO_FACTS
        and state.tier == "current"
        and book.total_due == book.paid_to_installments
        and promises.promise is None
        and promises.arrangement is None
        and not promises.broken_promises
        and not ledger.needs_pruning(
            book, now.date() + _DAY, policy.paid_installment_retention_days
        )
    ):
        # Nothing overdue, nothing promised, nothing newly opened, nothing to forget: no
        # rule can decide anything. The common case: a payment on time.
        quiet = CustomerState(
            state.customer_id,
            tz,
            currency,
            "current",
            state.basis_bucket,
            state.basis_modifiers,
            book,
            promises,
            prune_attempts(attempts, now, policy.contact_profile),
            state.last_collection_at,
            last_tick,
            seen,
            state.memory,
        )
        return Step(quiet, (), False)
    today = local_date(now, tz)
    profile = policy.contact_profile
    promises, broke_promise, remind = cm.advance(promises, now, today, policy)
    broke_promise = broke_promise or facts.broke_promise
    book = ledger.prune(book, today, policy.paid_installment_retention_days)
    attempts = prune_attempts(attempts, now, profile)
    dpd = ledger.dpd_on(book, today)
    owed = ledger.overdue(book)
    bucket = tiers.dpd_bucket(dpd, policy)
    modifiers = tiers.active_modifiers(promises, book, today, policy)
    old = state.tier
    new = tiers.next_tier(
        old, bucket, modifiers, tiers.arrangement_ceiling(old, promises, book, policy)
    )
    cured = old != "current" and new == "current" and owed <= 0
    out_currency = currency or policy.default_currency
    decisions: list[Decision] = []
    cancelled: list[OutreachCancelled] = []
    if facts.cancel is not None:
        attempts, cancelled = cancel_pending(
            attempts, facts.cancel, now, policy.expires_hours, state.customer_id, caused_by
        )
    basis_bucket, basis_modifiers = state.basis_bucket, state.basis_modifiers
    if new != old:
        reasons = tiers.escalation_reasons(
            old,
            new,
            bucket,
            modifiers,
            basis_bucket,
            basis_modifiers,
            cured=cured,
            broke_arrangement=facts.broke_arrangement,
        )
        decisions.append(
            tiers.escalation(
                state.customer_id, old, new, reasons, dpd, owed, out_currency, caused_by, now
            )
        )
        basis_bucket, basis_modifiers = bucket, modifiers
    decisions.extend(cancelled)
    last_collection_at = state.last_collection_at
    if not promises.ceased:
        wanted = _wanted_outreach(
            policy,
            promises,
            facts,
            old,
            new,
            owed,
            now,
            broke_promise,
            remind,
            cured,
            last_collection_at,
        )
        if wanted:
            planner = Planner(
                state.customer_id,
                caused_by,
                now,
                tz,
                new,
                dpd,
                owed,
                out_currency,
                policy,
                cm.blocked_channels(promises, now, policy),
                attempts,
                decisions,
            )
            for reason, channels, priority, earliest in wanted:
                not_before = planner.emit(reason, channels, priority, earliest)
                if not_before is not None and reason in COLLECTION_REASONS:
                    last_collection_at = not_before
            attempts = planner.attempts
    remembered_now = state.memory
    if decisions and arm is not None:
        decisions = [replace(d, policy_arm=arm) for d in decisions]
    if decisions:
        remembered_now = memory.remember(remembered_now, decisions, REMEMBERED_DECISIONS, source)
    new_state = CustomerState(
        state.customer_id,
        tz,
        currency,
        new,
        basis_bucket,
        basis_modifiers,
        book,
        promises,
        attempts,
        last_collection_at,
        last_tick,
        seen,
        remembered_now,
    )
    return Step(new_state, tuple(decisions), False)


def _wanted_outreach(
    policy: Policy,
    promises: Commitments,
    facts: _Facts,
    old: str,
    new: str,
    owed: Decimal,
    now: datetime,
    broke_promise: bool,
    remind: bool,
    cured: bool,
    last_collection_at: datetime | None,
) -> list[tuple[str, tuple[Channel, ...], int, datetime | None]]:
    """The step's outreach as (reason, channels, priority, earliest ``not_before``): at most
    one collection outreach, by precedence, then the ones emitted beside it."""
    wanted: list[tuple[str, tuple[Channel, ...], int, datetime | None]] = []
    if not cm.collection_suppressed(promises):
        tier_up = tiers.RANK[new] > tiers.RANK[old]
        earlier = facts.broke_arrangement or broke_promise or facts.new_missed or tier_up
        reason = collection_reason(
            broke_arrangement=facts.broke_arrangement,
            broke_promise=broke_promise,
            new_missed=facts.new_missed,
            tier_up=tier_up,
            cadence_due=not earlier and cadence_due(new, last_collection_at, now, policy),
        )
        rule = collection_channels(new, owed, policy) if reason else None
        if reason and rule:
            wanted.append((reason, *rule, None))
    if remind and not promises.disputed:
        rule = collection_channels(new, owed, policy)
        if rule:
            wanted.append(("promise_reminder", *rule, None))
    if facts.opened_unreachable:
        wanted.append(("verify_contact", *_rule(policy.verify_contact), None))
    if facts.opened_hardship:
        wanted.append(("hardship_review", *_rule(policy.hardship_review), None))
    if cured:
        wanted.append(("courtesy_followup", *_rule(policy.courtesy_followup), None))
    if facts.callback_at is not None:
        # The customer asked for this call: also during a promise, arrangement or dispute.
        priority = policy.tier(new).priority or CALLBACK_PRIORITY
        wanted.append(("callback", CALLBACK_CHANNELS, priority, max(facts.callback_at, now)))
    return wanted


CALLBACK_CHANNELS: tuple[Channel, ...] = ("agent_call",)
CALLBACK_PRIORITY = 3  # when the tier has none (not delinquent)


def _rule(rule: OutreachRule) -> tuple[tuple[Channel, ...], int]:
    return rule.channels, rule.priority
