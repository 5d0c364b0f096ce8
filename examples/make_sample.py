"""Writes `examples/sample_history.jsonl`: seven customers living through the policy.

Run `python examples/make_sample.py > examples/sample_history.jsonl`, then
`repayment-stream replay examples/sample_history.jsonl --until 2026-06-30T00:00:00Z`.

Stories (all CNY, Asia/Shanghai unless said):
- cust-001 pays on time, slips once, pays two days late: early, then cured + courtesy follow-up.
- cust-002 promises twice and breaks both: reminders, broken_promise outreach, and the
  broken_promises modifier lifts the tier.
- cust-003 (America/New_York) cannot be reached: three failed attempts open an unreachable
  episode (verify_contact, tier up); a right-party contact later ends it (tier down).
- cust-004 reports hardship (hardship_review, no sms/voice bot for 14 days), agrees a
  deferral, then misses another installment: broken_arrangement.
- cust-005 opts out of SMS, then asks for all contact to cease: silence, escalations only;
  late in June the lender erases the customer's data (repayments.erasures).
- cust-006 disputes the debt; collection outreach waits for dispute_resolved. One of its
  messages carries the wrong key and is re-keyed.
- cust-007 misses three installments in a row: repeat_delinquency.
- cust-008 promises in the 7x24 self-service app at 23:40 (collection pauses as for a
  promise made on a call), asks the voice bot for a call back at 15:00 the next day (a
  callback outreach by agent_call, emitted although a promise is open), and keeps the
  promise.
- Bad input: not JSON, not an object, a missing field, an unknown outcome, a currency
  mismatch and a duplicate event id; each is dead-lettered or ignored, nothing stops.
"""

from __future__ import annotations

import json
import sys

PAYMENTS = "repayments.payments"
MISSED = "repayments.missed-payments"
CONTACTS = "repayments.contact-results"
ERASURES = "repayments.erasures"

lines: list[dict[str, object]] = []
_counter = 0


def _event(topic: str, customer: str, at: str, tz: str | None = None, **fields: object) -> dict:
    """``event_id`` in ``fields`` names the event; otherwise the next ``evt-NNNN``."""
    global _counter
    event_id = fields.pop("event_id", None)
    if event_id is None:
        _counter += 1
        event_id = f"evt-{_counter:04d}"
    value: dict[str, object] = {
        "event_id": event_id,
        "customer_id": customer,
        "occurred_at": at,
    }
    if tz:
        value["customer_timezone"] = tz
    value.update(fields)
    line = {"topic": topic, "key": customer, "value": value}
    lines.append(line)
    return line


def missed(customer: str, at: str, inst: str, due: str, amount: str, tz: str | None = None) -> dict:
    return _event(
        MISSED,
        customer,
        at,
        tz,
        installment_id=inst,
        due_date=due,
        amount_due=amount,
        currency="CNY",
    )


def paid(customer: str, at: str, amount: str, inst: str | None = None, **more: object) -> dict:
    fields: dict[str, object] = {"amount": amount, "currency": "CNY", **more}
    if inst:
        fields["installment_id"] = inst
    return _event(PAYMENTS, customer, at, **fields)


def contact(customer: str, at: str, channel: str, outcome: str, **fields: object) -> dict:
    return _event(CONTACTS, customer, at, channel=channel, outcome=outcome, **fields)


def raw(topic: str, key: str | None, value: object) -> None:
    lines.append({"topic": topic, "key": key, "value": value})


SH = "Asia/Shanghai"
NY = "America/New_York"

