"""Customer state: the records (``policy.records``) and their compact, versioned encoding.

``encode_state`` writes one orjson array with a leading ``STATE_VERSION``: indexes instead
of names, dates as ordinals, instants as epoch seconds, the remembered decisions embedded as
they are kept (``policy.memory``). ``decode_state`` upgrades older versions
through ``UPGRADES`` and refuses newer ones.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Any, Final

import orjson

from policy.compact import CHANNEL_INDEX, TIER_INDEX, dumps, from_instant, instant, mask, unmask
from policy.memory import upgrade_v1
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
    Payment,
    remember_seen,
    seen_index,
)
from schemas.errors import RepaymentStreamError
from schemas.events import ARRANGEMENT_TYPES, CHANNELS
from schemas.outputs import TIERS

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

STATE_VERSION: Final = 2


class StateError(RepaymentStreamError):
    """A stored state cannot be decoded (corrupt, or written by a newer version).

    Raised when a table value is read; deploy the newer version or restore the changelog.
    """


def _upgrade_v1(data: list[Any]) -> list[Any]:
    """Version 2 added where remembered decisions came from; the rest only grew optional
    trailing items (named payments, held and recent payments, the arrangement's date)."""
    return [*data[:-1], upgrade_v1(data[-1])]


UPGRADES: dict[int, Callable[[list[Any]], list[Any]]] = {1: _upgrade_v1}
"""``UPGRADES[n]`` turns a version-``n`` array into a version ``n + 1`` array."""


def encode_state(state: CustomerState) -> bytes:
    """The state as one compact orjson array, ``STATE_VERSION`` first."""
    ledger, c = state.ledger, state.commitments
    p, a = c.promise, c.arrangement
    return dumps(
        [
            STATE_VERSION,
            state.customer_id,
            state.timezone,
            state.currency,
            TIER_INDEX[state.tier],
            TIER_INDEX[state.basis_bucket],
            mask(state.basis_modifiers, MODIFIERS),
            _encode_ledger(ledger),
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
                None if a is None else _encode_arrangement(a),
                [d.toordinal() for d in c.broken_promises],
                instant(c.hardship_until),
                c.disputed | c.ceased << 1 | c.unreachable << 2,
                mask(c.opted_out, CHANNELS),
                c.failed_streak,
            ],
            [_encode_attempt(t) for t in state.attempts],
            instant(state.last_collection_at),
            instant(state.last_tick),
            base64.b64encode(state.seen).decode(),
            orjson.Fragment(state.memory),
        ]
    )


def _encode_ledger(ledger: Ledger) -> list[Any]:
    """Optional items trail (a named share, held and recent payments): most have none."""
    out: list[Any] = [
        [_encode_installment(i) for i in ledger.installments],
        str(ledger.credit),
        str(ledger.total_paid),
        str(ledger.total_due),
        str(ledger.paid_to_installments),
        str(ledger.paid_not_overdue),
    ]
    if ledger.held or ledger.recent:
        out.append([[p.installment_id, p.day.toordinal(), str(p.amount)] for p in ledger.held])
        out.append([[p.day.toordinal(), str(p.amount)] for p in ledger.recent])
    return out


def _encode_installment(i: Installment) -> list[Any]:
    item = [i.installment_id, i.due_date.toordinal(), str(i.amount_due), str(i.paid)]
    if i.named:
        item.append(str(i.named))
    return item


def _encode_arrangement(a: ActiveArrangement) -> list[Any]:
    item = [ARRANGEMENT_TYPES.index(a.type), a.until.toordinal()]
    if a.agreed_on is not None:
        item.append(a.agreed_on.toordinal())
    return item


def _encode_attempt(attempt: Attempt) -> list[Any]:
    code = CHANNEL_INDEX[attempt.channel] | attempt.right_party << 2 | attempt.collection << 3
    if attempt.outreach_id is None:
        return [instant(attempt.at), code]
    return [instant(attempt.at), code, attempt.outreach_id]


