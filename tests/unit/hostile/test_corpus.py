"""The live run's corpus and oracle (``corpus.py``), without a broker: deterministic, at
least 10,000 hostile messages, and all of it through replay's code with no exception, each
message ending as its family expects, in bounded time per message."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

import pytest

from tests.unit.hostile.contract import CONTRACT_FIELDS, CORE_CODES, TIME_BOUND_SECONDS
from tests.unit.hostile.corpus import HOSTILE, Message, Oracle, build, oracle, steady_slowest
from tests.unit.hostile.families import CORPUS_FAMILIES
from tests.unit.hostile.mutations import Rejected, Same
from tests.unit.hostile.strategies import LEAD


@pytest.fixture(scope="module")
def corpus() -> list[Message]:
    return build()


@pytest.fixture(scope="module")
def replayed(corpus: list[Message]) -> Oracle:
    return oracle(corpus, not_after=datetime.now(UTC) + LEAD)


def test_corpus__same_seed_same_bytes_and_every_family(corpus: list[Message]) -> None:
    assert build(300) == build(300)
    assert build(300, seed=1) != build(300)
    families = Counter(m.family for m in corpus)
    assert len(corpus) - families["valid"] >= HOSTILE >= 10_000
    assert set(families) == {"valid", *CORPUS_FAMILIES}
    assert {m.topic for m in corpus} == {
        "repayments.payments",
        "repayments.missed-payments",
        "repayments.contact-results",
    }


def test_corpus_through_replay__no_exception_and_each_message_ends_as_expected(
    corpus: list[Message], replayed: Oracle
) -> None:
    crashes = Counter(f"{corpus[i].family}: {corpus[i].note}: {exc}" for i, exc in replayed.crashes)
    wrong: Counter[str] = Counter()
    for message, expected in zip(corpus, replayed.expected, strict=True):
        got = (expected.code, expected.field)
        if expected.code is not None and (
            expected.code not in CORE_CODES
            or expected.field not in (None, *CONTRACT_FIELDS)
            or message.family == "valid"
            or isinstance(message.expect, Same)
        ):
            wrong[f"{message.family}: {message.note}: {got}"] += 1
        if isinstance(message.expect, Rejected) and got not in message.expect.errors:
            wrong[f"{message.family}: {message.note}: {got}, not {message.expect!r}"] += 1
    assert not crashes, "\n".join(f"{n} x {c}" for c, n in crashes.most_common())
    assert not wrong, "\n".join(f"{n} x {w}" for w, n in wrong.most_common())


def test_corpus_through_replay__bounded_time_per_message(
    corpus: list[Message], replayed: Oracle
) -> None:
    seconds, index = steady_slowest(corpus, replayed, not_after=datetime.now(UTC) + LEAD)
    assert seconds <= TIME_BOUND_SECONDS, (seconds, corpus[index])
