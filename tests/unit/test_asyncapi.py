"""The AsyncAPI document: what the code generates, every topic the worker declares, payloads
equal to the JSON Schemas, examples that are valid messages, accepted by @asyncapi/cli."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import orjson
import pytest
from jsonschema import Draft202012Validator

from schemas.asyncapi import CLOCK_TICKS, NAMESPACE, camel, suffix
from schemas.decode import decode_input
from schemas.events import INPUT_TOPICS
from schemas.export import SCHEMA_DIR, schema_path
from streams.app import create_app
from streams.contract import DOCUMENT, document_text, main
from streams.settings import Settings
from streams.shell import parse_tick
from streams.topics import CONTRACT_NAMESPACE
from tests.unit.tools import run, tool

DOC: dict[str, Any] = json.loads(DOCUMENT.read_text("utf-8"))
MESSAGES: dict[str, Any] = DOC["components"]["messages"]
CONTRACT_TOPICS = sorted(p.name.removesuffix(".schema.json") for p in SCHEMA_DIR.glob("*.json"))


def message_of(topic: str) -> dict[str, Any]:
    channel = DOC["channels"][suffix(topic)]
    (ref,) = [m["$ref"] for m in channel["messages"].values()]
    found: dict[str, Any] = MESSAGES[ref.rsplit("/", 1)[-1]]
    return found


def test_checked_in_document__is_what_the_code_generates(tmp_path: Path) -> None:
    assert DOCUMENT.read_text("utf-8") == document_text(), "run python -m streams.contract"
    stale = tmp_path / "asyncapi.json"
    stale.write_text("{}\n")
    assert main(["--check", "--out", str(stale)]) == 1
    assert main(["--out", str(stale)]) == 0 and main(["--check", "--out", str(stale)]) == 0


def test_channels__are_every_topic_the_worker_declares_in_any_namespace() -> None:
    settings = Settings(topic_namespace="acme", store="memory://")
    shell = create_app(settings).repayment  # type: ignore[attr-defined]
    declared = {name for topic in shell.topics.all for name in topic.topics}
    parameter = DOC["components"]["parameters"]["namespace"]
    assert parameter["default"] == NAMESPACE == CONTRACT_NAMESPACE
    addresses = {c["address"].replace("{namespace}", "acme") for c in DOC["channels"].values()}
    assert addresses == declared


def test_channels__cover_every_json_schema_and_the_clock() -> None:
    assert sorted(c["title"] for c in DOC["channels"].values()) == sorted(
        [*CONTRACT_TOPICS, CLOCK_TICKS]
    )


@pytest.mark.parametrize("topic", CONTRACT_TOPICS)
def test_payload__is_the_topics_json_schema(topic: str) -> None:
    schema = json.loads(schema_path(topic).read_text("utf-8"))
    ref = message_of(topic)["payload"]["$ref"]
    payload = DOC["components"]["schemas"][ref.rsplit("/", 1)[-1]]
    assert payload == {k: v for k, v in schema.items() if k != "$schema"}


def test_operations__receive_the_inputs_and_ticks_and_send_the_rest() -> None:
    actions = {
        (op["action"], op["channel"]["$ref"].rsplit("/", 1)[-1])
        for op in DOC["operations"].values()
    }
    inputs = {suffix(t) for t in INPUT_TOPICS}
    outputs = {suffix(t) for t in CONTRACT_TOPICS} - inputs
    ticks = suffix(CLOCK_TICKS)
    assert actions == {
        *(("receive", s) for s in inputs),
        *(("send", s) for s in outputs),
        ("send", ticks),
        ("receive", ticks),
    }
    for op in DOC["operations"].values():
        channel = op["channel"]["$ref"].rsplit("/", 1)[-1]
        assert [m["$ref"] for m in op["messages"]] == [
            f"#/channels/{channel}/messages/{camel(channel)}"
        ]


@pytest.mark.parametrize("topic", CONTRACT_TOPICS)
def test_examples__are_valid_messages_of_their_topic(topic: str) -> None:
    examples = message_of(topic).get("examples", [])
    assert examples, f"examples/sample_history.jsonl and its replay give no {topic} message"
    schema = json.loads(schema_path(topic).read_text("utf-8"))
    validator = Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)
    for example in examples:
        assert [e.message for e in validator.iter_errors(example["payload"])] == []
        if topic in INPUT_TOPICS:
            decode_input(topic, orjson.dumps(example["payload"]))


def test_examples__the_tick_is_one_the_worker_reads() -> None:
    (example,) = message_of(CLOCK_TICKS)["examples"]
    parse_tick(orjson.dumps(example["payload"]))


def test_examples__come_from_the_sample_history() -> None:
    sample = (Path(DOCUMENT).parents[1] / "examples" / "sample_history.jsonl").read_text()
    values = [json.loads(line)["value"] for line in sample.splitlines()]
    for topic in INPUT_TOPICS:
        for example in message_of(topic).get("examples", []):
            assert example["payload"] in values


def asyncapi_validate(path: Path) -> tuple[int, str]:
    done = run(tool("asyncapi"), "validate", str(path), "--fail-severity", "warn")
    return done.returncode, done.stdout + done.stderr


def test_asyncapi_cli__validates_the_document_without_a_warning() -> None:
    code, output = asyncapi_validate(DOCUMENT)
    assert code == 0, output
    assert "0 errors, 0 warnings" in output, output


def test_asyncapi_cli__rejects_an_operation_naming_a_message_its_channel_lacks(
    tmp_path: Path,
) -> None:
    broken = json.loads(DOCUMENT.read_text("utf-8"))
    broken["operations"]["receivePayments"]["messages"] = [
        {"$ref": "#/channels/payments/messages/noSuchMessage"}
    ]
    path = tmp_path / "asyncapi.json"
    path.write_text(json.dumps(broken))
    code, output = asyncapi_validate(path)
    assert code != 0 and "noSuchMessage" in output, output
