"""The ``peer`` and ``scale`` suites' pure parts: no broker, no quixstreams."""

from __future__ import annotations

import itertools
import math
from datetime import UTC, datetime

import orjson
import pytest

from bench.drive import Drained
from bench.kafka import namespaced
from bench.peer import peer_figures
from bench.peer_app import STATE_KEY, Meter, PeerCore
from bench.portfolio import InputMessage, PortfolioSpec, generate
from bench.scale import is_settled, scale_figures
from policy import default_policy
from schemas.decode import decode_input
from schemas.errors import InvalidEvent
from schemas.events import PAYMENTS, InputEvent
from schemas.outputs import DEAD_LETTER
from streams.replay import EventItem, Replayer

NS = "bench-test-stream"
WALL = datetime(2026, 11, 30, tzinfo=UTC)


class DictState:
    """quixstreams' ``State`` for one message key, over a dict of (key, entry) -> bytes."""

    def __init__(self, data: dict[tuple[bytes | None, bytes], bytes], key: bytes | None) -> None:
        self.data, self.key = data, key
        self.writes = 0

    def get_bytes(self, key: bytes, default: None = None) -> bytes | None:
        return self.data.get((self.key, key), default)

    def set_bytes(self, key: bytes, value: bytes) -> None:
        self.writes += 1
        self.data[(self.key, key)] = value

    def delete(self, key: bytes) -> None:
        self.data.pop((self.key, key), None)


def core() -> PeerCore:
    return PeerCore(NS, default_policy(), wall=lambda: WALL)


def test_peer_core__decides_what_replay_decides() -> None:
    """Message by message, the peer's records are replay's (the worker's reference), in
    order: the same core, state round-tripped through blobs, the same event clock."""
    messages = list(generate(PortfolioSpec(customers=150, months=5, seed=3)))
    peer, replayer = core(), Replayer(default_policy())
    data: dict[tuple[bytes | None, bytes], bytes] = {}
    decided = 0
    for offset, msg in enumerate(messages):
        topic = namespaced(msg.topic, NS)
        got = peer.process(topic, 0, offset, msg.key, msg.value, DictState(data, msg.key))
        item = EventItem(offset + 1, msg.topic, 0, offset, msg.key, msg.value, _decode(msg))
        want = replayer.feed(item)
        assert [(t, k, orjson.loads(v)) for t, k, v in got] == [
            (namespaced(str(w["topic"]), NS), str(w["key"]).encode(), _json(w["value"]))
            for w in want
        ]
        decided += len(got)
    assert decided > len(messages) // 10  # the portfolio does make decisions
    assert len(data) == 150  # one state per customer


def test_peer_core__rekeys_dead_letters_and_skips_unchanged_state() -> None:
    msg = next(m for m in generate(PortfolioSpec(customers=5, months=1)) if m.topic == PAYMENTS)
    topic = namespaced(PAYMENTS, NS)
    data: dict[tuple[bytes | None, bytes], bytes] = {}
    peer = core()
    assert peer.process(topic, 1, 7, b"someone-else", msg.value, DictState(data, b"x")) == [
        (topic, msg.key, msg.value)
    ]
    [(dl_topic, dl_key, letter)] = peer.process(topic, 1, 8, msg.key, b"{", DictState(data, b"k"))
    assert (dl_topic, dl_key) == (namespaced(DEAD_LETTER, NS), msg.key)
    assert orjson.loads(letter)["offset"] == 8
    state = DictState(data, msg.key)
    peer.process(topic, 1, 9, msg.key, msg.value, state)
    assert state.writes == 1 and (msg.key, STATE_KEY) in data
    peer.process(topic, 1, 10, msg.key, msg.value, state)  # the same event_id: a duplicate
    assert state.writes == 1


