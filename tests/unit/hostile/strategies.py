"""Hypothesis strategies for hostile input: valid events from the existing strategies
(``tests/unit/schemas/strategies.py`` for any record, ``tests/unit/policy/strategies.py`` for
realistic customer histories), mutated by a family of ``mutations.py``.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any, TypeVar

import orjson
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from policy import CustomerState
from schemas.encode import encode_input_event, input_topic
from schemas.events import CONTACT_RESULTS, MISSED_PAYMENTS, PAYMENTS, EventHeader, InputEvent
from tests.unit.hostile.families import CLOCK_KEEPING_FAMILIES, FAMILIES, mutate
from tests.unit.hostile.mutations import Base, Hostile
from tests.unit.policy.fixtures import make_contact, make_missed, make_payment
from tests.unit.policy.strategies import Feed, History, histories, run
from tests.unit.schemas.strategies import contact_results, missed_payments, payments

T = TypeVar("T")

# On top of the session profile (tests/conftest.py); HOSTILE_EXAMPLES=1000 for a deeper run.
HOSTILE_SETTINGS = settings(
    max_examples=int(os.environ.get("HOSTILE_EXAMPLES", "100")),
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.large_base_example,
    ],
)
LEAD = timedelta(hours=24)
"""How far ahead of the receiver's clock ``occurred_at`` may be (the contract's default)."""

RECORDS: dict[str, st.SearchStrategy[Any]] = {
    PAYMENTS: payments,
    MISSED_PAYMENTS: missed_payments,
    CONTACT_RESULTS: contact_results(),
}


class DrawChooser:
    """The ``Chooser`` of ``mutations.py`` as hypothesis draws, so failures shrink."""

    def __init__(self, draw: st.DrawFn) -> None:
        self.draw = draw

    def choice(self, options: Sequence[T]) -> T:
        return self.draw(st.sampled_from(options))

    def integer(self, low: int, high: int) -> int:
        return self.draw(st.integers(low, high))


@st.composite
def hostile_records(draw: st.DrawFn, names: Sequence[str] = tuple(FAMILIES)) -> Hostile:
    """Any valid record the decoder accepts (any ids, instants in the years bound, ...),
    mutated by one of the families ``names``."""
    name = draw(st.sampled_from(names))
    topic = draw(st.sampled_from(FAMILIES[name].topics))
    event = draw(RECORDS[topic])
    return mutate(name, Base(topic, encode_input_event(event)), DrawChooser(draw))


class Case:
    """A hostile message for a customer with a realistic past: ``state`` after ``history``
    (``None`` for a new customer) at ``clock``, the receiver's clock when it arrives.
    (Not a dataclass: hypothesis would print the whole state in a falsifying example.)"""

    def __init__(
        self,
        history: History,
        state: CustomerState | None,
        clock: datetime,
        base: Base,
        hostile: Hostile,
    ) -> None:
        self.history, self.state, self.clock = history, state, clock
        self.base, self.hostile = base, hostile

    def __repr__(self) -> str:
        return f"Case(clock={self.clock:%Y-%m-%d %H:%M}, {self.hostile!r},\n{self.history!r})"


def with_ids(event: InputEvent, event_id: str, customer_id: str | None = None) -> InputEvent:
    header = replace(
        event.header, event_id=event_id, customer_id=customer_id or event.header.customer_id
    )
    return replace(event, header=header)


def stand_in(topic: str, header: EventHeader) -> InputEvent:
    """A plain valid event of ``topic`` with ``header`` (when the history has none)."""
    at, tz, customer = header.occurred_at, header.customer_timezone, header.customer_id
    if topic == PAYMENTS:
        return make_payment("25.00", at=at, tz=tz, customer_id=customer)
    if topic == MISSED_PAYMENTS:
        return make_missed("inst-h", at.date(), at=at, tz=tz, customer_id=customer)
    return make_contact("no_answer", "sms", at=at, tz=tz, customer_id=customer)


def base_from(event: InputEvent, topic: str, event_id: str, customer_id: str | None) -> InputEvent:
    """``event`` with new ids when it is of ``topic``, else a stand-in of ``topic`` at its time."""
    if input_topic(event) != topic:
        event = stand_in(topic, event.header)
    return with_ids(event, event_id, customer_id)


def feeds(history: History) -> list[Feed]:
    return [item for item in history.items if isinstance(item, Feed)]


@st.composite
def cases(draw: st.DrawFn, name: str) -> Case:
    """Family ``name`` applied to one of the customer's own events (new event id), arriving
    after the history; ``not_after`` is the clock plus the contract's lead."""
    history = draw(histories(max_events=12))
    state: CustomerState | None = None
    for a in reversed(run(history)):
        if a.step is not None:
            state = a.step.state
            break
    clock = history.items[-1].now
    if draw(st.booleans()):
        state = None  # the same message for a customer never seen before
    topic = draw(st.sampled_from(FAMILIES[name].topics))
    source = draw(st.sampled_from(feeds(history))).event
    event = base_from(source, topic, f"hostile-{draw(st.integers(0, 9))}", None)
    base = Base(
        topic,
        encode_input_event(event),
        not_after=clock + LEAD,
        currency=state.currency if state is not None else None,
    )
    return Case(history, state, clock, base, mutate(name, base, DrawChooser(draw)))


