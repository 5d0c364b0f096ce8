"""One customer's state as immutable records, bounded.

Everything the decisions need and nothing more, kept small because it is written to the
changelog on every event: tuples, not lists; histories pruned to what a rule can still read
(attempts for the caps, broken promises for 90 days, fully paid installments for 400 days,
1,000 event-id digests, the last 16 decisions). ``policy.state`` encodes them.
"""

from __future__ import annotations

from dataclasses import MISSING, dataclass, fields
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Final, TypeVar

from policy import ids
from policy.memory import NOTHING, recall
from schemas.events import Channel
from schemas.outputs import Decision

ZERO: Final = Decimal(0)
DIGEST_SIZE: Final = 8
SEEN_EVENT_IDS: Final = 1000
REMEMBERED_DECISIONS: Final = 16
_T = TypeVar("_T", bound=type)
MODIFIERS: Final = ("broken_promises", "unreachable", "repeat_delinquency")
Day = date  # an alias, for records with a field named ``date``


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
    """A missed installment: ``amount_due`` when it fell due, ``paid`` towards it since.

    ``named`` is the part of ``paid`` that came from payments naming this installment; the
    rest is its share of the unnamed money, allocated oldest due first (``policy.ledger``).
    """

    installment_id: str
    due_date: date
    amount_due: Decimal
    paid: Decimal = ZERO
    named: Decimal = ZERO


@_fast_init
@dataclass(frozen=True, slots=True)
class Payment:
    """A payment on local ``day``: one naming an installment the ledger does not hold yet
    (``held``), or a recent one that a promise reported late may still count."""

    day: date
    amount: Decimal
    installment_id: str | None = None


@_fast_init
@dataclass(frozen=True, slots=True)
class Ledger:
    """Installments oldest due first, credit, and running totals for money conservation.

    ``held``: payments naming an installment not reported yet (their report may arrive
    later); ``recent``: the last days' payments, for a promise reported after them.
    """

    installments: tuple[Installment, ...] = ()
    credit: Decimal = ZERO
    total_paid: Decimal = ZERO
    total_due: Decimal = ZERO
    paid_to_installments: Decimal = ZERO
    paid_not_overdue: Decimal = ZERO
    held: tuple[Payment, ...] = ()
    recent: tuple[Payment, ...] = ()


@_fast_init
@dataclass(frozen=True, slots=True)
class Attempt:
    """A contact attempt; ``outreach_id`` is set while an emitted outreach awaits its result
    (``collection``: it has a collection reason, so a cure, promise, arrangement or dispute
    cancels it)."""

    at: datetime
    channel: Channel
    right_party: bool = False
    outreach_id: str | None = None
    collection: bool = False


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
    agreed_on: date | None = None  # local date it was agreed (None: stored before 0.2)


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
    memory: bytes = NOTHING  # the last 16 decisions, encoded (``policy.memory``)

    @property
    def recent(self) -> tuple[Decision, ...]:
        """The last 16 decisions, oldest first (expanded from ``memory`` on each read)."""
        return recall(self.memory, self.customer_id)

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
