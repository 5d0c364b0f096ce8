"""What-if: one history replayed under several policies, and what each policy did to it.

A what-if measures the cost and the compliance of a policy on the same facts: how many
contacts on which channels and for which reasons, how customers moved between tiers, how
often quiet hours and caps held a contact back. It cannot tell how customers would have
answered a different policy: the contact results and payments in the history are the ones
customers gave the policy that was live, and every policy is replayed against them.

Why it is built this way:

- Each policy runs in its own ``streams.replay.Replayer``: the exact decision code and clock
  of ``repayment-stream replay``, nothing re-implemented. Policies run one after another,
  each reading the file again (or in parallel processes with ``jobs``), so one set of
  customer states is in memory at a time.
- No output line is kept. Each decision is packed into an 18-byte ``RECORD`` in its
  customer's log, and every figure is computed from the logs afterwards by pure functions
  (``summarize``, ``differing``). A log is a small fraction of the Replayer's state of the
  same customer, so the what-if's memory is the replay's. Keeping the decisions of the
  customers that differ most by a second replay instead would double the run time.
"""

from __future__ import annotations

import heapq
import struct
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Final

import orjson

from policy import Policy
from policy.config import ContactProfile
from schemas.events import CHANNELS
from schemas.outputs import (
    CANCEL_REASONS,
    DEAD_LETTER,
    ESCALATION_REASONS,
    OUTREACH_CANCELLED,
    OUTREACH_NEEDED,
    OUTREACH_REASONS,
    RISK_ESCALATIONS,
    TIERS,
    OutreachNeeded,
)
from streams.replay import Replayer
from streams.summary import deferred_rule

DAY: Final = 86_400

# One decision (or a customer's start or erasure) in a customer's log: decided_at (epoch
# seconds, UTC), kind, two codes, a third code or bit mask, deferral rule, and how long
# the contact rules moved `not_before` after `decided_at` (seconds).
RECORD: Final = struct.Struct("<qBBBHBI")
CREATED, ERASED, ESCALATION, OUTREACH, CANCELLED = range(5)
RULES: Final = ("", "quiet_hours", "cap")  # deferral codes: none, quiet hours, a cap


class Codes:
    """Names to the small integers of the log records, and back.

    The codes start from the contract's enums in contract order, so every run codes them
    alike; a value the contract does not list (a newer core) gets the next code instead
    of failing the what-if.
    """

    def __init__(self) -> None:
        self.names: dict[str, list[str]] = {
            "tier": list(TIERS),
            "channel": list(CHANNELS),
            "reason": list(OUTREACH_REASONS),
            "cancel": list(CANCEL_REASONS),
            "escalation": list(ESCALATION_REASONS),
        }
        self._index = {cat: {n: i for i, n in enumerate(ns)} for cat, ns in self.names.items()}

    def code(self, category: str, name: str) -> int:
        index = self._index[category]
        found = index.get(name)
        if found is not None:
            return found
        found = index[name] = len(self.names[category])
        self.names[category].append(name)
        if found >= (16 if category == "escalation" else 256):
            raise ValueError(f"too many distinct {category} values for a what-if record")
        return found

    def name(self, category: str, code: int) -> str:
        return self.names[category][code]

    def reasons(self, mask: int) -> list[str]:
        """The escalation reasons of a bit mask, in code order."""
        return [n for i, n in enumerate(self.names["escalation"]) if mask >> i & 1]


def _epoch(text: str) -> tuple[datetime, int]:
    at = datetime.fromisoformat(text)
    return at, int(at.timestamp())


