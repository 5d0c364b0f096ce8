"""Deterministic ids: the same input history gives the same ids, whatever the clock.

An id is a UUIDv5 (RFC 4122, SHA-1) in ``NAMESPACE`` of the customer, the ``caused_by`` id,
the kind of decision and its reason (and target tier for escalations). Never of the clock: a
re-run after a crash emits the same ids, so consumers drop repeats. ``event_digest`` is the
8-byte fingerprint under which event ids are remembered for duplicate detection.
"""

from __future__ import annotations

from datetime import UTC, datetime
from hashlib import blake2b, sha1
from typing import Final
from uuid import UUID

NAMESPACE: Final = UUID("5b0e7c1a-3f2d-5e8b-9a41-7c6d2e0f1b93")
_PREFIX: Final = NAMESPACE.bytes
_SEP: Final = "\x1f"


def uuid5_str(name: str) -> str:
    """``str(uuid.uuid5(NAMESPACE, name))``, without building UUID objects (hot path)."""
    digest = bytearray(sha1(_PREFIX + name.encode()).digest()[:16])
    digest[6] = (digest[6] & 0x0F) | 0x50
    digest[8] = (digest[8] & 0x3F) | 0x80
    h = digest.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def escalation_id(customer_id: str, caused_by: str, to_tier: str, reasons: tuple[str, ...]) -> str:
    """Id of the escalation to ``to_tier`` that ``caused_by`` triggered (one per step)."""
    return uuid5_str(_SEP.join((customer_id, caused_by, "escalation", ",".join(reasons), to_tier)))


def outreach_id(customer_id: str, caused_by: str, reason: str) -> str:
    """Id of the outreach with ``reason`` that ``caused_by`` triggered (one per reason and step)."""
    return uuid5_str(_SEP.join((customer_id, caused_by, "outreach", reason)))


def tick_id(now: datetime) -> str:
    """``tick:<now in RFC 3339 UTC, seconds precision>Z``: the ``caused_by`` of a tick."""
    utc = now if now.tzinfo is UTC else now.astimezone(UTC)
    return f"tick:{utc.replace(microsecond=0, tzinfo=None).isoformat()}Z"


def event_digest(event_id: str) -> bytes:
    """8-byte BLAKE2b of an event id: how seen ids are remembered (1,000 in 8 KB)."""
    return blake2b(event_id.encode(), digest_size=8).digest()


def message_source(topic: str, partition: int, offset: int) -> str:
    """Which message carried an event: ``<contract topic>:<partition>:<offset>``, short.

    The same message again is a redelivery (its decisions are sent again); another message
    with a remembered ``event_id`` is a duplicate (nothing is sent).
    """
    return f"{topic.rsplit('.', 1)[-1]}:{partition}:{offset}"
