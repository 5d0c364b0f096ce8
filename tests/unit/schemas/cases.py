"""Bad documents and what the decoder must say about them, shared by the decoder tests
and the schema-agreement tests."""

from __future__ import annotations

from typing import Any, NamedTuple

from schemas.events import CONTACT_RESULTS, MISSED_PAYMENTS, PAYMENTS
from tests.unit.schemas.fixtures import DOC_FACTORIES, replaced


class BadField(NamedTuple):
    topic: str
    path: str
    value: Any
    schema_tells: bool  # the JSON Schema alone rejects it too (shape, not meaning)
    outcome: str = "promise_to_pay"

    def doc(self) -> dict[str, Any]:
        base = DOC_FACTORIES[self.topic]()
        if self.topic == CONTACT_RESULTS:
            base["outcome"] = self.outcome
        return replaced(base, self.path, self.value)

    def __str__(self) -> str:
        return f"{self.topic.split('.')[1]}:{self.path}={self.value!r:.30}"


_ARRANGED = "arrangement_agreed"
_CALLBACK = "callback_requested"
INVALID_FIELDS = [
    BadField(PAYMENTS, "event_id", "", True),
    BadField(PAYMENTS, "event_id", "x" * 129, True),
    BadField(PAYMENTS, "event_id", 42, True),
    BadField(PAYMENTS, "customer_id", ["cust-1"], True),
    BadField(PAYMENTS, "occurred_at", "2026-03-01T09:30:00", True),
    BadField(PAYMENTS, "occurred_at", "2026-03-01 09:30:00+08:00", True),
    BadField(PAYMENTS, "occurred_at", "2026-03-01", True),
    BadField(PAYMENTS, "occurred_at", 1772328600, True),
    BadField(PAYMENTS, "occurred_at", "2026-02-30T09:30:00+08:00", False),
    # RFC 3339 field ranges and the years 1970-2199 are in the pattern now (issue 9).
    BadField(PAYMENTS, "occurred_at", "2026-03-01T09:30:60Z", True),  # no leap second
    BadField(PAYMENTS, "occurred_at", "2026-03-01T09:30:00+24:00", True),
    BadField(PAYMENTS, "occurred_at", "0001-01-01T00:30:00+01:00", True),
    BadField(PAYMENTS, "occurred_at", "0001-01-01T00:00:00-01:00", True),
    BadField(PAYMENTS, "occurred_at", "9999-12-31T23:59:59Z", True),
    BadField(PAYMENTS, "occurred_at", "1969-12-30T23:00:00-23:00", True),
    BadField(PAYMENTS, "occurred_at", "2200-01-02T00:00:00+23:00", True),
    BadField(PAYMENTS, "occurred_at", "2026-03-01T09:30:00+08:75", True),
    BadField(PAYMENTS, "occurred_at", "2026-03-01T09:30:00+08:60", True),
    BadField(PAYMENTS, "occurred_at", "2026-03-01T09:30:00-24:00", True),
    BadField(PAYMENTS, "occurred_at", "2026-03-01T09:30:00+99:00", True),
    BadField(PAYMENTS, "occurred_at", "2026-03-01T09:30:00+08:00:30", True),
    BadField(PAYMENTS, "occurred_at", "2026-03-01T09:30:00+0800", True),
    BadField(PAYMENTS, "occurred_at", "2026-03-01T24:00:00Z", True),
    BadField(PAYMENTS, "occurred_at", "2026-03-01T09:60:00Z", True),
    BadField(PAYMENTS, "occurred_at", "2026-03-01T09:30:00.Z", True),
    BadField(PAYMENTS, "occurred_at", "2026-03-01T09:30:00.1234567890Z", True),
    # The pattern admits 1969-12-31 and 2200-01-01 (an offset may move them inside):
    # only the instant in UTC tells.
    BadField(PAYMENTS, "occurred_at", "1969-12-31T23:59:59Z", False),
    BadField(PAYMENTS, "occurred_at", "1969-12-31T23:59:59.999999Z", False),
    BadField(PAYMENTS, "occurred_at", "1970-01-01T00:30:00+01:00", False),
    BadField(PAYMENTS, "occurred_at", "1970-01-01T07:59:59+08:00", False),
    BadField(PAYMENTS, "occurred_at", "2200-01-01T00:00:00Z", False),
    BadField(PAYMENTS, "occurred_at", "2200-01-01T08:00:00+08:00", False),
    BadField(PAYMENTS, "occurred_at", "2199-12-31T23:00:00-01:00", False),
    BadField(PAYMENTS, "occurred_at", "1969-02-29T00:00:00Z", True),
    BadField(PAYMENTS, "customer_timezone", "Mars/Olympus_Mons", False),
    BadField(PAYMENTS, "customer_timezone", "Asia", False),
    BadField(PAYMENTS, "customer_timezone", "asia/shanghai", False),
    BadField(PAYMENTS, "customer_timezone", "posix", False),
    BadField(PAYMENTS, "customer_timezone", "zone1970", False),
    # Host-only names (a host's zoneinfo directory, not the shipped IANA database).
    BadField(PAYMENTS, "customer_timezone", "localtime", True),
    BadField(PAYMENTS, "customer_timezone", "posixrules", True),
    BadField(PAYMENTS, "customer_timezone", "posix/Asia/Tokyo", True),
    BadField(PAYMENTS, "customer_timezone", "right/UTC", True),
    BadField(PAYMENTS, "customer_timezone", "right/Asia/Shanghai", True),
    BadField(PAYMENTS, "customer_timezone", "Asia/Shanghai/", True),
    BadField(PAYMENTS, "customer_timezone", "leap-seconds.list", True),
    BadField(PAYMENTS, "customer_timezone", "zone.tab", True),
    BadField(PAYMENTS, "customer_timezone", "../../etc/passwd", True),
    BadField(PAYMENTS, "customer_timezone", "/usr/share/zoneinfo/UTC", True),
    BadField(PAYMENTS, "customer_timezone", 8, True),
    BadField(PAYMENTS, "schema_version", 0, True),
    BadField(PAYMENTS, "schema_version", True, True),
    BadField(PAYMENTS, "schema_version", "1", True),
    BadField(PAYMENTS, "schema_version", 1.5, True),
    BadField(PAYMENTS, "amount", "0", False),
    BadField(PAYMENTS, "amount", "0.00", False),
    BadField(PAYMENTS, "amount", "-5", True),
    BadField(PAYMENTS, "amount", 0, True),
    BadField(PAYMENTS, "amount", -1.5, True),
    BadField(PAYMENTS, "amount", "1e3", True),
    BadField(PAYMENTS, "amount", "12.34567", False),
    BadField(PAYMENTS, "amount", 12.34567, False),
    BadField(PAYMENTS, "amount", "abc", True),
    BadField(PAYMENTS, "amount", True, True),
    BadField(PAYMENTS, "amount", "NaN", True),
    BadField(PAYMENTS, "amount", "Infinity", True),
    BadField(PAYMENTS, "amount", " 12.50", True),
    BadField(PAYMENTS, "amount", "1,000.00", True),
    BadField(PAYMENTS, "amount", "100000000000000", False),
    BadField(PAYMENTS, "amount", 100000000000000, True),
    BadField(PAYMENTS, "amount", {"value": "1.00"}, True),
    BadField(PAYMENTS, "currency", "cny", True),
    BadField(PAYMENTS, "currency", "CNYY", True),
    BadField(PAYMENTS, "currency", 156, True),
    BadField(PAYMENTS, "installment_id", "", True),
    BadField(PAYMENTS, "account_id", "y" * 129, True),
    BadField(MISSED_PAYMENTS, "installment_id", 7, True),
    BadField(MISSED_PAYMENTS, "due_date", "2026-3-1", True),
    BadField(MISSED_PAYMENTS, "due_date", "01/03/2026", True),
    BadField(MISSED_PAYMENTS, "due_date", 20260301, True),
    BadField(MISSED_PAYMENTS, "due_date", "2026-02-30", False),
    BadField(MISSED_PAYMENTS, "due_date", "2026-03-01T00:00:00Z", True),
    BadField(MISSED_PAYMENTS, "due_date", "1969-12-31", True),
    BadField(MISSED_PAYMENTS, "due_date", "2200-01-01", True),
    BadField(MISSED_PAYMENTS, "due_date", "0001-01-01", True),
    BadField(MISSED_PAYMENTS, "due_date", "9999-12-31", True),
    BadField(MISSED_PAYMENTS, "due_date", "+2026-03-01", True),
    BadField(MISSED_PAYMENTS, "amount_due", "0.00", False),
    BadField(MISSED_PAYMENTS, "amount_due", -300, True),
    BadField(CONTACT_RESULTS, "channel", "phone", True),
    BadField(CONTACT_RESULTS, "channel", "SMS", True),
    BadField(CONTACT_RESULTS, "channel", 1, True),
    BadField(CONTACT_RESULTS, "outcome", 5, True),
    BadField(CONTACT_RESULTS, "outcome", ["reached"], True),
    BadField(CONTACT_RESULTS, "outreach_id", "", True),
    BadField(CONTACT_RESULTS, "promise", "200 on Friday", True),
    BadField(CONTACT_RESULTS, "promise.amount", "-1", True),
    BadField(CONTACT_RESULTS, "promise.amount", 0, True),
    BadField(CONTACT_RESULTS, "promise.date", "tomorrow", True),
    BadField(CONTACT_RESULTS, "promise.date", "1969-12-31", True),
    BadField(CONTACT_RESULTS, "promise.date", "2200-01-01", True),
    BadField(CONTACT_RESULTS, "promise.date", "9999-12-31", True),
    BadField(CONTACT_RESULTS, "promise.date", "0001-01-01", True),
    BadField(CONTACT_RESULTS, "arrangement", [], True, _ARRANGED),
    BadField(CONTACT_RESULTS, "arrangement.type", "holiday", True, _ARRANGED),
    BadField(CONTACT_RESULTS, "arrangement.until", "2026-13-01", False, _ARRANGED),
    BadField(CONTACT_RESULTS, "arrangement.until", "2026-03-02", False, _ARRANGED),
    BadField(CONTACT_RESULTS, "arrangement.until", "2027-04-04", False, _ARRANGED),
    BadField(CONTACT_RESULTS, "arrangement.until", "2200-01-01", True, _ARRANGED),
    BadField(CONTACT_RESULTS, "arrangement.until", "9999-12-31", True, _ARRANGED),
    BadField(CONTACT_RESULTS, "arrangement.until", "1969-12-31", True, _ARRANGED),
    BadField(CONTACT_RESULTS, "callback_at", "tomorrow at 3", True, _CALLBACK),
    BadField(CONTACT_RESULTS, "callback_at", "2026-03-03T09:59:59+08:00", False, _CALLBACK),
    BadField(CONTACT_RESULTS, "callback_at", "2026-03-17T10:00:01+08:00", False, _CALLBACK),
    BadField(CONTACT_RESULTS, "callback_at", "2026-03-05T10:00:00+08:75", True, _CALLBACK),
]
"""Every one must decode to ``invalid_field`` naming ``path``."""

MISSING_FIELDS = [
    *((PAYMENTS, path, "") for path in ("event_id", "customer_id", "occurred_at")),
    (PAYMENTS, "amount", ""),
    (PAYMENTS, "currency", ""),
    (MISSED_PAYMENTS, "installment_id", ""),
    (MISSED_PAYMENTS, "due_date", ""),
    (MISSED_PAYMENTS, "amount_due", ""),
    (MISSED_PAYMENTS, "currency", ""),
    (CONTACT_RESULTS, "channel", "reached"),
    (CONTACT_RESULTS, "outcome", "reached"),
    (CONTACT_RESULTS, "promise", "promise_to_pay"),
    (CONTACT_RESULTS, "promise.amount", "promise_to_pay"),
    (CONTACT_RESULTS, "promise.date", "promise_to_pay"),
    (CONTACT_RESULTS, "arrangement", _ARRANGED),
    (CONTACT_RESULTS, "arrangement.type", _ARRANGED),
    (CONTACT_RESULTS, "arrangement.until", _ARRANGED),
]
"""(topic, dotted path, outcome for contact results): leaving the field out, or sending
``null``, must decode to ``missing_field`` naming the path."""
