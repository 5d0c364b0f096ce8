"""A synthetic, seed-deterministic portfolio of repayment histories for the benchmarks.

Most customers pay every instalment on time (a payment naming its ``installment_id``). About
15% miss some: the platform reports the missed instalment, dialers try to reach them (with
failed attempts, delivered messages, promises kept and broken, hardship, disputes, a few
opt-outs and cease-contact requests), and they pay late. A chronic few stay in arrears for
months, reach the late tiers, and either cure with one lump payment or stop paying.

Events come out as contract-shaped JSON bytes, keyed by ``customer_id``, in ``occurred_at``
order, rendered once with orjson. The same seed always gives the same bytes.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from operator import itemgetter
from pathlib import Path
from typing import Any, NamedTuple

import orjson

from schemas.events import CONTACT_RESULTS, MISSED_PAYMENTS, PAYMENTS

DAY = 86_400
HOUR = 3_600
PLATFORM_OFFSET = 8 * HOUR  # instants are rendered in the platforms' zone, +08:00
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
_GOOD, _OCCASIONAL, _CHRONIC = 0, 1, 2
_FAILED = ("no_answer", "busy", "voicemail", "no_answer", "undeliverable", "invalid_number")


class InputMessage(NamedTuple):
    """One message for an input topic; ``occurred_at`` is epoch seconds (for ordering)."""

    occurred_at: int
    topic: str
    key: bytes
    value: bytes


@dataclass(frozen=True, slots=True)
class PortfolioSpec:
    customers: int = 100_000
    months: int = 12
    seed: int = 7
    start: date = date(2025, 11, 1)
    currency: str = "CNY"


@dataclass(slots=True)
class _Arrears:
    """What a troubled customer carries from one month to the next."""

    unpaid_cents: int = 0
    streak_left: int = 0
    written_off: bool = False
    sms_opted_out: bool = False
    ceased: bool = False


def money(cents: int) -> str:
    """Render integer cents as the contract's decimal string."""
    return f"{cents // 100}.{cents % 100:02d}"


def day_start(ordinal: int) -> int:
    """Epoch seconds of local midnight (+08:00) of a proleptic Gregorian ordinal."""
    return (ordinal - _EPOCH_ORDINAL) * DAY - PLATFORM_OFFSET


class _Timestamps:
    """RFC 3339 rendering with +08:00, cached by day and by second of day (hot path)."""

    def __init__(self) -> None:
        self._days: dict[int, str] = {}
        self._times: dict[int, str] = {}

    def render(self, ts: int) -> str:
        d, s = divmod(ts + PLATFORM_OFFSET, DAY)
        day = self._days.get(d)
        if day is None:
            day = self._days[d] = date.fromordinal(d + _EPOCH_ORDINAL).isoformat() + "T"
        tod = self._times.get(s)
        if tod is None:
            h, rest = divmod(s, HOUR)
            tod = self._times[s] = f"{h:02d}:{rest // 60:02d}:{rest % 60:02d}+08:00"
        return day + tod


