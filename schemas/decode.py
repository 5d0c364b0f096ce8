"""Strict decoding of the three input topics into ``schemas.events`` records.

Every way a message can break the contract raises ``InvalidEvent(code, message, field)``
with the contract's dead-letter code and the dotted path of the field at fault; anything
else escaping from here is a bug. The first fault found wins: the common fields first,
then the topic's fields in the contract's order. Fields this version does not know are
ignored, so producers can add fields before consumers learn them; a JSON ``null`` counts
as an absent field.

Money never passes through a binary float: orjson parses the message once, and only when
a money field arrives as a JSON number with a fraction or exponent is the message parsed
again with ``Decimal`` numbers, so the amount is exactly what the producer wrote.

Bounds that keep every record safe for the core's calendar arithmetic: every timestamp is
an instant from 1970-01-01T00:00:00Z to before 2200-01-01T00:00:00Z, every date lies in
the years 1970-2199, offsets are RFC 3339's (hours 00-23, minutes 00-59; no leap second),
and a zone name must be one of the ``tzdata`` package's (the IANA database shipped with the
processor), whose files are also the ones read, so no decision depends on the host's
``/usr/share/zoneinfo``. The decoder reads no clock: the latest acceptable ``occurred_at``
(the wall clock plus the allowed lead) is the caller's ``not_after``.
"""

from __future__ import annotations

import calendar
import json
import re
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from functools import lru_cache
from importlib import resources
from typing import Any, Final, cast
from zoneinfo import ZoneInfo

import orjson

from schemas.errors import InvalidEvent
from schemas.events import (
    ARRANGEMENT_TYPES,
    CALLBACK_MAX_DAYS,
    CONTACT_RESULTS,
    ERASURES,
    MISSED_PAYMENTS,
    OUTCOMES,
    PAYMENTS,
    RESULT_CHANNELS,
    SELF_SERVICE,
    SELF_SERVICE_OUTCOMES,
    Arrangement,
    ArrangementType,
    ContactResultReported,
    ErasureRequested,
    EventHeader,
    InputEvent,
    PaymentMissed,
    PaymentReceived,
    Promise,
)

DEFAULT_MAX_BYTES: Final = 65536
MAX_ID_CHARS: Final = 128
MONEY_MAX_DECIMALS: Final = 4
MONEY_MAX_INTEGER_DIGITS: Final = 14
MONEY_MAX_TEXT_CHARS: Final = 32
ARRANGEMENT_MAX_MONTHS: Final = 13
ZONE_MAX_CHARS: Final = 64
EARLIEST_YEAR: Final = 1970
LATEST_YEAR: Final = 2199

# Patterns are shared with the JSON Schemas (``schemas.export``): keep them ECMA-262 safe.
# The year alternatives spell EARLIEST_YEAR-LATEST_YEAR; a timestamp's written date may also
# be the day before or after them, when its offset puts the instant inside (checked in UTC).
MONEY_TEXT_PATTERN: Final = r"^[0-9]+(\.[0-9]+)?$"
CURRENCY_PATTERN: Final = r"^[A-Z]{3}$"
DATE_PATTERN: Final = r"^(19[7-9][0-9]|2[01][0-9]{2})-[0-9]{2}-[0-9]{2}$"
INSTANT_PATTERN: Final = (
    r"^((19[7-9][0-9]|2[01][0-9]{2})-[0-9]{2}-[0-9]{2}|1969-12-31|2200-01-01)"
    r"[Tt]([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]{1,9})?"
    r"([Zz]|[+-]([01][0-9]|2[0-3]):[0-5][0-9])$"
)
ZONE_PATTERN: Final = r"^[A-Za-z0-9_+-]+(/[A-Za-z0-9_+-]+)*$"
HOST_ONLY_ZONE_PATTERN: Final = r"^(posix|right)/|^(localtime|posixrules)$"
"""Names some hosts' zoneinfo directories hold that the IANA database does not ship; the
decoder refuses them because they are not in ``SHIPPED_ZONES``, the JSON Schema by this."""

