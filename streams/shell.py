"""The imperative shell around the decision core: decode -> core -> table -> send.

Every agent hands its events here, so the three input agents and the clock agent share one
definition of what processing an input means. Invariants kept:

- bad input (decode errors, ``currency_mismatch``) becomes exactly one dead letter and the
  stream moves on; anything else raised here is a bug and crashes the agent;
- the table changes only inside the iteration of the event that caused the change, and its
  changelog record goes to that event's partition (``streams.outbox``);
- state is written before the decisions are sent, and Faust flushes the producer before it
  commits offsets: a crash in between re-processes the event, the core sees a duplicate and
  re-emits the same decision ids.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import NoReturn

import orjson
from faust.types import EventT, TableT, TopicT

from policy import CustomerState, Policy, apply, tick
from policy.state import decode_state, encode_state
from schemas.decode import decode_input
from schemas.encode import dead_letter, encode_decision, format_instant
from schemas.errors import InvalidEvent
from schemas.outputs import Decision, RiskEscalation
from streams.clock import ProcessClock
from streams.logs import crash, log_event
from streams.metrics import Metrics
from streams.outbox import Outbox
from streams.settings import Settings
from streams.summary import deferred_rule
from streams.tables import OwnedCustomers
from streams.topics import Topics, contract_topic

log = logging.getLogger("repayment.shell")


@dataclass(frozen=True, slots=True)
class Shell:
    """What an agent needs to process one message; built once by ``streams.app``."""

    settings: Settings
    policy: Policy
    topics: Topics
    table: TableT
    metrics: Metrics
    clock: ProcessClock
    owned: OwnedCustomers
    outbox: Outbox

    async def process_input(self, event: EventT) -> None:
        """One message of an input topic: decided, re-keyed or dead-lettered."""
        started = time.perf_counter()
        try:
            result = await self._process(event)
        except Exception as exc:
            exit_without_commit(event, exc)
        topic = event.message.topic
        self.metrics.events.labels(topic, result).inc()
        self.metrics.processing_seconds.labels(topic).observe(time.perf_counter() - started)

    async def _process(self, event: EventT) -> str:
        message = event.message
        raw: bytes = event.value if event.value is not None else b""
        try:
            decoded = decode_input(
                contract_topic(self.settings, message.topic),
                raw,
                max_bytes=self.settings.max_message_bytes,
            )
        except InvalidEvent as error:
            return await self._dead_letter(event, raw, error)
        customer = decoded.header.customer_id.encode()
        if message.key != customer:
            return await self._rekey(event, customer, raw)
        now = self.clock.for_event(decoded.header.occurred_at, message.partition)
        blob = self.table.data.get(customer)
        try:
            step = apply(
                decode_state(blob) if blob is not None else None, decoded, now, self.policy
            )
        except InvalidEvent as error:
            return await self._dead_letter(event, raw, error)
        if not step.duplicate:
            await self._store(customer, message.partition, step.state, blob)
        await self._send(customer, step.state, step.decisions, count=not step.duplicate)
        age = (now - decoded.header.occurred_at).total_seconds()
        self.metrics.event_age_seconds.observe(max(age, 0.0))
        return "duplicate" if step.duplicate else "processed"

    async def process_tick(self, event: EventT) -> None:
        """One clock tick: time passes for every customer of the tick's partition."""
        try:
            await self._process_tick(event)
        except Exception as exc:
            exit_without_commit(event, exc)

    async def _process_tick(self, event: EventT) -> None:
        started = time.perf_counter()
        message = event.message
        raw: bytes = event.value if event.value is not None else b""
        try:
            at = parse_tick(raw)
        except InvalidEvent as error:
            result = await self._dead_letter(event, raw, error)
            self.metrics.events.labels(message.topic, result).inc()
            return
        now = self.clock.for_tick(at, message.partition)
        customers = 0
        for customer in self.owned.keys_of(message.partition):
            blob = self.table.data.get(customer)
            if blob is None:
                continue
            step = tick(decode_state(blob), now, self.policy)
            if not step.duplicate:
                await self._store(customer, message.partition, step.state, blob)
            await self._send(customer, step.state, step.decisions, count=not step.duplicate)
            customers += 1
        self.metrics.clock_ticks.inc()
        self.metrics.processing_seconds.labels(message.topic).observe(time.perf_counter() - started)
        log.debug(
            "clock tick applied",
            extra=log_event(
                "tick", partition=message.partition, at=format_instant(now), customers=customers
            ),
        )

    async def _store(
        self, customer: bytes, partition: int, state: CustomerState, previous: bytes | None
    ) -> None:
        blob = encode_state(state)
        if blob != previous:
            await self.outbox.put_state(customer, blob, partition)
        self.owned.record(customer, partition, state.tier)

    async def _send(
        self, customer: bytes, state: CustomerState, decisions: tuple[Decision, ...], count: bool
    ) -> None:
        profile = self.policy.contact_profile
        for decision in decisions:
            topic = (
                self.topics.risk_escalations
                if isinstance(decision, RiskEscalation)
                else self.topics.outreach_needed
            )
            await self.outbox.send(topic.get_topic_name(), customer, encode_decision(decision))
            if count:
                self.metrics.count_decision(
                    decision, deferred_rule(decision, state.timezone, profile)
                )

    async def _rekey(self, event: EventT, customer: bytes, raw: bytes) -> str:
        """The value's customer_id is authoritative: send it again under that key."""
        message = event.message
        await self._input_topic(message.topic).send(key=customer, value=raw)
        self.metrics.rekeyed.labels(message.topic).inc()
        log.debug(
            "re-keyed input",
            extra=log_event(
                "rekey", topic=message.topic, partition=message.partition, offset=message.offset
            ),
        )
        return "rekeyed"

    def _input_topic(self, name: str) -> TopicT:
        for topic in self.topics.inputs:
            if name in topic.topics:
                return topic
        raise ValueError(f"{name!r} is not an input topic of this worker")

    async def _dead_letter(self, event: EventT, raw: bytes, error: InvalidEvent) -> str:
        message = event.message
        key = message.key if isinstance(message.key, bytes) else None
        letter = dead_letter(message.topic, message.partition, message.offset, key, raw, error)
        await self.topics.dead_letter.send(key=key, value=orjson.dumps(letter))
        log.warning(
            "dead-lettered input",
            extra=log_event(
                "dead_letter",
                topic=message.topic,
                partition=message.partition,
                offset=message.offset,
                code=error.code,
                field=error.field,
            ),
        )
        return "dead_lettered"


