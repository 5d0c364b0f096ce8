"""The what-if as one self-contained HTML page, with charts for a risk analyst.

Charts are drawn by plotly (the optional ``report`` extra): interactive (hover for the
numbers, click a legend entry to hide a series) and viewable offline, since plotly.js is
embedded once in the page. The figures tables are the same sections as the text table.
"""

from __future__ import annotations

import importlib
from html import escape
from typing import Any

from schemas.errors import RepaymentStreamError
from streams.whatif_report import CAVEAT, HTML_EXTRA, Report, Section, change, number, sections

TIER_COLOURS = {
    "current": "#b8bec6",
    "early": "#f6c445",
    "mid": "#f28e2b",
    "late": "#e15759",
    "severe": "#a6192e",
    "charge_off": "#4a0d1a",
}
CHANNEL_COLOURS = {
    "sms": "#4e79a7",
    "email": "#76b7b2",
    "voice_bot": "#f28e2b",
    "agent_call": "#b07aa1",
}
POLICY_COLOURS = ("#8c8c8c", "#1f77b4", "#2ca02c", "#d62728", "#9467bd", "#17becf")


class PlottingMissing(RepaymentStreamError):
    """``--format html`` without the plotting library: install the extra it names."""


def require_plotting() -> None:
    try:
        importlib.import_module("plotly")
    except ImportError:
        raise PlottingMissing(
            f"--format html needs the optional '{HTML_EXTRA}' extra (plotly): "
            f"pip install 'repayment-stream[{HTML_EXTRA}]'"
        ) from None


def _plotly() -> tuple[Any, Any]:
    """plotly's figure module and ``make_subplots``, imported when a page is drawn."""
    from plotly import graph_objects  # type: ignore[import-untyped]
    from plotly.subplots import make_subplots  # type: ignore[import-untyped]

    return graph_objects, make_subplots


STYLE = """
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
       color: #1d2733; margin: 0 auto; padding: 16px 28px 48px; max-width: 1280px; }
h1 { font-size: 22px; margin: 8px 0 2px; } h2 { font-size: 17px; margin: 28px 0 6px; }
h3 { font-size: 14px; margin: 18px 0 4px; }
.meta { color: #5a6573; margin: 0 0 10px; }
.caveat { background: #fff7e0; border-left: 4px solid #e0a800; padding: 8px 12px; }
table { border-collapse: collapse; margin: 4px 0 12px; }
th, td { padding: 3px 10px; border-bottom: 1px solid #e6e9ee; text-align: right;
         vertical-align: top; }
th { background: #f3f5f8; font-weight: 600; }
td:first-child, th:first-child { text-align: left; }
td.more { color: #9a4a00; font-weight: 600; } td.less { color: #0b5394; font-weight: 600; }
.note { color: #5a6573; font-size: 12px; margin: -2px 0 4px; }
.grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(420px, 1fr));
        gap: 0 24px; }
.side th { text-align: left; }
.side td { text-align: left; font: 12px/1.4 ui-monospace, Menlo, Consolas, monospace; }
.chart { margin: 0 0 8px; }
"""


def _figure_html(fig: Any, div_id: str, height: int) -> str:
    fig.update_layout(
        height=height,
        margin={"l": 50, "r": 20, "t": 64, "b": 40},
        template="plotly_white",
        legend={"orientation": "h", "y": -0.12},
        font={"size": 12},
    )
    html: str = fig.to_html(
        full_html=False,
        include_plotlyjs=False,
        div_id=div_id,
        config={"displaylogo": False, "responsive": True},
    )
    return f'<div class="chart">{html}</div>'


def tier_mix_chart(report: Report) -> str:
    """Customers in each delinquent tier at the end of each UTC day, one panel per policy."""
    go, make_subplots = _plotly()

    ss = report.summaries
    fig = make_subplots(
        rows=1, cols=len(ss), shared_yaxes=True, subplot_titles=[s.name for s in ss]
    )
    for col, s in enumerate(ss, start=1):
        days = list(s.daily_tiers)
        for i, tier in enumerate(s.tiers):
            if tier == "current":
                continue
            fig.add_trace(
                go.Scatter(
                    x=days,
                    y=[counts[i] for counts in s.daily_tiers.values()],
                    name=tier,
                    legendgroup=tier,
                    showlegend=col == 1,
                    stackgroup="tiers",
                    mode="lines",
                    line={"width": 0, "color": TIER_COLOURS.get(tier)},
                    hovertemplate=f"{tier}: %{{y:,}} customers<extra>{escape(s.name)}</extra>",
                ),
                row=1,
                col=col,
            )
    fig.update_yaxes(title_text="customers", row=1, col=1)
    return _figure_html(fig, "tier-mix", 380)


def contacts_chart(report: Report) -> str:
    """Contacts per UTC day (of ``not_before``) by channel, one panel per policy."""
    go, make_subplots = _plotly()

    ss = report.summaries
    fig = make_subplots(
        rows=len(ss),
        cols=1,
        shared_xaxes=True,
        shared_yaxes=True,
        subplot_titles=[s.name for s in ss],
        vertical_spacing=0.08,
    )
    channels: list[str] = []
    for s in ss:
        for counts in s.daily_contacts.values():
            channels += [c for c in counts if c not in channels]
    order = [c for c in CHANNEL_COLOURS if c in channels] + [
        c for c in channels if c not in CHANNEL_COLOURS
    ]
    for row, s in enumerate(ss, start=1):
        days = list(s.daily_contacts)
        for channel in order:
            fig.add_trace(
                go.Bar(
                    x=days,
                    y=[s.daily_contacts[d].get(channel, 0) for d in days],
                    name=channel,
                    legendgroup=channel,
                    showlegend=row == 1,
                    marker={"color": CHANNEL_COLOURS.get(channel), "line": {"width": 0}},
                    hovertemplate=f"{channel}: %{{y:,}}<extra>{escape(s.name)}</extra>",
                ),
                row=row,
                col=1,
            )
        fig.update_yaxes(title_text="contacts", row=row, col=1)
    fig.update_layout(barmode="stack", bargap=0.1)
    return _figure_html(fig, "contacts-per-day", 220 + 200 * len(ss))