_MONEY_TEXT = re.compile(MONEY_TEXT_PATTERN)
_CURRENCY = re.compile(CURRENCY_PATTERN)
_DATE = re.compile(DATE_PATTERN)
_INSTANT = re.compile(INSTANT_PATTERN)
_EARLIEST_INSTANT: Final = datetime(EARLIEST_YEAR, 1, 1, tzinfo=UTC)
_END_INSTANT: Final = datetime(LATEST_YEAR + 1, 1, 1, tzinfo=UTC)
_MONEY_LIMIT: Final = Decimal(10) ** MONEY_MAX_INTEGER_DIGITS
_MONEY_STEP: Final = Decimal(1).scaleb(-MONEY_MAX_DECIMALS)
_ONE: Final = Decimal(1)
_RESULT_CHANNEL_SET: Final = frozenset(RESULT_CHANNELS)
_ARRANGEMENT_TYPE_SET: Final = frozenset(ARRANGEMENT_TYPES)


def _shipped_zone_names() -> frozenset[str]:
    """Every zone name of the ``tzdata`` package (its ``zones`` list, links included)."""
    text = resources.files("tzdata").joinpath("zones").read_text("utf-8")
    return frozenset(line.strip() for line in text.splitlines() if line.strip())


SHIPPED_ZONES: Final = _shipped_zone_names()
"""The IANA zone names the processor accepts: those of the ``tzdata`` package it ships
with, never the host's (``localtime``, ``posix/...``, ``right/...`` are host files)."""


@lru_cache(maxsize=1024)
def shipped_zone(name: str) -> ZoneInfo:
    """The zone ``name`` (one of ``SHIPPED_ZONES``) read from the ``tzdata`` package.

    ``ZoneInfo(name)`` would prefer the host's files (``zoneinfo.TZPATH``) over the package,
    so a decision could change with the host's tz data; this reads the package's file, as
    zoneinfo itself does when TZPATH has none. Cached: parsing a zone is the slow part.
    """
    if name not in SHIPPED_ZONES:
        raise ValueError(f"not a zone of the shipped IANA database: {name!r}")
    *packages, file_name = name.split("/")
    package = ".".join(["tzdata", "zoneinfo", *packages])
    with resources.files(package).joinpath(file_name).open("rb") as tzif:
        return ZoneInfo.from_file(tzif, key=name)


class _InexactNumber(Exception):
    """A money field is a JSON number orjson turned into a float: re-read it exactly."""


def decode_input(
    topic: str,
    raw: bytes,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    not_after: datetime | None = None,
) -> InputEvent:
    """Decode one message value of an input topic (a contract name from ``INPUT_TOPICS``).

    ``not_after`` (aware) is the latest ``occurred_at`` accepted, inclusive: the caller's
    wall clock plus the allowed lead; ``None`` checks nothing (replay, tests). Raises
    ``InvalidEvent`` for every contract violation, ``ValueError`` for a topic that is not
    an input topic or a naive ``not_after`` (wiring bugs, not bad input).
    """
    decoder = _DECODERS.get(topic)
    if decoder is None:
        raise ValueError(f"not an input topic: {topic!r}")
    if not_after is not None and not_after.utcoffset() is None:
        raise ValueError(f"not_after must be an aware datetime, got {not_after!r}")
    if len(raw) > max_bytes:
        raise InvalidEvent("too_large", f"value is {len(raw)} bytes, the limit is {max_bytes}")
    try:
        doc = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise InvalidEvent("invalid_json", str(exc)) from None
    if type(doc) is not dict:
        raise InvalidEvent("not_an_object", f"the value is a JSON {_json_kind(doc)}, not an object")
    try:
        return decoder(doc, not_after)
    except _InexactNumber:
        return decoder(_parse_exact(raw), not_after)


def decode_key(raw_key: bytes | None) -> str | None:
    """The message key as text; ``None`` when it is missing, empty or not UTF-8.

    The value's ``customer_id`` is authoritative: the shell compares it with this key and
    re-keys (and counts) messages whose key is missing or differs.
    """
    if not raw_key:
        return None
    try:
        return raw_key.decode("utf-8")
    except UnicodeDecodeError:
        return None


