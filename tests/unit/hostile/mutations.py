"""What a mutation is: a valid input document turned into a hostile message, with what the
contract says must become of it; and the helpers that read and bend the documents' fields.
The families themselves are in ``families.py``.

Every family starts from a valid document of its topic, breaks (or bends) one thing, and
states the expected end of the message after decoder *and* core:

- ``Rejected``: one dead letter with one of the listed (code, field) pairs;
- ``Same``: it decodes to the very record the unmutated document gives;
- ``Anything``: the contract is silent (or leaves a choice), so any decision or any contract
  dead letter will do; it must still never crash, stall or touch another customer.

Choices go through a ``Chooser``, so hypothesis (which shrinks them, ``strategies.py``) and a
seeded ``random.Random`` (the live corpus, ``corpus.py``) share this one catalog.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, Protocol, TypeVar

import orjson

from schemas.decode import ARRANGEMENT_MAX_MONTHS, add_months
from schemas.events import (
    ARRANGEMENT_TYPES,
    CONTACT_RESULTS,
    MISSED_PAYMENTS,
    PAYMENTS,
)
from tests.unit.schemas.fixtures import replaced

T = TypeVar("T")
Pair = tuple[str, str | None]


class Chooser(Protocol):
    def choice(self, options: Sequence[T]) -> T: ...

    def integer(self, low: int, high: int) -> int: ...


class RandomChooser:
    """Choices from a seeded ``random.Random``: the same seed, the same mutations."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def choice(self, options: Sequence[T]) -> T:
        return options[self.rng.randrange(len(options))]

    def integer(self, low: int, high: int) -> int:
        return self.rng.randint(low, high)


@dataclass(frozen=True, slots=True)
class Rejected:
    errors: frozenset[Pair]

    def __repr__(self) -> str:
        return "Rejected(" + " | ".join(f"{c}@{f}" for c, f in sorted(self.errors, key=str)) + ")"


@dataclass(frozen=True, slots=True)
class Same:
    pass


@dataclass(frozen=True, slots=True)
class Anything:
    pass


Expect = Rejected | Same | Anything
SAME = Same()
ANYTHING = Anything()


def rejected(code: str, path: str | None = None, *more: Pair) -> Rejected:
    return Rejected(frozenset({(code, path), *more}))


@dataclass(frozen=True, slots=True)
class Base:
    """A valid document of ``topic``, and what the receiver knows when it arrives."""

    topic: str
    doc: dict[str, Any]
    not_after: datetime | None = None  # the latest occurred_at the receiver accepts
    currency: str | None = None  # the currency the customer's state already holds


@dataclass(frozen=True, slots=True)
class Hostile:
    family: str
    topic: str
    raw: bytes
    expect: Expect
    note: str = field(default="")

    def __repr__(self) -> str:
        shown = (
            self.raw if len(self.raw) <= 300 else self.raw[:300] + b"...(%d bytes)" % len(self.raw)
        )
        return f"Hostile({self.family}: {self.note}; expect {self.expect!r}; raw={shown!r})"


Mutator = Callable[[Base, dict[str, Any], Chooser], tuple[bytes, Expect, str]]


@dataclass(frozen=True, slots=True)
class Family:
    name: str
    topics: tuple[str, ...]
    mutate: Mutator
    in_corpus: bool
    """False when the message may be accepted or refused depending on the receiver's wall
    clock (``not_after``): the corpus's expected outcomes must not depend on when it runs."""
    keeps_clock: bool
    """False when the message may be accepted with an ``occurred_at`` later than its base's:
    that moves replay's event clock, a legitimate effect on every customer, so the replay
    property (no effect on other customers) leaves such families out."""


# --- the documents' fields -------------------------------------------------------------

COMMON_REQUIRED = ("event_id", "customer_id", "occurred_at")
TOPIC_REQUIRED = {
    PAYMENTS: ("amount", "currency"),
    MISSED_PAYMENTS: ("installment_id", "due_date", "amount_due", "currency"),
    CONTACT_RESULTS: ("channel", "outcome"),
}
OPTIONAL = {
    PAYMENTS: ("customer_timezone", "schema_version", "installment_id", "account_id"),
    MISSED_PAYMENTS: ("customer_timezone", "schema_version", "account_id"),
    CONTACT_RESULTS: ("customer_timezone", "schema_version", "outreach_id"),
}
KIND = {
    "event_id": "id",
    "customer_id": "id",
    "installment_id": "id",
    "account_id": "id",
    "outreach_id": "id",
    "occurred_at": "instant",
    "callback_at": "instant",
    "customer_timezone": "zone",
    "schema_version": "version",
    "amount": "money",
    "amount_due": "money",
    "promise.amount": "money",
    "currency": "currency",
    "due_date": "date",
    "promise.date": "date",
    "arrangement.until": "date",
    "channel": "enum",
    "arrangement.type": "enum",
    "outcome": "outcome",
    "promise": "object",
    "arrangement": "object",
}
PLACEHOLDER = "@@hostile-literal@@"


