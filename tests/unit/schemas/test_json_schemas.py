"""The checked-in JSON Schemas are what the code generates, and they agree with the
decoder and the encoders on required fields, enums and shapes."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import orjson
import pytest

from schemas.decode import decode_input
from schemas.encode import dead_letter, decision_to_dict
from schemas.errors import InvalidEvent
from schemas.events import CONTACT_RESULTS, INPUT_TOPICS, OUTCOMES, SELF_SERVICE_OUTCOMES
from schemas.export import SCHEMA_DIR, build_schemas, main, render, schema_path, stale_files
from schemas.outputs import (
    DEAD_LETTER,
    OUTPUT_TOPICS,
    OUTREACH_CANCELLED,
    OUTREACH_NEEDED,
    RISK_ESCALATIONS,
    OutreachCancelled,
)
from tests.unit.schemas.cases import INVALID_FIELDS, BadField
from tests.unit.schemas.fixtures import DOC_FACTORIES, schema_errors, without
from tests.unit.schemas.test_encode import escalation, outreach

SCHEMAS = build_schemas()


def test_checked_in_files__equal_what_the_code_generates() -> None:
    assert stale_files() == []
    for topic, schema in SCHEMAS.items():
        assert schema_path(topic).read_text("utf-8") == render(schema)


def test_there_is_one_schema_per_contract_topic() -> None:
    assert set(SCHEMAS) == {*INPUT_TOPICS, *OUTPUT_TOPICS}
    assert sorted(p.name for p in SCHEMA_DIR.glob("*.json")) == sorted(
        f"{t}.schema.json" for t in SCHEMAS
    )


def test_export_check__fails_on_a_stale_file_and_write_fixes_it(tmp_path: Path) -> None:
    assert main(["--dir", str(tmp_path)]) == 0
    assert main(["--check", "--dir", str(tmp_path)]) == 0
    schema_path(DEAD_LETTER, tmp_path).write_text("{}\n", "utf-8")
    (tmp_path / "old.schema.json").write_text("{}\n", "utf-8")
    assert main(["--check", "--dir", str(tmp_path)]) == 1
    assert stale_files(tmp_path) == ["old.schema.json", f"{DEAD_LETTER}.schema.json"]


def _rejects(topic: str, doc: dict[str, Any]) -> InvalidEvent | None:
    try:
        decode_input(topic, orjson.dumps(doc))
    except InvalidEvent as error:
        return error
    return None


def _required_by_decoder(topic: str, doc: dict[str, Any], prefix: str = "") -> list[str]:
    """Top-level (or nested under ``prefix``) fields whose absence is ``missing_field``."""
    target = doc[prefix] if prefix else doc
    required = []
    for name in target:
        path = f"{prefix}.{name}" if prefix else name
        error = _rejects(topic, without(doc, path))
        if error is not None and (error.code, error.field) == ("missing_field", path):
            required.append(name)
    return required


def _every_field_doc(topic: str) -> dict[str, Any]:
    """A good document carrying every field the schema knows (the outcome needs none)."""
    doc = DOC_FACTORIES[topic](customer_timezone="Asia/Shanghai", schema_version=1)
    if topic == CONTACT_RESULTS:
        doc["outcome"] = "reached"
        doc["callback_at"] = "2026-03-04T15:00:00+08:00"  # read with callback_requested
    return doc


@pytest.mark.parametrize("topic", INPUT_TOPICS)
def test_required_fields__are_the_same_for_decoder_and_schema(topic: str) -> None:
    doc = _every_field_doc(topic)
    assert set(doc) == set(SCHEMAS[topic]["properties"])
    assert sorted(_required_by_decoder(topic, doc)) == sorted(SCHEMAS[topic]["required"])


@pytest.mark.parametrize(
    ("outcome", "field"), [("promise_to_pay", "promise"), ("arrangement_agreed", "arrangement")]
)
def test_conditionally_required_object__is_the_same_for_decoder_and_schema(
    outcome: str, field: str
) -> None:
    schema = SCHEMAS[CONTACT_RESULTS]
    doc = DOC_FACTORIES[CONTACT_RESULTS](outcome=outcome)
    assert field in _required_by_decoder(CONTACT_RESULTS, doc)
    conditions = {
        rule["if"]["properties"]["outcome"]["const"]: rule["then"]["required"]
        for rule in schema["allOf"]
        if "outcome" in rule["if"]["properties"]
    }
    assert conditions[outcome] == [field]
    assert schema_errors(without(doc, field), schema) != []
    nested = schema["properties"][field]
    assert set(doc[field]) == set(nested["properties"])
    assert sorted(_required_by_decoder(CONTACT_RESULTS, doc, field)) == sorted(nested["required"])


def _enum_fields() -> list[tuple[str, str, list[str]]]:
    found = []
    for topic in INPUT_TOPICS:
        for name, prop in SCHEMAS[topic]["properties"].items():
            if "enum" in prop:
                found.append((topic, name, prop["enum"]))
            for sub, sub_prop in prop.get("properties", {}).items():
                if "enum" in sub_prop:
                    found.append((topic, f"{name}.{sub}", sub_prop["enum"]))
    return found


ENUM_FIELDS = _enum_fields()


def test_enum_fields__are_the_contract_enums() -> None:
    assert [(t, path) for t, path, _ in ENUM_FIELDS] == [
        (CONTACT_RESULTS, "channel"),
        (CONTACT_RESULTS, "outcome"),
        (CONTACT_RESULTS, "arrangement.type"),
    ]


@pytest.mark.parametrize(("topic", "path", "values"), ENUM_FIELDS, ids=lambda x: str(x)[:20])
def test_decoder_accepts_exactly_the_schema_enum(topic: str, path: str, values: list[str]) -> None:
    base = DOC_FACTORIES[topic]()
    if path.startswith("arrangement"):
        base["outcome"] = "arrangement_agreed"
    other_enums = {v for _, _, vs in ENUM_FIELDS for v in vs}
    candidates = sorted(other_enums | {"", "unknown", "Sms", "DEFERRAL"})
    accepted = [
        value
        for value in candidates
        if _rejects(topic, BadField(topic, path, value, True, base.get("outcome", "")).doc())
        is None
    ]
    assert accepted == sorted(values)


@pytest.mark.parametrize("topic", INPUT_TOPICS)
def test_good_input__validates_against_its_schema(topic: str) -> None:
    assert schema_errors(DOC_FACTORIES[topic](), SCHEMAS[topic]) == []
    assert schema_errors(_every_field_doc(topic), SCHEMAS[topic]) == []


@pytest.mark.parametrize("case", [c for c in INVALID_FIELDS if c.schema_tells], ids=str)
def test_field_the_decoder_rejects_by_shape__the_schema_rejects_too(case: BadField) -> None:
    assert schema_errors(case.doc(), SCHEMAS[case.topic]) != []


@pytest.mark.parametrize("case", [c for c in INVALID_FIELDS if not c.schema_tells], ids=str)
def test_field_rejected_for_meaning_only__is_shaped_as_the_schema_says(case: BadField) -> None:
    """Guards the ``schema_tells`` flags: these pass the schema; only the decoder knows."""
    assert schema_errors(case.doc(), SCHEMAS[case.topic]) == []


def test_encoded_decisions__validate_against_their_schemas() -> None:
    cancel = OutreachCancelled("o-1", "cust-1", "sms", "cured", "evt-1", outreach().decided_at)
    for decision, topic in (
        (escalation(), RISK_ESCALATIONS),
        (outreach(), OUTREACH_NEEDED),
        (cancel, OUTREACH_CANCELLED),
    ):
        encoded = decision_to_dict(decision)
        assert schema_errors(encoded, SCHEMAS[topic]) == []
        assert list(encoded) == list(SCHEMAS[topic]["properties"])[:-1]  # no experiment runs
        assert sorted(encoded) == sorted(SCHEMAS[topic]["required"])
        with_arm = decision_to_dict(replace(decision, policy_arm="challenger"))
        assert schema_errors(with_arm, SCHEMAS[topic]) == []
        assert list(with_arm) == list(SCHEMAS[topic]["properties"])


@pytest.mark.parametrize(("key", "raw"), [(b"k", b"{}"), (None, b"\xff"), (b"\xfe", b"[]")])
def test_dead_letters__validate_against_their_schema(key: bytes | None, raw: bytes) -> None:
    record = dead_letter(INPUT_TOPICS[0], 0, 1, key, raw, InvalidEvent("invalid_json", "bad"))
    assert schema_errors(record, SCHEMAS[DEAD_LETTER]) == []
    assert set(record) <= set(SCHEMAS[DEAD_LETTER]["properties"])


def test_self_service_outcomes__the_schema_refuses_what_the_decoder_refuses() -> None:
    schema = SCHEMAS[CONTACT_RESULTS]
    for outcome in sorted(OUTCOMES):
        doc = DOC_FACTORIES[CONTACT_RESULTS](channel="self_service", outcome=outcome)
        decoder_refuses = _rejects(CONTACT_RESULTS, doc) is not None
        assert (schema_errors(doc, schema) != []) == decoder_refuses, outcome
        assert decoder_refuses == (outcome not in SELF_SERVICE_OUTCOMES), outcome