def totals_chart(report: Report) -> str:
    """Contacts by channel and customer-days by delinquent tier, policies side by side."""
    go, make_subplots = _plotly()

    ss = report.summaries
    fig = make_subplots(
        rows=1,
        cols=2,
        subplot_titles=["contacts by channel", "customer-days in delinquent tiers"],
    )
    channels = sorted(
        {c for s in ss for c, _ in s.outreach},
        key=lambda c: list(CHANNEL_COLOURS).index(c) if c in CHANNEL_COLOURS else 99,
    )
    for i, s in enumerate(ss):
        colour = POLICY_COLOURS[i % len(POLICY_COLOURS)]
        fig.add_trace(
            go.Bar(
                x=channels,
                y=[sum(n for (c, _), n in s.outreach.items() if c == ch) for ch in channels],
                name=s.name,
                legendgroup=s.name,
                marker_color=colour,
            ),
            row=1,
            col=1,
        )
        tiers = [t for t in s.tiers if t != "current"]
        fig.add_trace(
            go.Bar(
                x=tiers,
                y=[round(s.tier_days.get(t, 0.0), 1) for t in tiers],
                name=s.name,
                legendgroup=s.name,
                showlegend=False,
                marker_color=colour,
            ),
            row=1,
            col=2,
        )
    fig.update_layout(barmode="group")
    return _figure_html(fig, "totals", 360)


def _section_table(section: Section, names: list[str]) -> str:
    two = len(names) == 2
    head = "".join(f"<th>{escape(n)}</th>" for n in [section.title, *names])
    head += "<th>change</th>" if two else ""
    rows = []
    for label, values in section.rows:
        cells = "".join(f"<td>{number(v, section.decimals)}</td>" for v in values)
        if two:
            cls = "more" if values[1] > values[0] else "less" if values[1] < values[0] else ""
            cells += f'<td class="{cls}">{escape(change(values))}</td>'
        rows.append(f"<tr><td>{escape(label.strip())}</td>{cells}</tr>")
    note = f'<p class="note">{escape(section.note)}</p>' if section.note else ""
    return f"<div><table><tr>{head}</tr>{''.join(rows)}</table>{note}</div>"


def _differences(report: Report, names: list[str]) -> str:
    if len(names) < 2:
        return ""
    total = report.summaries[0].customers
    parts = [
        '<h2 id="customers">Customers treated differently</h2>',
        f"<p>{report.customers_differing:,} of {total:,} customers are treated differently "
        f"from <b>{escape(names[0])}</b>. The {len(report.differences)} that differ most, "
        "day by day (decisions of the same kind, channel, reason and UTC day count as the "
        "same; days with the same decisions are not shown):</p>",
    ]
    for d in report.differences:
        counts = ", ".join(f"{escape(n)} {c}" for n, c in zip(names, d.decisions, strict=True))
        parts.append(
            f"<h3>{escape(d.customer_id)}: {d.score} decisions differ "
            f'<span class="meta">({counts} decisions; '
            f"{d.identical_days} days alike)</span></h3>"
        )
        head = "".join(f"<th>{escape(n)}</th>" for n in ["day (UTC)", *names])
        rows = [
            f"<tr><td>{day}</td>"
            + "".join(f"<td>{'<br>'.join(escape(t) for t in col)}</td>" for col in columns)
            + "</tr>"
            for day, columns in d.days
        ]
        parts.append(f'<table class="side"><tr>{head}</tr>{"".join(rows)}</table>')
    return "\n".join(parts)


def render_html(report: Report) -> str:
    """The whole page: headline figures, charts, every table, the customers that differ."""
    require_plotting()
    from plotly.offline import get_plotlyjs  # type: ignore[import-untyped]

    names = [s.name for s in report.summaries]
    all_sections = sections(report)
    policies = ", ".join(f"<b>{escape(s.name)}</b> ({escape(s.source)})" for s in report.summaries)
    body = [
        f"<h1>What-if: {escape(report.input)}</h1>",
        f'<p class="meta">Policies {policies}; clock {report.start or "-"} .. '
        f"{report.end or '-'} (UTC); the first policy is the baseline.</p>",
        f'<p class="caveat">{escape(CAVEAT)}</p>',
        '<h2 id="tier-mix-over-time">Tier mix over time</h2>',
        '<p class="note">customers in each delinquent tier at the end of each UTC day '
        "(customers in current are not drawn)</p>",
        tier_mix_chart(report),
        '<h2 id="contacts-per-day-by-channel">Contacts per day by channel</h2>',
        '<p class="note">outreach emitted, by the UTC day of its not_before</p>',
        contacts_chart(report),
        '<h2 id="totals-by-policy">Totals</h2>',
        totals_chart(report),
        '<h2 id="figures">Figures</h2>',
        '<div class="grid">',
        *(_section_table(s, names) for s in all_sections),
        "</div>",
        _differences(report, names),
    ]
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>What-if: {escape(report.input)}</title>"
        f"<style>{STYLE}</style>"
        f'<script type="text/javascript">{get_plotlyjs()}</script>'
        "</head><body>\n" + "\n".join(body) + "\n</body></html>\n"
    )
