"""``genai-footprint report``: the totals of logged calls by provider, model, tracker and day, as text or JSON.

The HTML page (``_report_html``) is drawn from the same cells as the text tables.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from genai_footprint._cli._logs import Log, LoggedCall
from genai_footprint._cli._text import format_count, table
from genai_footprint._criteria import LABELS, NAMES, UNITS, format_quantity
from genai_footprint._errors import InvalidInputError

GROUPINGS = ("provider", "model", "tracker", "day")
NO_TRACKER = "(none)"
REPORT_SCHEMA = "genai-footprint.report/1"

COUNT_COLUMNS = (("calls", "Calls"), ("estimated", "Estimated"), ("unestimated", "Unestimated"))
GROUP_TITLES = {"provider": "Provider", "model": "Model", "tracker": "Tracker", "day": "Day (UTC)"}  # column header
GROUP_NAMES = {"provider": "provider", "model": "model", "tracker": "tracker", "day": "day (UTC)"}  # "By ..."
TRACKER_NOTE = (
    "A call counts under every tracker around it (each level of nested trackers), so these rows can add up to "
    f"more than the total; {NO_TRACKER}: calls outside any tracker."
)
UNESTIMATED_NOTE = "Unestimated calls (model not in the registry) count in Calls and Output tokens only."


# -- totals ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Totals:
    """What a set of calls adds up to. ``impacts`` holds exact sums (``math.fsum``) of the bounds."""

    calls: int
    estimated_calls: int
    output_tokens: float  # of the calls that reported a count, estimated or not
    impacts: Mapping[str, tuple[float, float]] | None  # criterion → (min, max); None when nothing was estimated

    @property
    def unestimated_calls(self) -> int:
        return self.calls - self.estimated_calls


def total(calls: Sequence[LoggedCall]) -> Totals:
    """The totals of ``calls``; every sum is exact, whatever the order of the calls."""
    estimated = [c.bounds for c in calls if c.bounds is not None]
    impacts = None
    if estimated:
        impacts = {
            criterion: (math.fsum(b[2 * i] for b in estimated), math.fsum(b[2 * i + 1] for b in estimated))
            for i, criterion in enumerate(NAMES)
        }
    tokens = math.fsum(c.output_tokens for c in calls if c.output_tokens is not None)
    return Totals(len(calls), len(estimated), tokens, impacts)


def _group_keys(grouping: str) -> Callable[[LoggedCall], tuple[str, ...]]:
    """The keys a call counts under in ``grouping`` (several for nested trackers)."""
    if grouping == "tracker":
        return lambda c: tuple(dict.fromkeys(c.trackers)) or (NO_TRACKER,)
    attribute = {"provider": "provider", "model": "model", "day": "day"}[grouping]
    return lambda c: (getattr(c, attribute),)


@dataclass(frozen=True, slots=True)
class Report:
    """A log's grand total and its totals by each grouping asked for, rows in display order."""

    sources: tuple[str, ...]
    skipped: int
    methodology_versions: tuple[str, ...]
    total: Totals
    groups: Mapping[str, tuple[tuple[str, Totals], ...]]  # grouping → ((key, totals), ...)


def build_report(log: Log, by: Sequence[str] = GROUPINGS) -> Report:
    """Totals of ``log`` by each grouping in ``by`` (provider, model, tracker, day) and overall.

    Days run in date order; the other groupings from the largest upper bound of GHG emissions down (calls
    without estimates last), then by name.
    """
    groups: dict[str, tuple[tuple[str, Totals], ...]] = {}
    for grouping in by:
        if grouping not in GROUPINGS:
            raise InvalidInputError("--by", f"unknown grouping {grouping!r}; choose from {', '.join(GROUPINGS)}")
        keys_of = _group_keys(grouping)
        members: dict[str, list[LoggedCall]] = {}
        for call in log.calls:
            for key in keys_of(call):
                members.setdefault(key, []).append(call)
        rows = [(key, total(calls)) for key, calls in members.items()]
        if grouping == "day":
            rows.sort(key=lambda row: row[0])
        else:
            rows.sort(key=lambda row: (-row[1].impacts["gwp"][1] if row[1].impacts else math.inf, row[0]))
        groups[grouping] = tuple(rows)
    versions = sorted({c.methodology_version for c in log.calls if c.methodology_version is not None})
    return Report(log.sources, log.skipped, tuple(versions), total(log.calls), groups)


