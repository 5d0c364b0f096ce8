"""JSON Schemas (draft 2020-12) of the six contract topics, generated from the records.

Properties follow the fields of the records in ``schemas.events`` / ``schemas.outputs``
(a field without an entry here fails the generation), required fields are the record
fields without a default, enums and patterns come from the same constants the decoder
uses. ``python -m schemas.export`` writes ``schemas/json/<topic>.schema.json``;
``--check`` exits 1 when the checked-in files differ from the code (run it in CI).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Final, get_args, get_type_hints

from schemas import decode as d
from schemas.errors import ErrorCode
from schemas.events import (
    ARRANGEMENT_TYPES,
    CALLBACK_MAX_DAYS,
    CHANNELS,
    CONTACT_RESULTS,
    ERASURES,
    MISSED_PAYMENTS,
    OUTCOMES,
    PAYMENTS,
    RESULT_CHANNELS,
    SELF_SERVICE,
    SELF_SERVICE_OUTCOMES,
    Arrangement,
    ContactResultReported,
    ErasureRequested,
    EventHeader,
    PaymentMissed,
    PaymentReceived,
    Promise,
)
from schemas.outputs import (
    CANCEL_REASONS,
    DEAD_LETTER,
    ESCALATION_REASONS,
    OUTREACH_CANCELLED,
    OUTREACH_NEEDED,
    OUTREACH_REASONS,
    RISK_ESCALATIONS,
    TIERS,
    OutreachCancelled,
    OutreachNeeded,
    RiskEscalation,
)

DIALECT: Final = "https://json-schema.org/draft/2020-12/schema"
SCHEMA_DIR: Final = Path(__file__).parent / "json"

# The contract's outcome table, in its order (``OUTCOMES`` is a set).
OUTCOMES_IN_CONTRACT_ORDER: Final = (
    "delivered",
    "no_answer",
    "busy",
    "voicemail",
    "undeliverable",
    "invalid_number",
    "wrong_party",
    "reached",
    "promise_to_pay",
    "refused",
    "dispute",
    "hardship",
    "arrangement_agreed",
    "callback_requested",
    "dispute_resolved",
    "opt_out",
    "cease_contact",
)
if frozenset(OUTCOMES_IN_CONTRACT_ORDER) != OUTCOMES:
    raise RuntimeError("OUTCOMES_IN_CONTRACT_ORDER is out of step with schemas.events.OUTCOMES")

_ID = {"type": "string", "minLength": 1, "maxLength": d.MAX_ID_CHARS}
_CURRENCY = {"type": "string", "pattern": d.CURRENCY_PATTERN, "description": "ISO 4217 code."}
_DATE = {"type": "string", "format": "date", "pattern": d.DATE_PATTERN}
_YEARS = f"years {d.EARLIEST_YEAR}-{d.LATEST_YEAR}"
_MONEY_IN = {
    "description": (
        'A decimal string (e.g. "125.50") or a JSON number; greater than 0, less than '
        f"10^{d.MONEY_MAX_INTEGER_DIGITS}, at most {d.MONEY_MAX_DECIMALS} decimals."
    ),
    "oneOf": [
        {"type": "string", "pattern": d.MONEY_TEXT_PATTERN, "maxLength": d.MONEY_MAX_TEXT_CHARS},
        {
            "type": "number",
            "exclusiveMinimum": 0,
            "exclusiveMaximum": 10**d.MONEY_MAX_INTEGER_DIGITS,
        },
    ],
}
_MONEY_OUT = {
    "type": "string",
    "pattern": r"^[0-9]+\.[0-9]{2,}$",
    "description": 'Decimal string with at least two decimals, e.g. "125.50".',
}
_INSTANT_UTC = {
    "type": "string",
    "format": "date-time",
    "pattern": r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$",
    "description": "RFC 3339, UTC, seconds precision.",
}


def _described(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {**schema, "description": description}


def _object(
    cls: type, fields: dict[str, dict[str, Any]], *, extra: Sequence[str] = ()
) -> tuple[dict[str, Any], list[str]]:
    """Properties and required names of a record's fields (plus ``extra`` leading ones)."""
    names = [*extra, *(f.name for f in dataclasses.fields(cls) if f.name != "header")]
    return {name: fields[name] for name in names}, _required_names(cls)


