"""The report as one self-contained HTML page: totals, charts of every criterion, the tables, the latest calls.

No script and no external resource: the charts are inline SVG and HTML drawn here, the style is inline CSS
(``_report_style``), and the table of calls turns its pages with links and CSS ``:target``. Every value cell
carries ``data-key``: ``GROUPING:KEY:COLUMN`` in the tables (``total:all:COLUMN`` for the grand total,
``series:STEP:COLUMN`` for the time steps, ``tree:A > B:COLUMN`` for tracker paths, ``call:N:COLUMN`` for
call N of the log), ``header:CRITERION`` in the header and ``chart:GROUPING:KEY:CRITERION`` on chart labels;
each shows exactly the text of the same cell in the text report.
"""

from __future__ import annotations

from collections.abc import Sequence

from genai_footprint._cli._logs import LoggedCall
from genai_footprint._cli._report import (
    GROUP_NAMES,
    GROUP_TITLES,
    RECENT_CALLS,
    TRACKER_NOTE,
    UNESTIMATED_NOTE,
    Report,
    cells,
    columns,
    summary,
    total_quantity,
)
from genai_footprint._cli._report_charts import bar_chart, e, series_chart
from genai_footprint._cli._report_style import STYLE
from genai_footprint._cli._report_sums import Totals
from genai_footprint._cli._text import format_count
from genai_footprint._criteria import LABELS, NAMES, format_quantity
from genai_footprint._version import __version__

PAGE_ROWS = 25  # calls per page of the table of calls
PATH_SEPARATOR = " > "  # between the trackers of a path, in the tree's keys and the table of calls
CALL_COLUMNS = (
    ("time", "Time (UTC)"),
    ("provider", "Provider"),
    ("model", "Model"),
    ("trackers", "Trackers"),
    ("output_tokens", "Output tokens"),
    ("latency", "Latency"),
)
TEXT_COLUMNS = frozenset({"time", "provider", "model", "trackers"})


def _table(grouping: str, title: str, rows: Sequence[tuple[str, Totals]], criteria: Sequence[str]) -> str:
    cols = columns(criteria)
    head = "".join(f"<th>{e(label)}</th>" for _, label in cols)
    body = []
    for key, totals in rows:
        shown = cells(totals, criteria)
        tds = "".join(f'<td data-key="{e(f"{grouping}:{key}:{col}")}">{e(shown[col])}</td>' for col, _ in cols)
        body.append(f'<tr><th scope="row">{e(key)}</th>{tds}</tr>')
    return (
        f'<div class="table-wrap"><table><thead><tr><th>{e(title)}</th>{head}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table></div>"
    )


def _tree_table(report: Report, criteria: Sequence[str]) -> str:
    cols = columns(criteria)
    head = "".join(f"<th>{e(label)}</th>" for _, label in cols)
    body = []
    for path, totals in report.tree:
        key = PATH_SEPARATOR.join(path)
        shown = cells(totals, criteria)
        tds = "".join(f'<td data-key="{e(f"tree:{key}:{col}")}">{e(shown[col])}</td>' for col, _ in cols)
        body.append(f'<tr><th scope="row" style="--depth:{len(path) - 1}">{e(path[-1])}</th>{tds}</tr>')
    return (
        f'<div class="table-wrap"><table class="tree"><thead><tr><th>Tracker</th>{head}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table></div>"
    )


def call_cells(call: LoggedCall, criteria: Sequence[str]) -> dict[str, str]:
    """The displayed text of each column of one call in the table of calls."""
    shown = {
        "time": call.time.strftime("%Y-%m-%d %H:%M:%S"),
        "provider": call.provider,
        "model": call.model,
        "trackers": PATH_SEPARATOR.join(call.trackers) or "-",
        "output_tokens": "-" if call.output_tokens is None else format_count(call.output_tokens),
        "latency": "-" if call.latency_s is None else f"{call.latency_s:.2f} s",
    }
    for i, criterion in enumerate(NAMES):
        if criterion in criteria:
            bounds = call.bounds
            shown[criterion] = "-" if bounds is None else format_quantity(criterion, bounds[2 * i], bounds[2 * i + 1])
    return shown


