"""Benchmark figures: one row each, with the issue's target when it has one."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import orjson


@dataclass(frozen=True, slots=True)
class Figure:
    suite: str
    name: str
    value: float | None
    unit: str
    target: str = ""
    passed: bool | None = None
    note: str = ""


def figure(
    suite: str,
    name: str,
    value: float | None,
    unit: str,
    *,
    at_least: float | None = None,
    at_most: float | None = None,
    note: str = "",
) -> Figure:
    """A figure, checked against ``at_least``/``at_most`` when the issue sets a target."""
    target, passed = "", None
    if at_least is not None:
        target = f">= {at_least:,g}"
        passed = value is not None and value >= at_least
    elif at_most is not None:
        target = f"<= {at_most:,g}"
        passed = value is not None and value <= at_most
    return Figure(suite, name, value, unit, target, passed, note)


def percentile(sorted_values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile of already sorted values (``q`` in 0..100)."""
    if not sorted_values:
        return math.nan
    rank = max(math.ceil(q / 100 * len(sorted_values)), 1)
    return sorted_values[rank - 1]


def _cell(value: float | None) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if abs(value) >= 100 or float(value).is_integer():
        return f"{value:,.0f}"
    return f"{value:,.3g}"


def table(figures: Iterable[Figure]) -> str:
    """A plain-text table for the terminal, one figure a row."""
    head = ("suite", "figure", "value", "unit", "target", "ok", "note")
    rows = [head]
    for f in figures:
        ok = "" if f.passed is None else ("yes" if f.passed else "NO")
        rows.append((f.suite, f.name, _cell(f.value), f.unit, f.target, ok, f.note))
    widths = [max(len(r[i]) for r in rows) for i in range(len(head))]
    lines = []
    for n, row in enumerate(rows):
        cells = [
            c.rjust(w) if i == 2 else c.ljust(w)
            for i, (c, w) in enumerate(zip(row, widths, strict=True))
        ]
        lines.append("  ".join(cells).rstrip())
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def to_json(meta: dict[str, Any], figures: Iterable[Figure], details: dict[str, Any]) -> bytes:
    doc = {"meta": meta, "figures": [asdict(f) for f in figures], "details": details}
    return orjson.dumps(doc, option=orjson.OPT_INDENT_2)