def _required_names(cls: type) -> list[str]:
    """Fields without a default; the nested header is flattened by the caller."""
    return [
        f.name
        for f in dataclasses.fields(cls)
        if f.name != "header"
        and f.default is dataclasses.MISSING
        and f.default_factory is dataclasses.MISSING
    ]


_PROMISE_FIELDS = {
    "amount": _described(_MONEY_IN, "The promised amount."),
    "date": _described(
        _DATE,
        f"The day the customer promises to pay by (YYYY-MM-DD, {_YEARS}); at most "
        "13 months after occurred_at.",
    ),
}
_ARRANGEMENT_FIELDS = {
    "type": {"enum": list(ARRANGEMENT_TYPES)},
    "until": _described(
        _DATE,
        f"Last day of the arrangement (YYYY-MM-DD, {_YEARS}): on or after the local date of "
        f"occurred_at and at most {d.ARRANGEMENT_MAX_MONTHS} months later.",
    ),
}


def _nested(cls: type, fields: dict[str, dict[str, Any]], description: str) -> dict[str, Any]:
    properties, required = _object(cls, fields)
    return {
        "type": "object",
        "description": description,
        "properties": properties,
        "required": required,
    }


_INPUT_FIELDS: Final[dict[str, dict[str, Any]]] = {
    "event_id": _described(
        _ID, "Unique per logical event; a repeat for the same customer has no effect."
    ),
    "customer_id": _described(_ID, "The customer; authoritative over the message key."),
    "occurred_at": {
        "type": "string",
        "format": "date-time",
        "pattern": d.INSTANT_PATTERN,
        "description": (
            "RFC 3339 timestamp with an offset, e.g. 2026-03-01T09:30:00+08:00: offset Z or "
            "+hh:mm/-hh:mm with hh 00-23 and mm 00-59, seconds 00-59 (no leap second). The "
            f"instant lies in the {_YEARS} in UTC, from 1970-01-01T00:00:00Z to before "
            f"{d.LATEST_YEAR + 1}-01-01T00:00:00Z (the pattern admits the written dates that "
            "an offset can move inside). More than 24 hours (configurable) after the "
            "processor's wall-clock time is invalid_field."
        ),
    },
    "customer_timezone": {
        "type": "string",
        "maxLength": d.ZONE_MAX_CHARS,
        "pattern": d.ZONE_PATTERN,
        "not": {"pattern": d.HOST_ONLY_ZONE_PATTERN},
        "description": (
            "IANA zone name of the time zone database shipped with the processor (the tzdata "
            "package), e.g. Asia/Shanghai; the latest one seen is the customer's zone. Names "
            "that exist only on a host (localtime, posixrules, posix/..., right/...) are "
            "invalid_field."
        ),
    },
    "schema_version": {"type": "integer", "minimum": 1, "default": 1},
    "amount": _described(_MONEY_IN, "The amount paid."),
    "currency": _CURRENCY,
    "installment_id": _described(_ID, "The installment."),
    "account_id": _described(_ID, "The account."),
    "due_date": _described(_DATE, f"The day the installment fell due (YYYY-MM-DD, {_YEARS})."),
    "amount_due": _described(_MONEY_IN, "What was left unpaid when the installment fell due."),
    "channel": _described(
        {"enum": list(RESULT_CHANNELS)},
        "Where the result comes from: an outreach channel, or self_service (the customer's "
        "own action in the 7x24 app, web or IVR; only right-party outcomes, "
        "dispute_resolved and cease_contact).",
    ),
    "outcome": {"enum": list(OUTCOMES_IN_CONTRACT_ORDER)},
    "outreach_id": _described(_ID, "The outreach this result answers."),
    "callback_at": {
        "type": "string",
        "format": "date-time",
        "pattern": d.INSTANT_PATTERN,
        "description": (
            "With callback_requested: when the customer wants the call (RFC 3339, as "
            f"occurred_at), from occurred_at to {CALLBACK_MAX_DAYS} days after it."
        ),
    },
    "promise": _nested(Promise, _PROMISE_FIELDS, "Required for promise_to_pay."),
    "arrangement": _nested(Arrangement, _ARRANGEMENT_FIELDS, "Required for arrangement_agreed."),
}