def _calls_section(report: Report, criteria: Sequence[str]) -> str:
    recent = report.recent
    if not recent:
        return ""
    cols = (*CALL_COLUMNS, *((c, LABELS[c]) for c in criteria))
    head = "<th>#</th>" + "".join(f"<th>{e(label)}</th>" for _, label in cols)
    pages = []
    for start in range(0, len(recent), PAGE_ROWS):
        body = []
        for number, call in recent[start : start + PAGE_ROWS]:
            shown = call_cells(call, criteria)
            tds = "".join(
                f'<td{" class=text" if col in TEXT_COLUMNS else ""} data-key="{e(f"call:{number}:{col}")}">'
                f"{e(shown[col])}</td>"
                for col, _ in cols
            )
            body.append(f'<tr><th scope="row">{number}</th>{tds}</tr>')
        page = start // PAGE_ROWS + 1
        pages.append(
            f'<div class="page" id="calls-{page}"><div class="table-wrap"><table><thead><tr>{head}</tr></thead>'
            f"<tbody>{''.join(body)}</tbody></table></div></div>"
        )
    pager = "".join(f'<a href="#calls-{i}">{i}</a>' for i in range(1, len(pages) + 1))
    total = report.total.calls
    scope = (
        f"All {format_count(total)} calls"
        if total == len(recent)
        else f"The latest {format_count(len(recent))} of {format_count(total)} calls (the page lists at most "
        f"{format_count(RECENT_CALLS)}; the tables above count them all)"
    )
    return (
        f'<section id="calls"><h2>Calls</h2><p class="note">{e(scope)}, latest first; '
        f"{PAGE_ROWS} to a page.</p>"
        f'<nav class="pager" aria-label="Pages of calls">{pager}</nav><div class="pages">{"".join(pages)}</div>'
        "</section>"
    )


def _cards(report: Report) -> str:
    cards = [
        f'<div class="card"><div class="label">Calls</div>'
        f'<div class="value" data-key="header:calls">{e(format_count(report.total.calls))}</div></div>'
    ]
    for criterion in NAMES:
        cards.append(
            f'<div class="card"><div class="label">{e(LABELS[criterion])}</div>'
            f'<div class="value" data-key="header:{criterion}">{e(total_quantity(report.total, criterion))}</div></div>'
        )
    return f'<div class="cards">{"".join(cards)}</div>'


def _charts(report: Report) -> str:
    grouping = next((g for g in ("model", "provider") if g in report.groups), None)
    blocks = []
    if grouping is not None:
        bars = [
            bar_chart(c, grouping, f"{LABELS[c]} by {GROUP_NAMES[grouping]}", report.groups[grouping]) for c in NAMES
        ]
        blocks.append(
            f'<section><h2>By {e(GROUP_NAMES[grouping])}</h2><div class="charts">{"".join(bars)}</div></section>'
        )
    if report.series:
        step = report.series_unit
        lines = "".join(series_chart(c, step, report.series) for c in NAMES)
        blocks.append(f'<section><h2>Over time, by {e(step)} (UTC)</h2><div class="charts">{lines}</div></section>')
    return "".join(blocks)


def render_html(report: Report, criteria: Sequence[str] = NAMES) -> str:
    """The whole page for ``report``; the tables show ``criteria``, the header and the charts all five."""
    t = report.total
    sections = []
    for grouping, rows in report.groups.items():
        note = f'<p class="note">{e(TRACKER_NOTE)}</p>' if grouping == "tracker" else ""
        table = _table(grouping, GROUP_TITLES[grouping], rows, criteria)
        sections.append(f"<section><h2>By {e(GROUP_NAMES[grouping])}</h2>{table}{note}</section>")
    if report.series:
        step = report.series_unit
        table = _table("series", f"{step.capitalize()} (UTC)", report.series, criteria)
        sections.append(f"<section><h2>By {e(step)} (UTC)</h2>{table}</section>")
    if report.tree:
        note = "Each tracker counts the calls made inside it, its own nested trackers included."
        sections.append(
            f'<section><h2>Trackers, nested</h2>{_tree_table(report, criteria)}<p class="note">{e(note)}</p></section>'
        )
    unestimated = f'<p class="note">{e(UNESTIMATED_NOTE)}</p>' if t.unestimated_calls else ""
    sections.append(f"<section><h2>Total</h2>{_table('total', '', [('all', t)], criteria)}{unestimated}</section>")
    sections.append(_calls_section(report, criteria))
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>GenAI footprint report</title>
<style>{STYLE}</style>
</head>
<body>
<main>
<header>
<h1>GenAI footprint report</h1>
<p class="summary">{e(summary(report))}</p>
{_cards(report)}
</header>
{_charts(report)}
{"".join(sections)}
<footer><p class="note">Impacts are min – max ranges, summed bound by bound; estimates, not measurements.
Made by genai-footprint {e(__version__)}.</p></footer>
</main>
</body>
</html>
"""
