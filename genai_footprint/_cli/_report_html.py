"""The report as one self-contained HTML page: the grand total, SVG bar charts and the report's tables.

No script and no external resource: the charts are inline SVG drawn here, the style is inline CSS. Every
value cell carries ``data-key="GROUPING:KEY:COLUMN"`` (``total:all:COLUMN`` for the grand total,
``header:CRITERION`` in the header, ``chart:GROUPING:KEY:CRITERION`` on chart labels) and shows exactly the
text of the same cell in the text report.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from genai_footprint._cli._report import (
    GROUP_NAMES,
    GROUP_TITLES,
    TRACKER_NOTE,
    UNESTIMATED_NOTE,
    Report,
    Totals,
    cells,
    columns,
    summary,
    total_quantity,
)
from genai_footprint._criteria import LABELS, NAMES, format_quantity
from genai_footprint._version import __version__

CHARTS = (("gwp", "model"), ("energy", "model"), ("gwp", "day"), ("energy", "day"))
_COLOURS = {"gwp": ("#2e7d5b", "#b5dcc8"), "energy": ("#b7791f", "#f3dca8")}  # (min bar, max bar)

_LABEL_W, _BAR_W, _VALUE_W, _ROW_H, _PAD = 200, 240, 140, 26, 6
_MAX_LABEL = 26  # characters of a row name shown beside a bar; the full name is in its tooltip

_STYLE = """
:root { color-scheme: light; --ink: #1d2a24; --muted: #5b6b63; --line: #d9e2dd; --bg: #f6f8f7; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--ink);
  background: var(--bg); }