def test_peer_core__refuses_events_too_far_ahead_of_the_wall_clock() -> None:
    msg = next(iter(generate(PortfolioSpec(customers=5, months=1))))
    early = PeerCore(NS, wall=lambda: datetime(2025, 1, 1, tzinfo=UTC))
    [(topic, _, letter)] = early.process(
        namespaced(msg.topic, NS), 0, 0, msg.key, msg.value, DictState({}, msg.key)
    )
    assert topic == namespaced(DEAD_LETTER, NS)
    assert orjson.loads(letter)["error"]["field"] == "occurred_at"


def test_meter__stamps_first_10_90_and_last_and_measures_like_e2e() -> None:
    clock = itertools.count()
    meter = Meter(20, wall=lambda: float(next(clock)), cpu=lambda: 0.5 * meter.count)
    assert not any(meter.tick() for _ in range(19))
    assert meter.tick()
    assert sorted(meter.stamps) == [1, 2, 18, 20]
    result = meter.result()
    assert result["events"] == 20
    assert result["seconds"] == 3.0 and result["cpu_seconds"] == 9.5
    assert result["sustained_rate"] == pytest.approx(0.8 * 20 / (2.0 - 1.0))


def test_meter__refuses_a_result_before_the_end() -> None:
    meter = Meter(3)
    meter.tick()
    with pytest.raises(RuntimeError):
        meter.result()
    with pytest.raises(ValueError):
        Meter(0)


def drained(rate: float, events: int = 1_000, cpu: float = 1.0) -> Drained:
    return Drained(events, events / rate, rate, cpu, events)


def test_peer_figures__worker_over_peer_with_the_target_on_rocksdb_only() -> None:
    result = {"events": 1_000, "cpu_seconds": 0.1, "sustained_rate": 8_000.0}
    workers = {"memory": drained(3_000, cpu=0.25), "rocksdb": drained(2_000, cpu=0.4)}
    figures = {
        f.name: f
        for f in peer_figures(
            result, baseline_rate=40_000.0, baseline_cpu_rate=50_000.0, workers=workers
        )
    }
    assert figures["quixstreams+core: events per CPU-second"].value == 10_000
    assert figures["quixstreams+core: /baseline"].value == 0.2
    assert figures["quixstreams+core: /baseline per CPU-second"].value == 0.2
    rocks = figures["worker rocksdb/peer per CPU-second"]
    assert rocks.value == 0.25 and rocks.passed is False and rocks.target == ">= 1"
    assert figures["worker memory/peer per CPU-second"].passed is None
    assert figures["worker rocksdb/peer events/s"].value == 0.25


def test_peer_figures__alone_without_baseline_or_e2e() -> None:
    result = {"events": 10, "cpu_seconds": 0.0, "sustained_rate": math.nan}
    figures = peer_figures(result, baseline_rate=None, baseline_cpu_rate=None, workers={})
    assert [f.name for f in figures] == [
        "quixstreams+core: sustained events/s",
        "quixstreams+core: events per CPU-second",
    ]
    assert figures[1].value is None


def test_scale__settled_when_every_worker_owns_partitions_and_all_are_owned() -> None:
    assert is_settled([6.0], 6)
    assert is_settled([3.0, 3.0], 6)
    assert not is_settled([6.0, 0.0], 6)  # the second has not joined yet
    assert not is_settled([3.0, 2.0], 6)  # a rebalance under way


def test_scale_figures__two_over_one_and_the_split() -> None:
    figures = {f.name: f for f in scale_figures(drained(2_000), drained(3_600), [500.0, 500.0])}
    ratio = figures["2 workers/1"]
    assert ratio.value == 1.8 and ratio.passed is True and ratio.note == "events split 500/500"
    assert figures["1 worker: sustained events/s"].passed is False  # the 15,000 target


def _decode(msg: InputMessage) -> InputEvent | InvalidEvent:
    try:
        return decode_input(msg.topic, msg.value)
    except InvalidEvent as exc:
        return exc


def _json(value: object) -> object:
    return orjson.loads(orjson.dumps(value))