class Recorder:
    """Turns replay output lines into per-customer logs (no file, no replay: testable)."""

    def __init__(self, profile: ContactProfile, codes: Codes | None = None) -> None:
        self.profile = profile
        self.codes = codes or Codes()
        self.logs: dict[str, bytearray] = {}
        self.dead_letters = 0
        self.first: int | None = None
        self._alive: set[str] = set()

    def _append(self, customer_id: str, *fields: int) -> None:
        log = self.logs.get(customer_id)
        if log is None:
            log = self.logs[customer_id] = bytearray()
        log += RECORD.pack(*fields)

    def observe(self, customer_id: str, has_state: bool, clock: datetime | None) -> None:
        """After an input line was fed: a customer state that appeared or vanished."""
        if clock is None or has_state == (customer_id in self._alive):
            return
        at = int(clock.timestamp())
        if has_state:
            self._created(customer_id, at)
        else:
            self._alive.discard(customer_id)
            self._append(customer_id, at, ERASED, 0, 0, 0, 0, 0)

    def _created(self, customer_id: str, at: int) -> None:
        self._alive.add(customer_id)
        self.first = at if self.first is None else min(self.first, at)
        self._append(customer_id, at, CREATED, 0, 0, 0, 0, 0)

    def output(self, line: dict[str, Any], timezone: str) -> None:
        """One replay output line; ``timezone`` is the customer's zone at the decision."""
        topic = line["topic"]
        if topic == DEAD_LETTER:
            self.dead_letters += 1
            return
        value = line["value"]
        customer_id = value["customer_id"]
        decided, at = _epoch(value["decided_at"])
        if customer_id not in self._alive:  # its first event decided: log the start first
            self._created(customer_id, at)
        code = self.codes.code
        if topic == OUTREACH_NEEDED:
            not_before, due = _epoch(value["not_before"])
            rule = 0
            if due > at:
                why = deferred_rule(_outreach(value, decided, not_before), timezone, self.profile)
                rule = RULES.index(why) if why else 0
            self._append(
                customer_id,
                at,
                OUTREACH,
                code("channel", value["channel"]),
                code("reason", value["reason"]),
                code("tier", value["tier"]),
                rule,
                max(due - at, 0),
            )
        elif topic == RISK_ESCALATIONS:
            mask = 0
            for reason in value["reasons"]:
                mask |= 1 << code("escalation", reason)
            frm, to = code("tier", value["from_tier"]), code("tier", value["to_tier"])
            self._append(customer_id, at, ESCALATION, frm, to, mask, 0, 0)
        elif topic == OUTREACH_CANCELLED:
            channel, reason = code("channel", value["channel"]), code("cancel", value["reason"])
            self._append(customer_id, at, CANCELLED, channel, reason, 0, 0, 0)


def _outreach(value: dict[str, Any], decided: datetime, not_before: datetime) -> OutreachNeeded:
    return OutreachNeeded(
        outreach_id=value["outreach_id"],
        customer_id=value["customer_id"],
        channel=value["channel"],
        tier=value["tier"],
        priority=value["priority"],
        reason=value["reason"],
        not_before=not_before,
        expires_at=datetime.fromisoformat(value["expires_at"]),
        days_past_due=value["days_past_due"],
        overdue_amount=Decimal(value["overdue_amount"]),
        currency=value["currency"],
        caused_by=value["caused_by"],
        decided_at=decided,
    )


def customer_of(text: str) -> str | None:
    """The ``customer_id`` of a replay input line, or None when it has none (dead letter)."""
    try:
        envelope = orjson.loads(text)
        value = envelope.get("value") if isinstance(envelope, dict) else None
        if isinstance(value, str):
            value = orjson.loads(value)
    except orjson.JSONDecodeError:
        return None
    customer_id = value.get("customer_id") if isinstance(value, dict) else None
    return customer_id if isinstance(customer_id, str) else None


@dataclass
class Run:
    """What one policy did to the history: per-customer logs and the replay's counters."""

    name: str
    source: str
    codes: Codes
    logs: dict[str, bytearray]
    stats: dict[str, int]
    first: int | None  # the clock at the first accepted event (epoch seconds)
    end: int | None  # the clock at the end: the last event or --until, whichever is later
    seconds: float = 0.0


def replay_policy(
    name: str,
    source: str,
    policy: Policy,
    lines: Iterable[str],
    until: datetime | None = None,
    *,
    max_bytes: int = 65536,
    not_after: datetime | None = None,
    on_line: Callable[[], None] | None = None,
) -> Run:
    """Replay ``lines`` under ``policy`` and log what it decided for each customer.

    A customer starts (tier ``current``) when its state appears: after its first accepted
    event, at the replay clock. The zone used to tell quiet hours from caps is the state's
    at the decision (outputs are read as they are decided).
    """
    started = time.monotonic()
    replayer = Replayer(policy)
    states = replayer.states
    recorder = Recorder(policy.contact_profile)

    def watched() -> Iterator[str]:
        for text in lines:
            yield text  # resumed once the line is decided: look at its customer's state
            customer_id = customer_of(text)
            if customer_id is not None:
                recorder.observe(customer_id, customer_id in states, replayer.stats.clock)
            if on_line is not None:
                on_line()

    default_zone = policy.default_timezone
    for line in replayer.replay(watched(), until, max_bytes=max_bytes, not_after=not_after):
        state = states.get(str(line["key"]))
        recorder.output(line, default_zone if state is None else state.timezone)
    stats = {k: v for k, v in asdict(replayer.stats).items() if isinstance(v, int)}
    stats["dead_letters"] = recorder.dead_letters
    clock = replayer.stats.clock
    return Run(
        name,
        source,
        recorder.codes,
        recorder.logs,
        stats,
        recorder.first,
        None if clock is None else int(clock.timestamp()),
        time.monotonic() - started,
    )


