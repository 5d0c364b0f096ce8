"""Hypothesis strategies for realistic single-customer histories, and the driver that runs them.

A history is what the replay command feeds the core for one customer: input events in log
order, with the clock ticking at whole UTC hours through the gaps (thinned out over long gaps
so that examples stay fast; no invariant may depend on a tick landing on every hour). The
clock never goes back: an event older than the clock is applied at the clock's time.
"""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from policy import apply, default_policy, parse_policy, tick
from schemas.errors import InvalidEvent
from schemas.events import (
    ARRANGEMENT_TYPES,
    CHANNELS,
    FAILED_OUTCOMES,
    Arrangement,
    ContactResultReported,
    EventHeader,
    InputEvent,
    PaymentMissed,
    PaymentReceived,
    Promise,
)
from schemas.outputs import OutreachNeeded

settings.register_profile(
    "policy-dev",
    deadline=None,
    max_examples=200,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile("policy-ci", settings.get_profile("policy-dev"), max_examples=1000)

ZONES = (
    "Asia/Shanghai",
    "America/New_York",
    "Europe/London",
    "Pacific/Auckland",
    "America/Los_Angeles",
)
PROFILES = ("cn", "us_regf")
EPOCH = datetime(2026, 1, 1, tzinfo=UTC)
HOUR = timedelta(hours=1)
MAX_TICKS_PER_GAP = 48

# Outcomes weighted towards the common ones; the rare, sticky ones (cease, opt-out) stay rare
# so that most histories keep producing outreach after them.
OUTCOME_WEIGHTS = (
    ("delivered", 3),
    ("no_answer", 6),
    ("busy", 2),
    ("voicemail", 2),
    ("undeliverable", 1),
    ("invalid_number", 1),
    ("wrong_party", 1),
    ("reached", 3),
    ("promise_to_pay", 4),
    ("refused", 1),
    ("dispute", 2),
    ("dispute_resolved", 2),
    ("hardship", 2),
    ("arrangement_agreed", 2),
    ("callback_requested", 1),
    ("opt_out", 1),
    ("cease_contact", 1),
)
OUTCOME_CHOICES = tuple(o for o, weight in OUTCOME_WEIGHTS for _ in range(weight))
assert {o for o, _ in OUTCOME_WEIGHTS} >= FAILED_OUTCOMES


@dataclass(frozen=True, slots=True)
class Feed:
    """Apply ``event`` at clock ``now``.

    ``answers`` (contact results only) makes the result answer an outreach emitted earlier in
    the run: index modulo the number emitted so far; ids are only known at run time.
    """

    event: InputEvent
    now: datetime
    answers: int | None = None


@dataclass(frozen=True, slots=True)
class Tick:
    now: datetime


Item = Feed | Tick


@dataclass(frozen=True, slots=True)
class History:
    customer_id: str
    profile: str
    policy: Any
    items: tuple[Item, ...]


@dataclass(frozen=True, slots=True)
class Applied:
    """One item as the driver ran it: the resolved event (``None`` for a tick), the state
    before, the core's ``Step`` (``None`` when the core rejected the event with InvalidEvent)
    and the customer's zone in effect after the item."""

    item: Item
    event: InputEvent | None
    now: datetime
    before: Any
    step: Any
    zone: str


def policy_for(profile: str) -> Any:
    """The default policy under the given contact-rule profile."""
    return default_policy() if profile == "cn" else parse_policy(f'profile = "{profile}"')


def money(low: str = "1.00", high: str = "5000.00") -> st.SearchStrategy[Decimal]:
    """Positive amounts with exactly two decimals."""
    return st.integers(int(Decimal(low) * 100), int(Decimal(high) * 100)).map(
        lambda cents: Decimal(cents).scaleb(-2)
    )


def _gap() -> st.SearchStrategy[timedelta]:
    """Time between two events: same instant, minutes, hours or days."""
    return st.one_of(
        st.just(timedelta(0)),
        st.integers(1, 59).map(lambda m: timedelta(minutes=m)),
        st.integers(1, 48 * 60).map(lambda m: timedelta(minutes=m)),
        st.integers(1, 40 * 24 * 60).map(lambda m: timedelta(minutes=m)),
    )


def _ticks_between(after: datetime, before: datetime, stride: int) -> list[Tick]:
    """Whole UTC hours strictly inside (after, before), every ``stride`` hours and at most
    MAX_TICKS_PER_GAP of them; the replay clock ticks at all of them."""
    first = after.replace(minute=0, second=0, microsecond=0) + HOUR
    hours = 0 if before <= first else -(-(before - first) // HOUR)
    stride = max(stride, -(-hours // MAX_TICKS_PER_GAP))
    return [Tick(first + i * HOUR) for i in range(0, hours, stride)]


@st.composite
def histories(
    draw: st.DrawFn,
    max_events: int = 25,
    profiles: tuple[str, ...] = PROFILES,
    policy_for: Callable[[str], Any] = policy_for,
) -> History:
    """One customer's history: a realistic mix of every input event kind, with ticks."""
    profile = draw(st.sampled_from(profiles))
    customer_id = "cust-" + draw(st.sampled_from(("a", "b", "0042", "x" * 40)))
    currency = draw(st.sampled_from(("CNY", "USD")))
    zone = draw(st.sampled_from(ZONES))
    stride = draw(st.sampled_from((1, 3, 8, 24)))
    clock = EPOCH + timedelta(minutes=draw(st.integers(0, 365 * 24 * 60)))
    n_events = draw(st.integers(1, max_events))

    items: list[Item] = []
    events: list[InputEvent] = []
    installments: list[tuple[str, Decimal]] = []
    serial = 0

    for _ in range(n_events):
        kind = draw(
            st.sampled_from(
                ("missed",) * 5
                + ("repeat_missed",)
                + ("payment",) * 4
                + ("contact",) * 8
                + ("duplicate",)
            )
        )
        if kind == "duplicate" and events:
            items.append(Feed(draw(st.sampled_from(events)), clock))
            continue
        serial += 1
        late = kind in ("missed", "payment") and draw(st.integers(0, 9)) == 0
        if late:
            occurred_at = clock - timedelta(minutes=draw(st.integers(1, 36 * 60)))
        else:
            occurred_at = clock + draw(_gap())
            items.extend(_ticks_between(clock, occurred_at, stride))
            clock = occurred_at
            if draw(st.integers(0, 14)) == 0:
                zone = draw(st.sampled_from(ZONES))
        header = EventHeader(
            event_id=f"{kind}-{serial}",
            customer_id=customer_id,
            occurred_at=occurred_at,
            customer_timezone=None if late or draw(st.integers(0, 2)) == 0 else zone,
        )
        event_currency = currency if draw(st.integers(0, 29)) else "EUR"
        answers = None
        event: InputEvent
        if kind == "repeat_missed" and installments:
            installment_id, _ = draw(st.sampled_from(installments))
            event = PaymentMissed(
                header,
                installment_id,
                occurred_at.date() - timedelta(days=draw(st.integers(0, 60))),
                draw(money()),
                event_currency,
            )
        elif kind in ("missed", "repeat_missed"):
            amount_due = draw(money())
            installment_id = f"inst-{serial}"
            days_late = draw(st.one_of(st.integers(0, 5), st.integers(0, 200)))
            event = PaymentMissed(
                header,
                installment_id,
                occurred_at.date() - timedelta(days=days_late),
                amount_due,
                event_currency,
            )
            installments.append((installment_id, amount_due))
        elif kind == "payment":
            event = draw(_payment(header, event_currency, installments, serial))
        else:
            event = draw(_contact_result(header, occurred_at.date()))
            answers = draw(st.one_of(st.none(), st.integers(0, 1000)))
        events.append(event)
        items.append(Feed(event, clock, answers))

    trailing = timedelta(hours=draw(st.integers(0, 45 * 24)))
    items.extend(_ticks_between(clock, clock + trailing, stride))
    return History(customer_id, profile, policy_for(profile), tuple(items))


def _payment(
    header: EventHeader, currency: str, installments: list[tuple[str, Decimal]], serial: int
) -> st.SearchStrategy[PaymentReceived]:
    """Payments: of a named, unknown or no installment; partial, exact, over or arbitrary."""
    targets: list[tuple[str | None, Decimal | None]] = [(None, None), (f"never-due-{serial}", None)]
    targets += [(iid, due) for iid, due in installments]
    target = st.sampled_from(targets)

    def amount_for(due: Decimal | None) -> st.SearchStrategy[Decimal]:
        if due is None:
            return money("0.01", "3000.00")
        cents = int(due * 100)
        return st.one_of(
            st.just(due),
            st.integers(1, max(1, cents - 1)).map(lambda c: Decimal(c).scaleb(-2)),
            st.integers(cents + 1, cents * 3).map(lambda c: Decimal(c).scaleb(-2)),
        )

    return target.flatmap(
        lambda t: amount_for(t[1]).map(
            lambda amount: PaymentReceived(header, amount, currency, installment_id=t[0])
        )
    )


def _contact_result(header: EventHeader, day: date) -> st.SearchStrategy[ContactResultReported]:
    """A contact result of any outcome, with a valid promise or arrangement payload.

    An arrangement's ``until`` lies between the UTC date + 1 and + 365 days, which is inside
    the contract's window (local date .. + 13 months) in every zone.
    """
    promise = st.builds(
        Promise, money("1.00", "3000.00"), st.integers(0, 20).map(lambda d: day + timedelta(days=d))
    )
    arrangement = st.builds(
        Arrangement,
        st.sampled_from(ARRANGEMENT_TYPES),
        st.integers(1, 365).map(lambda d: day + timedelta(days=d)),
    )

    def payload(outcome: str) -> st.SearchStrategy[dict[str, Any]]:
        if outcome == "promise_to_pay":
            return promise.map(lambda p: {"promise": p})
        if outcome == "arrangement_agreed":
            return arrangement.map(lambda a: {"arrangement": a})
        return st.just({})

    return st.tuples(st.sampled_from(CHANNELS), st.sampled_from(OUTCOME_CHOICES)).flatmap(
        lambda co: payload(co[1]).map(
            lambda extra: ContactResultReported(header, co[0], co[1], **extra)
        )
    )


def run(history: History) -> list[Applied]:
    """Feed a history to the core as the replay driver would; rejected events keep the state."""
    default_zone = getattr(history.policy, "default_timezone", "Asia/Shanghai")
    state: Any = None
    zone = default_zone
    sent: dict[str, InputEvent] = {}
    emitted: list[tuple[str, str]] = []
    out: list[Applied] = []
    for item in history.items:
        before = state
        if isinstance(item, Tick):
            if state is None:
                continue
            step = tick(state, item.now, history.policy)
            out.append(Applied(item, None, item.now, before, step, zone))
            state = step.state
            emitted += _outreach(step.decisions)
            continue
        event = sent.get(item.event.header.event_id) or _resolve(item, emitted)
        try:
            step = apply(state, event, item.now, history.policy)
        except InvalidEvent:
            out.append(Applied(item, event, item.now, before, None, zone))
            continue
        if not step.duplicate:
            sent[event.header.event_id] = event
            zone = event.header.customer_timezone or zone
        state = step.state
        emitted += _outreach(step.decisions)
        out.append(Applied(item, event, item.now, before, step, zone))
    return out


def long_history(seed: int, n_events: int, profile: str = "cn") -> History:
    """A long, busy history (more events than the 1,000 remembered ids): a pseudo-random mix
    of every event kind every few hours and a tick every day, for the bounded-state checks."""
    rng = random.Random(seed)
    customer_id = f"cust-long-{seed}"
    clock = EPOCH
    items: list[Item] = []
    outcomes = [o for o in OUTCOME_CHOICES if o not in ("cease_contact", "opt_out")]
    for n in range(n_events):
        step = timedelta(hours=rng.randint(1, 12))
        items.extend(_ticks_between(clock, clock + step, 24))
        clock += step
        header = EventHeader(f"long-{n}", customer_id, clock, rng.choice(ZONES))
        amount = Decimal(rng.randint(100, 50_000)).scaleb(-2)
        kind = rng.randrange(3)
        event: InputEvent
        if kind == 0:
            due = clock.date() - timedelta(days=rng.randint(0, 10))
            event = PaymentMissed(header, f"inst-{n}", due, amount, "CNY")
        elif kind == 1:
            event = PaymentReceived(header, amount, "CNY")
        else:
            outcome = rng.choice(outcomes)
            event = ContactResultReported(
                header,
                rng.choice(CHANNELS),
                outcome,
                promise=Promise(amount, clock.date() + timedelta(days=rng.randint(0, 9)))
                if outcome == "promise_to_pay"
                else None,
                arrangement=Arrangement("deferral", clock.date() + timedelta(days=30))
                if outcome == "arrangement_agreed"
                else None,
            )
        items.append(Feed(event, clock, rng.randint(0, 99)))
    return History(customer_id, profile, policy_for(profile), tuple(items))


def _outreach(decisions: tuple[Any, ...]) -> list[tuple[str, str]]:
    return [(d.outreach_id, d.channel) for d in decisions if isinstance(d, OutreachNeeded)]


def _resolve(item: Feed, emitted: list[tuple[str, str]]) -> InputEvent:
    """Point a contact result at an outreach emitted earlier (and at its channel), when the
    history asks for it."""
    if item.answers is None or not emitted or not isinstance(item.event, ContactResultReported):
        return item.event
    outreach_id, channel = emitted[item.answers % len(emitted)]
    return dataclasses.replace(item.event, outreach_id=outreach_id, channel=channel)