_INPUTS: Final = (
    (
        PAYMENTS,
        PaymentReceived,
        "A payment received. Without installment_id it pays the oldest unpaid installment "
        "first; what is left pays the next, then becomes credit.",
    ),
    (
        MISSED_PAYMENTS,
        PaymentMissed,
        "An installment fell due and was not fully paid. The same installment_id twice is one "
        "installment.",
    ),
    (
        CONTACT_RESULTS,
        ContactResultReported,
        "The outcome of one contact attempt, reported by a dialer or a channel, or an action "
        "the customer took on their own at any hour (channel self_service).",
    ),
    (
        ERASURES,
        ErasureRequested,
        "Erase the customer's personal data (PIPL art. 47, GDPR art. 17), sent once the "
        "lender may: pending outreach is cancelled (erasure), the state is deleted from the "
        "table and its changelog (a tombstone), nothing else is emitted for the customer. A "
        "later event with the same customer_id starts a new customer.",
    ),
)


def _input_schema(topic: str, cls: type, description: str) -> dict[str, Any]:
    header = [f.name for f in dataclasses.fields(EventHeader)]
    properties, required = _object(cls, _INPUT_FIELDS, extra=header)
    schema: dict[str, Any] = {
        "$schema": DIALECT,
        "title": topic,
        "description": description + " Unknown fields are ignored.",
        "type": "object",
        "properties": properties,
        "required": [*_required_names(EventHeader), *required],
    }
    if cls is ContactResultReported:
        schema["allOf"] = [
            {
                "if": {"properties": {"outcome": {"const": outcome}}, "required": ["outcome"]},
                "then": {"required": [field]},
            }
            for outcome, field in (
                ("promise_to_pay", "promise"),
                ("arrangement_agreed", "arrangement"),
            )
        ] + [
            {
                "if": {
                    "properties": {"channel": {"const": SELF_SERVICE}},
                    "required": ["channel"],
                },
                "then": {
                    "properties": {
                        "outcome": {
                            "enum": [
                                o for o in OUTCOMES_IN_CONTRACT_ORDER if o in SELF_SERVICE_OUTCOMES
                            ]
                        }
                    }
                },
            }
        ]
    return schema


_OUTPUT_FIELDS: Final[dict[str, dict[str, Any]]] = {
    "escalation_id": _described(
        {"type": "string", "format": "uuid"}, "Deterministic: same input history, same id."
    ),
    "outreach_id": _described(
        {"type": "string", "format": "uuid"},
        "Deterministic: the same trigger gives the same id, so consumers can drop duplicates.",
    ),
    "customer_id": _ID,
    "from_tier": {"enum": list(TIERS)},
    "to_tier": {"enum": list(TIERS)},
    "tier": {"enum": list(TIERS)},
    "direction": {"enum": list(get_args(get_type_hints(RiskEscalation)["direction"]))},
    "reasons": {
        "type": "array",
        "items": {"enum": list(ESCALATION_REASONS)},
        "minItems": 1,
        "uniqueItems": True,
    },
    "channel": {"enum": list(CHANNELS)},
    "priority": _described({"type": "integer", "minimum": 1, "maximum": 5}, "1 most urgent .. 5."),
    "reason": {"enum": list(OUTREACH_REASONS)},
    "not_before": _described(
        _INSTANT_UTC, "Earliest contact time; already respects quiet hours and caps."
    ),
    "expires_at": _described(_INSTANT_UTC, "not_before + 24 hours."),
    "days_past_due": _described(
        {"type": "integer", "minimum": 0}, "Days past due as of the decision."
    ),
    "overdue_amount": _described(_MONEY_OUT, "Overdue amount as of the decision."),
    "currency": _CURRENCY,
    "caused_by": _described(
        {"type": "string", "minLength": 1},
        "The event_id that triggered it, or the clock tick's id.",
    ),
    "decided_at": _described(_INSTANT_UTC, "The processor's clock at the decision."),
    "policy_arm": _described(
        {"type": "string", "minLength": 1},
        "The customer's arm of the policy experiment, present when one runs.",
    ),
}

_CANCELLED_FIELDS: Final[dict[str, dict[str, Any]]] = {
    "outreach_id": _described(
        {"type": "string", "format": "uuid"}, "The outreach-needed message to drop."
    ),
    "reason": _described(
        {"enum": list(CANCEL_REASONS)},
        "Why its reason is gone: cured, promise, arrangement, dispute (collection outreach), "
        "hardship (sms and voice_bot), opt_out (that channel), cease_contact or erasure (all).",
    ),
    "caused_by": _described(
        {"type": "string", "minLength": 1}, "The event_id that removed the outreach's reason."
    ),
}

