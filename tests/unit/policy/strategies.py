"""Hypothesis strategies for realistic single-customer histories, and the driver that runs them.

A history is what the replay command feeds the core for one customer: input events in log
order, with the clock ticking at whole UTC hours through the gaps (thinned out over long gaps
so that examples stay fast; no invariant may depend on a tick landing on every hour). The
clock never goes back: an event older than the clock is applied at the clock's time.
"""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from functools import cache
from typing import Any, TypeVar

from hypothesis import strategies as st

from policy import apply, default_policy, parse_policy, tick
from schemas.errors import InvalidEvent
from schemas.events import (
    ARRANGEMENT_TYPES,
    CHANNELS,
    FAILED_OUTCOMES,
    SELF_SERVICE_OUTCOMES,
    Arrangement,
    ContactResultReported,
    EventHeader,
    InputEvent,
    PaymentMissed,
    PaymentReceived,
    Promise,
)
from schemas.outputs import OutreachNeeded

ZONES = (
    "Asia/Shanghai",
    "America/New_York",
    "Europe/London",
    "Pacific/Auckland",
    "America/Los_Angeles",
)
PROFILES = ("cn", "us_regf")
T = TypeVar("T")
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

    def __repr__(self) -> str:
        """One line per item, so that a falsifying example reads as a log."""
        lines = [f"History({self.customer_id!r}, profile={self.profile!r}):"]
        for item in self.items:
            if isinstance(item, Tick):
                lines.append(f"  {item.now:%Y-%m-%d %H:%M} tick")
                continue
            fields = {
                k: v
                for k, v in dataclasses.asdict(item.event).items()
                if k != "header" and v is not None
            }
            h = item.event.header
            lines.append(
                f"  {item.now:%Y-%m-%d %H:%M} {h.event_id} at {h.occurred_at:%Y-%m-%d %H:%M}"
                f" tz={h.customer_timezone} {fields}"
                + (f" answers={item.answers}" if item.answers is not None else "")
            )
        return "\n".join(lines)


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


@cache
def money(low: str = "1.00", high: str = "5000.00") -> st.SearchStrategy[Decimal]:
    """Positive amounts with exactly two decimals."""
    return st.integers(int(Decimal(low) * 100), int(Decimal(high) * 100)).map(
        lambda cents: Decimal(cents).scaleb(-2)
    )


# Strategies are built once: hypothesis validates each strategy object on first use.
GAP = st.one_of(  # between two events: same instant, minutes, hours or days
    st.just(timedelta(0)),
    st.integers(1, 59).map(lambda m: timedelta(minutes=m)),
    st.integers(1, 48 * 60).map(lambda m: timedelta(minutes=m)),
    st.integers(1, 40 * 24 * 60).map(lambda m: timedelta(minutes=m)),
)
DAYS_LATE = st.one_of(st.integers(0, 5), st.integers(0, 200))
ANSWERS = st.none() | st.integers(0, 1000)
OUTCOMES = st.sampled_from(OUTCOME_CHOICES)
CALL_OUTCOMES = (*sorted(FAILED_OUTCOMES), "reached")