# --- figures from the logs -------------------------------------------------------------


@dataclass
class Summary:
    """One policy's figures; counters are keyed by contract names."""

    name: str
    source: str
    stats: dict[str, int]
    customers: int = 0
    outreach: Counter[tuple[str, str]] = field(default_factory=Counter)  # (channel, reason)
    cancelled: Counter[tuple[str, str]] = field(default_factory=Counter)  # (channel, reason)
    deferred: Counter[tuple[str, str]] = field(default_factory=Counter)  # (channel, rule)
    deferred_hours: Counter[str] = field(default_factory=Counter)  # rule -> hours moved
    escalations: Counter[tuple[str, str]] = field(default_factory=Counter)  # (to_tier, up/down)
    escalation_reasons: Counter[str] = field(default_factory=Counter)
    tier_days: dict[str, float] = field(default_factory=dict)
    contacts_per_customer: Counter[int] = field(default_factory=Counter)  # contacts -> customers
    daily_contacts: dict[str, Counter[str]] = field(default_factory=dict)  # UTC day -> channel
    daily_tiers: dict[str, list[int]] = field(default_factory=dict)  # UTC day -> per tier
    tiers: list[str] = field(default_factory=list)  # the order of daily_tiers' lists
    seconds: float = 0.0


def _day(epoch_day: int) -> str:
    return datetime.fromtimestamp(epoch_day * DAY, UTC).date().isoformat()