class Portfolio:
    """Generates the portfolio month by month; iterate it for messages in time order."""

    def __init__(self, spec: PortfolioSpec) -> None:
        self.spec = spec
        self._rng = random.Random(spec.seed)
        uniform = self._rng.random
        self._span: Callable[[int, int], int] = lambda lo, hi: (
            lo + int(uniform() * (hi - lo))
        )  # randrange, 20x cheaper
        self._ts = _Timestamps()
        self._next_id = itertools.count(1).__next__
        self._id_prefix = f"ev-{spec.seed}-"
        self._buffer: list[InputMessage] = []
        rng = self._rng
        n = spec.customers
        self._cids = [f"C{i:08d}" for i in range(n)]
        self._keys = [cid.encode() for cid in self._cids]
        self._due_day = [self._span(1, 29) for _ in range(n)]
        self._cents = [self._span(200, 5_000) * 100 + rng.choice((0, 0, 50, 99)) for _ in range(n)]
        self._profile = bytes(
            _GOOD if u < 0.85 else _OCCASIONAL if u < 0.96 else _CHRONIC
            for u in (rng.random() for _ in range(n))
        )
        self._zone = {
            i: ("Asia/Shanghai" if rng.random() < 0.6 else "Asia/Singapore")
            for i in range(n)
            if rng.random() < 0.05
        }
        self._trouble = {i: _Arrears() for i in range(n) if self._profile[i] != _GOOD}

    def __iter__(self) -> Iterator[InputMessage]:
        spec = self.spec
        for m in range(spec.months):
            year, month = divmod(spec.start.month - 1 + m, 12)
            first = date(spec.start.year + year, month + 1, 1).toordinal()
            self._month(m, first)
            nxt_year, nxt_month = divmod(spec.start.month + m, 12)
            nxt = date(spec.start.year + nxt_year, nxt_month + 1, 1).toordinal()
            yield from self._drain(day_start(nxt) - 6 * DAY)
        yield from self._drain(None)

    def _drain(self, watermark: int | None) -> Iterator[InputMessage]:
        """Emit buffered events older than ``watermark``: no later month reaches below it."""
        buf = self._buffer
        buf.sort(key=itemgetter(0))
        cut = len(buf)
        if watermark is not None:
            lo, hi = 0, len(buf)
            while lo < hi:
                mid = (lo + hi) // 2
                if buf[mid][0] < watermark:
                    lo = mid + 1
                else:
                    hi = mid
            cut = lo
        self._buffer = buf[cut:]
        yield from buf[:cut]

    def _month(self, m: int, first_ordinal: int) -> None:
        due_days, cents, profile, span = self._due_day, self._cents, self._profile, self._span
        period = date.fromordinal(first_ordinal).strftime("-%Y%m")
        for i, cid in enumerate(self._cids):
            due = first_ordinal + due_days[i] - 1
            inst = cid + period
            if profile[i] == _GOOD:
                when = day_start(due) - span(0, 4) * DAY + span(8 * HOUR, 22 * HOUR)
                self._payment(when, i, cid, cents[i], inst)
            elif profile[i] == _OCCASIONAL:
                self._occasional(i, cid, due, inst, cents[i])
            else:
                self._chronic(i, cid, due, inst, cents[i])

    # -- event rendering ---------------------------------------------------------------

    def _header(self, ts: int, i: int, cid: str) -> dict[str, Any]:
        head: dict[str, Any] = {
            "event_id": f"{self._id_prefix}{self._next_id():x}",
            "customer_id": cid,
            "occurred_at": self._ts.render(ts),
        }
        zone = self._zone.get(i)
        if zone is not None:
            head["customer_timezone"] = zone
        return head

    def _emit(self, ts: int, topic: str, i: int, value: dict[str, Any]) -> None:
        self._buffer.append(InputMessage(ts, topic, self._keys[i], orjson.dumps(value)))

    def _payment(self, ts: int, i: int, cid: str, cents: int, inst: str | None) -> None:
        value = self._header(ts, i, cid)
        # One platform in ten sends money as a JSON number; the contract accepts both.
        value["amount"] = cents / 100 if i % 10 == 3 else money(cents)
        value["currency"] = self.spec.currency
        if inst is not None:
            value["installment_id"] = inst
        value["account_id"] = "A" + cid[1:]
        self._emit(ts, PAYMENTS, i, value)

    def _missed(self, due: int, i: int, cid: str, inst: str, cents: int) -> None:
        ts = day_start(due + 1) + 1_800 + self._span(0, HOUR)  # the nightly batch
        value = self._header(ts, i, cid)
        value["installment_id"] = inst
        value["due_date"] = date.fromordinal(due).isoformat()
        value["amount_due"] = money(cents)
        value["currency"] = self.spec.currency
        value["account_id"] = "A" + cid[1:]
        self._emit(ts, MISSED_PAYMENTS, i, value)

    def _contact(self, day: int, i: int, cid: str, channel: str, outcome: str, **extra: Any) -> int:
        """A dialer's result during business hours of local day ``day``; returns its time."""
        ts = day_start(day) + self._span(9 * HOUR, 20 * HOUR)
        if self._trouble[i].ceased:
            return ts
        value = self._header(ts, i, cid)
        value["channel"] = channel
        value["outcome"] = outcome
        value.update(extra)
        self._emit(ts, CONTACT_RESULTS, i, value)
        return ts

    def _message(self, day: int, i: int, cid: str) -> None:
        """A reminder message: sms unless the customer opted out of it, then email."""
        state = self._trouble[i]
        channel = "email" if state.sms_opted_out else "sms"
        outcome = "delivered" if self._rng.random() < 0.92 else "undeliverable"
        self._contact(day, i, cid, channel, outcome)

    def _failed_calls(self, day: int, i: int, cid: str, count: int) -> int:
        rng = self._rng
        for k in range(count):
            channel = "voice_bot" if rng.random() < 0.6 else "agent_call"
            self._contact(day + k, i, cid, channel, rng.choice(_FAILED))
        return day + count

    # -- behaviours ------------------------------------------------------------------

    def _occasional(self, i: int, cid: str, due: int, inst: str, cents: int) -> None:
        """Pays on time most months; in about one month in four misses and pays late."""
        rng = self._rng
        if rng.random() >= 0.27:
            when = day_start(due) - self._span(0, 3) * DAY + self._span(8 * HOUR, 22 * HOUR)
            self._payment(when, i, cid, cents, inst)
            return
        due_cents = cents
        if rng.random() < 0.2:  # a partial payment before the due date
            part = cents * self._span(3, 8) // 10
            self._payment(day_start(due - 1) + self._span(10 * HOUR, 20 * HOUR), i, cid, part, inst)
            due_cents -= part
        self._missed(due, i, cid, inst, due_cents)
        self._message(due + 1, i, cid)
        day = self._resolution(i, cid, due + 2, due_cents)
        pay_inst = inst if rng.random() < 0.8 else None  # some transfers name no instalment
        self._payment(day_start(day) + self._span(9 * HOUR, 21 * HOUR), i, cid, due_cents, pay_inst)

    def _resolution(self, i: int, cid: str, day: int, due_cents: int) -> int:
        """The dialer conversation after a miss; returns the local day the customer pays."""
        rng, state = self._rng, self._trouble[i]
        u = rng.random()
        day = self._failed_calls(day, i, cid, self._span(0, 3))
        if u < 0.40:
            return day + self._span(0, 6)
        if u < 0.66:
            promised = day + self._span(2, 8)
            promise = {"amount": money(due_cents), "date": date.fromordinal(promised).isoformat()}
            self._contact(day, i, cid, "agent_call", "promise_to_pay", promise=promise)
            if rng.random() < 0.6:
                return promised - self._span(0, 3)
            self._failed_calls(promised + 4, i, cid, 2)  # broken: chased after the grace
            return promised + self._span(7, 13)
        if u < 0.76:
            day = self._failed_calls(day, i, cid, self._span(3, 6))  # unreachable episode
            self._contact(day + 1, i, cid, "agent_call", "reached")
            return day + self._span(2, 7)
        if u < 0.85:
            outcome = rng.choice(("callback_requested", "refused", "reached"))
            self._contact(day, i, cid, "voice_bot", outcome)
            return day + self._span(2, 9)
        if u < 0.90:
            self._contact(day, i, cid, "agent_call", "hardship")
            until = date.fromordinal(day + self._span(20, 61)).isoformat()
            arrangement = {"type": rng.choice(("deferral", "fee_waiver")), "until": until}
            self._contact(
                day + 2, i, cid, "agent_call", "arrangement_agreed", arrangement=arrangement
            )
            return day + self._span(10, 21)
        if u < 0.93:
            self._contact(day, i, cid, "agent_call", "dispute")
            self._contact(day + self._span(4, 10), i, cid, "email", "dispute_resolved")
            return day + self._span(10, 16)
        if u < 0.96:
            self._contact(day, i, cid, "voice_bot", "wrong_party")
            self._contact(day + 1, i, cid, "agent_call", "reached")
            return day + self._span(2, 7)
        if u < 0.985:
            if not state.sms_opted_out:
                self._contact(day, i, cid, "sms", "opt_out")
                state.sms_opted_out = True
            return day + self._span(1, 7)
        if u < 0.993:
            self._contact(day, i, cid, "agent_call", "cease_contact")
            state.ceased = True
        return day + self._span(10, 21)

    def _chronic(self, i: int, cid: str, due: int, inst: str, cents: int) -> None:
        """Streaks of months in arrears that reach the late tiers; most cure in one payment."""
        rng, state = self._rng, self._trouble[i]
        if state.streak_left == 0 and not state.written_off:
            if rng.random() >= 0.3:
                self._occasional(i, cid, due, inst, cents)
                return
            state.streak_left = self._span(2, 9)
        self._missed(due, i, cid, inst, cents)
        state.unpaid_cents += cents
        if state.written_off:
            if rng.random() < 0.3:
                self._message(due + 3, i, cid)
            return
        day = self._failed_calls(due + 2, i, cid, self._span(2, 7))
        u = rng.random()
        if u < 0.35:
            promised = day + self._span(2, 7)
            promise = {"amount": money(cents), "date": date.fromordinal(promised).isoformat()}
            self._contact(day, i, cid, "agent_call", "promise_to_pay", promise=promise)
        elif u < 0.55:
            part = cents * self._span(1, 5) // 10
            self._payment(day_start(day) + self._span(9 * HOUR, 21 * HOUR), i, cid, part, None)
            state.unpaid_cents -= part
        elif u < 0.62:
            self._contact(day, i, cid, "agent_call", "hardship")
        elif u < 0.68:
            until = date.fromordinal(day + self._span(60, 121)).isoformat()
            arrangement = {"type": "reinstallment", "until": until}
            self._contact(day, i, cid, "agent_call", "arrangement_agreed", arrangement=arrangement)
        self._message(day + self._span(1, 5), i, cid)
        state.streak_left -= 1
        if state.streak_left == 0:
            if rng.random() < 0.75:
                cure = day_start(due + self._span(15, 27)) + self._span(9 * HOUR, 21 * HOUR)
                self._payment(cure, i, cid, state.unpaid_cents, None)
                state.unpaid_cents = 0
            else:
                state.written_off = True


def generate(spec: PortfolioSpec) -> Iterator[InputMessage]:
    """All messages of the portfolio, in ``occurred_at`` order."""
    return iter(Portfolio(spec))


def write_replay(messages: Iterable[InputMessage], path: Path) -> int:
    """Write replay JSONL lines ``{"topic", "key", "value"}``; returns the number written."""
    count = 0
    with path.open("wb") as out:
        for msg in messages:
            out.write(
                b'{"topic":"%s","key":"%s","value":%s}\n' % (msg.topic.encode(), msg.key, msg.value)
            )
            count += 1
    return count
