"""The ``peer``: quixstreams hosting this project's decision core, ``python -m bench.peer_app``.

What a user who takes quixstreams (librdkafka) and our rules would run, on the same pre-filled
log as ``baseline`` and ``e2e``: one ``StreamingDataFrame`` over the input topics
(``concat``, so a customer's inputs share one state), a stateful ``apply`` that does per
message what the worker's shell does (``PeerCore``: ``decode_input`` with the worker's bound
on ``occurred_at``, ``decode_state``, ``policy.apply`` at the event clock,
``encode_state``, ``encode_decision``; dead letters and re-keying as the worker), and
``to_topic`` for every decision. State lives in quixstreams' RocksDB store with its changelog
topic on (quixstreams' defaults: at-least-once, a checkpoint every 5 s). No metrics, no web.

Configured by ``PEER_BOOTSTRAP``, ``PEER_NAMESPACE``, ``PEER_EVENTS``, ``PEER_GROUP``,
``PEER_STATE_DIR``; writes ``{"events", "seconds", "cpu_seconds", "sustained_rate", ...}``
(first processed event to last, this process's CPU time over all its threads) to
``PEER_RESULT`` and exits. ``PeerCore`` and ``Meter`` are pure (tests import them without
quixstreams); quixstreams is imported by ``main`` only.
"""

from __future__ import annotations

import functools
import math
import os
import time
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, Protocol

import orjson

from bench.drive import sustained
from bench.kafka import input_topics, namespaced
from policy import Policy, apply, default_policy, erase, ids
from policy.state import decode_state, encode_state
from schemas.decode import decode_input
from schemas.encode import encode_dead_letter, encode_decision
from schemas.errors import InvalidEvent
from schemas.events import INPUT_TOPICS, ErasureRequested
from schemas.outputs import DEAD_LETTER, OUTPUT_TOPICS, Decision
from streams.clock import ProcessClock, wall_now

STATE_KEY = b"state"
"""The one state entry per customer (quixstreams prefixes it with the message key)."""

Output = tuple[str, bytes | None, bytes]
"""A record to produce: (topic, key, value)."""


class StateStore(Protocol):
    """The part of quixstreams' ``State`` (one message key's view) the core needs."""

    def get_bytes(self, key: bytes, default: None = None) -> bytes | None: ...

    def set_bytes(self, key: bytes, value: bytes) -> None: ...

    def delete(self, key: bytes) -> None: ...


class PeerCore:
    """One input message, as the worker's shell (``streams.shell``) processes it, minus Faust.

    ``process`` returns the records to produce and reads and writes the customer's state
    blob through ``store``; the event clock is ``streams.clock.ProcessClock``, the same
    one the worker uses.
    """

    def __init__(
        self,
        namespace: str,
        policy: Policy | None = None,
        *,
        max_future_hours: int = 24,
        wall: Callable[[], datetime] = wall_now,
    ) -> None:
        self.policy = policy if policy is not None else default_policy()
        self.clock = ProcessClock("event", wall)
        self.max_future = timedelta(hours=max_future_hours)
        self.contract = {namespaced(t, namespace): t for t in INPUT_TOPICS}
        self.outputs = {t: namespaced(t, namespace) for t in OUTPUT_TOPICS}

    def process(
        self,
        topic: str,
        partition: int,
        offset: int,
        key: bytes | None,
        raw: bytes,
        store: StateStore,
    ) -> list[Output]:
        contract = self.contract[topic]
        not_after = self.clock.wall() + self.max_future
        try:
            event = decode_input(contract, raw, not_after=not_after)
        except InvalidEvent as error:
            return [self._dead_letter(topic, partition, offset, key, raw, error)]
        customer = event.header.customer_id.encode()
        if key != customer:
            return [(topic, customer, raw)]  # the value's customer_id is authoritative
        now = self.clock.for_event(event.header.occurred_at, partition, record=False)
        blob = store.get_bytes(STATE_KEY)
        state = decode_state(blob) if blob is not None else None
        if isinstance(event, ErasureRequested):
            decisions = erase(state, event, now, self.policy)
            self.clock.record(now, partition)
            if blob is not None:
                store.delete(STATE_KEY)
            return self._decisions(customer, decisions)
        source = ids.message_source(contract, partition, offset)
        try:
            step = apply(state, event, now, self.policy, source)
            new_blob = None if step.duplicate else encode_state(step.state)
        except InvalidEvent as error:
            return [self._dead_letter(topic, partition, offset, key, raw, error)]
        self.clock.record(now, partition)
        if new_blob is not None and new_blob != blob:
            store.set_bytes(STATE_KEY, new_blob)
        return self._decisions(customer, step.decisions)

    def _decisions(self, customer: bytes, decisions: tuple[Decision, ...]) -> list[Output]:
        return [(self.outputs[d.topic], customer, encode_decision(d)) for d in decisions]

    def _dead_letter(
        self,
        topic: str,
        partition: int,
        offset: int,
        key: bytes | None,
        raw: bytes,
        error: InvalidEvent,
    ) -> Output:
        value = encode_dead_letter(topic, partition, offset, key, raw, error)
        return (self.outputs[DEAD_LETTER], key, value)


