"""Factories of good input documents (one per topic) and a small JSON Schema checker."""

from __future__ import annotations

import re
from typing import Any

import orjson

from schemas.decode import decode_input
from schemas.events import CONTACT_RESULTS, ERASURES, MISSED_PAYMENTS, PAYMENTS, InputEvent


def payment_doc(**overrides: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "event_id": "pay-1",
        "customer_id": "cust-1",
        "occurred_at": "2026-03-01T09:30:00+08:00",
        "customer_timezone": "Asia/Shanghai",
        "schema_version": 1,
        "amount": "125.50",
        "currency": "CNY",
        "installment_id": "inst-1",
        "account_id": "acct-1",
    }
    return _with(doc, overrides)


def missed_doc(**overrides: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "event_id": "miss-1",
        "customer_id": "cust-1",
        "occurred_at": "2026-03-02T00:05:00Z",
        "installment_id": "inst-1",
        "due_date": "2026-03-01",
        "amount_due": "300.00",
        "currency": "CNY",
        "account_id": "acct-1",
    }
    return _with(doc, overrides)


def contact_doc(**overrides: Any) -> dict[str, Any]:
    """A promise to pay that also carries an arrangement (ignored for this outcome), so
    switching ``outcome`` alone gives a good document for every outcome."""
    doc: dict[str, Any] = {
        "event_id": "contact-1",
        "customer_id": "cust-1",
        "occurred_at": "2026-03-03T10:00:00+08:00",
        "channel": "agent_call",
        "outcome": "promise_to_pay",
        "outreach_id": "out-1",
        "promise": {"amount": "200.00", "date": "2026-03-10"},
        "arrangement": {"type": "deferral", "until": "2026-06-30"},
    }
    return _with(doc, overrides)


def erasure_doc(**overrides: Any) -> dict[str, Any]:
    """An erasure request: the common fields only."""
    doc = {"event_id": "erase-1", "customer_id": "cust-1", "occurred_at": "2026-03-03T10:00:00Z"}
    return _with(doc, overrides)


DOC_FACTORIES = {
    PAYMENTS: payment_doc,
    MISSED_PAYMENTS: missed_doc,
    CONTACT_RESULTS: contact_doc,
    ERASURES: erasure_doc,
}


