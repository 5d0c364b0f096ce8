"""Replay: the decision core driven by a JSONL log instead of Kafka.

The contract's replay command and the differential tests both use this module, so the
live worker and replay see time the same way: `timeline` is the one definition of how
input lines and clock ticks interleave. Nothing here imports faust or touches a broker.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

import orjson

from policy import CustomerState, Policy, apply, erase, ids, tick
from policy.core import validate
from policy.wake import asleep_after
from schemas.decode import decode_input, decode_key
from schemas.encode import dead_letter, decision_to_dict
from schemas.errors import InvalidEvent, RepaymentStreamError, processing_error
from schemas.events import INPUT_TOPICS, ErasureRequested, InputEvent
from schemas.outputs import DEAD_LETTER, Decision, OutreachCancelled, RiskEscalation

HOUR = timedelta(hours=1)
STALE_SLACK = 1024  # stale heap entries ``Dormant`` tolerates before it rebuilds the heap
CLOCK_TICKS = "repayments.clock-ticks"


class ReplayInputError(RepaymentStreamError):
    """A line of the replay file is not a `{"topic", "key", "value"}` envelope.

    The file is the operator's, not a producer's message: fix the line named in the error.
    """


@dataclass(frozen=True, slots=True)
class EventItem:
    """One input message, decoded once; `decoded` is the event or why it is invalid."""

    line_no: int
    topic: str
    partition: int
    offset: int
    key: bytes | None
    raw: bytes
    decoded: InputEvent | InvalidEvent


@dataclass(frozen=True, slots=True)
class TickItem:
    """The clock reached `at` (aware, UTC)."""

    at: datetime


def parse_line(line_no: int, text: str) -> tuple[str, bytes | None, bytes]:
    """Split one replay line into topic, key bytes and raw value bytes."""
    try:
        envelope = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise ReplayInputError(f"line {line_no}: not JSON ({exc})") from None
    if not isinstance(envelope, dict) or "topic" not in envelope or "value" not in envelope:
        raise ReplayInputError(f'line {line_no}: expected {{"topic", "key", "value"}}')
    topic = envelope["topic"]
    if topic not in INPUT_TOPICS:
        raise ReplayInputError(
            f"line {line_no}: topic {topic!r} is not an input topic ({', '.join(INPUT_TOPICS)})"
        )
    key = envelope.get("key")
    key_bytes = None if key is None else str(key).encode()
    value = envelope["value"]
    raw = (
        value.encode("utf-8", "surrogateescape") if isinstance(value, str) else orjson.dumps(value)
    )
    return topic, key_bytes, raw


def _hours_through(start: datetime, end: datetime) -> Iterator[datetime]:
    """Whole UTC hours strictly after `start`, up to and including `end`."""
    at = start.replace(minute=0, second=0, microsecond=0) + HOUR
    while at <= end:
        yield at
        at += HOUR


def timeline(
    lines: Iterable[str],
    until: datetime | None = None,
    *,
    max_bytes: int = 65536,
    not_after: datetime | None = None,
    accept: Callable[[EventItem], bool] | None = None,
) -> Iterator[EventItem | TickItem]:
    """Interleave input lines with clock ticks, exactly as the replay command sees time.

    The clock is the largest `occurred_at` of the accepted inputs so far. Before an event
    later than the clock, it ticks at each whole UTC hour after the clock up to the event's
    time (an event at 09:00:00 comes after the 09:00 tick); after the last line it ticks
    hourly up to `until`, and at `until` itself. Lines that do not decode, or that `accept`
    (``Replayer.accepts``: the core would take them) refuses, do not move the clock, so every
    customer sees every whole hour exactly once and a rejected input moves nobody's time.
    A line's offset is its line number counting from 0: every line is a new message.
    """
    clock: datetime | None = None
    for line_no, text in enumerate(lines, start=1):
        if not text.strip():
            continue
        topic, key, raw = parse_line(line_no, text)
        decoded: InputEvent | InvalidEvent
        try:
            decoded = decode_input(topic, raw, max_bytes=max_bytes, not_after=not_after)
        except InvalidEvent as exc:
            decoded = exc
        except Exception as exc:  # a decoder defect: dead-lettered, as by the worker
            decoded = processing_error(exc)
        item = EventItem(line_no, topic, 0, line_no - 1, key, raw, decoded)
        if not isinstance(decoded, InvalidEvent) and (accept is None or accept(item)):
            occurred = decoded.header.occurred_at
            if clock is None:
                clock = occurred
            elif occurred > clock:
                yield from (TickItem(at) for at in _hours_through(clock, occurred))
                clock = occurred
        yield item
    if until is not None and clock is not None and until > clock:
        yield from (TickItem(at) for at in _hours_through(clock, until))
        if until.minute or until.second or until.microsecond:
            yield TickItem(until)


@dataclass
class ReplayStats:
    lines: int = 0
    processed: int = 0
    duplicates: int = 0
    dead_lettered: int = 0
    rekeyed: int = 0
    ticks: int = 0
    escalations: int = 0
    outreach: int = 0
    cancelled: int = 0
    erased: int = 0
    clock: datetime | None = None


def output_line(decision: Decision) -> dict[str, object]:
    return {
        "topic": decision.topic,
        "key": decision.customer_id,
        "value": decision_to_dict(decision),
    }


class Dormant:
    """Customers whose ticks change nothing but ``last_tick`` until ``quiet_until``.

    The replay skips their ticks until then: a long history costs what is due, not
    customers x hours. ``policy.wake`` proves the skipped ticks would have decided nothing.
    """

    def __init__(self) -> None:
        self._until: dict[str, datetime] = {}
        self._heap: list[tuple[datetime, str]] = []

    def __contains__(self, customer_id: object) -> bool:
        return customer_id in self._until

    def __iter__(self) -> Iterator[str]:
        return iter(self._until)

    def sleep(self, customer_id: str, until: datetime) -> None:
        self._until[customer_id] = until
        heap = self._heap
        heapq.heappush(heap, (until, customer_id))
        if len(heap) > 2 * len(self._until) + STALE_SLACK:
            # Entries of customers woken by an event pile up (some never come due): rebuild.
            heap[:] = [(when, c) for c, when in self._until.items()]
            heapq.heapify(heap)

    def wake(self, customer_id: str) -> bool:
        """Awake from now on; whether the customer was asleep."""
        return self._until.pop(customer_id, None) is not None

    def wake_due(self, at: datetime) -> None:
        """Wake everyone whose ``quiet_until`` is at or before ``at``."""
        heap, until = self._heap, self._until
        while heap and heap[0][0] <= at:
            when, customer_id = heapq.heappop(heap)
            if until.get(customer_id) == when:
                del until[customer_id]


@dataclass
class Replayer:
    """Applies timeline items to per-customer states held in memory.

    Customers are ticked in order of first appearance, so the output order is a pure
    function of the input log. Dormant customers are not ticked (``Dormant``); their
    ``last_tick`` is brought up to date when they wake for an event, and by ``settle``.
    """

    policy: Policy
    states: dict[str, CustomerState] = field(default_factory=dict)
    stats: ReplayStats = field(default_factory=ReplayStats)
    dormant: Dormant = field(default_factory=Dormant, repr=False)
    last_tick: datetime | None = None

    def replay(
        self,
        lines: Iterable[str],
        until: datetime | None = None,
        *,
        max_bytes: int = 65536,
        not_after: datetime | None = None,
    ) -> Iterator[dict[str, object]]:
        """The replay command: every output line of ``lines`` decided, in order."""
        items = timeline(
            lines, until, max_bytes=max_bytes, not_after=not_after, accept=self.accepts
        )
        for item in items:
            yield from self.feed(item)
        self.settle()

    def settle(self) -> None:
        """Every dormant state as the skipped ticks would have left it (``last_tick``)."""
        states, at = self.states, self.last_tick
        for customer_id in self.dormant:
            states[customer_id] = replace(states[customer_id], last_tick=at)

    def accepts(self, item: EventItem) -> bool:
        """Whether the core would take the event (so it may move the clock)."""
        event = item.decoded
        if isinstance(event, InvalidEvent):
            return False
        try:
            validate(self.states.get(event.header.customer_id), event, self.policy)
        except Exception:  # InvalidEvent, or a defect dead-lettered as processing_error
            return False
        return True

    def feed(self, item: EventItem | TickItem) -> list[dict[str, object]]:
        if isinstance(item, TickItem):
            return self._tick(item.at)
        return self._event(item)

    def _tick(self, at: datetime) -> list[dict[str, object]]:
        self.stats.ticks += 1
        self.stats.clock = at
        self.last_tick = at
        dormant = self.dormant
        dormant.wake_due(at)
        out: list[dict[str, object]] = []
        for customer_id, state in self.states.items():
            if customer_id in dormant:
                continue
            try:
                step = tick(state, at, self.policy)
            except Exception as exc:  # a defect: that customer is skipped, as live
                self.stats.dead_lettered += 1
                error = processing_error(exc)
                key = customer_id.encode()
                value = dead_letter(CLOCK_TICKS, 0, self.stats.ticks - 1, key, b"", error)
                out.append({"topic": DEAD_LETTER, "key": customer_id, "value": value})
                continue
            self.states[customer_id] = step.state
            until = asleep_after(step.state, at, self.policy)
            if until is not None:
                dormant.sleep(customer_id, until)
            out.extend(self._emit(step.decisions))
        return out

    def _event(self, item: EventItem) -> list[dict[str, object]]:
        self.stats.lines += 1
        event = item.decoded
        if isinstance(event, InvalidEvent):
            return [self._dead_letter(item, event)]
        header = event.header
        clock = self.stats.clock
        now = header.occurred_at if clock is None or header.occurred_at > clock else clock
        if decode_key(item.key) != header.customer_id:
            self.stats.rekeyed += 1
        if isinstance(event, ErasureRequested):
            return self._erase(event, now)
        source = ids.message_source(item.topic, item.partition, item.offset)
        state = self.states.get(header.customer_id)
        if state is not None and self.dormant.wake(header.customer_id):
            state = self.states[header.customer_id] = replace(state, last_tick=self.last_tick)
        try:
            step = apply(state, event, now, self.policy, source)
        except InvalidEvent as exc:
            return [self._dead_letter(item, exc)]
        except Exception as exc:  # the decision code failed: a defect, dead-lettered
            return [self._dead_letter(item, processing_error(exc))]
        self.stats.clock = now
        self.states[header.customer_id] = step.state
        if step.duplicate:
            self.stats.duplicates += 1
        else:
            self.stats.processed += 1
        return self._emit(step.decisions)

    def _erase(self, event: ErasureRequested, now: datetime) -> list[dict[str, object]]:
        """As the worker does: pending outreach cancelled, the state gone."""
        customer_id = event.header.customer_id
        self.dormant.wake(customer_id)
        decisions = erase(self.states.pop(customer_id, None), event, now, self.policy)
        self.stats.clock = now
        self.stats.erased += 1
        return self._emit(decisions)

    def _emit(self, decisions: tuple[Decision, ...]) -> list[dict[str, object]]:
        for decision in decisions:
            if isinstance(decision, RiskEscalation):
                self.stats.escalations += 1
            elif isinstance(decision, OutreachCancelled):
                self.stats.cancelled += 1
            else:
                self.stats.outreach += 1
        return [output_line(d) for d in decisions]

    def _dead_letter(self, item: EventItem, error: InvalidEvent) -> dict[str, object]:
        self.stats.dead_lettered += 1
        key = decode_key(item.key)
        value = dead_letter(item.topic, item.partition, item.offset, item.key, item.raw, error)
        return {"topic": DEAD_LETTER, "key": key, "value": value}


def parse_timestamp(text: str) -> datetime:
    """`--until`: RFC 3339 with an offset; naive times are refused rather than guessed."""
    value = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    if value.tzinfo is None:
        raise ValueError(f"{text!r} has no UTC offset (write e.g. 2026-03-01T00:00:00Z)")
    return value.astimezone(UTC)
