"""The benchmark portfolio: deterministic by seed, contract-shaped, keyed and in time order."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import orjson
import pytest

from bench.portfolio import InputMessage, PortfolioSpec, generate, write_replay
from schemas.decode import decode_input
from schemas.events import (
    CONTACT_RESULTS,
    FAILED_OUTCOMES,
    INPUT_TOPICS,
    MISSED_PAYMENTS,
    PAYMENTS,
    ContactResultReported,
)

SPEC = PortfolioSpec(customers=1_500, months=12, seed=11)


@pytest.fixture(scope="module")
def messages() -> list[InputMessage]:
    return list(generate(SPEC))


def test_same_seed__gives_identical_bytes(messages: list[InputMessage]) -> None:
    assert list(generate(SPEC)) == messages


def test_other_seed__gives_another_portfolio(messages: list[InputMessage]) -> None:
    other = list(generate(PortfolioSpec(customers=1_500, months=12, seed=12)))
    assert [m.value for m in other[:1_000]] != [m.value for m in messages[:1_000]]


def test_every_event__decodes_and_is_keyed_by_its_customer_id(
    messages: list[InputMessage],
) -> None:
    for msg in messages:
        assert msg.topic in INPUT_TOPICS
        event = decode_input(msg.topic, msg.value)
        assert msg.key == event.header.customer_id.encode()
        assert int(event.header.occurred_at.timestamp()) == msg.occurred_at


def test_events__come_in_occurred_at_order_with_unique_ids(messages: list[InputMessage]) -> None:
    times = [m.occurred_at for m in messages]
    assert times == sorted(times)
    ids = [orjson.loads(m.value)["event_id"] for m in messages]
    assert len(set(ids)) == len(ids)


def test_portfolio__mostly_pays_on_time_and_about_15_percent_miss(
    messages: list[InputMessage],
) -> None:
    topics = Counter(m.topic for m in messages)
    missers = {m.key for m in messages if m.topic == MISSED_PAYMENTS}
    assert topics[PAYMENTS] > 0.7 * len(messages)
    assert 0.10 < len(missers) / SPEC.customers < 0.22
    paid_instalments = sum(
        1 for m in messages if m.topic == PAYMENTS and b'"installment_id"' in m.value
    )
    assert paid_instalments > 0.9 * topics[PAYMENTS]


def test_contact_results__cover_failures_promises_and_refusals(
    messages: list[InputMessage],
) -> None:
    outcomes = Counter()
    for m in messages:
        if m.topic == CONTACT_RESULTS:
            event = decode_input(m.topic, m.value)
            assert isinstance(event, ContactResultReported)
            outcomes[event.outcome] += 1
    assert sum(outcomes[o] for o in FAILED_OUTCOMES) > outcomes["promise_to_pay"] > 0
    for rare in ("opt_out", "hardship", "dispute", "dispute_resolved", "arrangement_agreed"):
        assert outcomes[rare] > 0, rare


def test_write_replay__writes_one_contract_line_per_event(
    messages: list[InputMessage], tmp_path: Path
) -> None:
    path = tmp_path / "portfolio.jsonl"
    assert write_replay(messages[:500], path) == 500
    lines = [orjson.loads(line) for line in path.read_bytes().splitlines()]
    assert [(d["topic"], d["key"].encode(), orjson.dumps(d["value"])) for d in lines] == [
        (m.topic, m.key, orjson.dumps(orjson.loads(m.value))) for m in messages[:500]
    ]
