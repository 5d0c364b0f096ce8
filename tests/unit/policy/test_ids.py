"""Deterministic ids and the event-id digest."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta, timezone

from policy import ids


def test_uuid5_str__is_rfc_4122_uuid5_in_the_namespace() -> None:
    for name in ("", "cust\x1fevt\x1foutreach\x1fcadence", "客户-1"):
        assert ids.uuid5_str(name) == str(uuid.uuid5(ids.NAMESPACE, name))


def test_outreach_and_escalation_ids__differ_by_kind_reason_and_target() -> None:
    made = {
        ids.outreach_id("c", "e", "cadence"),
        ids.outreach_id("c", "e", "verify_contact"),
        ids.outreach_id("c", "e2", "cadence"),
        ids.outreach_id("c2", "e", "cadence"),
        ids.escalation_id("c", "e", "mid", ("dpd",)),
        ids.escalation_id("c", "e", "late", ("dpd",)),
    }
    assert len(made) == 6
    assert ids.outreach_id("c", "e", "cadence") == ids.outreach_id("c", "e", "cadence")


def test_tick_id__is_utc_with_seconds_precision() -> None:
    at = datetime(2026, 3, 10, 12, 0, 5, 999, tzinfo=timezone(timedelta(hours=8)))
    assert ids.tick_id(at) == "tick:2026-03-10T04:00:05Z"
    assert ids.tick_id(datetime(2026, 3, 10, 4, 0, 5, tzinfo=UTC)) == ids.tick_id(at)


def test_event_digest__is_8_bytes_and_stable() -> None:
    assert len(ids.event_digest("evt-1")) == 8
    assert ids.event_digest("evt-1") == ids.event_digest("evt-1") != ids.event_digest("evt-2")
