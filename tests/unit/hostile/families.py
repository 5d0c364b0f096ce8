"""The families of mutations (``mutations.py`` says what one is): bytes, structure, fields,
numbers, timestamps and dates, zones, nesting and sizes, duplicate keys, enums and
currencies. Each is registered in ``FAMILIES`` under its name."""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

import orjson

from schemas.decode import DEFAULT_MAX_BYTES
from schemas.events import CONTACT_RESULTS, MISSED_PAYMENTS, PAYMENTS
from tests.unit.hostile.mutations import (
    ANYTHING,
    KIND,
    PLACEHOLDER,
    SAME,
    Base,
    Chooser,
    Expect,
    Family,
    Hostile,
    Mutator,
    Rejected,
    date_path,
    dumps,
    ensure_arrangement,
    ensure_promise,
    latest_local,
    money_path,
    occurred_utc,
    pad,
    read_paths,
    rejected,
    required_paths,
    some_payload,
    with_literal,
)
from tests.unit.schemas.fixtures import replaced, without

DATA_TOPICS = (PAYMENTS, MISSED_PAYMENTS, CONTACT_RESULTS)
"""The topics whose messages change a state; an erasure (header fields only, the same
decoding) is tested in tests/unit/policy/test_erasure.py and live."""

FAMILIES: dict[str, Family] = {}


def family(
    name: str,
    topics: Sequence[str] = DATA_TOPICS,
    *,
    in_corpus: bool = True,
    keeps_clock: bool = True,
) -> Callable[[Mutator], Mutator]:
    def register(fn: Mutator) -> Mutator:
        FAMILIES[name] = Family(name, tuple(topics), fn, in_corpus, keeps_clock)
        return fn

    return register


def mutate(name: str, base: Base, c: Chooser) -> Hostile:
    """Apply family ``name`` to a copy of ``base.doc``."""
    raw, expect, note = FAMILIES[name].mutate(base, copy.deepcopy(base.doc), c)
    return Hostile(name, base.topic, raw, expect, note)


# --- bytes -------------------------------------------------------------------------------


@family("byte_flip", keeps_clock=False)
def _byte_flip(base: Base, doc: dict[str, Any], c: Chooser) -> tuple[bytes, Expect, str]:
    raw = bytearray(dumps(doc))
    at, xor = c.integer(0, len(raw) - 1), c.integer(1, 255)
    raw[at] ^= xor
    return bytes(raw), ANYTHING, f"byte {at} ^= {xor}"


@family("truncate")
def _truncate(base: Base, doc: dict[str, Any], c: Chooser) -> tuple[bytes, Expect, str]:
    raw = dumps(doc)
    cut = c.integer(0, len(raw) - 1)  # the closing brace always goes
    return raw[:cut], rejected("invalid_json"), f"first {cut} of {len(raw)} bytes"


INVALID_UTF8 = (
    b"\xff",
    b"\xfe",
    b"\x80",
    b"\xc0\xaf",
    b"\xed\xa0\x80",
    b"\xf4\x90\x80\x80",
    b"\xe2\x82",
)


@family("invalid_utf8")
def _invalid_utf8(base: Base, doc: dict[str, Any], c: Chooser) -> tuple[bytes, Expect, str]:
    raw = dumps(doc)
    at, bad = c.integer(0, len(raw)), c.choice(INVALID_UTF8)
    return raw[:at] + bad + raw[at:], rejected("invalid_json"), f"{bad!r} at byte {at}"


