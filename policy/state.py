"""Customer state: the records (``policy.records``) and their compact, versioned encoding.

``encode_state`` writes one orjson array with a leading ``STATE_VERSION``: indexes instead
of names, dates as ordinals, instants as epoch seconds, decisions grouped by step without
their ids (recomputed, being deterministic). ``decode_state`` upgrades older versions
through ``UPGRADES`` and refuses newer ones.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, Final

import orjson

from policy import ids
from policy.records import (
    DIGEST_SIZE,
    EMPTY_LEDGER,
    MODIFIERS,
    NO_COMMITMENTS,
    REMEMBERED_DECISIONS,
    SEEN_EVENT_IDS,
    ZERO,
    ActiveArrangement,
    Attempt,
    Commitments,
    CustomerState,
    Installment,
    Ledger,
    OpenPromise,
    remember_seen,
    seen_index,
)
from schemas.errors import RepaymentStreamError
from schemas.events import ARRANGEMENT_TYPES, CHANNELS
from schemas.outputs import ESCALATION_REASONS, OUTREACH_REASONS, TIERS, Decision, RiskEscalation
from schemas.outputs import OutreachNeeded as Outreach

__all__ = [
    "DIGEST_SIZE",
    "EMPTY_LEDGER",
    "MODIFIERS",
    "NO_COMMITMENTS",
    "REMEMBERED_DECISIONS",
    "SEEN_EVENT_IDS",
    "STATE_VERSION",
    "UPGRADES",
    "ZERO",
    "ActiveArrangement",
    "Attempt",
    "Commitments",
    "CustomerState",
    "Installment",
    "Ledger",
    "OpenPromise",
    "StateError",
    "decode_state",
    "encode_state",
    "remember_seen",
    "seen_index",
]

STATE_VERSION: Final = 1


class StateError(RepaymentStreamError):
    """A stored state cannot be decoded (corrupt, or written by a newer version).

    Raised when a table value is read; deploy the newer version or restore the changelog.
    """


_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_CHANNEL_INDEX: Final[dict[str, int]] = {c: i for i, c in enumerate(CHANNELS)}
_TIER_INDEX: Final = {t: i for i, t in enumerate(TIERS)}
_OUTREACH_INDEX: Final = {r: i for i, r in enumerate(OUTREACH_REASONS)}
UPGRADES: dict[int, Callable[[list[Any]], list[Any]]] = {}
"""``UPGRADES[n]`` turns a version-``n`` array into a version ``n + 1`` array."""


def _instant(value: datetime | None) -> int | str | None:
    if value is None:
        return None
    if value.microsecond:
        return value.astimezone(UTC).isoformat()
    return int((value - _EPOCH).total_seconds())


def _from_instant(value: int | str | None) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, int):
        return _EPOCH + timedelta(seconds=value)
    return datetime.fromisoformat(value).astimezone(UTC)


def _mask(names: tuple[str, ...], universe: tuple[str, ...]) -> int:
    return sum(1 << universe.index(n) for n in names)


def _unmask(mask: int, universe: tuple[str, ...]) -> tuple[Any, ...]:
    return tuple(n for i, n in enumerate(universe) if mask >> i & 1)


def encode_state(state: CustomerState) -> bytes:
    """The state as one compact orjson array, ``STATE_VERSION`` first."""
    ledger, c = state.ledger, state.commitments
    p, a = c.promise, c.arrangement
    return orjson.dumps(
        [
            STATE_VERSION,
            state.customer_id,
            state.timezone,
            state.currency,
            _TIER_INDEX[state.tier],
            _TIER_INDEX[state.basis_bucket],
            _mask(state.basis_modifiers, MODIFIERS),
            [
                [
                    [i.installment_id, i.due_date.toordinal(), str(i.amount_due), str(i.paid)]
                    for i in ledger.installments
                ],
                str(ledger.credit),
                str(ledger.total_paid),
                str(ledger.total_due),
                str(ledger.paid_to_installments),
                str(ledger.paid_not_overdue),
            ],
            [
                None
                if p is None
                else [
                    str(p.amount),
                    p.date.toordinal(),
                    p.made_on.toordinal(),
                    str(p.paid_since),
                    int(p.reminded),
                ],
                None if a is None else [ARRANGEMENT_TYPES.index(a.type), a.until.toordinal()],
                [d.toordinal() for d in c.broken_promises],
                _instant(c.hardship_until),
                c.disputed | c.ceased << 1 | c.unreachable << 2,
                _mask(c.opted_out, CHANNELS),
                c.failed_streak,
            ],
            [_encode_attempt(t) for t in state.attempts],
            _instant(state.last_collection_at),
            _instant(state.last_tick),
            base64.b64encode(state.seen).decode(),
            _encode_recent(state.recent),
        ]
    )


def _encode_attempt(attempt: Attempt) -> list[Any]:
    code = _CHANNEL_INDEX[attempt.channel] | attempt.right_party << 2
    if attempt.outreach_id is None:
        return [_instant(attempt.at), code]
    return [_instant(attempt.at), code, attempt.outreach_id]


def _encode_recent(recent: tuple[Decision, ...]) -> list[Any]:
    """Decisions grouped by step; ids and customer are recomputed on decoding."""
    groups: list[list[Any]] = []
    for d in recent:
        if not groups or groups[-1][0] != d.caused_by:
            decided = _instant(d.decided_at)
            groups.append(
                [d.caused_by, decided, d.days_past_due, str(d.overdue_amount), d.currency]
            )
        item: list[Any]
        if isinstance(d, RiskEscalation):
            item = [
                _TIER_INDEX[d.from_tier],
                _TIER_INDEX[d.to_tier],
                _mask(d.reasons, ESCALATION_REASONS),
            ]
        else:
            item = [
                _CHANNEL_INDEX[d.channel],
                _TIER_INDEX[d.tier],
                d.priority,
                _OUTREACH_INDEX[d.reason],
                None if d.not_before == d.decided_at else _instant(d.not_before),
                int((d.expires_at - d.not_before).total_seconds()),
            ]
        groups[-1].append(item)
    return groups


def decode_state(blob: bytes) -> CustomerState:
    """Inverse of ``encode_state``; upgrades older versions, refuses newer ones."""
    try:
        data = orjson.loads(blob)
        version = data[0]
    except (orjson.JSONDecodeError, IndexError, TypeError, KeyError) as exc:
        raise StateError(f"state is not a versioned array: {exc}") from exc
    if not isinstance(version, int) or version > STATE_VERSION:
        raise StateError(f"state version {version!r} is newer than {STATE_VERSION}; upgrade")
    while version < STATE_VERSION:
        data, version = UPGRADES[version](data), version + 1
    try:
        return _decode_current(data)
    except (IndexError, TypeError, ValueError, KeyError) as exc:
        raise StateError(f"state version {version} is corrupt: {exc}") from exc


def _decode_current(data: list[Any]) -> CustomerState:
    (
        _,
        customer_id,
        zone,
        currency,
        tier,
        basis,
        modifiers,
        ledger,
        commit,
        attempts,
        last_collection,
        last_tick,
        seen,
        recent,
    ) = data
    installments, credit, total_paid, total_due, to_installments, not_overdue = ledger
    promise, arrangement, broken, hardship_until, flags, opted_out, streak = commit
    return CustomerState(
        customer_id=customer_id,
        timezone=zone,
        currency=currency,
        tier=TIERS[tier],
        basis_bucket=TIERS[basis],
        basis_modifiers=_unmask(modifiers, MODIFIERS),
        ledger=Ledger(
            tuple(
                Installment(i, date.fromordinal(d), Decimal(a), Decimal(p))
                for i, d, a, p in installments
            ),
            Decimal(credit),
            Decimal(total_paid),
            Decimal(total_due),
            Decimal(to_installments),
            Decimal(not_overdue),
        ),
        commitments=Commitments(
            promise=None
            if promise is None
            else OpenPromise(
                Decimal(promise[0]),
                date.fromordinal(promise[1]),
                date.fromordinal(promise[2]),
                Decimal(promise[3]),
                bool(promise[4]),
            ),
            arrangement=None
            if arrangement is None
            else ActiveArrangement(
                ARRANGEMENT_TYPES[arrangement[0]], date.fromordinal(arrangement[1])
            ),
            broken_promises=tuple(date.fromordinal(d) for d in broken),
            hardship_until=_from_instant(hardship_until),
            disputed=bool(flags & 1),
            ceased=bool(flags & 2),
            unreachable=bool(flags & 4),
            opted_out=_unmask(opted_out, CHANNELS),
            failed_streak=streak,
        ),
        attempts=tuple(_decode_attempt(a) for a in attempts),
        last_collection_at=_from_instant(last_collection),
        last_tick=_from_instant(last_tick),
        seen=base64.b64decode(seen),
        recent=_decode_recent(customer_id, recent),
    )


def _decode_attempt(item: list[Any]) -> Attempt:
    at = _from_instant(item[0])
    assert at is not None
    code = item[1]
    return Attempt(at, CHANNELS[code & 3], bool(code & 4), item[2] if len(item) > 2 else None)


def _decode_recent(customer_id: str, groups: list[list[Any]]) -> tuple[Decision, ...]:
    decisions: list[Decision] = []
    for caused_by, decided, dpd, overdue_text, currency, *items in groups:
        decided_at = _from_instant(decided)
        assert decided_at is not None
        overdue = Decimal(overdue_text)
        for item in items:
            if len(item) == 3:
                from_tier, to_tier = TIERS[item[0]], TIERS[item[1]]
                reasons = _unmask(item[2], ESCALATION_REASONS)
                decisions.append(
                    RiskEscalation(
                        ids.escalation_id(customer_id, caused_by, to_tier, reasons),
                        customer_id,
                        from_tier,
                        to_tier,
                        "up" if item[1] > item[0] else "down",
                        reasons,
                        dpd,
                        overdue,
                        currency,
                        caused_by,
                        decided_at,
                    )
                )
            else:
                reason = OUTREACH_REASONS[item[3]]
                not_before = decided_at if item[4] is None else _from_instant(item[4])
                assert not_before is not None
                decisions.append(
                    Outreach(
                        ids.outreach_id(customer_id, caused_by, reason),
                        customer_id,
                        CHANNELS[item[0]],
                        TIERS[item[1]],
                        item[2],
                        reason,
                        not_before,
                        not_before + timedelta(seconds=item[5]),
                        dpd,
                        overdue,
                        currency,
                        caused_by,
                        decided_at,
                    )
                )
    return tuple(decisions)