def summarize(run: Run) -> Summary:
    """Every per-policy figure of the report, from the run's logs alone.

    Customer-days: a customer is ``current`` from its start and changes tier at each
    escalation, until its erasure or the end of the replay. The daily tier mix counts the
    customers in each tier at the end of each UTC day; contacts per day count outreach by
    the UTC day of its ``not_before`` (when the dialer may make it).
    """
    codes = run.codes
    s = Summary(run.name, run.source, dict(run.stats), seconds=run.seconds)
    end = run.end if run.end is not None else 0
    tier_seconds: Counter[int] = Counter()
    tier_delta: dict[int, Counter[int]] = {}
    daily: dict[int, Counter[int]] = {}

    def move(at: int, tier: int, by: int) -> None:
        tier_delta.setdefault(at // DAY, Counter())[tier] += by

    for log in run.logs.values():
        tier: int | None = None
        since = 0
        contacts = 0
        for at, kind, a, b, c, rule, delay in RECORD.iter_unpack(log):
            if kind == OUTREACH:
                contacts += 1
                channel = codes.name("channel", a)
                s.outreach[channel, codes.name("reason", b)] += 1
                daily.setdefault((at + delay) // DAY, Counter())[a] += 1
                if rule:
                    s.deferred[channel, RULES[rule]] += 1
                    s.deferred_hours[RULES[rule]] += delay / 3600
            elif kind == ESCALATION:
                if tier is not None:
                    tier_seconds[tier] += at - since
                    move(at, tier, -1)
                tier, since = b, at
                move(at, b, +1)
                direction = "up" if b > a else "down"
                s.escalations[codes.name("tier", b), direction] += 1
                s.escalation_reasons.update(codes.reasons(c))
            elif kind == CANCELLED:
                s.cancelled[codes.name("channel", a), codes.name("cancel", b)] += 1
            elif kind == CREATED:
                s.customers += 1
                tier, since = 0, at
                move(at, 0, +1)
            elif kind == ERASED and tier is not None:
                tier_seconds[tier] += at - since
                move(at, tier, -1)
                tier = None
        if tier is not None:
            tier_seconds[tier] += max(end - since, 0)
        s.contacts_per_customer[contacts] += 1
    tiers = codes.names["tier"]
    s.tiers = list(tiers)
    s.tier_days = {t: tier_seconds[i] / DAY for i, t in enumerate(tiers)}
    channels = codes.names["channel"]
    s.daily_contacts = {
        _day(d): Counter({channels[c]: n for c, n in counts.items()})
        for d, counts in sorted(daily.items())
    }
    if tier_delta:
        counts = [0] * len(tiers)
        last = max(max(tier_delta), end // DAY)
        for d in range(min(tier_delta), last + 1):
            for t, by in tier_delta.get(d, {}).items():
                counts[t] += by
            s.daily_tiers[_day(d)] = list(counts)
    return s


# --- customers treated differently -----------------------------------------------------

Signature = tuple[int, str, str, int]  # kind, two names, UTC day


def _signatures(run: Run, log: bytes | bytearray) -> list[tuple[int, Signature, str]]:
    """A customer's decisions as (decided_at, signature, text for a person), in order."""
    codes = run.codes
    out: list[tuple[int, Signature, str]] = []
    for at, kind, a, b, c, rule, delay in RECORD.iter_unpack(log):
        clock = datetime.fromtimestamp(at, UTC).strftime("%H:%M")
        if kind == OUTREACH:
            channel, reason = codes.name("channel", a), codes.name("reason", b)
            text = f"{clock} {channel} {reason}"
            if rule:
                text += f", {'quiet' if RULES[rule] == 'quiet_hours' else 'cap'} +{_hours(delay)}"
            out.append((at, (kind, channel, reason, at // DAY), text))
        elif kind == ESCALATION:
            frm, to = codes.name("tier", a), codes.name("tier", b)
            text = f"{clock} {frm} -> {to} [{', '.join(codes.reasons(c))}]"
            out.append((at, (kind, frm, to, at // DAY), text))
        elif kind == CANCELLED:
            channel, reason = codes.name("channel", a), codes.name("cancel", b)
            out.append(
                (at, (kind, channel, reason, at // DAY), f"{clock} cancel {channel} [{reason}]")
            )
        elif kind == ERASED:
            out.append((at, (kind, "", "", at // DAY), f"{clock} erased"))
    return out


def _hours(seconds: int) -> str:
    return f"{seconds / 3600:.0f}h" if seconds >= 3600 else f"{seconds // 60}m"


@dataclass
class Difference:
    """A customer treated differently: the decisions of each policy, day by day."""

    customer_id: str
    score: int  # decisions one policy made and the first did not, or the reverse (max)
    decisions: list[int]  # per policy
    days: list[tuple[str, list[list[str]]]]  # UTC day, per policy the decisions that day
    identical_days: int  # days with the same decisions under every policy (not listed)


def score(base: Counter[Signature], other: Counter[Signature]) -> int:
    """Decisions in one and not the other: same kind, channel or tiers, reason and UTC day
    count as the same decision, whatever the hour."""
    return sum((base - other).values()) + sum((other - base).values())


def differing(runs: list[Run], top: int = 10) -> tuple[int, list[Difference]]:
    """How many customers are treated differently from the first policy, and the ``top``
    that differ most (ties by ``customer_id``), with their decisions side by side."""
    if len(runs) < 2:
        return 0, []
    same_codes = all(r.codes.names == runs[0].codes.names for r in runs[1:])
    customers: dict[str, None] = {}
    for run in runs:
        customers.update(dict.fromkeys(run.logs))
    scored: list[tuple[int, str]] = []
    for customer_id in customers:
        logs = [run.logs.get(customer_id, b"") for run in runs]
        if same_codes and all(log == logs[0] for log in logs[1:]):
            continue
        sigs = [
            Counter(sig for _, sig, _ in _signatures(run, log))
            for run, log in zip(runs, logs, strict=True)
        ]
        worst = max(score(sigs[0], other) for other in sigs[1:])
        if worst:
            scored.append((worst, customer_id))
    chosen = heapq.nsmallest(top, scored, key=lambda sc: (-sc[0], sc[1]))
    return len(scored), [_side_by_side(runs, cid, worst) for worst, cid in chosen]


def _side_by_side(runs: list[Run], customer_id: str, worst: int) -> Difference:
    per_run = [_signatures(run, run.logs.get(customer_id, b"")) for run in runs]
    by_day: dict[int, list[list[tuple[Signature, str]]]] = {}
    for i, decisions in enumerate(per_run):
        for at, sig, text in decisions:
            by_day.setdefault(at // DAY, [[] for _ in runs])[i].append((sig, text))
    days: list[tuple[str, list[list[str]]]] = []
    identical = 0
    for d in sorted(by_day):
        columns = by_day[d]
        if all(Counter(s for s, _ in col) == Counter(s for s, _ in columns[0]) for col in columns):
            identical += 1
            continue
        days.append((_day(d), [[text for _, text in col] for col in columns]))
    return Difference(customer_id, worst, [len(d) for d in per_run], days, identical)


def count_lines(path: str) -> int:
    """Lines in a file, fast (for progress); 1,000,000 lines take a fraction of a second."""
    n = 0
    last = b"\n"
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            n += chunk.count(b"\n")
            last = chunk[-1:]
    return n + (last != b"\n")
