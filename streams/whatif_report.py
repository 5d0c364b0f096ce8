"""``repayment-stream whatif``: run each policy over the history, then compare them.

The figures come from ``streams.whatif``; this module runs the policies (one after another,
or in parallel processes with ``--jobs``), lays the figures out as sections shared by the
three formats (a plain table, JSON for machines, HTML with charts in ``whatif_html``).
"""

from __future__ import annotations

import argparse
import sys
import textwrap
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

from policy import Policy, default_policy, load_policy
from streams.progress import Progress
from streams.replay import parse_timestamp
from streams.whatif import (
    Difference,
    Run,
    Summary,
    count_lines,
    differing,
    replay_policy,
    summarize,
)

BUILT_IN = "default"
HTML_EXTRA = "report"
CAVEAT = (
    "A what-if replays the same history under each policy: it measures the cost and the "
    "compliance of a policy on the same facts (contacts, channels, tiers, quiet hours, caps). "
    "It cannot tell how customers would have answered: every policy meets the payments, "
    "promises and contact results that customers gave the policy that was live, so "
    "cure rates and collected amounts under a challenger are not measured here; a "
    "champion/challenger experiment measures those."
)


@dataclass(frozen=True, slots=True)
class PolicySpec:
    """A ``--policy`` value: a TOML file, or ``default`` for the built-in policy."""

    name: str
    source: str
    path: str | None

    def load(self) -> Policy:
        return default_policy() if self.path is None else load_policy(Path(self.path))


def policy_specs(values: Sequence[str]) -> list[PolicySpec]:
    """Names are file stems (``default`` for the built-in), made unique with ``#2``..."""
    specs: list[PolicySpec] = []
    seen: Counter[str] = Counter()
    for value in values:
        if value == BUILT_IN and not Path(value).exists():
            stem, source, path = BUILT_IN, "built-in", None
        else:
            stem, source, path = Path(value).stem, value, value
        seen[stem] += 1
        name = stem if seen[stem] == 1 else f"{stem}#{seen[stem]}"
        specs.append(PolicySpec(name, source, path))
    return specs


def _run_one(
    spec: PolicySpec,
    path: str,
    until: datetime | None,
    max_bytes: int,
    not_after: datetime,
    total: int,
    in_place: bool | None,
) -> Run:
    policy = spec.load()
    progress = Progress(f"whatif {spec.name}", total, unit=" lines", in_place=in_place)
    with open(path, encoding="utf-8") as lines:
        run = replay_policy(
            spec.name,
            spec.source,
            policy,
            lines,
            until,
            max_bytes=max_bytes,
            not_after=not_after,
            on_line=progress.advance,
        )
    progress.close()
    return run


def run_policies(
    specs: Sequence[PolicySpec],
    path: str,
    until: datetime | None,
    *,
    jobs: int = 1,
    max_bytes: int = 65536,
    not_after: datetime | None = None,
) -> list[Run]:
    """One replay per policy over the file; in ``jobs`` processes when more than one."""
    for spec in specs:  # a bad policy file fails now, not after an hour of replay
        spec.load()
    total = count_lines(path)
    limit = not_after or datetime.now(UTC) + timedelta(hours=24)
    if jobs <= 1 or len(specs) == 1:
        return [_run_one(s, path, until, max_bytes, limit, total, None) for s in specs]
    with ProcessPoolExecutor(max_workers=min(jobs, len(specs))) as pool:
        futures = [
            pool.submit(_run_one, s, path, until, max_bytes, limit, total, False) for s in specs
        ]
        return [f.result() for f in futures]


@dataclass
class Report:
    input: str
    until: str | None
    start: str | None  # the clock at the first event, UTC
    end: str | None  # the clock at the end of the replay, UTC
    summaries: list[Summary]
    customers_differing: int
    differences: list[Difference] = field(default_factory=list)


def _instant(epoch: int | None) -> str | None:
    if epoch is None:
        return None
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def build_report(input_name: str, until: datetime | None, runs: list[Run], top: int) -> Report:
    count, differences = differing(runs, top)
    first = runs[0]
    return Report(
        input_name,
        None if until is None else _instant(int(until.timestamp())),
        _instant(first.first),
        _instant(first.end),
        [summarize(run) for run in runs],
        count,
        differences,
    )


# --- sections shared by the table and the html -------------------------------------------

Row = tuple[str, list[float]]