def _with(doc: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    doc.update(overrides)
    return {k: v for k, v in doc.items() if v is not _ABSENT}


_ABSENT: Any = object()
ABSENT: Any = _ABSENT
"""Pass as an override to leave a field out of the document."""


def without(doc: dict[str, Any], path: str) -> dict[str, Any]:
    """A deep copy of ``doc`` with the field at the dotted ``path`` removed."""
    return replaced(doc, path, _ABSENT)


def replaced(doc: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """A deep copy of ``doc`` with the field at the dotted ``path`` set (or removed)."""
    copy: dict[str, Any] = orjson.loads(orjson.dumps(doc))
    *parents, last = path.split(".")
    target = copy
    for name in parents:
        target = target[name]
    if value is _ABSENT:
        target.pop(last, None)
    else:
        target[last] = value
    return copy


def decode_doc(topic: str, doc: Any) -> InputEvent:
    return decode_input(topic, orjson.dumps(doc))


_SKIPPED = {"$schema", "title", "description", "default", "format"}


def schema_errors(instance: Any, schema: dict[str, Any], path: str = "") -> list[str]:
    """Violations of ``schema`` by ``instance``, for the keywords our schemas use.

    ``format`` is an annotation in draft 2020-12 and is not asserted. An unknown keyword
    fails loudly, so a schema can never pass by using a keyword this checker skips.
    """
    errors: list[str] = []
    for keyword, arg in schema.items():
        check = _KEYWORDS.get(keyword)
        if check is None:
            if keyword not in _SKIPPED:
                raise AssertionError(f"unsupported keyword {keyword!r}")
            continue
        errors += [f"{path or '/'}: {keyword} {e}" for e in check(instance, arg, schema, path)]
    return errors


def _type_ok(instance: Any, name: str) -> bool:
    return {
        "string": isinstance(instance, str),
        "integer": type(instance) is int,
        "number": type(instance) in (int, float),
        "object": isinstance(instance, dict),
        "array": isinstance(instance, list),
        "null": instance is None,
        "boolean": type(instance) is bool,
    }[name]


def _check_type(i: Any, arg: Any, s: Any, p: str) -> list[str]:
    names = arg if isinstance(arg, list) else [arg]
    return [] if any(_type_ok(i, n) for n in names) else [f"{i!r} is not {arg}"]


def _check_properties(i: Any, arg: Any, s: Any, p: str) -> list[str]:
    if not isinstance(i, dict):
        return []
    return [e for k, sub in arg.items() if k in i for e in schema_errors(i[k], sub, f"{p}/{k}")]


def _check_required(i: Any, arg: Any, s: Any, p: str) -> list[str]:
    return [] if not isinstance(i, dict) else [f"{k} missing" for k in arg if k not in i]


def _check_if(i: Any, arg: Any, s: Any, p: str) -> list[str]:
    if schema_errors(i, arg, p):
        return []
    return schema_errors(i, s["then"], p)


def _ecma_search(pattern: str, text: str) -> bool:
    """ECMA-262 ``$`` (no multiline) matches only at the very end, unlike Python's."""
    if pattern.endswith("$"):
        pattern = pattern[:-1] + r"\Z"
    return re.search(pattern, text) is not None


def _str_only(check: Any) -> Any:
    return lambda i, arg, s, p: check(i, arg) if isinstance(i, str) else []


def _num_only(check: Any) -> Any:
    return lambda i, arg, s, p: check(i, arg) if type(i) in (int, float) else []


_KEYWORDS: dict[str, Any] = {
    "type": _check_type,
    "properties": _check_properties,
    "required": _check_required,
    "enum": lambda i, arg, s, p: [] if i in arg else [f"{i!r} not in {arg}"],
    "const": lambda i, arg, s, p: [] if i == arg else [f"{i!r} != {arg!r}"],
    "pattern": _str_only(lambda i, arg: [] if _ecma_search(arg, i) else [f"{i!r} !~ {arg}"]),
    "minLength": _str_only(lambda i, arg: [] if len(i) >= arg else ["too short"]),
    "maxLength": _str_only(lambda i, arg: [] if len(i) <= arg else ["too long"]),
    "minimum": _num_only(lambda i, arg: [] if i >= arg else ["too small"]),
    "maximum": _num_only(lambda i, arg: [] if i <= arg else ["too big"]),
    "exclusiveMinimum": _num_only(lambda i, arg: [] if i > arg else ["too small"]),
    "exclusiveMaximum": _num_only(lambda i, arg: [] if i < arg else ["too big"]),
    "items": lambda i, arg, s, p: (
        []
        if not isinstance(i, list)
        else [e for n, x in enumerate(i) for e in schema_errors(x, arg, f"{p}/{n}")]
    ),
    "minItems": lambda i, arg, s, p: [] if not isinstance(i, list) or len(i) >= arg else ["few"],
    "uniqueItems": lambda i, arg, s, p: (
        [] if not isinstance(i, list) or len(set(map(repr, i))) == len(i) else ["repeats"]
    ),
    "oneOf": lambda i, arg, s, p: (
        []
        if sum(not schema_errors(i, sub, p) for sub in arg) == 1
        else ["not exactly one branch matches"]
    ),
    "allOf": lambda i, arg, s, p: [e for sub in arg for e in schema_errors(i, sub, p)],
    "not": lambda i, arg, s, p: [] if schema_errors(i, arg, p) else [f"{i!r} matches {arg}"],
    "if": _check_if,
    "then": lambda i, arg, s, p: [],
}