def _ticks_between(after: datetime, before: datetime, stride: int) -> list[Tick]:
    """Whole UTC hours strictly inside (after, before), every ``stride`` hours and at most
    MAX_TICKS_PER_GAP of them; the replay clock ticks at all of them."""
    first = after.replace(minute=0, second=0, microsecond=0) + HOUR
    hours = 0 if before <= first else -(-(before - first) // HOUR)
    stride = max(stride, -(-hours // MAX_TICKS_PER_GAP))
    return [Tick(first + i * HOUR) for i in range(0, hours, stride)]


@dataclass
class _Builder:
    """The history being drawn: the clock, the customer's zone, what was sent so far."""

    draw: st.DrawFn
    customer_id: str
    currency: str
    zone: str
    stride: int
    clock: datetime
    items: list[Item] = dataclasses.field(default_factory=list)
    events: list[InputEvent] = dataclasses.field(default_factory=list)
    installments: list[tuple[str, Decimal]] = dataclasses.field(default_factory=list)
    serial: int = 0

    def pick(self, options: Sequence[T]) -> T:
        return options[self.draw(st.integers(0, len(options) - 1))]

    def chance(self, one_in: int) -> bool:
        return self.draw(st.integers(0, one_in - 1)) == 0

    def header(self, kind: str, gap: timedelta, *, late: bool = False) -> EventHeader:
        """A new event's header: ``gap`` after the clock (ticking through the gap), or
        before it when ``late``; the zone sometimes moves, never on a late event."""
        self.serial += 1
        if late:
            occurred_at = self.clock - gap
        else:
            occurred_at = self.clock + gap
            self.items.extend(_ticks_between(self.clock, occurred_at, self.stride))
            self.clock = occurred_at
            if self.chance(15):
                self.zone = self.pick(ZONES)
        zone = None if late or self.chance(3) else self.zone
        return EventHeader(f"{kind}-{self.serial}", self.customer_id, occurred_at, zone)

    def feed(self, event: InputEvent, answers: int | None = None) -> None:
        self.events.append(event)
        self.items.append(Feed(event, self.clock, answers))

    def money_currency(self) -> str:
        """Mostly the customer's currency; now and then another (dead-lettered)."""
        return "EUR" if self.chance(30) else self.currency

    def missed(self) -> None:
        header = self.header("missed", self.draw(GAP), late=self.chance(10))
        days_late = self.draw(DAYS_LATE)
        due = header.occurred_at.date() - timedelta(days=days_late)
        if self.installments and self.chance(6):
            installment_id, _ = self.pick(self.installments)
        else:
            installment_id = f"inst-{self.serial}"
        amount_due = self.draw(money())
        self.installments.append((installment_id, amount_due))
        self.feed(PaymentMissed(header, installment_id, due, amount_due, self.money_currency()))

    def payment(self) -> None:
        """Of a named, an unknown or no installment; partial, exact, over or arbitrary."""
        header = self.header("payment", self.draw(GAP), late=self.chance(10))
        targets = [(None, None), (f"never-due-{self.serial}", None), *self.installments]
        installment_id, due = self.pick(targets)
        if due is None:
            amount = self.draw(money("0.01", "3000.00"))
        else:
            cents = int(due * 100)  # exact, a third (partial) or anything up to 3x (over)
            options = (cents, cents // 3 or 1, self.draw(st.integers(1, cents * 3)))
            amount = Decimal(self.pick(options)).scaleb(-2)
        self.feed(PaymentReceived(header, amount, self.money_currency(), installment_id))

    def contact(self, gap: timedelta, channel: str | None = None) -> None:
        """A result of any outcome (a call outcome on ``channel`` when given), with a valid
        promise or arrangement; it answers an earlier outreach now and then."""
        header = self.header("contact", gap)
        day = header.occurred_at.date()
        if channel is None:
            channel = self.pick(CHANNELS)
            outcome = self.draw(OUTCOMES)
        else:
            outcome = self.pick(CALL_OUTCOMES)
        promise = arrangement = None
        if outcome == "promise_to_pay":
            promise_day = day + timedelta(days=self.draw(st.integers(0, 20)))
            promise = Promise(self.draw(money("1.00", "3000.00")), promise_day)
        elif outcome == "arrangement_agreed":
            # UTC date + 1 .. + 365 days lies inside local date .. + 13 months in every zone.
            until = day + timedelta(days=self.draw(st.integers(1, 365)))
            arrangement = Arrangement(self.pick(ARRANGEMENT_TYPES), until)
        callback_at = None
        if outcome == "callback_requested" and self.chance(2):
            callback_at = header.occurred_at + timedelta(minutes=self.draw(st.integers(0, 20160)))
        if outcome in SELF_SERVICE_OUTCOMES and self.chance(4):
            channel = "self_service"  # the customer's own action, at any hour
        answers = self.draw(ANSWERS)
        event = ContactResultReported(
            header, channel, outcome, None, promise, arrangement, callback_at
        )
        self.feed(event, answers)

    def burst(self) -> None:
        """A dialer's run of call attempts on one channel within hours (exercises caps)."""
        channel = self.pick(("voice_bot", "agent_call"))
        for _ in range(self.draw(st.integers(2, 7))):
            self.contact(timedelta(minutes=self.draw(st.integers(1, 150))), channel)


KINDS = st.sampled_from(
    ("missed",) * 5 + ("payment",) * 4 + ("contact",) * 7 + ("burst", "duplicate")
)


@st.composite
def histories(
    draw: st.DrawFn,
    max_events: int = 25,
    profiles: tuple[str, ...] = PROFILES,
) -> History:
    """One customer's history: a realistic mix of every input event kind, with ticks."""
    profile = draw(st.sampled_from(profiles))
    b = _Builder(
        draw,
        customer_id="cust-" + draw(st.sampled_from(("a", "b", "0042", "x" * 40))),
        currency=draw(st.sampled_from(("CNY", "USD"))),
        zone=draw(st.sampled_from(ZONES)),
        stride=draw(st.sampled_from((1, 3, 8, 24))),
        clock=EPOCH + timedelta(minutes=draw(st.integers(0, 365 * 24 * 60))),
    )
    for _ in range(draw(st.integers(1, max_events))):
        kind = draw(KINDS)
        if kind == "duplicate" and b.events:
            b.items.append(Feed(b.pick(b.events), b.clock))
        elif kind == "missed":
            b.missed()
        elif kind == "payment":
            b.payment()
        elif kind == "burst":
            b.burst()
        else:
            b.contact(draw(GAP))
    trailing = timedelta(hours=draw(st.integers(0, 45 * 24)))
    b.items.extend(_ticks_between(b.clock, b.clock + trailing, b.stride))
    return History(b.customer_id, profile, policy_for(profile), tuple(b.items))


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
    """A long, busy history (more events than the 1,000 remembered ids) for the bounded-state
    checks: an event every few hours, a tick every day; mostly contact results and payments,
    about one missed installment a month, as a real loan has."""
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
        kind = rng.randrange(100)
        event: InputEvent
        if kind < 3:
            due = clock.date() - timedelta(days=rng.randint(0, 10))
            event = PaymentMissed(header, f"inst-{n}", due, amount, "CNY")
        elif kind < 30:
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