class ReplayCase:
    """One customer's history as replay lines, with hostile messages for other customers
    (``hostile-<n>``) inserted after the line each was made from (so none is later than
    replay's clock when it arrives): ``mixed``. ``clean`` has an inert bad line (not JSON)
    of the same topic in each of their places, so that both runs number every line alike:
    an offset is part of a dead letter and of what a customer remembers of a message."""

    def __init__(
        self,
        history: History,
        clean: list[str],
        mixed: list[str],
        hostile: dict[int, tuple[str, Hostile]],
        until: datetime,
    ) -> None:
        self.history, self.clean, self.mixed = history, clean, mixed
        self.hostile = hostile  # line number (from 1) -> (customer id, message)
        self.until = until

    def __repr__(self) -> str:
        shown = [f"  line {n}: {cid} {h!r}" for n, (cid, h) in sorted(self.hostile.items())]
        return "\n".join([f"ReplayCase(until={self.until:%Y-%m-%d %H:%M}):", *shown]) + (
            f"\n{self.history!r}"
        )


def replay_line(topic: str, key: str | None, value: dict[str, Any] | bytes) -> str:
    """A line of the replay command; raw bytes travel as the text of the value."""
    text = value.decode("utf-8") if isinstance(value, bytes) else value
    return orjson.dumps({"topic": topic, "key": key, "value": text}).decode()


@st.composite
def replay_cases(draw: st.DrawFn) -> ReplayCase:
    history = draw(histories(max_events=15))
    events = [f.event for f in feeds(history)]
    after: dict[int, list[tuple[str, Hostile, str | None]]] = {}
    for n in range(draw(st.integers(1, 6))):
        name = draw(st.sampled_from(CLOCK_KEEPING_FAMILIES), label="family")
        i = draw(st.integers(0, len(events) - 1))
        topic = draw(st.sampled_from(FAMILIES[name].topics))
        customer = f"hostile-{n}"
        event = base_from(events[i], topic, customer, customer)
        hostile = mutate(name, Base(topic, encode_input_event(event)), DrawChooser(draw))
        key = draw(st.sampled_from((customer, None, "wrong-key", history.customer_id)))
        try:
            hostile.raw.decode("utf-8")
        except UnicodeDecodeError:
            continue  # a replay line holds text: other bytes are for the decoder tests
        after.setdefault(i, []).append((customer, hostile, key))
    clean: list[str] = []
    mixed: list[str] = []
    placed: dict[int, tuple[str, Hostile]] = {}
    for i, event in enumerate(events):
        line = replay_line(input_topic(event), event.header.customer_id, encode_input_event(event))
        clean.append(line)
        mixed.append(line)
        for customer, hostile, key in after.get(i, []):
            clean.append(replay_line(hostile.topic, key, b"not JSON"))
            mixed.append(replay_line(hostile.topic, key, hostile.raw))
            placed[len(mixed)] = (customer, hostile)
    until = max(e.header.occurred_at for e in events) + timedelta(days=3)
    return ReplayCase(history, clean, mixed, placed, until)