@dataclass
class Section:
    title: str
    note: str
    rows: list[Row]
    decimals: int = 0


def _keep(rows: list[Row]) -> list[Row]:
    """Drop rows that are zero under every policy (unused reasons, tiers never reached)."""
    return [r for r in rows if any(r[1])]


def _by(summaries: list[Summary], attr: str, index: int) -> Counter[str]:
    """Sum a (a, b)-keyed counter of each summary over one key part: one Counter each."""
    out: Counter[str] = Counter()
    for s in summaries:
        for key, n in getattr(s, attr).items():
            out[key[index]] += n
    return out


def _names(summaries: list[Summary], attr: str, index: int, order: Sequence[str]) -> list[str]:
    seen = {k[index] for s in summaries for k in getattr(s, attr)}
    return [n for n in order if n in seen] + sorted(seen - set(order))


def percentile(histogram: Counter[int], q: float, *, skip_zero: bool = True) -> int:
    """The ``q`` quantile (0..1, nearest rank) of values given as value -> count."""
    items = sorted((v, n) for v, n in histogram.items() if v or not skip_zero)
    total = sum(n for _, n in items)
    if not total:
        return 0
    rank = max(1, -(-int(q * total * 1000) // 1000))
    seen = 0
    for value, n in items:
        seen += n
        if seen >= rank:
            return value
    return items[-1][0]


BUCKETS = ((0, 0), (1, 1), (2, 3), (4, 7), (8, 15), (16, 31), (32, None))


def sections(report: Report) -> list[Section]:
    """The comparison as titled rows of one number per policy."""
    from schemas.events import CHANNELS
    from schemas.outputs import CANCEL_REASONS, OUTREACH_REASONS, TIERS

    ss = report.summaries

    def each(fn: Any) -> list[float]:
        return [fn(s) for s in ss]

    def per(attr: str, index: int, name: str) -> list[float]:
        return [sum(n for k, n in getattr(s, attr).items() if k[index] == name) for s in ss]

    channels = _names(ss, "outreach", 0, CHANNELS)
    out: list[Section] = []
    emitted = each(lambda s: sum(s.outreach.values()))
    cancelled = each(lambda s: sum(s.cancelled.values()))
    out.append(
        Section(
            "Contacts by channel",
            "outreach-needed emitted; outreach cancelled before the contact are counted apart "
            "and not subtracted, net = emitted - cancelled",
            [(c, per("outreach", 0, c)) for c in channels]
            + [
                ("total", emitted),
                ("cancelled", cancelled),
                ("net of cancellations", [e - c for e, c in zip(emitted, cancelled, strict=True)]),
            ],
        )
    )
    reasons = _names(ss, "outreach", 1, OUTREACH_REASONS)
    out.append(Section("Contacts by reason", "", [(r, per("outreach", 1, r)) for r in reasons]))
    cancel = _names(ss, "cancelled", 1, CANCEL_REASONS)
    out.append(
        Section(
            "Cancelled outreach by reason",
            "repayments.outreach-cancelled: pending outreach whose reason was gone",
            [(r, per("cancelled", 1, r)) for r in cancel] + [("total", cancelled)],
        )
    )
    tiers = list(TIERS) + sorted({t for s in ss for t in s.tier_days} - set(TIERS))
    rows: list[Row] = []
    for direction in ("up", "down"):
        rows += _keep(
            [(f"{direction} to {t}", [s.escalations[t, direction] for s in ss]) for t in tiers]
        )
    rows.append(("total", each(lambda s: sum(s.escalations.values()))))
    out.append(Section("Escalations by tier", "risk-escalations by new tier", rows))
    out.append(
        Section(
            "Escalation reasons",
            "an escalation may give several",
            _keep(
                [
                    (r, each(lambda s, r=r: s.escalation_reasons[r]))
                    for r in sorted({r for s in ss for r in s.escalation_reasons})
                ]
            ),
        )
    )
    day_rows = _keep([(t, each(lambda s, t=t: s.tier_days.get(t, 0.0))) for t in tiers])
    day_rows.append(
        ("delinquent", each(lambda s: sum(v for t, v in s.tier_days.items() if t != "current")))
    )
    out.append(
        Section(
            "Customer-days in each tier",
            "each customer is current from its first event, then in the tier of each "
            "escalation, to the end of the replay",
            day_rows,
            decimals=1,
        )
    )
    hist = [s.contacts_per_customer for s in ss]
    contacted = [sum(n for v, n in h.items() if v) for h in hist]
    rows = [
        ("customers", each(lambda s: s.customers)),
        ("customers contacted", [float(c) for c in contacted]),
        ("per customer, mean", [e / max(s.customers, 1) for e, s in zip(emitted, ss, strict=True)]),
        (
            "per contacted customer, mean",
            [e / max(c, 1) for e, c in zip(emitted, contacted, strict=True)],
        ),
        ("per contacted customer, median", [percentile(h, 0.5) for h in hist]),
        ("per contacted customer, p90", [percentile(h, 0.9) for h in hist]),
        ("per contacted customer, max", [max(h, default=0) for h in hist]),
    ]
    buckets: list[Row] = []
    for lo, hi in BUCKETS:
        span = f"{lo}" if hi == lo else f"{lo}-{hi}" if hi else f"{lo}+"
        counts = [sum(n for v, n in h.items() if v >= lo and (hi is None or v <= hi)) for h in hist]
        buckets.append((f"customers with {span}", [float(c) for c in counts]))
    rows += _keep(buckets)
    out.append(Section("Contacts per customer", "", rows, decimals=1))
    rows = []
    for rule, label in (("quiet_hours", "quiet hours"), ("cap", "caps")):
        total = per("deferred", 1, rule)
        rows.append((f"{label}: contacts deferred", total))
        rows += _keep(
            [(f"  {c}", each(lambda s, c=c, rule=rule: s.deferred[c, rule])) for c in channels]
        )
        rows.append(
            (
                f"  {label}: mean hours moved",
                [s.deferred_hours[rule] / n if n else 0.0 for s, n in zip(ss, total, strict=True)],
            )
        )
    out.append(
        Section(
            "Contact rules: deferrals and cap hits",
            "outreach whose not_before the contact rules moved after its decision: inside "
            "quiet hours (customer's local time), else held back by a cap or a cooldown",
            rows,
            decimals=1,
        )
    )
    out.append(
        Section(
            "Replay",
            "",
            [
                ("events read", each(lambda s: s.stats.get("lines", 0))),
                ("processed", each(lambda s: s.stats.get("processed", 0))),
                ("duplicates", each(lambda s: s.stats.get("duplicates", 0))),
                ("dead letters", each(lambda s: s.stats.get("dead_letters", 0))),
                ("clock ticks", each(lambda s: s.stats.get("ticks", 0))),
            ],
        )
    )
    return out


def number(value: float, decimals: int) -> str:
    if float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:,.{decimals or 1}f}"


def change(values: list[float]) -> str:
    """Second policy against the first: difference and percentage (two policies only)."""
    a, b = values[0], values[1]
    diff = b - a
    if not diff:
        return "="
    text = f"{diff:+,.1f}" if not float(diff).is_integer() else f"{int(diff):+,}"
    return f"{text} ({100 * diff / a:+.0f}%)" if a else text


def render_table(report: Report) -> str:
    names = [s.name for s in report.summaries]
    two = len(names) == 2
    header = [*names, *(["change"] if two else [])]
    lines = [
        f"What-if: {report.input}, clock {report.start or '-'} .. {report.end or '-'} (UTC)",
        "Policies: " + ", ".join(f"{s.name} ({s.source})" for s in report.summaries),
        "",
    ]
    for section in sections(report):
        body = [
            [
                label,
                *(number(v, section.decimals) for v in values),
                *([change(values)] if two else []),
            ]
            for label, values in section.rows
        ]
        widths = [
            max(len(r[i]) for r in [[section.title, *header], *body])
            for i in range(len(header) + 1)
        ]
        lines.append(
            section.title.ljust(widths[0])
            + "".join("  " + h.rjust(w) for h, w in zip(header, widths[1:], strict=True))
        )
        if section.note:
            lines += textwrap.wrap(
                f"({section.note})", 96, initial_indent="  ", subsequent_indent="   "
            )
        for row in body:
            lines.append(
                row[0].ljust(widths[0])
                + "".join("  " + v.rjust(w) for v, w in zip(row[1:], widths[1:], strict=True))
            )
        lines.append("")
    lines += _differences_table(report, names)
    lines += ["", *textwrap.wrap("Note: " + CAVEAT, 96)]
    return "\n".join(lines) + "\n"


def _differences_table(report: Report, names: list[str]) -> list[str]:
    if len(names) < 2:
        return []
    total = report.summaries[0].customers
    lines = textwrap.wrap(
        f"Customers treated differently: {report.customers_differing:,} of {total:,}; "
        f"the {len(report.differences)} that differ most, by the decisions one policy made "
        f"and {names[0]} did not or the reverse (same kind, channel, reason and UTC day "
        "count as the same); days with the same decisions are not shown:",
        96,
    )
    for d in report.differences:
        counts = ", ".join(f"{n} {c}" for n, c in zip(names, d.decisions, strict=True))
        lines += ["", f"{d.customer_id}: {d.score} decisions differ ({counts} decisions)"]
        width = max((len(t) for _, cols in d.days for col in cols for t in col), default=20)
        lines.append(f"  {'day':10}  " + "  ".join(n.ljust(width) for n in names).rstrip())
        for day, columns in d.days:
            depth = max(len(c) for c in columns)
            for i in range(depth):
                cells = [(c[i] if i < len(c) else "").ljust(width) for c in columns]
                lines.append(f"  {day if i == 0 else '':10}  " + "  ".join(cells).rstrip())
        if d.identical_days:
            lines.append(f"  ({d.identical_days} days with the same decisions not shown)")
    return lines


def to_json(report: Report) -> bytes:
    """Every figure, keyed by contract names; nested dicts rather than tuples."""

    def nested(counter: Counter[tuple[str, str]]) -> dict[str, dict[str, int]]:
        out: dict[str, dict[str, int]] = {}
        for (a, b), n in sorted(counter.items()):
            out.setdefault(a, {})[b] = n
        return out

    policies = []
    for s in report.summaries:
        policies.append(
            {
                "name": s.name,
                "source": s.source,
                "replay": s.stats,
                "seconds": round(s.seconds, 3),
                "customers": s.customers,
                "contacts": nested(s.outreach),
                "cancelled": nested(s.cancelled),
                "escalations": nested(s.escalations),
                "escalation_reasons": dict(sorted(s.escalation_reasons.items())),
                "customer_days": {t: round(v, 4) for t, v in s.tier_days.items()},
                "contacts_per_customer": {
                    str(k): v for k, v in sorted(s.contacts_per_customer.items())
                },
                "deferred": nested(s.deferred),
                "deferred_hours": {k: round(v, 2) for k, v in sorted(s.deferred_hours.items())},
                "daily_contacts": {d: dict(c) for d, c in s.daily_contacts.items()},
                "daily_tiers": {"tiers": s.tiers, "days": s.daily_tiers},
            }
        )
    doc = {
        "input": report.input,
        "until": report.until,
        "clock": {"start": report.start, "end": report.end},
        "note": CAVEAT,
        "policies": policies,
        "customers_differing": report.customers_differing,
        "differences": [
            {
                "customer_id": d.customer_id,
                "score": d.score,
                "decisions": dict(
                    zip([s.name for s in report.summaries], d.decisions, strict=True)
                ),
                "days": [
                    {
                        "day": day,
                        "decisions": dict(
                            zip([s.name for s in report.summaries], cols, strict=True)
                        ),
                    }
                    for day, cols in d.days
                ],
                "identical_days": d.identical_days,
            }
            for d in report.differences
        ],
    }
    return orjson.dumps(doc, option=orjson.OPT_INDENT_2) + b"\n"


def main(args: argparse.Namespace) -> int:
    """The ``whatif`` subcommand (see ``streams.cli``)."""
    if args.input == "-":
        raise ValueError("whatif reads the history once per policy: give a file, not -")
    if args.format == "html":
        from streams.whatif_html import require_plotting

        require_plotting()  # fail now, not after the replay
    specs = policy_specs(args.policy)
    until = parse_timestamp(args.until) if args.until else None
    not_after = datetime.now(UTC) + timedelta(hours=args.max_future_hours)
    runs = run_policies(
        specs, args.input, until, jobs=args.jobs, max_bytes=args.max_bytes, not_after=not_after
    )
    report = build_report(args.input, until, runs, args.top)
    del runs
    if args.format == "json":
        data = to_json(report)
    elif args.format == "html":
        from streams.whatif_html import render_html

        data = render_html(report).encode()
    else:
        data = render_table(report).encode()
    if args.out:
        Path(args.out).write_bytes(data)
        print(f"whatif: wrote {args.out}", file=sys.stderr)
    else:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
    return 0
