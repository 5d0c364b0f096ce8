"""The dead-letter topic's size limit: the rule, the message naming the fix, and why 8 MiB.

The largest dead letter the worker may write is the largest record its producer sends
(``DEAD_LETTER_MAX_BYTES``); the dead-letter topic must take that much.
"""

from __future__ import annotations

import base64
import logging
from typing import Any

import orjson
import pytest
from aiokafka.errors import KafkaConnectionError, RequestTimedOutError
from aiokafka.record.default_records import DefaultRecordBatchBuilder

from schemas.encode import encode_dead_letter
from schemas.errors import InvalidEvent
from streams import topics
from streams.app import create_app
from streams.settings import Settings
from streams.topics import (
    DEAD_LETTER_MAX_BYTES,
    MAX_MESSAGE_BYTES,
    TopicConfigError,
    dead_letter_fix,
    dead_letter_topic_problem,
    topic_max_message_bytes,
)
from streams.worker import EXIT_CONFIG, check_topics

BROKER_DEFAULT_MAX_MESSAGE_BYTES = 1048588  # Kafka's message.max.bytes when nobody sets it
TOPIC = "acme.dead-letter"
BROKERS = "k1:9092,k2:9092"
FIX = (
    "kafka-configs.sh --bootstrap-server k1:9092,k2:9092 --alter --entity-type topics "
    "--entity-name acme.dead-letter --add-config max.message.bytes=8388608"
)


def test_rule__the_largest_dead_letter_is_8_mib() -> None:
    assert DEAD_LETTER_MAX_BYTES == 8 * 1024 * 1024 == 8388608


@pytest.mark.parametrize(
    "found", [DEAD_LETTER_MAX_BYTES, DEAD_LETTER_MAX_BYTES + 1, 100 * 1024 * 1024]
)
def test_rule__a_topic_that_takes_the_largest_dead_letter__accepted(found: int) -> None:
    assert dead_letter_topic_problem(TOPIC, found, BROKERS) is None


@pytest.mark.parametrize("found", [DEAD_LETTER_MAX_BYTES - 1, BROKER_DEFAULT_MAX_MESSAGE_BYTES, 1])
def test_rule__a_smaller_topic__refused_naming_topic_value_found_value_needed_and_fix(
    found: int,
) -> None:
    problem = dead_letter_topic_problem(TOPIC, found, BROKERS)
    assert problem is not None
    assert problem.startswith(f"dead-letter topic {TOPIC} has max.message.bytes={found};")
    assert f"needs at least {DEAD_LETTER_MAX_BYTES}" in problem
    assert problem.endswith(f"Fix: {FIX}")
    assert dead_letter_fix(TOPIC, BROKERS) == FIX


def test_the_largest_dead_letter_is_the_producers_largest_record_and_the_declared_limit() -> None:
    app = create_app(Settings(bootstrap_servers="127.0.0.1:1", store="memory://"))
    assert app.conf.producer_max_request_size == DEAD_LETTER_MAX_BYTES
    dead_letter = app.repayment.topics.dead_letter  # type: ignore[attr-defined]
    assert dead_letter.config == {MAX_MESSAGE_BYTES: str(DEAD_LETTER_MAX_BYTES)}


def test_a_dead_letter_is_at_most_6_times_its_input() -> None:
    """JSON-escaped text: a control character becomes ``\\u00XX``; other bytes at most 2."""
    escaped = {
        b: len(orjson.dumps(bytes([b]).decode())) - 2 for b in range(128)
    }  # every multi-byte UTF-8 character is written as it is
    assert max(escaped.values()) == 6
    assert escaped[0x01] == 6 and escaped[ord('"')] == 2 and escaped[ord("a")] == 1
    assert len(base64.b64encode(b"\xff" * 3000)) == 4000