paid("cust-001", "2026-03-05T10:00:00+08:00", "300.00", inst="inst-001-03")
missed("cust-002", "2026-03-11T08:30:00+08:00", "inst-002-03", "2026-03-10", "450.00", SH)
contact(
    "cust-002",
    "2026-03-15T14:00:00+08:00",
    "voice_bot",
    "promise_to_pay",
    promise={"amount": "450.00", "date": "2026-03-20"},
)
missed("cust-004", "2026-03-16T09:00:00+08:00", "inst-004-03", "2026-03-15", "800.00", SH)
contact("cust-004", "2026-03-18T11:00:00+08:00", "agent_call", "hardship")
dup = paid("cust-002", "2026-03-20T12:00:00+08:00", "200.00")
missed("cust-005", "2026-03-21T08:15:00+08:00", "inst-005-03", "2026-03-20", "600.00", SH)
missed("cust-007", "2026-03-21T08:20:00+08:00", "inst-007-03", "2026-03-20", "150.00", SH)
contact("cust-005", "2026-03-22T19:00:00+08:00", "sms", "opt_out")
raw(PAYMENTS, "cust-002", dup["value"])  # the same event_id again: no effect
contact(
    "cust-004",
    "2026-03-25T15:30:00+08:00",
    "agent_call",
    "arrangement_agreed",
    arrangement={"type": "deferral", "until": "2026-05-31"},
)
contact(
    "cust-002",
    "2026-03-26T10:00:00+08:00",
    "agent_call",
    "promise_to_pay",
    promise={"amount": "250.00", "date": "2026-03-30"},
)
paid("cust-007", "2026-03-27T09:00:00+08:00", "150.00")
contact("cust-005", "2026-03-28T10:30:00+08:00", "voice_bot", "cease_contact")
raw(PAYMENTS, "cust-001", "{not json")
raw(MISSED, "cust-001", ["not", "an", "object"])
missed("cust-006", "2026-04-02T10:00:00+08:00", "inst-006-04", "2026-04-01", "900.00", SH)
missed("cust-003", "2026-04-02T09:00:00-04:00", "inst-003-04", "2026-04-01", "1200.00", NY)
contact("cust-006", "2026-04-03T16:00:00+08:00", "agent_call", "dispute")
contact("cust-003", "2026-04-03T10:00:00-04:00", "voice_bot", "no_answer")
contact("cust-003", "2026-04-04T13:00:00-04:00", "sms", "undeliverable")
contact("cust-003", "2026-04-05T11:00:00-04:00", "agent_call", "busy")
missed("cust-001", "2026-04-06T09:00:00+08:00", "inst-001-04", "2026-04-05", "300.00", SH)
raw(
    MISSED,
    "cust-001",
    {
        "event_id": "evt-bad-1",
        "customer_id": "cust-001",
        "occurred_at": "2026-04-06T09:30:00+08:00",
        "installment_id": "x",
        "amount_due": "10.00",
        "currency": "CNY",
    },
)
paid("cust-001", "2026-04-08T20:15:00+08:00", "300.00")
raw(
    CONTACTS,
    "cust-006",
    {
        "event_id": "evt-bad-2",
        "customer_id": "cust-006",
        "occurred_at": "2026-04-09T10:00:00+08:00",
        "channel": "sms",
        "outcome": "hung_up",
    },
)
raw(
    PAYMENTS,
    "cust-001",
    {
        "event_id": "evt-bad-3",
        "customer_id": "cust-001",
        "occurred_at": "2026-04-10T10:00:00+08:00",
        "amount": "5.00",
        "currency": "USD",
    },
)
_event(
    MISSED,
    "cust-008",
    "2026-04-11T08:30:00+08:00",
    SH,
    event_id="evt-008-1",
    installment_id="inst-008-04",
    due_date="2026-04-10",
    amount_due="520.00",
    currency="CNY",
)
contact(
    "cust-008",
    "2026-04-13T23:40:00+08:00",
    "self_service",
    "promise_to_pay",
    event_id="evt-008-2",
    promise={"amount": "520.00", "date": "2026-04-18"},
)
missed("cust-004", "2026-04-16T09:00:00+08:00", "inst-004-04", "2026-04-15", "800.00")
contact(
    "cust-008",
    "2026-04-16T10:00:00+08:00",
    "voice_bot",
    "callback_requested",
    event_id="evt-008-3",
    callback_at="2026-04-17T15:00:00+08:00",
)
paid("cust-008", "2026-04-18T11:00:00+08:00", "520.00", event_id="evt-008-4")
contact("cust-006", "2026-04-20T15:00:00+08:00", "agent_call", "dispute_resolved")
missed("cust-007", "2026-04-21T08:20:00+08:00", "inst-007-04", "2026-04-20", "150.00")
paid("cust-007", "2026-04-24T09:00:00+08:00", "150.00")
line = paid("cust-006", "2026-04-25T10:00:00+08:00", "100.00")
line["key"] = "cust-060"  # a producer bug: wrong key, re-keyed and processed
contact("cust-003", "2026-05-10T10:00:00-04:00", "agent_call", "reached")
missed("cust-007", "2026-05-21T08:20:00+08:00", "inst-007-05", "2026-05-20", "150.00")
_event(ERASURES, "cust-005", "2026-06-25T09:00:00+08:00", event_id="erase-005")

for entry in lines:
    sys.stdout.write(json.dumps(entry, separators=(",", ":")) + "\n")