def _parse_exact(raw: bytes) -> dict[str, Any]:
    """Parse again with JSON numbers that have a fraction or exponent as ``Decimal``.

    Only reached for messages orjson already accepted as an object, so it cannot disagree
    on validity in practice; the guard keeps the one-error-type promise regardless.
    """
    try:
        doc = json.loads(raw.decode("utf-8"), parse_float=Decimal, parse_constant=_no_constant)
    except (ValueError, RecursionError) as exc:
        raise InvalidEvent("invalid_json", str(exc)) from None
    if type(doc) is not dict:
        raise InvalidEvent("not_an_object", f"the value is a JSON {_json_kind(doc)}, not an object")
    return doc


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _json_kind(value: object) -> str:
    if value is None:
        return "null"
    if type(value) is bool:
        return "boolean"
    if type(value) is str:
        return "string"
    if type(value) is list:
        return "array"
    if type(value) is dict:
        return "object"
    return "number"


def _missing(path: str) -> InvalidEvent:
    return InvalidEvent("missing_field", f"{path} is required", path)


def _invalid(path: str, rule: str) -> InvalidEvent:
    return InvalidEvent("invalid_field", f"{path} {rule}", path)


def _required(obj: dict[str, Any], key: str, path: str) -> Any:
    value = obj.get(key)
    if value is None:
        raise _missing(path)
    return value


def _identifier(value: Any, path: str) -> str:
    if type(value) is not str or not 0 < len(value) <= MAX_ID_CHARS:
        raise _invalid(path, f"must be a string of 1-{MAX_ID_CHARS} characters")
    return value


def _optional_identifier(obj: dict[str, Any], key: str) -> str | None:
    value = obj.get(key)
    return None if value is None else _identifier(value, key)


_INSTANT_RANGE_RULE: Final = (
    f"must be from {_EARLIEST_INSTANT:%Y-%m-%dT%H:%M:%SZ} to before "
    f"{_END_INSTANT:%Y-%m-%dT%H:%M:%SZ} (years {EARLIEST_YEAR}-{LATEST_YEAR} in UTC)"
)
_INSTANT_RULE: Final = (
    "must be an RFC 3339 timestamp with an offset (Z or +hh:mm/-hh:mm, hh 00-23, mm 00-59; "
    f"seconds 00-59) in the years {EARLIEST_YEAR}-{LATEST_YEAR}, "
    "e.g. 2026-03-01T09:30:00+08:00"
)


def _instant(value: Any, path: str) -> tuple[datetime, datetime]:
    """An RFC 3339 timestamp in the years 1970-2199 (UTC): (in UTC, with the producer's
    offset kept). The pattern bounds every field, so only a day the month lacks can fail
    to parse; the instant's year is then checked in UTC."""
    if type(value) is str and len(value) <= 40 and _INSTANT.fullmatch(value):
        try:
            local = datetime.fromisoformat(value.upper())
        except ValueError:  # no such day
            pass
        else:
            utc = local.astimezone(UTC)
            if _EARLIEST_INSTANT <= utc < _END_INSTANT:
                return utc, local
            raise _invalid(path, _INSTANT_RANGE_RULE)
    raise _invalid(path, _INSTANT_RULE)


def _not_after(occurred: datetime, limit: datetime) -> None:
    if occurred > limit:
        raise _invalid(
            "occurred_at",
            f"must not be after {limit.astimezone(UTC).isoformat().replace('+00:00', 'Z')} "
            "(the processor's wall clock plus the allowed lead)",
        )


def _date(value: Any, path: str) -> date:
    """A calendar date in the years 1970-2199 (the pattern bounds the year)."""
    if type(value) is str and _DATE.fullmatch(value):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise _invalid(
        path, f"must be a calendar date YYYY-MM-DD in the years {EARLIEST_YEAR}-{LATEST_YEAR}"
    )


def _money(value: Any, path: str) -> Decimal:
    """A positive amount below 10^14 with at most 4 decimals, from a string or a number.

    Trailing zeros beyond 4 decimals are tolerated (``1.50000`` is ``1.5000``); a positive
    exponent is written out (``1E+2`` is ``100``).
    """
    kind = type(value)
    if kind is str:
        if len(value) > MONEY_MAX_TEXT_CHARS or not _MONEY_TEXT.fullmatch(value):
            raise _invalid(path, 'must be a decimal string like "125.50" or a JSON number')
        amount = Decimal(value)
        dot = value.find(".")
        if dot < 0 or len(value) - dot <= MONEY_MAX_DECIMALS + 1:  # the usual case: done
            return _in_range(amount, path)
        return _scaled(_in_range(amount, path), path)
    if kind is int:
        return _in_range(Decimal(value), path)
    if kind is float:
        raise _InexactNumber
    if kind is Decimal and value.is_finite():
        return _scaled(_in_range(value, path), path)
    raise _invalid(path, 'must be a decimal string like "125.50" or a JSON number')