@family("byte_order_mark")
def _byte_order_mark(base: Base, doc: dict[str, Any], c: Chooser) -> tuple[bytes, Expect, str]:
    mark = c.choice((b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff"))
    return mark + dumps(doc), ANYTHING, f"prefix {mark!r}"  # RFC 8259: MAY be ignored


@family("not_an_object")
def _not_an_object(base: Base, doc: dict[str, Any], c: Chooser) -> tuple[bytes, Expect, str]:
    raw = dumps(doc)
    value = c.choice(
        (b"[]", b"null", b"true", b"0", b"-0.0", b"1e999999", b'""', b'"{}"', b"[" + raw + b"]")
    )
    expect = rejected("not_an_object")
    if value == b"1e999999":  # a number JSON can write but a double cannot hold
        expect = rejected("not_an_object", None, ("invalid_json", None))
    return value, expect, f"value {value[:40]!r}"


@family("not_json")
def _not_json(base: Base, doc: dict[str, Any], c: Chooser) -> tuple[bytes, Expect, str]:
    raw = dumps(doc)
    value = c.choice(
        (
            b"",
            b" ",
            b"{",
            b"}",
            b"\x00",
            b"{'event_id': 'x'}",
            b"NaN",
            raw + b",",
            raw + raw,
            raw + b"x",
            raw[:-1] + b",}",
            raw.replace(b":", b"=", 1),
            raw.replace(b'"', b"'"),
            b"/*c*/" + raw,
            raw + b"\x00",
        )
    )
    return value, rejected("invalid_json"), f"value {value[:60]!r}"


@family("trailing_whitespace")
def _trailing_whitespace(base: Base, doc: dict[str, Any], c: Chooser) -> tuple[bytes, Expect, str]:
    space = c.choice((b" ", b"\n", b"\r\n", b"\t \n"))
    return b"\n " + dumps(doc) + space, SAME, f"wrapped in {space!r}"


@family("non_finite_literal")
def _non_finite_literal(base: Base, doc: dict[str, Any], c: Chooser) -> tuple[bytes, Expect, str]:
    path = c.choice((money_path(base.topic, doc, c), *required_paths(base.topic, doc)))
    literal = c.choice((b"NaN", b"-NaN", b"Infinity", b"-Infinity", b"inf", b"nan", b"undefined"))
    return with_literal(doc, path, literal), rejected("invalid_json"), f"{path} = {literal!r}"


# --- fields: missing, null, wrong type, extra -----------------------------------------------


@family("missing_field")
def _missing_field(base: Base, doc: dict[str, Any], c: Chooser) -> tuple[bytes, Expect, str]:
    path = c.choice(required_paths(base.topic, doc))
    return dumps(without(doc, path)), rejected("missing_field", path), f"without {path}"


@family("null_field")
def _null_field(base: Base, doc: dict[str, Any], c: Chooser) -> tuple[bytes, Expect, str]:
    path = c.choice(read_paths(base.topic, doc))
    expect: Expect = ANYTHING  # an optional field: the contract is silent about null
    if path in required_paths(base.topic, doc):
        expect = rejected("missing_field", path, ("invalid_field", path))
    return dumps(replaced(doc, path, None)), expect, f"{path} = null"


WRONG_TYPES: dict[str, tuple[Any, ...]] = {
    "id": (1, 1.5, True, False, [], {}, ["x"], {"id": "x"}),
    "instant": (1772328600, 1772328600.5, True, [], {}, ["2026-03-01T09:30:00Z"]),
    "zone": (8, -5.5, True, [], {}, ["Asia/Shanghai"]),
    "version": ("1", 1.5, True, [], {}, [1]),
    "money": (True, False, [], {}, [1], {"amount": "1.00"}, ""),
    "currency": (156, True, [], {}, ["CNY"]),
    "date": (20260301, 1772328600.0, True, [], {}, ["2026-03-01"]),
    "enum": (1, True, [], {}, ["sms"]),
    "outcome": (1, True, [], {}, ["reached"]),
    "object": ("x", 1, True, [], ["x"]),
}


@family("wrong_type")
def _wrong_type(base: Base, doc: dict[str, Any], c: Chooser) -> tuple[bytes, Expect, str]:
    if base.topic == CONTACT_RESULTS:
        some_payload(doc, c)
    path = c.choice(read_paths(base.topic, doc))
    value = c.choice(WRONG_TYPES[KIND[path]])
    expect = rejected("invalid_field", path)
    if path == "outcome":  # not a string, so not an outcome of the table either
        expect = rejected("invalid_field", path, ("unknown_outcome", path))
    return dumps(replaced(doc, path, value)), expect, f"{path} = {value!r}"


@family("extra_fields")
def _extra_fields(base: Base, doc: dict[str, Any], c: Chooser) -> tuple[bytes, Expect, str]:
    values: tuple[Any, ...] = (None, True, -1, 1.5, "", "x" * 100, [], {}, [{"a": [None]}])
    extra = {f"x_{c.integer(0, 10**6)}_{i}": c.choice(values) for i in range(c.integer(1, 6))}
    if base.topic != CONTACT_RESULTS and c.choice((True, False)):
        extra["promise"] = "ignored: not a contact result"
    return dumps({**doc, **extra}), SAME, f"plus {extra!r}"


@family("escaped_names")
def _escaped_names(base: Base, doc: dict[str, Any], c: Chooser) -> tuple[bytes, Expect, str]:
    """A field name written with JSON escapes: the same name to every JSON reader."""
    name = c.choice(sorted(doc))
    escaped = "".join(f"\\u{ord(ch):04x}" if i % 2 == 0 else ch for i, ch in enumerate(name))
    raw = dumps(doc).replace(f'"{name}":'.encode(), f'"{escaped}":'.encode(), 1)
    return raw, SAME, f"{name} written {escaped}"


# --- numbers -----------------------------------------------------------------------------

MONEY_OUT_OF_RANGE = (
    b"0",
    b"-1",
    b"-0",
    b"0.0",
    b"-0.0",
    b'"0"',
    b'"0.00"',
    b'"-5"',
    b"100000000000000",
    b'"100000000000000"',
    b"1000000000000000000000000000000",
    b"18446744073709551616",
    b"-9223372036854775809",
    b"1e400",  # beyond a double's range: see BEYOND_DOUBLE
    b"-1e400",
    b"1e-400",
    b"0e0",
    b"1E+14",
    b"1e308",
    b"4.9e-324",
    b"1.23456",
    b"1e-5",
    b"123456789012345.5",
    b"99999999999999.99999",
)
"""JSON numbers (and strings) that are valid JSON but no contract amount: > 0, < 10^14, at
most 4 decimals. The field is at fault, so the code is invalid_field."""
BEYOND_DOUBLE = frozenset({b"1e400", b"-1e400"})
"""RFC 8259 section 6 lets a parser limit the range of numbers it accepts, and orjson refuses
these (invalid_json, no field); invalid_field would name the field. Either is the contract's."""
MONEY_TEXT = (
    "NaN",
    "Infinity",
    "-Infinity",
    "1e5",
    " 1",
    "1 ",
    "+1",
    "0x10",
    "1,000.00",
    "１２３",
    "٣",
    "1.",
    ".5",
    "1.123456",
    "",
    "1" * 33,
    "-0",
    "1_000",
    "0.00001",
    "12.50 CNY",
)
MONEY_ODD_BUT_FINE = (b"1E+2", b"1.50000", b"100.0000", b"12.5e1", b"0.0001", b"99999999999999")


@family("money_out_of_range")
def _money_out_of_range(base: Base, doc: dict[str, Any], c: Chooser) -> tuple[bytes, Expect, str]:
    path = money_path(base.topic, doc, c)
    literal = c.choice(MONEY_OUT_OF_RANGE)
    expect = rejected("invalid_field", path)
    if literal in BEYOND_DOUBLE:
        expect = rejected("invalid_field", path, ("invalid_json", None))
    return with_literal(doc, path, literal), expect, f"{path} = {literal!r}"


@family("money_text")
def _money_text(base: Base, doc: dict[str, Any], c: Chooser) -> tuple[bytes, Expect, str]:
    path = money_path(base.topic, doc, c)
    text = c.choice(MONEY_TEXT)
    return dumps(replaced(doc, path, text)), rejected("invalid_field", path), f"{path} = {text!r}"


@family("money_odd_but_fine")
def _money_odd_but_fine(base: Base, doc: dict[str, Any], c: Chooser) -> tuple[bytes, Expect, str]:
    path = money_path(base.topic, doc, c)
    literal = c.choice(MONEY_ODD_BUT_FINE)
    return with_literal(doc, path, literal), ANYTHING, f"{path} = {literal!r}"


@family("schema_version")
def _schema_version(base: Base, doc: dict[str, Any], c: Chooser) -> tuple[bytes, Expect, str]:
    bad = (b"0", b"-1", b"1.5", b'"1"', b"true", b"-9223372036854775808", b"[]", b"{}", b'""')
    odd = (b"1.0", b"1e0", b"9223372036854775807", b"18446744073709551616", b"2")
    literal = c.choice((*bad, *odd))
    expect = rejected("invalid_field", "schema_version") if literal in bad else ANYTHING
    return with_literal(doc, "schema_version", literal), expect, f"schema_version = {literal!r}"


# --- timestamps and dates -------------------------------------------------------------------

OUT_OF_YEARS = (
    "0000-01-01T00:00:00Z",
    "0001-01-01T00:00:00Z",
    "0001-01-01T00:00:00+14:00",
    "0001-01-01T00:00:00-12:00",
    "1900-03-01T00:00:00+08:00",
    "1969-12-31T23:59:59Z",
    "1969-12-31T23:59:59.999999Z",
    "1970-01-01T07:59:59+08:00",
    "2200-01-01T00:00:00Z",
    "2199-12-31T23:00:00-01:00",
    "9999-12-31T23:59:59Z",
    "9999-12-31T23:59:59-12:00",
    "9999-12-31T23:59:59.999999+14:00",
    "10000-01-01T00:00:00Z",
    "-0001-01-01T00:00:00Z",
)
"""Outside the contract's years 1970-2199 (as instants in UTC)."""


@family("occurred_at_out_of_years")
def _occurred_out_of_years(
    base: Base, doc: dict[str, Any], c: Chooser
) -> tuple[bytes, Expect, str]:
    text = c.choice(OUT_OF_YEARS)
    raw = dumps(replaced(doc, "occurred_at", text))
    return raw, rejected("invalid_field", "occurred_at"), f"occurred_at = {text!r}"


BAD_OFFSETS = (
    "+08:75",
    "+24:00",
    "-00:60",
    "+99:99",
    "+0800",
    "+08",
    "",
    "+08:00:00",
    " UTC",
    "UTC",
    "GMT+8",
    "+8:00",
    "+08:0",
    "\u221208:00",
    "+08:00Z",
    "Z+08:00",
    "z08:00",
    "+\uff10\uff18:00",
)


@family("occurred_at_bad_offset")
def _occurred_bad_offset(base: Base, doc: dict[str, Any], c: Chooser) -> tuple[bytes, Expect, str]:
    offset = c.choice(BAD_OFFSETS)
    text = f"{occurred_utc(doc):%Y-%m-%dT%H:%M:%S}{offset}"
    raw = dumps(replaced(doc, "occurred_at", text))
    return raw, rejected("invalid_field", "occurred_at"), f"occurred_at = {text!r}"


MALFORMED_INSTANTS = (
    "2026-02-30T10:00:00Z",
    "2026-13-01T10:00:00Z",
    "2026-00-10T10:00:00Z",
    "2026-03-01T24:00:00Z",
    "2026-03-01T09:60:00Z",
    "2026-03-01",
    "",
    "now",
    "\uff12\uff10\uff12\uff16-03-01T09:30:00Z",
    "2026-03-01T09:30:00Z\n",
    " 2026-03-01T09:30:00Z",
    "20260301T093000Z",
    "2026-03-01T09:30Z",
    "2026-03-01T09:30:00.Z",
    "2026-060T09:30:00Z",
    "2026-W09-7T09:30:00Z",
    "2026-03-01T09:30:00",
    "Sun, 01 Mar 2026 09:30:00 GMT",
    "1772328600",
    "2026-03-01T09:30:00+08:00[Asia/Shanghai]",
)


@family("occurred_at_malformed")
def _occurred_malformed(base: Base, doc: dict[str, Any], c: Chooser) -> tuple[bytes, Expect, str]:
    text = c.choice(MALFORMED_INSTANTS)
    raw = dumps(replaced(doc, "occurred_at", text))
    return raw, rejected("invalid_field", "occurred_at"), f"occurred_at = {text!r}"


@family("occurred_at_rewritten")
def _occurred_rewritten(base: Base, doc: dict[str, Any], c: Chooser) -> tuple[bytes, Expect, str]:
    """The same instant (or one well before it) written in other legal or borderline ways:
    RFC 3339 allows lower case, more fraction digits, -00:00; leap seconds are refused."""
    at = occurred_utc(doc)
    wall = f"{at:%Y-%m-%dT%H:%M:%S}"
    text = c.choice(
        (
            f"{at:%Y-%m-%d}t{at:%H:%M:%S}z",
            f"{wall}-00:00",
            f"{wall}+00:00",
            f"{wall}.000000000000Z",
            f"{wall}.0Z",
            f"{at:%Y-%m-%d} {at:%H:%M:%S}Z",
            f"{at - timedelta(days=1):%Y-%m-%d}T23:59:60Z",  # at most ``at``, if accepted
            f"{at - timedelta(hours=14):%Y-%m-%dT%H:%M:%S}-14:00",
            f"{at + timedelta(hours=23, minutes=59):%Y-%m-%dT%H:%M:%S}+23:59",
            "1970-01-01T00:00:00Z",
            "1970-01-01T00:00:00+08:00",
            "1969-12-31T23:00:00-01:00",
        )
    )
    raw = dumps(replaced(doc, "occurred_at", text))
    return raw, ANYTHING, f"occurred_at = {text!r}"


@family("occurred_at_future", in_corpus=False, keeps_clock=False)
def _occurred_future(base: Base, doc: dict[str, Any], c: Chooser) -> tuple[bytes, Expect, str]:
    """Later than the receiver's ``not_after`` (wall clock + 24 h): invalid_field; without a
    ``not_after`` (replay) the contract leaves it to the years bound."""
    limit = base.not_after
    ahead = timedelta(seconds=c.choice((1, 60, 3600, 86400, 86400 * 400, 86400 * 365 * 100)))
    start = limit if limit is not None else occurred_utc(doc)
    at = min(start + ahead, datetime(2199, 12, 31, 23, 59, 59, tzinfo=UTC))
    text = f"{at:%Y-%m-%dT%H:%M:%S}Z"
    expect: Expect = ANYTHING
    if limit is not None and at.replace(microsecond=0) > limit:
        expect = rejected("invalid_field", "occurred_at")
    return dumps(replaced(doc, "occurred_at", text)), expect, f"occurred_at = {text!r}"


MALFORMED_DATES: tuple[Any, ...] = (
    "0000-01-01",
    "2026-02-30",
    "2027-02-29",
    "2026-13-01",
    "2026-1-1",
    "20260301",
    "2026-03-01T00:00:00Z",
    "",
    "\uff12\uff10\uff12\uff16-03-01",
    "-2026-03-01",
    "+2026-03-01",
    "2026-03-01 ",
    "2026-060",
    "2026-W09-7",
    "01/03/2026",
)


@family("date_malformed", (MISSED_PAYMENTS, CONTACT_RESULTS))
def _date_malformed(base: Base, doc: dict[str, Any], c: Chooser) -> tuple[bytes, Expect, str]:
    path = date_path(base.topic, doc, c)
    text = c.choice(MALFORMED_DATES)
    return dumps(replaced(doc, path, text)), rejected("invalid_field", path), f"{path} = {text!r}"


@family("date_extreme", (MISSED_PAYMENTS, CONTACT_RESULTS))
def _date_extreme(base: Base, doc: dict[str, Any], c: Chooser) -> tuple[bytes, Expect, str]:
    """Far from the event: a promise or an arrangement more than 13 months after it is
    invalid_field; due dates and earlier dates are the contract's silence."""
    path = date_path(base.topic, doc, c)
    day = c.choice((date(1, 1, 1), date(1969, 12, 31), date(2200, 1, 1), date(9999, 12, 31)))
    expect: Expect = ANYTHING
    if path != "due_date" and day > latest_local(doc):
        expect = rejected("invalid_field", path)
    return dumps(replaced(doc, path, day.isoformat())), expect, f"{path} = {day.isoformat()}"


@family("beyond_13_months", (CONTACT_RESULTS,))
def _beyond_13_months(base: Base, doc: dict[str, Any], c: Chooser) -> tuple[bytes, Expect, str]:
    """A promise ``date`` or an arrangement ``until`` more than 13 months after the event
    (one day of margin for the customer's zone)."""
    path = c.choice(("promise.date", "arrangement.until"))
    (ensure_promise if path == "promise.date" else ensure_arrangement)(doc, c)
    day = latest_local(doc) + timedelta(days=c.choice((1, 2, 31, 400, 3650)))
    raw = dumps(replaced(doc, path, day.isoformat()))
    return raw, rejected("invalid_field", path), f"{path} = {day}"


# --- zones -------------------------------------------------------------------------------

HOST_ONLY_ZONES = (
    "localtime",
    "posix/Asia/Tokyo",
    "posix/UTC",
    "right/UTC",
    "right/Asia/Shanghai",
    "posixrules",
    "../../etc/passwd",
    "/etc/localtime",
    "/usr/share/zoneinfo/Asia/Tokyo",
    "Asia/../Asia/Tokyo",
    "./UTC",
    "Asia",
    "America",
    "",
    " UTC",
    "UTC ",
    "Asia/Shanghai\x00",
    "zone.tab",
    "zone1970.tab",
    "tzdata.zi",
    "leapseconds",
    "iso3166.tab",
    "x" * 65,
    "Asia/Tokyo/",
    "asia/shanghai",
    "ASIA/SHANGHAI",
    "Asia\\Tokyo",
    "C:\\Windows\\System32",
    "%2e%2e/etc",
    "Asia/Shanghai;rm -rf /",
    "+08:00",
    "CST",
    "Beijing",
)
"""Not names of the IANA database shipped with the processor (some exist on some hosts)."""


@family("zone_host_only")
def _zone_host_only(base: Base, doc: dict[str, Any], c: Chooser) -> tuple[bytes, Expect, str]:
    zone = c.choice(HOST_ONLY_ZONES)
    raw = dumps(replaced(doc, "customer_timezone", zone))
    return raw, rejected("invalid_field", "customer_timezone"), f"customer_timezone = {zone!r}"


EXOTIC_ZONES = (
    "UTC",
    "Etc/UTC",
    "Etc/GMT+12",
    "Etc/GMT-14",
    "Pacific/Kiritimati",
    "Pacific/Pago_Pago",
    "Pacific/Chatham",
    "America/St_Johns",
    "Asia/Kathmandu",
    "Australia/Lord_Howe",
    "Antarctica/Troll",
    "America/Scoresbysund",
    "Africa/Casablanca",
    "US/Eastern",
    "EST5EDT",
    "GB",
    "Factory",
)


@family("zone_exotic")
def _zone_exotic(base: Base, doc: dict[str, Any], c: Chooser) -> tuple[bytes, Expect, str]:
    zone = c.choice(EXOTIC_ZONES)
    return (
        dumps(replaced(doc, "customer_timezone", zone)),
        ANYTHING,
        f"customer_timezone = {zone!r}",
    )


# --- nesting and sizes ---------------------------------------------------------------------

DEPTHS = (2, 64, 500, 999, 1000, 1023, 1024, 1025, 5000, 40000)


def _nested(depth: int, kind: str, inner: bytes = b"1") -> bytes:
    if kind == "array":
        return b"[" * depth + inner + b"]" * depth
    return b'{"a":' * depth + inner + b"}" * depth


@family("deep_nesting_unknown")
def _deep_nesting_unknown(base: Base, doc: dict[str, Any], c: Chooser) -> tuple[bytes, Expect, str]:
    depth, kind = c.choice(DEPTHS), c.choice(("array", "object"))
    if c.choice((True, False)):  # a money field as a float: the decoder parses it twice
        path = money_path(base.topic, doc, c)
        doc = replaced(doc, path, "@@money@@")
        raw = dumps({**doc, "x_deep": PLACEHOLDER}).replace(b'"@@money@@"', b"12.5", 1)
    else:
        raw = dumps({**doc, "x_deep": PLACEHOLDER})
    raw = raw.replace(b'"' + PLACEHOLDER.encode() + b'"', _nested(depth, kind), 1)
    expect: Expect = rejected("too_large") if len(raw) > DEFAULT_MAX_BYTES else ANYTHING
    return raw, expect, f"x_deep = {depth} nested {kind}s ({len(raw)} bytes)"


@family("deep_nesting_known")
def _deep_nesting_known(base: Base, doc: dict[str, Any], c: Chooser) -> tuple[bytes, Expect, str]:
    if base.topic == CONTACT_RESULTS:
        some_payload(doc, c)
    depth, kind = c.choice(DEPTHS[:8]), c.choice(("array", "object"))
    paths = required_paths(base.topic, doc)
    if kind == "object":  # {"a": {...}} for an object field would be a missing subfield
        paths = [p for p in paths if KIND[p] != "object"]
    path = c.choice(paths)
    raw = with_literal(doc, path, _nested(depth, kind, orjson.dumps(doc_value(doc, path))))
    expect = rejected("invalid_field", path, ("invalid_json", None))
    if path == "outcome":
        expect = Rejected(expect.errors | {("unknown_outcome", path)})
    return raw, expect, f"{path} inside {depth} nested {kind}s"


def doc_value(doc: dict[str, Any], path: str) -> Any:
    value: Any = doc
    for name in path.split("."):
        value = value[name]
    return value


@family("too_large")
def _too_large(base: Base, doc: dict[str, Any], c: Chooser) -> tuple[bytes, Expect, str]:
    size = c.choice((DEFAULT_MAX_BYTES + 1, DEFAULT_MAX_BYTES + 1000, 3 * DEFAULT_MAX_BYTES))
    raw = pad(doc, size)
    if c.choice((True, False)):
        raw = raw.replace(b"xxxx", b"\xff\xfe\xfd\xfc")  # not UTF-8: base64 in the dead letter
    return raw, rejected("too_large"), f"{len(raw)} bytes"


@family("huge")
def _huge(base: Base, doc: dict[str, Any], c: Chooser) -> tuple[bytes, Expect, str]:
    """Near the broker's default 1 MB: the dead letter (raw escaped or base64) is larger."""
    raw = pad(doc, c.choice((500_000, 900_000)))
    kind = c.choice(("text", "quotes", "binary"))
    if kind == "quotes":
        raw = raw.replace(b"xx", b'\\"')  # every quote escaped again in the dead letter
    elif kind == "binary":
        raw = raw.replace(b"xxxx", b"\xff\xfe\xfd\xfc")
    return raw, rejected("too_large"), f"{len(raw)} bytes of {kind}"


@family("just_under_the_limit")
def _just_under(base: Base, doc: dict[str, Any], c: Chooser) -> tuple[bytes, Expect, str]:
    raw = pad(doc, DEFAULT_MAX_BYTES - c.integer(0, 16))
    return (
        raw,
        SAME if len(raw) <= DEFAULT_MAX_BYTES else rejected("too_large"),
        f"{len(raw)} bytes",
    )


@family("long_ids")
def _long_ids(base: Base, doc: dict[str, Any], c: Chooser) -> tuple[bytes, Expect, str]:
    path = c.choice([p for p in read_paths(base.topic, doc) if KIND[p] == "id"])
    char, count = c.choice(("x", "é", "\U0001d11e", "\x00", "\u202e")), c.choice((128, 129, 1000))
    expect = rejected("invalid_field", path) if count > 128 else ANYTHING
    return dumps(replaced(doc, path, char * count)), expect, f"{path} = {char!r} * {count}"


@family("many_keys")
def _many_keys(base: Base, doc: dict[str, Any], c: Chooser) -> tuple[bytes, Expect, str]:
    count = c.choice((100, 2000, 4000))
    raw = dumps({**doc, **{f"k{i:05d}": i for i in range(count)}})
    expect = SAME if len(raw) <= DEFAULT_MAX_BYTES else rejected("too_large")
    return raw, expect, f"plus {count} unknown keys"


# --- duplicate keys, enums, currencies -------------------------------------------------------


@family("duplicate_keys", keeps_clock=False)
def _duplicate_keys(base: Base, doc: dict[str, Any], c: Chooser) -> tuple[bytes, Expect, str]:
    """A field twice: RFC 8259 leaves the result to the reader, the contract is silent."""
    name = c.choice(sorted(doc))
    other = orjson.dumps(c.choice((None, -1, "", [], "garbage", {"a": 1}, "2026-03-01T00:00:00Z")))
    mine = orjson.dumps(doc[name])
    rest = dumps({k: v for k, v in doc.items() if k != name})
    first, second = (other, mine) if c.choice((True, False)) else (mine, other)
    key = orjson.dumps(name)
    raw = b"{" + key + b":" + first + b"," + key + b":" + second + b"," + rest[1:]
    return raw, ANYTHING, f"{name} = {first!r} then {second!r}"


@family("bad_currency", (PAYMENTS, MISSED_PAYMENTS))
def _bad_currency(base: Base, doc: dict[str, Any], c: Chooser) -> tuple[bytes, Expect, str]:
    value = c.choice(("cny", "CN", "CNYY", "", "€€€", "C N", "\uff23\uff2e\uff39", "CNY ", "156"))
    return (
        dumps(replaced(doc, "currency", value)),
        rejected("invalid_field", "currency"),
        (f"currency = {value!r}"),
    )


@family("currency_switch", (PAYMENTS, MISSED_PAYMENTS))
def _currency_switch(base: Base, doc: dict[str, Any], c: Chooser) -> tuple[bytes, Expect, str]:
    """A valid currency other than the customer's: currency_mismatch once one is known."""
    value = c.choice([x for x in ("USD", "EUR", "JPY", "XXX") if x != doc["currency"]])
    expect: Expect = ANYTHING
    if base.currency is not None and base.currency != value:
        expect = rejected("currency_mismatch", "currency")
    return dumps(replaced(doc, "currency", value)), expect, f"currency = {value!r}"


@family("bad_channel", (CONTACT_RESULTS,))
def _bad_channel(base: Base, doc: dict[str, Any], c: Chooser) -> tuple[bytes, Expect, str]:
    value = c.choice(("SMS", "phone", "", "sms ", "self-service", "agent call", "fax", "email\x00"))
    return (
        dumps(replaced(doc, "channel", value)),
        rejected("invalid_field", "channel"),
        (f"channel = {value!r}"),
    )


@family("unknown_outcome", (CONTACT_RESULTS,))
def _unknown_outcome(base: Base, doc: dict[str, Any], c: Chooser) -> tuple[bytes, Expect, str]:
    value = c.choice(
        ("teleported", "PROMISE_TO_PAY", "promise to pay", "promise_to_pay\x00", "reached ", "")
    )
    expect = rejected("unknown_outcome", "outcome")
    if value == "":
        expect = rejected("unknown_outcome", "outcome", ("invalid_field", "outcome"))
    return dumps(replaced(doc, "outcome", value)), expect, f"outcome = {value!r}"


@family("outcome_without_payload", (CONTACT_RESULTS,))
def _without_payload(base: Base, doc: dict[str, Any], c: Chooser) -> tuple[bytes, Expect, str]:
    outcome, payload = c.choice(
        (("promise_to_pay", "promise"), ("arrangement_agreed", "arrangement"))
    )
    doc = {k: v for k, v in doc.items() if k not in ("promise", "arrangement")}
    doc["outcome"] = outcome
    return dumps(doc), rejected("missing_field", payload), f"{outcome} without {payload}"


@family("callback_at", (CONTACT_RESULTS,))
def _callback_at(base: Base, doc: dict[str, Any], c: Chooser) -> tuple[bytes, Expect, str]:
    """A callback wanted at ``callback_at``: from ``occurred_at`` to 14 days after it."""
    at = occurred_utc(doc)
    doc["outcome"] = "callback_requested"
    later = {
        "+1s": (at + timedelta(seconds=1), ANYTHING),
        "+14d": (at + timedelta(days=14), ANYTHING),
        "+14d1s": (at + timedelta(days=14, seconds=1), rejected("invalid_field", "callback_at")),
        "+400d": (at + timedelta(days=400), rejected("invalid_field", "callback_at")),
        "-1d": (at - timedelta(days=1), ANYTHING),  # in the past: the contract is silent
    }
    name = c.choice(sorted(later))
    when, expect = later[name]
    text: Any = f"{when:%Y-%m-%dT%H:%M:%S}Z"
    if c.choice((True, False)):
        text = c.choice(("9999-12-31T00:00:00Z", f"{at:%Y-%m-%dT%H:%M:%S}+08:75", "tomorrow", ""))
        expect = rejected("invalid_field", "callback_at")
    return dumps({**doc, "callback_at": text}), expect, f"callback_at = {text!r} ({name})"


SELF_SERVICE_REFUSED = (
    "delivered",
    "no_answer",
    "busy",
    "voicemail",
    "undeliverable",
    "invalid_number",
    "wrong_party",
    "opt_out",
)
"""Not the customer's own action: self_service reports only right-party outcomes,
dispute_resolved and cease_contact (an opt-out names the channel refused)."""


@family("self_service_outcome", (CONTACT_RESULTS,))
def _self_service_outcome(base: Base, doc: dict[str, Any], c: Chooser) -> tuple[bytes, Expect, str]:
    outcome = c.choice(SELF_SERVICE_REFUSED)
    raw = dumps({**doc, "channel": "self_service", "outcome": outcome})
    expect = rejected("invalid_field", "outcome", ("invalid_field", "channel"))
    return raw, expect, f"self_service reports {outcome}"


@family("bad_arrangement_type", (CONTACT_RESULTS,))
def _bad_arrangement_type(base: Base, doc: dict[str, Any], c: Chooser) -> tuple[bytes, Expect, str]:
    ensure_arrangement(doc, c)
    value = c.choice(("Deferral", "holiday", "", "deferral ", "fee-waiver"))
    raw = dumps(replaced(doc, "arrangement.type", value))
    return raw, rejected("invalid_field", "arrangement.type"), f"arrangement.type = {value!r}"


CORPUS_FAMILIES = tuple(name for name, f in FAMILIES.items() if f.in_corpus)
CLOCK_KEEPING_FAMILIES = tuple(name for name, f in FAMILIES.items() if f.keeps_clock)
