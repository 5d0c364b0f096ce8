"""One customer's state: immutable records, bounded, with a compact versioned encoding.

Everything the decisions need and nothing more, kept small because it is written to the
changelog on every event: tuples, not lists; histories pruned to what a rule can still read
(attempts for the caps, broken promises for 90 days, fully paid installments for 400 days,
1,000 event-id digests, the last 16 decisions). ``encode_state`` writes one orjson array
with a leading ``STATE_VERSION``; ``decode_state`` upgrades older versions.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from dataclasses import MISSING, dataclass, fields
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, Final, TypeVar

import orjson

from policy import ids
from schemas.errors import RepaymentStreamError
from schemas.events import ARRANGEMENT_TYPES, CHANNELS, Channel
from schemas.outputs import ESCALATION_REASONS, OUTREACH_REASONS, TIERS, Decision, RiskEscalation
from schemas.outputs import OutreachNeeded as Outreach

STATE_VERSION: Final = 1
ZERO: Final = Decimal(0)
DIGEST_SIZE: Final = 8
SEEN_EVENT_IDS: Final = 1000
REMEMBERED_DECISIONS: Final = 16
_T = TypeVar("_T", bound=type)
MODIFIERS: Final = ("broken_promises", "unreachable", "repeat_delinquency")
Day = date  # an alias, for records with a field named ``date``


class StateError(RepaymentStreamError):
    """A stored state cannot be decoded (corrupt, or written by a newer version).

    Raised when a table value is read; deploy the newer version or restore the changelog.
    """


def _fast_init(cls: _T) -> _T:
    """Give a frozen slotted dataclass an ``__init__`` that writes its slots directly.

    Same signature and defaults as the generated one (type checkers still see that), about
    twice as fast: the generated one goes through ``object.__setattr__`` per field, and a
    state record is built on every event. Built like ``dataclasses`` builds its own.
    """
    names = [f.name for f in fields(cls)]
    namespace: dict[str, Any] = {f"_set_{n}": cls.__dict__[n].__set__ for n in names}
    params = []
    for f in fields(cls):
        if f.default is MISSING:
            params.append(f.name)
        else:
            namespace[f"_default_{f.name}"] = f.default
            params.append(f"{f.name}=_default_{f.name}")
    body = "".join(f"    _set_{n}(self, {n})\n" for n in names)
    exec(f"def __init__(self, {', '.join(params)}):\n{body}", namespace)  # noqa: S102
    init = namespace["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    setattr(cls, "__init__", init)  # noqa: B010
    return cls


@_fast_init
@dataclass(frozen=True, slots=True)
class Installment:
    """A missed installment: ``amount_due`` when it fell due, ``paid`` towards it since."""

    installment_id: str
    due_date: date
    amount_due: Decimal
    paid: Decimal = ZERO


@_fast_init
@dataclass(frozen=True, slots=True)
class Ledger:
    """Installments oldest due first, credit, and running totals for money conservation."""

    installments: tuple[Installment, ...] = ()
    credit: Decimal = ZERO
    total_paid: Decimal = ZERO
    total_due: Decimal = ZERO
    paid_to_installments: Decimal = ZERO
    paid_not_overdue: Decimal = ZERO


@_fast_init
@dataclass(frozen=True, slots=True)
class Attempt:
    """A contact attempt; ``outreach_id`` is set while an emitted outreach awaits its result."""

    at: datetime
    channel: Channel
    right_party: bool = False
    outreach_id: str | None = None


@_fast_init
@dataclass(frozen=True, slots=True)
class OpenPromise:
    """A promise to pay ``amount`` by local ``date``; ``paid_since`` counts payments after it."""

    amount: Decimal
    date: Day
    made_on: Day
    paid_since: Decimal = ZERO
    reminded: bool = False


@dataclass(frozen=True, slots=True)
class ActiveArrangement:
    """An agreed arrangement, active to the end of local day ``until``."""

    type: str
    until: date


@_fast_init
@dataclass(frozen=True, slots=True)
class Commitments:
    """What the customer said: promises, arrangements, hardship, dispute, refusals, reach."""

    promise: OpenPromise | None = None
    arrangement: ActiveArrangement | None = None
    broken_promises: tuple[date, ...] = ()  # local dates the promises were broken on
    hardship_until: datetime | None = None
    disputed: bool = False
    ceased: bool = False
    opted_out: tuple[Channel, ...] = ()
    failed_streak: int = 0
    unreachable: bool = False


EMPTY_LEDGER: Final = Ledger()
NO_COMMITMENTS: Final = Commitments()


@_fast_init
@dataclass(frozen=True, slots=True)
class CustomerState:
    """The whole state of one customer, the value of the customer table."""

    customer_id: str
    timezone: str
    currency: str | None = None
    tier: str = "current"
    basis_bucket: str = "current"  # DPD bucket at the last tier change
    basis_modifiers: tuple[str, ...] = ()  # modifiers holding at the last tier change
    ledger: Ledger = EMPTY_LEDGER
    commitments: Commitments = NO_COMMITMENTS
    attempts: tuple[Attempt, ...] = ()  # by time; pending outreach at its not_before
    last_collection_at: datetime | None = None  # not_before of the last collection outreach
    last_tick: datetime | None = None
    seen: bytes = b""  # 8-byte digests of the last 1,000 event ids, oldest first
    recent: tuple[Decision, ...] = ()  # the last 16 decisions, oldest first

    @property
    def credit(self) -> Decimal:
        return self.ledger.credit

    @property
    def total_paid(self) -> Decimal:
        return self.ledger.total_paid

    @property
    def total_due(self) -> Decimal:
        return self.ledger.total_due

    @property
    def paid_to_installments(self) -> Decimal:
        return self.ledger.paid_to_installments

    @property
    def paid_not_overdue(self) -> Decimal:
        return self.ledger.paid_not_overdue

    @property
    def overdue_amount(self) -> Decimal:
        """Money still owed on missed installments."""
        return sum((i.amount_due - i.paid for i in self.ledger.installments), ZERO)

    @property
    def opted_out(self) -> tuple[Channel, ...]:
        return self.commitments.opted_out

    @property
    def ceased(self) -> bool:
        return self.commitments.ceased

    @property
    def disputed(self) -> bool:
        return self.commitments.disputed

    @property
    def unreachable(self) -> bool:
        return self.commitments.unreachable

    @property
    def promise(self) -> OpenPromise | None:
        return self.commitments.promise

    @property
    def arrangement(self) -> ActiveArrangement | None:
        return self.commitments.arrangement

    @property
    def hardship_until(self) -> datetime | None:
        return self.commitments.hardship_until

    @property
    def broken_promises(self) -> tuple[date, ...]:
        return self.commitments.broken_promises

    @property
    def pending_outreach(self) -> tuple[Attempt, ...]:
        """Outreach emitted and not yet answered by a result carrying its id."""
        return tuple(a for a in self.attempts if a.outreach_id is not None)

    def has_seen(self, event_id: str) -> bool:
        """Whether ``event_id`` is among the remembered ids (a duplicate)."""
        return seen_index(self.seen, ids.event_digest(event_id)) >= 0


def seen_index(seen: bytes, digest: bytes) -> int:
    """Offset of ``digest`` in the digest blob (aligned to 8 bytes), or -1."""
    pos = seen.find(digest)
    while pos >= 0 and pos % DIGEST_SIZE:
        pos = seen.find(digest, pos + 1)
    return pos


def remember_seen(seen: bytes, digest: bytes) -> bytes:
    """Append ``digest``, forgetting the oldest beyond ``SEEN_EVENT_IDS``."""
    seen += digest
    if len(seen) > SEEN_EVENT_IDS * DIGEST_SIZE:
        seen = seen[-SEEN_EVENT_IDS * DIGEST_SIZE :]
    return seen


# -- encoding -----------------------------------------------------------------------------

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
                [[i.installment_id, i.due_date.toordinal(), str(i.amount_due), str(i.paid)]
                 for i in ledger.installments],
                str(ledger.credit),
                str(ledger.total_paid),
                str(ledger.total_due),
                str(ledger.paid_to_installments),
                str(ledger.paid_not_overdue),
            ],
            [
                None if p is None else [str(p.amount), p.date.toordinal(),
                                        p.made_on.toordinal(), str(p.paid_since), int(p.reminded)],
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
    )  # fmt: skip


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
                _instant(d.not_before),
                int((d.expires_at - d.not_before).total_seconds()),
            ]
        groups[-1].append(item)
    return groups  # fmt: skip


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
    (_, customer_id, zone, currency, tier, basis, modifiers, ledger, commit, attempts,
     last_collection, last_tick, seen, recent) = data  # fmt: skip
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
                        customer_id, from_tier, to_tier,
                        "up" if item[1] > item[0] else "down",
                        reasons, dpd, overdue, currency, caused_by, decided_at,
                    )
                )  # fmt: skip
            else:
                reason = OUTREACH_REASONS[item[3]]
                not_before = _from_instant(item[4])
                assert not_before is not None
                decisions.append(
                    Outreach(
                        ids.outreach_id(customer_id, caused_by, reason),
                        customer_id, CHANNELS[item[0]], TIERS[item[1]], item[2], reason,
                        not_before, not_before + timedelta(seconds=item[5]),
                        dpd, overdue, currency, caused_by, decided_at,
                    )
                )  # fmt: skip
    return tuple(decisions)