def _in_range(amount: Decimal, path: str) -> Decimal:
    if 0 < amount < _MONEY_LIMIT:
        return amount
    raise _invalid(path, f"must be greater than 0 and less than 10^{MONEY_MAX_INTEGER_DIGITS}")


def _scaled(amount: Decimal, path: str) -> Decimal:
    """At most 4 decimals (trailing zeros dropped to fit), no positive exponent."""
    exponent = cast(int, amount.as_tuple().exponent)  # an int: the amount is finite
    if exponent < -MONEY_MAX_DECIMALS:
        rounded = amount.quantize(_MONEY_STEP)
        if rounded != amount:
            raise _invalid(path, f"must have at most {MONEY_MAX_DECIMALS} decimals")
        return rounded
    if exponent > 0:
        return amount.quantize(_ONE)
    return amount


def _currency(value: Any, path: str) -> str:
    if type(value) is not str or not _CURRENCY.fullmatch(value):
        raise _invalid(path, "must be an ISO 4217 code: three upper-case letters")
    return value


def _zone_name(value: Any, path: str) -> str:
    """A name of the shipped IANA database: a set lookup, no file is read."""
    if type(value) is not str or len(value) > ZONE_MAX_CHARS or value not in SHIPPED_ZONES:
        raise _invalid(
            path,
            "must be a time zone name of the IANA database shipped with the processor, "
            "e.g. Asia/Shanghai (host-only names such as localtime, posix/... and right/... "
            "are not)",
        )
    return value


def _header(doc: dict[str, Any], not_after: datetime | None) -> tuple[EventHeader, datetime]:
    """The common fields, and ``occurred_at`` with the producer's own offset."""
    event_id = _identifier(_required(doc, "event_id", "event_id"), "event_id")
    customer_id = _identifier(_required(doc, "customer_id", "customer_id"), "customer_id")
    occurred_utc, occurred = _instant(_required(doc, "occurred_at", "occurred_at"), "occurred_at")
    if not_after is not None:
        _not_after(occurred_utc, not_after)
    zone = doc.get("customer_timezone")
    if zone is not None:
        zone = _zone_name(zone, "customer_timezone")
    version = doc.get("schema_version")
    if version is None:
        version = 1
    elif type(version) is not int or version < 1:
        raise _invalid("schema_version", "must be an integer >= 1")
    header = EventHeader(event_id, customer_id, occurred_utc, zone, version)
    return header, occurred


def _payment_received(doc: dict[str, Any], not_after: datetime | None) -> PaymentReceived:
    header, _ = _header(doc, not_after)
    return PaymentReceived(
        header=header,
        amount=_money(_required(doc, "amount", "amount"), "amount"),
        currency=_currency(_required(doc, "currency", "currency"), "currency"),
        installment_id=_optional_identifier(doc, "installment_id"),
        account_id=_optional_identifier(doc, "account_id"),
    )


def _payment_missed(doc: dict[str, Any], not_after: datetime | None) -> PaymentMissed:
    header, _ = _header(doc, not_after)
    return PaymentMissed(
        header=header,
        installment_id=_identifier(
            _required(doc, "installment_id", "installment_id"), "installment_id"
        ),
        due_date=_date(_required(doc, "due_date", "due_date"), "due_date"),
        amount_due=_money(_required(doc, "amount_due", "amount_due"), "amount_due"),
        currency=_currency(_required(doc, "currency", "currency"), "currency"),
        account_id=_optional_identifier(doc, "account_id"),
    )