def decode_state(blob: bytes) -> CustomerState:
    """Inverse of ``encode_state``; upgrades older versions, refuses newer ones."""
    data, version = _load_current(blob)
    try:
        return _decode_current(data)
    except (IndexError, TypeError, ValueError, KeyError) as exc:
        raise StateError(f"state version {version} is corrupt: {exc}") from exc


def _load_current(blob: bytes) -> tuple[list[Any], int]:
    """The stored array, upgraded to ``STATE_VERSION``; a newer version is refused."""
    try:
        data = orjson.loads(blob)
        version = data[0]
    except (orjson.JSONDecodeError, IndexError, TypeError, KeyError) as exc:
        raise StateError(f"state is not a versioned array: {exc}") from exc
    if not isinstance(version, int) or version > STATE_VERSION:
        raise StateError(f"state version {version!r} is newer than {STATE_VERSION}; upgrade")
    while version < STATE_VERSION:
        data, version = UPGRADES[version](data), version + 1
    return data, version


def stored_tier(blob: bytes) -> str:
    """The tier of an encoded state, without building the records.

    Recovery indexes every owned customer by tier; at a million customers a full
    ``decode_state`` each is most of the restart. Versions are checked as ``decode_state``
    does, so a state from a newer release still stops recovery.
    """
    data, version = _load_current(blob)
    try:
        return TIERS[data[4]]
    except (IndexError, TypeError) as exc:
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
    installments, credit, total_paid, total_due, to_installments, not_overdue, *extra = ledger
    held, recent_payments = extra if extra else ([], [])
    return CustomerState(
        customer_id=customer_id,
        timezone=zone,
        currency=currency,
        tier=TIERS[tier],
        basis_bucket=TIERS[basis],
        basis_modifiers=unmask(modifiers, MODIFIERS),
        ledger=Ledger(
            tuple(_decode_installment(*i) for i in installments),
            Decimal(credit),
            Decimal(total_paid),
            Decimal(total_due),
            Decimal(to_installments),
            Decimal(not_overdue),
            tuple(Payment(date.fromordinal(d), Decimal(a), i) for i, d, a in held),
            tuple(Payment(date.fromordinal(d), Decimal(a)) for d, a in recent_payments),
        ),
        commitments=_decode_commitments(commit),
        attempts=tuple(_decode_attempt(a) for a in attempts),
        last_collection_at=from_instant(last_collection),
        last_tick=from_instant(last_tick),
        seen=base64.b64decode(seen),
        memory=dumps(recent),
    )


def _decode_installment(
    installment_id: str, due: int, amount_due: str, paid: str, named: str = "0"
) -> Installment:
    return Installment(
        installment_id, date.fromordinal(due), Decimal(amount_due), Decimal(paid), Decimal(named)
    )


_NO_COMMITMENTS_ENCODED: Final[list[Any]] = [None, None, [], None, 0, 0, 0]


def _decode_commitments(commit: list[Any]) -> Commitments:
    if commit == _NO_COMMITMENTS_ENCODED:  # most customers never said anything
        return NO_COMMITMENTS
    promise, arrangement, broken, hardship_until, flags, opted_out, streak = commit
    return Commitments(
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
            ARRANGEMENT_TYPES[arrangement[0]],
            date.fromordinal(arrangement[1]),
            date.fromordinal(arrangement[2]) if len(arrangement) > 2 else None,
        ),
        broken_promises=tuple(date.fromordinal(d) for d in broken),
        hardship_until=from_instant(hardship_until),
        disputed=bool(flags & 1),
        ceased=bool(flags & 2),
        unreachable=bool(flags & 4),
        opted_out=unmask(opted_out, CHANNELS),
        failed_streak=streak,
    )


def _decode_attempt(item: list[Any]) -> Attempt:
    at = from_instant(item[0])
    assert at is not None
    code = item[1]
    outreach_id = item[2] if len(item) > 2 else None
    return Attempt(at, CHANNELS[code & 3], bool(code & 4), outreach_id, bool(code & 8))
