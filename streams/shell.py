"""The imperative shell around the decision core: decode -> core -> table -> send.

Every agent hands its records here (the input agents a partition's batch, the clock agent a
tick), so they share one definition of what processing an input means. Invariants kept:

- bad input (decode errors, ``currency_mismatch``) becomes exactly one dead letter and the
  stream moves on; so does an input the decision code fails on (``processing_error``, or
  a stop without commit with ``REPAYMENT_ON_PROCESSING_ERROR=stop``); anything else raised
  here (a broker failure, a stored state it cannot read) crashes the agent;
- every record goes through ``Outbox`` and its one delivery check: a record that cannot be
  delivered stops the worker before its input's offset is committed;
- the table changes only while the record that caused the change is in flight, in that
  record's partition, and so does its changelog record (``streams.outbox``);
- state is written before the decisions are sent, and Faust flushes the producer before it
  commits offsets: a crash in between re-processes the event, the core sees a duplicate and
  re-emits the same decision ids.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import NoReturn

import orjson
from faust.types import EventT, Message, TableT

from policy import CustomerState, Policy, apply, erase, ids, tick
from policy.state import StateError, decode_state, encode_state
from policy.wake import asleep_after
from schemas.decode import decode_input
from schemas.encode import dead_letter, encode_decision, format_instant
from schemas.errors import InvalidEvent, processing_error
from schemas.events import ContactResultReported, ErasureRequested
from schemas.outputs import Decision
from streams.clock import ProcessClock
from streams.consumer import Batch, PartitionStore
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
    store: PartitionStore
    metrics: Metrics
    clock: ProcessClock
    owned: OwnedCustomers
    outbox: Outbox
    locks: dict[int, asyncio.Lock] = field(default_factory=dict)

    def _lock(self, partition: int) -> asyncio.Lock:
        """One customer's state is read, changed and appended to the changelog by one task
        at a time: the input batches of a partition and its clock ticks take turns, so a
        tick never works from a state an erasure is deleting, and two changelog records of
        a key never reach the producer out of order."""
        lock = self.locks.get(partition)
        if lock is None:
            lock = self.locks[partition] = asyncio.Lock()
        return lock

    async def process_batch(self, batch: Batch) -> None:
        """The records of one input partition, in offset order: each decided, re-keyed or
        dead-lettered (``streams.consumer.Batch`` acks each once the next is taken)."""
        topic = contract_topic(self.settings, batch.tp.topic)
        # The bound on occurred_at moves once per batch (a batch takes well under a second).
        not_after = self.clock.wall() + timedelta(hours=self.settings.max_future_hours)
        seconds = self.metrics.processing_seconds.labels(batch.tp.topic)
        perf_counter = time.perf_counter
        results: dict[str, int] = {}
        try:
            async with self._lock(batch.tp.partition):
                for message in batch:
                    started = perf_counter()
                    try:
                        result = await self._process(message, topic, not_after)
                    except Exception as exc:
                        exit_without_commit(message, exc)
                    results[result] = results.get(result, 0) + 1
                    seconds.observe(perf_counter() - started)
        finally:
            for result, count in results.items():
                self.metrics.events.labels(batch.tp.topic, result).inc(count)
            self.outbox.persist_offsets()

    async def _process(self, message: Message, topic: str, not_after: datetime) -> str:
        """One record of an input topic (``topic``: its contract name)."""
        raw: bytes = message.value if message.value is not None else b""
        try:
            decoded = decode_input(
                topic, raw, max_bytes=self.settings.max_message_bytes, not_after=not_after
            )
        except InvalidEvent as error:
            return await self._dead_letter(message, raw, error)
        except Exception as exc:
            return await self._processing_error(message, raw, exc)
        customer = decoded.header.customer_id.encode()
        if message.key != customer:
            return await self._rekey(message, customer, raw)
        now = self.clock.for_event(decoded.header.occurred_at, message.partition, record=False)
        blob = self.store.get(customer, message.partition)
        state = None
        if blob is not None:
            # StateError: stop. A dormant customer's state gets the ticks it slept through.
            state = self.owned.settle(customer, message.partition, decode_state(blob))
        if isinstance(decoded, ErasureRequested):
            return await self._erase(message, raw, decoded, customer, now, state)
        source = ids.message_source(topic, message.partition, message.offset)
        try:
            step = apply(state, decoded, now, self.policy, source)
            new_blob = None if step.duplicate else encode_state(step.state)
        except InvalidEvent as error:
            return await self._dead_letter(message, raw, error)
        except Exception as exc:
            return await self._processing_error(message, raw, exc)
        self.clock.record(now, message.partition)
        if new_blob is not None:
            await self._store(customer, message.partition, step.state, blob, new_blob)
            if isinstance(decoded, ContactResultReported):
                self.metrics.count_contact_result(decoded)
        elif blob is not None:
            # Seen before: maybe redelivered after a crash between the store and the
            # changelog record. The stored state goes to the changelog again, so the
            # changelog always ends where the store does.
            await self.outbox.append_changelog(customer, blob, message.partition)
        await self._send(customer, step.state, step.decisions, count=not step.duplicate)
        age = (now - decoded.header.occurred_at).total_seconds()
        self.metrics.event_age_seconds.observe(max(age, 0.0))
        return "duplicate" if step.duplicate else "processed"

    async def _erase(
        self,
        message: Message,
        raw: bytes,
        erasure: ErasureRequested,
        customer: bytes,
        now: datetime,
        state: CustomerState | None,
    ) -> str:
        """Cancel the customer's pending outreach, then delete the state and tombstone its
        changelog record: the personal data goes away for good once compacted.

        The cancellations go first, so a crash before they are delivered leaves the state
        for the redelivered erasure. The tombstone is appended even when no state is stored:
        a crash between the local delete and the tombstone leaves the changelog's copy for
        the redelivered erasure to remove. The index forgets the customer together with the
        local delete (no await between): an event that comes while the tombstone is appended
        starts a new customer, and stays in the index.
        """
        partition = message.partition
        try:
            decisions = erase(state, erasure, now, self.policy)
        except Exception as exc:
            return await self._processing_error(message, raw, exc)
        self.clock.record(now, partition)
        if state is not None:
            await self._send(customer, state, decisions, count=True)
        self.owned.forget(customer, partition)
        await self.outbox.delete_state(customer, partition)
        log.info("customer erased", extra=log_event("erased", partition=partition))
        return "erased"

    async def process_tick(self, event: EventT) -> None:
        """One clock tick: time passes for the customers of the tick's partition; those
        dormant until later are skipped (``OwnedCustomers.due``)."""
        try:
            await self._process_tick(event.message)
        except Exception as exc:
            exit_without_commit(event.message, exc)

    async def _process_tick(self, message: Message) -> None:
        started = time.perf_counter()
        raw: bytes = message.value if message.value is not None else b""
        try:
            at = parse_tick(raw)
        except InvalidEvent as error:
            result = await self._dead_letter(message, raw, error)
            self.metrics.events.labels(message.topic, result).inc()
            return
        now = self.clock.for_tick(at, message.partition)
        self.outbox.persist_offsets()
        customers = 0
        lock = self._lock(message.partition)
        for customer in self.owned.due(message.partition, now):
            async with lock:
                customers += await self._tick_customer(message, raw, customer, now)
        self.metrics.clock_ticks.inc()
        self.metrics.processing_seconds.labels(message.topic).observe(time.perf_counter() - started)
        log.debug(
            "clock tick applied",
            extra=log_event(
                "tick", partition=message.partition, at=format_instant(now), customers=customers
            ),
        )

    async def _tick_customer(
        self, message: Message, raw: bytes, customer: bytes, now: datetime
    ) -> int:
        """Time passes for one customer of the tick's partition; 1 if it was ticked."""
        blob = self.store.get(customer, message.partition)
        if blob is None:
            return 0
        try:
            step = tick(decode_state(blob), now, self.policy)
            new_blob = None if step.duplicate else encode_state(step.state)
        except StateError:
            raise
        except Exception as exc:
            # The tick is fine; this customer's state made the core fail. The dead letter
            # names the customer (its key) so the defect can be replayed.
            await self._processing_error(message, raw, exc, key=customer)
            self.metrics.events.labels(message.topic, "processing_error").inc()
            return 0
        asleep_until = asleep_after(step.state, now, self.policy)
        if new_blob is not None:
            await self._store(customer, message.partition, step.state, blob, new_blob, asleep_until)
        elif asleep_until is not None:
            self.owned.sleep(customer, message.partition, asleep_until)
        await self._send(customer, step.state, step.decisions, count=not step.duplicate)
        return 1

    async def _store(
        self,
        customer: bytes,
        partition: int,
        state: CustomerState,
        previous: bytes | None,
        blob: bytes,
        asleep_until: datetime | None = None,
    ) -> None:
        """The index first, then the store: nothing awaits between the two, so an event or
        an erasure of the customer that runs while the changelog record is being appended
        comes after both (it wakes or forgets the customer for good)."""
        self.owned.record(customer, partition, state.tier)
        if asleep_until is not None:
            self.owned.sleep(customer, partition, asleep_until)
        if blob != previous:
            await self.outbox.put_state(customer, blob, partition)

    async def _send(
        self, customer: bytes, state: CustomerState, decisions: tuple[Decision, ...], count: bool
    ) -> None:
        profile = self.policy.contact_profile
        for decision in decisions:
            topic = self.topics.for_decision(decision)
            await self.outbox.send(topic.get_topic_name(), customer, encode_decision(decision))
            if count:
                self.metrics.count_decision(
                    decision, deferred_rule(decision, state.timezone, profile)
                )

    async def _rekey(self, message: Message, customer: bytes, raw: bytes) -> str:
        """The value's customer_id is authoritative: send it again under that key."""
        await self.outbox.send(message.topic, customer, raw)
        self.metrics.rekeyed.labels(message.topic).inc()
        log.debug(
            "re-keyed input",
            extra=log_event(
                "rekey", topic=message.topic, partition=message.partition, offset=message.offset
            ),
        )
        return "rekeyed"

    async def _processing_error(
        self, message: Message, raw: bytes, exc: Exception, key: bytes | None = None
    ) -> str:
        """The decision code failed on this input: a defect. Dead-letter it and move on, or
        stop without committing when the operator chose ``stop``."""
        if self.settings.on_processing_error == "stop":
            exit_without_commit(message, exc)
        log.error(
            "processing error; input dead-lettered",
            exc_info=exc,
            extra=log_event(
                "processing_error",
                topic=message.topic,
                partition=message.partition,
                offset=message.offset,
            ),
        )
        return await self._dead_letter(message, raw, processing_error(exc), key)

    async def _dead_letter(
        self, message: Message, raw: bytes, error: InvalidEvent, key: bytes | None = None
    ) -> str:
        if key is None:
            key = message.key if isinstance(message.key, bytes) else None
        letter = dead_letter(message.topic, message.partition, message.offset, key, raw, error)
        await self.outbox.send(self.topics.dead_letter.get_topic_name(), key, orjson.dumps(letter))
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
        return "processing_error" if error.code == "processing_error" else "dead_lettered"


def exit_without_commit(message: Message, exc: Exception) -> NoReturn:
    """An unexpected error is a bug (or a broker failure): stop at once, like a crash.

    Faust would ack the event and let a restarted agent move past it, losing it. Exiting
    without a clean shutdown commits nothing more: a restarted worker re-processes from the
    last commit, exactly as after SIGKILL (duplicates re-emit the same ids). A message that
    fails every time keeps the worker down; the log names it.
    """
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
