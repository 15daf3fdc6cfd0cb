"""The report page's charts: bars by group and a time series, fluid with the page (no fixed pixel width).

A bar chart is a grid of HTML rows (name, bar, value), so its text keeps its size on a phone; each bar is a
small SVG stretched to its column. The time series is one SVG whose ``viewBox`` is stretched to the figure's
width; its labels are HTML around it. Colours: a dark bar up to the lower bound, a light one up to the upper.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from genai_footprint._cli._report_sums import Totals
from genai_footprint._criteria import LABELS, format_quantity

COLOURS = {  # criterion → (lower bound, upper bound)
    "energy": ("#b7791f", "#f3dca8"),
    "gwp": ("#2e7d5b", "#b5dcc8"),
    "pe": ("#7b4fa0", "#dccbeb"),
    "adpe": ("#8a5a44", "#e6d0c5"),
    "wcf": ("#2f6fa8", "#c3dbf0"),
}
SERIES_W, SERIES_H = 600, 160  # the time series' viewBox; CSS sets its shown size


def e(text: object) -> str:
    """``text`` escaped for HTML text and attribute values."""
    return escape(str(text), quote=True)


def legend(criterion: str) -> str:
    dark, light = COLOURS[criterion]
    return (
        f'<div class="legend"><span class="swatch" style="background:{dark}"></span>lower bound (min)'
        f'<span class="swatch" style="background:{light}"></span>up to the upper bound (max)</div>'
    )


def _bar(low: float, high: float, top: float, criterion: str) -> str:
    dark, light = COLOURS[criterion]
    w_high = max(100 * high / top, 0.5 if high > 0 else 0.0)
    w_low = 100 * low / top
    return (
        '<svg class="bar" viewBox="0 0 100 10" preserveAspectRatio="none" aria-hidden="true">'
        f'<rect width="{w_high:.3f}" height="10" fill="{light}"/><rect width="{w_low:.3f}" height="10" fill="{dark}"/>'
        "</svg>"
    )


def bar_chart(criterion: str, grouping: str, title: str, rows: Sequence[tuple[str, Totals]]) -> str:
    """Bars of ``criterion`` for each estimated row; each value's ``data-key`` is ``chart:GROUPING:KEY:CRITERION``."""
    shown = [(key, t.impacts[criterion]) for key, t in rows if t.impacts is not None]
    if not shown:
        return f'<figure><figcaption>{e(title)}</figcaption><p class="note">No estimated calls.</p></figure>'
    top = max(high for _, (_, high) in shown) or 1.0
    parts = []
    for key, (low, high) in shown:
        data_key = e(f"chart:{grouping}:{key}:{criterion}")
        parts.append(
            f'<span class="bar-label" title="{e(key)}">{e(key)}</span>{_bar(low, high, top, criterion)}'
            f'<span class="bar-value" data-key="{data_key}">{e(format_quantity(criterion, low, high))}</span>'
        )
    return (
        f'<figure><figcaption>{e(title)}</figcaption><div class="bars" role="img" aria-label="{e(title)}">'
        f"{''.join(parts)}</div>{legend(criterion)}</figure>"
    )


def series_chart(criterion: str, step: str, rows: Sequence[tuple[str, Totals]]) -> str:
    """A column per time step (empty steps included) of ``criterion``; each column's tooltip gives its range."""
    title = f"{LABELS[criterion]} by {step} (UTC)"
    values = [(key, t.impacts[criterion] if t.impacts is not None else (0.0, 0.0)) for key, t in rows]
    top = max((high for _, (_, high) in values), default=0.0)
    if not values or top <= 0:
        return f'<figure><figcaption>{e(title)}</figcaption><p class="note">No estimated calls.</p></figure>'
    dark, light = COLOURS[criterion]
    width = SERIES_W / len(values)
    gap = min(width * 0.15, 2.0)
    columns = []
    for i, (key, (low, high)) in enumerate(values):
        x, h_high, h_low = i * width, SERIES_H * high / top, SERIES_H * low / top
        columns.append(
            f"<g><title>{e(key)}: {e(format_quantity(criterion, low, high))}</title>"
            f'<rect x="{x + gap / 2:.2f}" y="{SERIES_H - h_high:.2f}" width="{width - gap:.2f}" height="{h_high:.2f}" '
            f'fill="{light}"/><rect x="{x + gap / 2:.2f}" y="{SERIES_H - h_low:.2f}" width="{width - gap:.2f}" '
            f'height="{h_low:.2f}" fill="{dark}"/></g>'
        )
    peak_key, (peak_low, peak_high) = max(values, key=lambda v: v[1][1])
    svg = (
        f'<svg class="series" viewBox="0 0 {SERIES_W} {SERIES_H}" preserveAspectRatio="none" role="img" '
        f'aria-label="{e(title)}">{"".join(columns)}</svg>'
    )
    axis = (
        f'<div class="axis"><span>{e(values[0][0])}</span>'
        f"<span>{e(values[-1][0]) if len(values) > 1 else ''}</span></div>"
    )
    peak = f'<div class="peak">Highest: {e(format_quantity(criterion, peak_low, peak_high))} ({e(peak_key)})</div>'
    return f"<figure><figcaption>{e(title)}</figcaption>{peak}{svg}{axis}{legend(criterion)}</figure>"