def parse_choices(text: str, allowed: Sequence[str], option: str) -> tuple[str, ...]:
    """``"model,day"`` → ``("model", "day")``, each checked against ``allowed``; duplicates dropped."""
    chosen = [item.strip().lower() for item in text.split(",") if item.strip()]
    for item in chosen:
        if item not in allowed:
            raise InvalidInputError(option, f"unknown value {item!r}; choose from {', '.join(allowed)}")
    if not chosen:
        raise InvalidInputError(option, f"expected a comma-separated list of {', '.join(allowed)}")
    return tuple(dict.fromkeys(chosen))


# -- rendering ------------------------------------------------------------------------------------------


def columns(criteria: Sequence[str]) -> tuple[tuple[str, str], ...]:
    """The table's value columns as (id, label): the counts, output tokens, then each criterion."""
    return (*COUNT_COLUMNS, ("output_tokens", "Output tokens"), *((c, LABELS[c]) for c in criteria))


def cells(totals: Totals, criteria: Sequence[str]) -> dict[str, str]:
    """The displayed text of each column for ``totals``; the text table and the HTML page both show these."""
    shown = {
        "calls": format_count(totals.calls),
        "estimated": format_count(totals.estimated_calls),
        "unestimated": format_count(totals.unestimated_calls),
        "output_tokens": format_count(totals.output_tokens),
    }
    for criterion in criteria:
        shown[criterion] = total_quantity(totals, criterion)
    return shown


def total_quantity(totals: Totals, criterion: str) -> str:
    """The range of ``criterion`` in ``totals``, in a readable unit; ``-`` when no call was estimated."""
    return "-" if totals.impacts is None else format_quantity(criterion, *totals.impacts[criterion])


def summary(report: Report) -> str:
    """One sentence: how many calls, from which files, with which methodology."""
    t = report.total
    versions = ", ".join(report.methodology_versions) or "none"
    skipped = f"; {format_count(report.skipped)} bad line(s) skipped" if report.skipped else ""
    return (
        f"{format_count(t.calls)} calls ({format_count(t.estimated_calls)} estimated, "
        f"{format_count(t.unestimated_calls)} unestimated) from {', '.join(report.sources)}; "
        f"methodology {versions}{skipped}."
    )


def format_report(report: Report, criteria: Sequence[str] = NAMES) -> str:
    """The report as text: one table per grouping, then the grand total."""
    cols = columns(criteria)
    right = tuple(range(1, len(cols) + 1))
    header = [label for _, label in cols]
    lines = [summary(report), "Impacts are min – max ranges, summed bound by bound.", ""]
    for grouping, rows in report.groups.items():
        lines.append(f"By {GROUP_NAMES[grouping]}")
        shown = [[key, *cells(totals, criteria).values()] for key, totals in rows]
        lines += table([GROUP_TITLES[grouping], *header], shown, right=right) if shown else ["(no calls)"]
        if grouping == "tracker":
            lines.append(TRACKER_NOTE)
        lines.append("")
    lines.append("Total")
    lines += table(["", *header], [["all", *cells(report.total, criteria).values()]], right=right)
    if report.total.unestimated_calls:
        lines.append(UNESTIMATED_NOTE)
    return "\n".join(lines)


def _totals_json(totals: Totals) -> dict[str, Any]:
    impacts = None
    if totals.impacts is not None:
        impacts = {c: {"min": lo, "max": hi, "unit": UNITS[c]} for c, (lo, hi) in totals.impacts.items()}
    return {
        "calls": totals.calls,
        "estimated_calls": totals.estimated_calls,
        "unestimated_calls": totals.unestimated_calls,
        "output_tokens": totals.output_tokens,
        "impacts": impacts,
    }


def report_json(report: Report) -> dict[str, Any]:
    """The report as plain JSON types: exact sums in the record's units (kWh, kgCO2eq, MJ, kgSbeq, L)."""
    return {
        "schema": REPORT_SCHEMA,
        "sources": list(report.sources),
        "skipped_lines": report.skipped,
        "methodology_versions": list(report.methodology_versions),
        "total": _totals_json(report.total),
        "groups": {
            grouping: [{"key": key, **_totals_json(totals)} for key, totals in rows]
            for grouping, rows in report.groups.items()
        },
    }