_OUTPUTS: Final[tuple[tuple[str, type, str, dict[str, dict[str, Any]]], ...]] = (
    (RISK_ESCALATIONS, RiskEscalation, "Emitted on every change of a customer's risk tier.", {}),
    (
        OUTREACH_NEEDED,
        OutreachNeeded,
        "One unit of work for a dialer or a messaging channel.",
        {},
    ),
    (
        OUTREACH_CANCELLED,
        OutreachCancelled,
        "A pending outreach a dialer should drop because its reason is gone (emitted while "
        "the processor's clock is before its expires_at and no result answered it).",
        _CANCELLED_FIELDS,
    ),
)


def _output_schema(
    topic: str, cls: type, description: str, overrides: dict[str, dict[str, Any]]
) -> dict[str, Any]:
    properties, required = _object(cls, {**_OUTPUT_FIELDS, **overrides})
    return {
        "$schema": DIALECT,
        "title": topic,
        "description": description,
        "type": "object",
        "properties": properties,
        "required": required,
    }


def _dead_letter_schema() -> dict[str, Any]:
    base64_flag = {"const": "base64", "description": "Present when the value is base64."}
    return {
        "$schema": DIALECT,
        "title": DEAD_LETTER,
        "description": "Every input that cannot be processed, with nothing lost.",
        "type": "object",
        "properties": {
            "source_topic": {"type": "string"},
            "partition": {"type": "integer", "minimum": 0},
            "offset": {"type": "integer", "minimum": 0},
            "key": {
                "type": ["string", "null"],
                "description": "The message key: text when UTF-8, else base64 (key_encoding).",
            },
            "key_encoding": base64_flag,
            "raw": {
                "type": "string",
                "description": "The original bytes: text when UTF-8, else base64 (raw_encoding).",
            },
            "raw_encoding": base64_flag,
            "error": {
                "type": "object",
                "properties": {
                    "code": {"enum": list(get_args(ErrorCode))},
                    "message": {"type": "string"},
                    "field": {
                        "type": ["string", "null"],
                        "description": "Dotted path of the field at fault, e.g. promise.amount.",
                    },
                },
                "required": ["code", "message", "field"],
            },
        },
        "required": ["source_topic", "partition", "offset", "key", "raw", "error"],
    }


def build_schemas() -> dict[str, dict[str, Any]]:
    """Every topic's schema, keyed by the contract's topic name."""
    schemas = {topic: _input_schema(topic, cls, text) for topic, cls, text in _INPUTS}
    schemas.update(
        {topic: _output_schema(topic, cls, text, over) for topic, cls, text, over in _OUTPUTS}
    )
    schemas[DEAD_LETTER] = _dead_letter_schema()
    return schemas


def render(schema: dict[str, Any]) -> str:
    """The checked-in text of a schema: stable, two-space indented, newline-terminated."""
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"


def schema_path(topic: str, directory: Path = SCHEMA_DIR) -> Path:
    return directory / f"{topic}.schema.json"


def stale_files(directory: Path = SCHEMA_DIR) -> list[str]:
    """Names of files that differ from the code, are missing, or belong to no topic."""
    expected = {schema_path(t, directory).name: render(s) for t, s in build_schemas().items()}
    stale = [
        name
        for name, text in expected.items()
        if not (directory / name).is_file() or (directory / name).read_text("utf-8") != text
    ]
    stale += [p.name for p in directory.glob("*.json") if p.name not in expected]
    return sorted(stale)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m schemas.export", description=__doc__)
    parser.add_argument("--check", action="store_true", help="fail if the files are stale")
    parser.add_argument("--dir", type=Path, default=SCHEMA_DIR, help="output directory")
    args = parser.parse_args(argv)
    if args.check:
        stale = stale_files(args.dir)
        for name in stale:
            print(f"stale: {args.dir / name} (run python -m schemas.export)", file=sys.stderr)
        return 1 if stale else 0
    args.dir.mkdir(parents=True, exist_ok=True)
    for topic, schema in build_schemas().items():
        schema_path(topic, args.dir).write_text(render(schema), "utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