def exit_without_commit(event: EventT, exc: Exception) -> NoReturn:
    """An unexpected error is a bug (or a broker failure): stop at once, like a crash.

    Faust would ack the event and let a restarted agent move past it, losing it. Exiting
    without a clean shutdown commits nothing more: a restarted worker re-processes from the
    last commit, exactly as after SIGKILL (duplicates re-emit the same ids). A message that
    fails every time keeps the worker down; the log names it.
    """
    message = event.message
    crash(
        log,
        "unexpected error; exiting without committing this event",
        exc,
        topic=message.topic,
        partition=message.partition,
        offset=message.offset,
    )


def parse_tick(raw: bytes) -> datetime:
    """A tick's value is ``{"at": "<RFC 3339>"}``; anything else is dead-lettered."""
    try:
        doc = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise InvalidEvent("invalid_json", str(exc)) from None
    if type(doc) is not dict:
        raise InvalidEvent("not_an_object", "a clock tick is a JSON object")
    text = doc.get("at")
    if not isinstance(text, str):
        raise InvalidEvent("missing_field", "a clock tick carries its time", "at")
    try:
        at = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidEvent("invalid_field", f"not an RFC 3339 timestamp: {text!r}", "at") from None
    if at.tzinfo is None:
        raise InvalidEvent("invalid_field", "a tick's time needs an offset", "at")
    return at.astimezone(UTC)