def required_paths(topic: str, doc: dict[str, Any]) -> list[str]:
    paths = [*COMMON_REQUIRED, *TOPIC_REQUIRED[topic]]
    if topic == CONTACT_RESULTS and doc.get("outcome") == "promise_to_pay":
        paths += ["promise", "promise.amount", "promise.date"]
    if topic == CONTACT_RESULTS and doc.get("outcome") == "arrangement_agreed":
        paths += ["arrangement", "arrangement.type", "arrangement.until"]
    return paths


def read_paths(topic: str, doc: dict[str, Any]) -> list[str]:
    """Every path the decoder reads for this document: required ones and all optional ones."""
    paths = [*required_paths(topic, doc), *OPTIONAL[topic]]
    if topic == CONTACT_RESULTS and doc.get("outcome") == "callback_requested":
        paths.append("callback_at")
    return paths


def occurred_utc(doc: dict[str, Any]) -> datetime:
    text = str(doc["occurred_at"]).upper().replace("Z", "+00:00")
    return datetime.fromisoformat(text).astimezone(UTC)


def dumps(doc: dict[str, Any]) -> bytes:
    return orjson.dumps(doc)


def with_literal(doc: dict[str, Any], path: str, literal: bytes) -> bytes:
    """The document with the JSON text ``literal`` (any bytes) as the value at ``path``."""
    raw = dumps(replaced(doc, path, PLACEHOLDER))
    return raw.replace(b'"' + PLACEHOLDER.encode() + b'"', literal, 1)


def latest_local(doc: dict[str, Any]) -> date:
    """The latest promise date or arrangement end 13 months after the event, in any zone:
    the local date is at most a day after the UTC date (a day can move the end by up to four,
    from 28 February to 1 April)."""
    return add_months(occurred_utc(doc).date() + timedelta(days=1), ARRANGEMENT_MAX_MONTHS)


def ensure_promise(doc: dict[str, Any], c: Chooser) -> None:
    """Make a contact result a valid promise to pay (a promise a few days ahead)."""
    if doc.get("outcome") == "promise_to_pay" and isinstance(doc.get("promise"), dict):
        return
    day = occurred_utc(doc).date() + timedelta(days=c.integer(1, 20))
    doc["outcome"] = "promise_to_pay"
    doc["promise"] = {"amount": "100.00", "date": day.isoformat()}


def ensure_arrangement(doc: dict[str, Any], c: Chooser) -> None:
    """Make a contact result a valid arrangement: UTC date + 1 .. 365 days lies inside the
    local date .. + 13 months in every zone."""
    if doc.get("outcome") == "arrangement_agreed" and isinstance(doc.get("arrangement"), dict):
        return
    until = occurred_utc(doc).date() + timedelta(days=c.integer(1, 365))
    doc["outcome"] = "arrangement_agreed"
    doc["arrangement"] = {"type": c.choice(ARRANGEMENT_TYPES), "until": until.isoformat()}


def some_payload(doc: dict[str, Any], c: Chooser) -> None:
    """Leave a contact result as it is, or make it a promise or an arrangement."""
    kind = c.choice(("as it is", "promise", "arrangement"))
    if kind == "promise":
        ensure_promise(doc, c)
    elif kind == "arrangement":
        ensure_arrangement(doc, c)


def money_path(topic: str, doc: dict[str, Any], c: Chooser) -> str:
    if topic == PAYMENTS:
        return "amount"
    if topic == MISSED_PAYMENTS:
        return "amount_due"
    ensure_promise(doc, c)
    return "promise.amount"


def date_path(topic: str, doc: dict[str, Any], c: Chooser) -> str:
    if topic == MISSED_PAYMENTS:
        return "due_date"
    if c.choice((True, False)):
        ensure_promise(doc, c)
        return "promise.date"
    ensure_arrangement(doc, c)
    return "arrangement.until"


def pad(doc: dict[str, Any], size: int) -> bytes:
    """The document with an unknown field that makes it exactly ``size`` bytes (or its
    smallest size, when that is larger)."""
    bare = dumps({**doc, "x_padding": ""})
    return dumps({**doc, "x_padding": "x" * max(0, size - len(bare))})