main { max-width: 1600px; margin: 0 auto; padding: 24px; }
h1 { font-size: 26px; margin: 0 0 4px; }
h2 { font-size: 19px; margin: 28px 0 8px; }
.summary, .note, footer { color: var(--muted); }
.note { font-size: 13px; margin: 6px 0 0; }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(180px, 1fr)); gap: 12px; margin: 16px 0; }
.card { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 12px 14px; }
.card .label { font-size: 13px; color: var(--muted); }
.card .value { font-size: 19px; font-weight: 600; white-space: nowrap; }
.charts { display: grid; grid-template-columns: repeat(auto-fit, minmax(520px, 1fr)); gap: 16px; }
figure svg { width: 100%; height: auto; }
figure { margin: 0; background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 12px; }
figcaption { font-weight: 600; margin-bottom: 6px; }
svg text { font: 12px system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; fill: var(--ink); }
.legend { font-size: 12px; color: var(--muted); margin-top: 4px; }
.swatch { display: inline-block; width: 10px; height: 10px; border-radius: 2px; margin: 0 4px 0 10px; }
.table-wrap { overflow-x: auto; }
table { border-collapse: collapse; background: #fff; border: 1px solid var(--line); font-size: 13px; }
th, td { padding: 4px 8px; border-bottom: 1px solid var(--line); white-space: nowrap; }
thead th { background: #eef3f0; text-align: right; vertical-align: bottom; white-space: normal; }
thead th:first-child, tbody th { text-align: left; }
tbody th { font-weight: 500; }
td { text-align: right; font-variant-numeric: tabular-nums; }
"""


def _e(text: object) -> str:
    return escape(str(text), quote=True)


def _short(name: str) -> str:
    return name if len(name) <= _MAX_LABEL else name[: _MAX_LABEL - 1] + "…"


def bar_chart(criterion: str, grouping: str, rows: Sequence[tuple[str, Totals]]) -> str:
    """A horizontal bar chart of ``criterion`` by ``grouping``: a dark bar up to each row's min, light up to max."""
    title = f"{LABELS[criterion]} by {GROUP_NAMES[grouping]}"
    shown = [(key, t.impacts[criterion]) for key, t in rows if t.impacts is not None]
    if not shown:
        return f'<figure><figcaption>{_e(title)}</figcaption><p class="note">No estimated calls.</p></figure>'
    top = max(high for _, (_, high) in shown) or 1.0
    dark, light = _COLOURS[criterion]
    width, height = _LABEL_W + _BAR_W + _VALUE_W, 2 * _PAD + _ROW_H * len(shown)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{_e(title)}">'
    ]
    for i, (key, (low, high)) in enumerate(shown):
        y = _PAD + i * _ROW_H
        middle = y + _ROW_H / 2
        w_high = max(_BAR_W * high / top, 1.0 if high > 0 else 0.0)
        w_low = _BAR_W * low / top
        data_key = _e(f"chart:{grouping}:{key}:{criterion}")
        parts += [
            f'<text x="{_LABEL_W - 8}" y="{middle:.1f}" text-anchor="end" dominant-baseline="middle">'
            f"<title>{_e(key)}</title>{_e(_short(key))}</text>",
            f'<rect x="{_LABEL_W}" y="{y + 4}" width="{w_high:.2f}" height="{_ROW_H - 8}" rx="2" fill="{light}"/>',
            f'<rect x="{_LABEL_W}" y="{y + 4}" width="{w_low:.2f}" height="{_ROW_H - 8}" rx="2" fill="{dark}"/>',
            f'<text x="{_LABEL_W + w_high + 6:.2f}" y="{middle:.1f}" dominant-baseline="middle" '
            f'data-key="{data_key}">{_e(format_quantity(criterion, low, high))}</text>',
        ]
    parts.append(f'<line x1="{_LABEL_W}" y1="{_PAD}" x2="{_LABEL_W}" y2="{height - _PAD}" stroke="#8a9a92"/>')
    parts.append("</svg>")
    legend = (
        f'<div class="legend"><span class="swatch" style="background:{dark}"></span>lower bound (min)'
        f'<span class="swatch" style="background:{light}"></span>up to the upper bound (max)</div>'
    )
    return f"<figure><figcaption>{_e(title)}</figcaption>{''.join(parts)}{legend}</figure>"


def _html_table(grouping: str, title: str, rows: Sequence[tuple[str, Totals]], criteria: Sequence[str]) -> str:
    cols = columns(criteria)
    head = "".join(f"<th>{_e(label)}</th>" for _, label in cols)
    body = []
    for key, totals in rows:
        shown = cells(totals, criteria)
        tds = "".join(f'<td data-key="{_e(f"{grouping}:{key}:{col}")}">{_e(shown[col])}</td>' for col, _ in cols)
        body.append(f'<tr><th scope="row">{_e(key)}</th>{tds}</tr>')
    return (
        f'<div class="table-wrap"><table><thead><tr><th>{_e(title)}</th>{head}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table></div>"
    )


def render_html(report: Report, criteria: Sequence[str] = NAMES) -> str:
    """The whole page for ``report``; the tables show ``criteria``, the header all five."""
    t = report.total
    cards = []
    for criterion in NAMES:
        value = total_quantity(t, criterion)
        cards.append(
            f'<div class="card"><div class="label">{_e(LABELS[criterion])}</div>'
            f'<div class="value" data-key="header:{criterion}">{_e(value)}</div></div>'
        )
    charts = [bar_chart(c, g, report.groups[g]) for c, g in CHARTS if g in report.groups]
    sections = []
    for grouping, rows in report.groups.items():
        note = f'<p class="note">{_e(TRACKER_NOTE)}</p>' if grouping == "tracker" else ""
        table = _html_table(grouping, GROUP_TITLES[grouping], rows, criteria)
        sections.append(f"<section><h2>By {_e(GROUP_NAMES[grouping])}</h2>{table}{note}</section>")
    unestimated = f'<p class="note">{_e(UNESTIMATED_NOTE)}</p>' if t.unestimated_calls else ""
    sections.append(f"<section><h2>Total</h2>{_html_table('total', '', [('all', t)], criteria)}{unestimated}</section>")
    chart_block = f'<section class="charts">{"".join(charts)}</section>' if charts else ""
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>GenAI footprint report</title>
<style>{_STYLE}</style>
</head>
<body>
<main>
<header>
<h1>GenAI footprint report</h1>
<p class="summary">{_e(summary(report))}</p>
<div class="cards">{"".join(cards)}</div>
</header>
{chart_block}
{"".join(sections)}
<footer><p class="note">Impacts are min – max ranges, summed bound by bound; estimates, not measurements.
Made by genai-footprint {_e(__version__)}.</p></footer>
</main>
</body>
</html>
"""