def worst_dead_letter(key: bytes, raw: bytes) -> int:
    """The record the worker sends for ``raw``: key and value, as aiokafka bounds its batch."""
    error = InvalidEvent("too_large", f"value is {len(raw)} bytes, the limit is 65536")
    letter = encode_dead_letter("acme.missed-payments", 2**31 - 1, 2**63 - 1, key, raw, error)
    return DefaultRecordBatchBuilder.estimate_size_in_bytes(key, letter, [])


@pytest.mark.parametrize("filler", [b"\x01", b"\xff"], ids=["escaped", "base64"])
@pytest.mark.parametrize(
    "input_bytes", [BROKER_DEFAULT_MAX_MESSAGE_BYTES, int(1.3 * 1024 * 1024)], ids=["1MB", "1.3MiB"]
)
def test_the_dead_letter_of_an_uncompressed_input_up_to_1_3_mib_fits(
    filler: bytes, input_bytes: int
) -> None:
    key = filler * 1000
    assert worst_dead_letter(key, filler * (input_bytes - len(key))) <= DEAD_LETTER_MAX_BYTES


def test_an_input_over_1_4_mib_of_control_characters_may_not_fit() -> None:
    """Beyond that, the producer refuses the dead letter and the worker stops: never lost."""
    raw = b"\x01" * int(1.4 * 1024 * 1024)
    assert worst_dead_letter(b"k", raw) > DEAD_LETTER_MAX_BYTES


def resource(error_code: int, entries: list[tuple[Any, ...]]) -> tuple[Any, ...]:
    """One resource of a DescribeConfigs v1+ answer."""
    return (error_code, "", 2, TOPIC, entries)


def test_describe_configs__the_topics_value() -> None:
    entries = [(MAX_MESSAGE_BYTES, "1048588", False, 5, False, [])]
    assert topic_max_message_bytes(resource(0, entries)) == 1048588


def test_describe_configs__no_such_topic__none() -> None:
    assert topic_max_message_bytes(resource(3, [])) is None


def test_describe_configs__not_authorized__a_config_error_naming_the_acl() -> None:
    with pytest.raises(TopicConfigError, match=f"topic {TOPIC}: not authorized.*DescribeConfigs"):
        topic_max_message_bytes(resource(29, []))


def test_describe_configs__other_broker_error__a_kafka_error() -> None:
    with pytest.raises(RequestTimedOutError, match=TOPIC):
        topic_max_message_bytes(resource(7, []))


def test_describe_configs__value_missing__a_config_error() -> None:
    with pytest.raises(TopicConfigError, match="did not report max.message.bytes"):
        topic_max_message_bytes(resource(0, []))


def test_check_topics__too_small__exit_78_with_one_critical_record(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def too_small(settings: Settings) -> int | None:
        raise TopicConfigError("too small", max_message_bytes=1, needed=DEAD_LETTER_MAX_BYTES)

    monkeypatch.setattr(topics, "check_dead_letter_topic", too_small)
    with caplog.at_level(logging.INFO, logger="repayment.worker"):
        assert check_topics(Settings(topic_namespace="acme")) == EXIT_CONFIG == 78
    (record,) = caplog.records
    assert (record.levelname, record.getMessage()) == ("CRITICAL", "too small")
    assert record.repayment_fields == {  # type: ignore[attr-defined]
        "event": "config_error",
        "topic": TOPIC,
        "max_message_bytes": 1,
        "needed": DEAD_LETTER_MAX_BYTES,
    }


def test_check_topics__brokers_do_not_answer__exit_1(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def unreachable(settings: Settings) -> int | None:
        raise KafkaConnectionError("Unable to bootstrap")

    monkeypatch.setattr(topics, "check_dead_letter_topic", unreachable)
    assert check_topics(Settings()) == 1


@pytest.mark.parametrize("found", [None, DEAD_LETTER_MAX_BYTES])
def test_check_topics__absent_or_large_enough__starts(
    monkeypatch: pytest.MonkeyPatch, found: int | None
) -> None:
    monkeypatch.setattr(topics, "check_dead_letter_topic", lambda settings: found)
    assert check_topics(Settings()) is None