def _contact_result_reported(
    doc: dict[str, Any], not_after: datetime | None
) -> ContactResultReported:
    """A promise is read only for ``promise_to_pay``, an arrangement only for
    ``arrangement_agreed``; on other outcomes they are ignored like unknown fields."""
    header, occurred = _header(doc, not_after)
    channel = _required(doc, "channel", "channel")
    if type(channel) is not str or channel not in _RESULT_CHANNEL_SET:
        raise _invalid("channel", "must be one of " + ", ".join(RESULT_CHANNELS))
    outcome = _required(doc, "outcome", "outcome")
    if type(outcome) is not str:
        raise _invalid("outcome", "must be a string")
    if outcome not in OUTCOMES:
        raise InvalidEvent("unknown_outcome", "outcome is not in the contract's table", "outcome")
    if channel == SELF_SERVICE and outcome not in SELF_SERVICE_OUTCOMES:
        raise _invalid(
            "outcome",
            "self_service reports only right-party outcomes, dispute_resolved and cease_contact",
        )
    outreach_id = _optional_identifier(doc, "outreach_id")
    promise = None
    arrangement = None
    callback_at = None
    if outcome == "callback_requested":
        callback_at = _callback_at(doc.get("callback_at"), header.occurred_at)
    elif outcome == "promise_to_pay":
        promise = _promise(_required(doc, "promise", "promise"))
    elif outcome == "arrangement_agreed":
        arrangement = _arrangement(
            _required(doc, "arrangement", "arrangement"), _local_date(occurred, header)
        )
    return ContactResultReported(
        header, channel, outcome, outreach_id, promise, arrangement, callback_at
    )


def _callback_at(value: Any, occurred: datetime) -> datetime | None:
    """When the customer wants the call: from ``occurred_at`` to 14 days after it."""
    if value is None:
        return None
    at, _ = _instant(value, "callback_at")
    latest = occurred + timedelta(days=CALLBACK_MAX_DAYS)
    if not occurred <= at <= latest:
        raise _invalid(
            "callback_at",
            f"must lie between occurred_at and {CALLBACK_MAX_DAYS} days after it",
        )
    return at


def _promise(value: Any) -> Promise:
    if type(value) is not dict:
        raise _invalid("promise", 'must be an object {"amount": ..., "date": "YYYY-MM-DD"}')
    amount = _money(_required(value, "amount", "promise.amount"), "promise.amount")
    return Promise(amount, _date(_required(value, "date", "promise.date"), "promise.date"))


def _arrangement(value: Any, occurred_on: date) -> Arrangement:
    """``until`` lies between the day the arrangement was agreed and 13 months later."""
    if type(value) is not dict:
        raise _invalid("arrangement", 'must be an object {"type": ..., "until": "YYYY-MM-DD"}')
    kind = _required(value, "type", "arrangement.type")
    if type(kind) is not str or kind not in _ARRANGEMENT_TYPE_SET:
        raise _invalid("arrangement.type", "must be one of " + ", ".join(ARRANGEMENT_TYPES))
    until = _date(_required(value, "until", "arrangement.until"), "arrangement.until")
    latest = add_months(occurred_on, ARRANGEMENT_MAX_MONTHS)
    if not occurred_on <= until <= latest:
        raise _invalid(
            "arrangement.until",
            f"must be on or after {occurred_on.isoformat()} (occurred_at) "
            f"and at most {ARRANGEMENT_MAX_MONTHS} months later ({latest.isoformat()})",
        )
    return Arrangement(cast(ArrangementType, kind), until)


def _local_date(occurred: datetime, header: EventHeader) -> date:
    """The customer's calendar day of ``occurred_at``: in ``customer_timezone`` when the
    event names it, else in the offset the producer wrote (the decoder has no state)."""
    if header.customer_timezone is None:
        return occurred.date()
    return occurred.astimezone(shipped_zone(header.customer_timezone)).date()


def add_months(day: date, months: int) -> date:
    """Calendar months later, clamped to the month's last day (31 Jan + 1 = 28/29 Feb)."""
    years, month_index = divmod(day.month - 1 + months, 12)
    year = day.year + years
    if year > date.max.year:
        return date.max
    month = month_index + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def _erasure_requested(doc: dict[str, Any], not_after: datetime | None) -> ErasureRequested:
    return ErasureRequested(_header(doc, not_after)[0])


_DECODERS: Final[dict[str, Callable[[dict[str, Any], datetime | None], InputEvent]]] = {
    PAYMENTS: _payment_received,
    MISSED_PAYMENTS: _payment_missed,
    CONTACT_RESULTS: _contact_result_reported,
    ERASURES: _erasure_requested,
}
