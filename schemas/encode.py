"""JSON encoding of outputs, dead letters and (for generators and tests) input events.

Field names are the contract's, exactly. Money leaves as a decimal string with at least
two decimals (``"125.50"``); instants leave as RFC 3339 UTC with ``Z`` at seconds
precision (``"2026-03-01T01:30:00Z"``), which is also the shape of a clock tick's id.
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Final, cast

import orjson

from schemas.errors import InvalidEvent
from schemas.events import (
    CONTACT_RESULTS,
    ERASURES,
    MISSED_PAYMENTS,
    PAYMENTS,
    ContactResultReported,
    ErasureRequested,
    EventHeader,
    InputEvent,
    PaymentMissed,
    PaymentReceived,
)
from schemas.outputs import Decision, OutreachCancelled, RiskEscalation

_CENT: Final = Decimal("0.01")


def format_money(amount: Decimal) -> str:
    """``amount`` as a plain decimal string with at least two decimals.

    More decimals are kept when they carry value (``"0.125"``); trailing zeros beyond the
    second are dropped, so the same amount always prints the same way.
    """
    if not amount.is_finite():
        raise ValueError(f"money must be finite, got {amount}")
    if amount.is_zero():
        return "0.00"
    trimmed = amount.normalize()
    if cast(int, trimmed.as_tuple().exponent) > -2:  # an int: the amount is finite
        trimmed = amount.quantize(_CENT)
    return format(trimmed, "f")


def format_instant(instant: datetime) -> str:
    """An aware instant as RFC 3339 UTC with ``Z``, truncated to whole seconds."""
    if instant.tzinfo is None:
        raise ValueError("instants must be timezone-aware")
    u = instant.astimezone(UTC)
    return f"{u.year:04d}-{u.month:02d}-{u.day:02d}T{u.hour:02d}:{u.minute:02d}:{u.second:02d}Z"


def decision_to_dict(d: Decision) -> dict[str, Any]:
    """A decision as a JSON-ready dict, keys in the contract's order; ``policy_arm`` last,
    only when a policy experiment runs."""
    body = _decision_fields(d)
    if d.policy_arm is not None:
        body["policy_arm"] = d.policy_arm
    return body


def _decision_fields(d: Decision) -> dict[str, Any]:
    if isinstance(d, OutreachCancelled):
        return {
            "outreach_id": d.outreach_id,
            "customer_id": d.customer_id,
            "channel": d.channel,
            "reason": d.reason,
            "caused_by": d.caused_by,
            "decided_at": format_instant(d.decided_at),
        }
    if isinstance(d, RiskEscalation):
        return {
            "escalation_id": d.escalation_id,
            "customer_id": d.customer_id,
            "from_tier": d.from_tier,
            "to_tier": d.to_tier,
            "direction": d.direction,
            "reasons": list(d.reasons),
            "days_past_due": d.days_past_due,
            "overdue_amount": format_money(d.overdue_amount),
            "currency": d.currency,
            "caused_by": d.caused_by,
            "decided_at": format_instant(d.decided_at),
        }
    return {
        "outreach_id": d.outreach_id,
        "customer_id": d.customer_id,
        "channel": d.channel,
        "tier": d.tier,
        "priority": d.priority,
        "reason": d.reason,
        "not_before": format_instant(d.not_before),
        "expires_at": format_instant(d.expires_at),
        "days_past_due": d.days_past_due,
        "overdue_amount": format_money(d.overdue_amount),
        "currency": d.currency,
        "caused_by": d.caused_by,
        "decided_at": format_instant(d.decided_at),
    }


def encode_decision(d: Decision) -> bytes:
    """The message value of a decision on its topic (``d.topic``)."""
    return orjson.dumps(decision_to_dict(d))


def dead_letter(
    source_topic: str,
    partition: int,
    offset: int,
    key: bytes | None,
    raw: bytes,
    error: InvalidEvent,
) -> dict[str, Any]:
    """The dead-letter record of an input that cannot be processed; nothing is lost.

    ``key`` and ``raw`` travel as text when they are UTF-8, else as base64 flagged by
    ``key_encoding`` / ``raw_encoding: "base64"``, so the original bytes can be restored.
    """
    record: dict[str, Any] = {
        "source_topic": source_topic,
        "partition": partition,
        "offset": offset,
    }
    if key is None:
        record["key"] = None
    else:
        record["key"], key_encoding = _text_or_base64(key)
        if key_encoding is not None:
            record["key_encoding"] = key_encoding
    record["raw"], raw_encoding = _text_or_base64(raw)
    if raw_encoding is not None:
        record["raw_encoding"] = raw_encoding
    record["error"] = error.as_dict()
    return record


def encode_dead_letter(
    source_topic: str,
    partition: int,
    offset: int,
    key: bytes | None,
    raw: bytes,
    error: InvalidEvent,
) -> bytes:
    """The message value of ``dead_letter(...)`` on ``repayments.dead-letter``."""
    return orjson.dumps(dead_letter(source_topic, partition, offset, key, raw, error))


def _text_or_base64(data: bytes) -> tuple[str, str | None]:
    try:
        return data.decode("utf-8"), None
    except UnicodeDecodeError:
        return base64.b64encode(data).decode("ascii"), "base64"


def input_topic(e: InputEvent) -> str:
    """The input topic an event travels on."""
    if isinstance(e, PaymentReceived):
        return PAYMENTS
    if isinstance(e, PaymentMissed):
        return MISSED_PAYMENTS
    if isinstance(e, ErasureRequested):
        return ERASURES
    return CONTACT_RESULTS


def encode_input_event(e: InputEvent) -> dict[str, Any]:
    """An input record as the JSON object a producer would send; ``decode_input`` of it
    gives back an equal record. Absent optional fields are left out."""
    body = _header_to_dict(e.header)
    if isinstance(e, PaymentReceived):
        body["amount"] = _plain(e.amount)
        body["currency"] = e.currency
        _put_optional(body, "installment_id", e.installment_id)
        _put_optional(body, "account_id", e.account_id)
    elif isinstance(e, PaymentMissed):
        body["installment_id"] = e.installment_id
        body["due_date"] = e.due_date.isoformat()
        body["amount_due"] = _plain(e.amount_due)
        body["currency"] = e.currency
        _put_optional(body, "account_id", e.account_id)
    elif isinstance(e, ContactResultReported):
        _put_contact_result(body, e)
    return body


def _put_contact_result(body: dict[str, Any], e: ContactResultReported) -> None:
    body["channel"] = e.channel
    body["outcome"] = e.outcome
    _put_optional(body, "outreach_id", e.outreach_id)
    if e.promise is not None:
        body["promise"] = {"amount": _plain(e.promise.amount), "date": e.promise.date.isoformat()}
    if e.arrangement is not None:
        body["arrangement"] = {
            "type": e.arrangement.type,
            "until": e.arrangement.until.isoformat(),
        }
    if e.callback_at is not None:
        body["callback_at"] = format_instant(e.callback_at)


def _header_to_dict(h: EventHeader) -> dict[str, Any]:
    body: dict[str, Any] = {
        "event_id": h.event_id,
        "customer_id": h.customer_id,
        "occurred_at": h.occurred_at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
    }
    _put_optional(body, "customer_timezone", h.customer_timezone)
    body["schema_version"] = h.schema_version
    return body


def _put_optional(body: dict[str, Any], key: str, value: str | None) -> None:
    if value is not None:
        body[key] = value


def _plain(amount: Decimal) -> str:
    return format(amount, "f")