class Meter:
    """Counts processed inputs; stamps wall and CPU time at the first, 10%, 90% and last.

    ``result()`` has the same definitions as ``e2e``: the sustained rate between 10% and 90%
    of the log (``bench.drive.sustained``), CPU seconds from the first event to the last.
    """

    def __init__(
        self,
        total: int,
        wall: Callable[[], float] = time.perf_counter,
        cpu: Callable[[], float] = time.process_time,
    ) -> None:
        if total < 1:
            raise ValueError(f"total must be positive, got {total}")
        self.total = total
        self.count = 0
        self._wall, self._cpu = wall, cpu
        levels = {1, math.ceil(0.1 * total), math.ceil(0.9 * total), total}
        self._levels = frozenset(levels)
        self.stamps: dict[int, tuple[float, float]] = {}

    def tick(self) -> bool:
        """One input processed; True once all ``total`` have been."""
        self.count += 1
        if self.count in self._levels:
            self.stamps[self.count] = (self._wall(), self._cpu())
        return self.count >= self.total

    def result(self) -> dict[str, float]:
        if self.count < self.total:
            raise RuntimeError(f"only {self.count} of {self.total} events processed")
        (wall0, cpu0), (wall1, cpu1) = self.stamps[1], self.stamps[self.total]
        samples = [(wall, float(n)) for n, (wall, _) in sorted(self.stamps.items())]
        samples.insert(0, (wall0, 0.0))
        return {
            "events": self.count,
            "seconds": wall1 - wall0,
            "cpu_seconds": cpu1 - cpu0,
            "sustained_rate": sustained(samples, self.total),
        }


def main() -> None:
    """Build the quixstreams app, run it until ``PEER_EVENTS`` inputs are processed."""
    from quixstreams import Application, message_context
    from quixstreams.models.serializers import Serializer

    class _Value(Serializer):  # type: ignore[misc]
        """An ``Output``'s value: already encoded by the core."""

        def __call__(self, value: Output, ctx: object) -> bytes:
            return value[2]

    namespace = os.environ["PEER_NAMESPACE"]
    meter = Meter(int(os.environ["PEER_EVENTS"]))
    core = PeerCore(namespace)
    app = Application(
        broker_address=os.environ["PEER_BOOTSTRAP"],
        consumer_group=os.environ["PEER_GROUP"],
        auto_offset_reset="earliest",
        state_dir=os.environ["PEER_STATE_DIR"],
        use_changelog_topics=True,
        loglevel="WARNING",
    )
    value = _Value()
    names = input_topics(namespace) + [namespaced(t, namespace) for t in OUTPUT_TOPICS]
    topics = {
        name: app.topic(
            name,
            key_deserializer="bytes",
            value_deserializer="bytes",
            key_serializer="bytes",
            value_serializer=value,
        )
        for name in names
    }
    frames = [app.dataframe(topics[name]) for name in input_topics(namespace)]
    sdf = functools.reduce(lambda left, right: left.concat(right), frames)

    produced: Counter[str] = Counter()

    def decide(raw: bytes, key: bytes, _ts: int, _headers: Any, state: StateStore) -> list[Output]:
        ctx = message_context()
        outputs = core.process(ctx.topic, ctx.partition, ctx.offset, key, raw, state)
        produced.update(out[0] for out in outputs)
        if meter.tick():
            app.stop()
        return outputs

    sdf = sdf.apply(decide, stateful=True, expand=True, metadata=True)
    sdf.to_topic(lambda out, _key, _ts, _headers: topics[out[0]], key=lambda out: out[1])
    wall0, cpu0 = time.perf_counter(), time.process_time()
    app.run()
    result: dict[str, Any] = meter.result()
    last_wall, last_cpu = meter.stamps[meter.total]
    result.update(
        # From the last event until run() returned: the final checkpoint (producer and
        # changelog flushed, offsets committed) and the consumer's close.
        stop_seconds=time.perf_counter() - last_wall,
        stop_cpu_seconds=time.process_time() - last_cpu,
        run_seconds=time.perf_counter() - wall0,
        run_cpu_seconds=time.process_time() - cpu0,
        produced=dict(produced),  # records by topic: decisions, dead letters, re-keyed
    )
    with open(os.environ["PEER_RESULT"], "wb") as out:
        out.write(orjson.dumps(result))


if __name__ == "__main__":
    main()
