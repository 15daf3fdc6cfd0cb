"""``genai-footprint report``: the totals of logged calls by provider, model, tracker and day, as text or JSON.

``ReportBuilder`` takes the calls one at a time and keeps bounded state: exact tallies per (provider, model,
tracker path), per day and, while the calls span less than two days, per hour, plus the latest calls for the
table of calls. The groupings are rolled up from those tallies at the end. The HTML page (``_report_html``) is
drawn from the same cells as the text tables.
"""

from __future__ import annotations

import datetime as _dt
import math
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from genai_footprint._cli._logs import LoggedCall
from genai_footprint._cli._report_sums import NO_CALLS, Tally, Totals, combined
from genai_footprint._cli._text import format_count, table
from genai_footprint._criteria import LABELS, NAMES, UNITS, format_quantity
from genai_footprint._errors import InvalidInputError

GROUPINGS = ("provider", "model", "tracker", "day")
NO_TRACKER = "(none)"
REPORT_SCHEMA = "genai-footprint.report/1"
RECENT_CALLS = 200  # the latest calls the page lists one by one; the page says how many it leaves out
HOURLY_SPAN = _dt.timedelta(days=2)  # a log spanning less is charted by the hour, else by the day
MAX_DAYS_CHARTED = 120  # beyond, the time series is by month

COUNT_COLUMNS = (("calls", "Calls"), ("estimated", "Estimated"), ("unestimated", "Unestimated"))
GROUP_TITLES = {"provider": "Provider", "model": "Model", "tracker": "Tracker", "day": "Day (UTC)"}  # column header
GROUP_NAMES = {"provider": "provider", "model": "model", "tracker": "tracker", "day": "day (UTC)"}  # "By ..."
TRACKER_NOTE = (
    "A call counts under every tracker around it (each level of nested trackers), so these rows can add up to "
    f"more than the total; {NO_TRACKER}: calls outside any tracker."
)
UNESTIMATED_NOTE = "Unestimated calls (model not in the registry) count in Calls and Output tokens only."

Rows = tuple[tuple[str, Totals], ...]  # (key, totals) in display order


@dataclass(frozen=True, slots=True)
class Report:
    """A log's grand total and its totals by each grouping asked for, rows in display order."""

    sources: tuple[str, ...]
    skipped: int
    methodology_versions: tuple[str, ...]
    total: Totals
    groups: Mapping[str, Rows]  # grouping → ((key, totals), ...)
    series_unit: str = "day"  # "hour", "day" or "month": the time series' step
    series: Rows = ()  # every step from the first call's to the last's, empty steps included
    tree: tuple[tuple[tuple[str, ...], Totals], ...] = ()  # tracker path → totals, parents before children
    recent: tuple[tuple[int, LoggedCall], ...] = ()  # (call number from 1, call), the latest first
    filters: str = ""  # the filter options as given; "" when every call counts


def _gwp_order(row: tuple[str, Totals]) -> tuple[float, str]:
    return (-row[1].impacts["gwp"][1] if row[1].impacts else math.inf, row[0])


class ReportBuilder:
    """The report of calls added one at a time, in memory bounded by the log's variety, not its length."""

    def __init__(self) -> None:
        self.by_kind: dict[tuple[str, str, tuple[str, ...]], Tally] = {}  # (provider, model, trackers)
        self.by_day: dict[_dt.date, Tally] = {}
        self.by_hour: dict[_dt.datetime, Tally] | None = {}  # None once the calls span more than two days
        self.versions: set[str] = set()
        self.recent: deque[tuple[int, LoggedCall]] = deque(maxlen=RECENT_CALLS)
        self.count = 0
        self.first: _dt.datetime | None = None
        self.last: _dt.datetime | None = None

    def add(self, call: LoggedCall) -> None:
        """Count ``call``."""
        self.count += 1
        tokens = (call.output_tokens, call.input_tokens, call.cached_input_tokens)
        bounds, time = call.bounds, call.time
        kind, day = (call.provider, call.model, call.trackers), time.date()
        tally = self.by_kind[kind] if kind in self.by_kind else self.by_kind.setdefault(kind, Tally())
        tally.add(tokens, bounds)
        tally = self.by_day[day] if day in self.by_day else self.by_day.setdefault(day, Tally())
        tally.add(tokens, bounds)
        if self.by_hour is not None:
            _tally(self.by_hour, time.replace(minute=0, second=0, microsecond=0)).add(tokens, bounds)
            if len(self.by_hour) > 49:  # two days hold at most 49 hours begun
                self.by_hour = None
        if call.methodology_version is not None:
            self.versions.add(call.methodology_version)
        self.recent.append((self.count, call))
        if self.first is None or time < self.first:
            self.first = time
        if self.last is None or time > self.last:
            self.last = time

    def _grouped(self, grouping: str) -> Rows:
        if grouping == "day":
            return tuple((day.isoformat(), self.by_day[day].totals()) for day in sorted(self.by_day))
        members: dict[str, list[Tally]] = {}
        for (provider, model, trackers), tally in self.by_kind.items():
            if grouping == "tracker":
                keys: Iterable[str] = dict.fromkeys(trackers) or (NO_TRACKER,)
            else:
                keys = (provider if grouping == "provider" else model,)
            for key in keys:
                members.setdefault(key, []).append(tally)
        rows = [(key, combined(tallies).totals()) for key, tallies in members.items()]
        return tuple(sorted(rows, key=_gwp_order))

    def _tree(self) -> tuple[tuple[tuple[str, ...], Totals], ...]:
        nodes: dict[tuple[str, ...], list[Tally]] = {}
        for (_, _, trackers), tally in self.by_kind.items():
            paths = [trackers[:depth] for depth in range(1, len(trackers) + 1)] or [(NO_TRACKER,)]
            for path in paths:
                nodes.setdefault(path, []).append(tally)
        # Parents before children, siblings in the order the log first shows them.
        order = {path: i for i, path in enumerate(nodes)}
        ranked = sorted(nodes, key=lambda path: [order[path[:d]] for d in range(1, len(path) + 1)])
        return tuple((path, combined(nodes[path]).totals()) for path in ranked)

    def _series(self) -> tuple[str, Rows]:
        if self.first is None or self.last is None:
            return "day", ()
        if self.by_hour is not None and self.last - self.first < HOURLY_SPAN:
            step, tallies = _dt.timedelta(hours=1), self.by_hour
            start = self.first.replace(minute=0, second=0, microsecond=0)
            hours = [start + step * i for i in range(int((self.last - start) / step) + 1)]
            return "hour", tuple((h.strftime("%Y-%m-%d %H:00"), _totals_of(tallies.get(h))) for h in hours)
        first, last = self.first.date(), self.last.date()
        if (last - first).days < MAX_DAYS_CHARTED:
            days = [first + _dt.timedelta(days=i) for i in range((last - first).days + 1)]
            return "day", tuple((d.isoformat(), _totals_of(self.by_day.get(d))) for d in days)
        months: dict[str, list[Tally]] = {}
        for month in range(first.year * 12 + first.month - 1, last.year * 12 + last.month):
            months[f"{month // 12:04d}-{month % 12 + 1:02d}"] = []
        for day, tally in self.by_day.items():
            months[day.isoformat()[:7]].append(tally)
        return "month", tuple((key, combined(tallies).totals()) for key, tallies in months.items())

    def report(
        self, sources: Sequence[str], skipped: int = 0, by: Sequence[str] = GROUPINGS, filters: str = ""
    ) -> Report:
        """The report of the calls added so far, with the tables of ``by`` in that order."""
        unit, series = self._series()
        return Report(
            sources=tuple(sources),
            skipped=skipped,
            methodology_versions=tuple(sorted(self.versions)),
            total=combined(self.by_day.values()).totals(),
            groups={grouping: self._grouped(grouping) for grouping in by},
            series_unit=unit,
            series=series,
            tree=self._tree(),
            recent=tuple(reversed(self.recent)),
            filters=filters,
        )


def _tally(tallies: dict[Any, Tally], key: object) -> Tally:
    try:
        return tallies[key]
    except KeyError:
        tallies[key] = tally = Tally()
        return tally


def _totals_of(tally: Tally | None) -> Totals:
    return NO_CALLS if tally is None else tally.totals()


def build_report(
    calls: Iterable[LoggedCall], sources: Sequence[str], by: Sequence[str] = GROUPINGS, *, skipped: int = 0
) -> Report:
    """Totals of ``calls`` by each grouping in ``by`` (provider, model, tracker, day) and overall.

    Days run in date order; the other groupings from the largest upper bound of GHG emissions down (calls
    without estimates last), then by name.
    """
    check_groupings(by)
    builder = ReportBuilder()
    for call in calls:
        builder.add(call)
    return builder.report(sources, skipped, by)


def check_groupings(by: Sequence[str]) -> None:
    for grouping in by:
        if grouping not in GROUPINGS:
            raise InvalidInputError("--by", f"unknown grouping {grouping!r}; choose from {', '.join(GROUPINGS)}")


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
    """The table's value columns as (id, label): the counts, output and input tokens, then each criterion."""
    tokens = (("output_tokens", "Output tokens"), ("input_tokens", "Input tokens"))
    return (*COUNT_COLUMNS, *tokens, *((c, LABELS[c]) for c in criteria))


def cells(totals: Totals, criteria: Sequence[str], units: str = "si") -> dict[str, str]:
    """The displayed text of each column for ``totals``; the text table and the HTML page both show these."""
    shown = {
        "calls": format_count(totals.calls),
        "estimated": format_count(totals.estimated_calls),
        "unestimated": format_count(totals.unestimated_calls),
        "output_tokens": format_count(totals.output_tokens),
        "input_tokens": format_count(totals.input_tokens),
    }
    for criterion in criteria:
        shown[criterion] = total_quantity(totals, criterion, units)
    return shown


def total_quantity(totals: Totals, criterion: str, units: str = "si") -> str:
    """The range of ``criterion`` in ``totals``, in a readable unit; ``-`` when no call was estimated."""
    return "-" if totals.impacts is None else format_quantity(criterion, *totals.impacts[criterion], units)


def summary(report: Report) -> str:
    """One sentence: how many calls, from which files, with which methodology (and which filter)."""
    t = report.total
    versions = ", ".join(report.methodology_versions) or "none"
    skipped = f"; {format_count(report.skipped)} bad line(s) skipped" if report.skipped else ""
    filtered = f"; only calls matching {report.filters}" if report.filters else ""
    return (
        f"{format_count(t.calls)} calls ({format_count(t.estimated_calls)} estimated, "
        f"{format_count(t.unestimated_calls)} unestimated) from {', '.join(report.sources)}; "
        f"methodology {versions}{skipped}{filtered}."
    )


def format_report(report: Report, criteria: Sequence[str] = NAMES, units: str = "si") -> str:
    """The report as text: one table per grouping, then the grand total."""
    cols = columns(criteria)
    right = tuple(range(1, len(cols) + 1))
    header = [label for _, label in cols]
    lines = [summary(report), "Impacts are min – max ranges, summed bound by bound.", ""]
    for grouping, rows in report.groups.items():
        lines.append(f"By {GROUP_NAMES[grouping]}")
        shown = [[key, *cells(totals, criteria, units).values()] for key, totals in rows]
        lines += table([GROUP_TITLES[grouping], *header], shown, right=right) if shown else ["(no calls)"]
        if grouping == "tracker":
            lines.append(TRACKER_NOTE)
        lines.append("")
    lines.append("Total")
    lines += table(["", *header], [["all", *cells(report.total, criteria, units).values()]], right=right)
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
        "input_tokens": totals.input_tokens,
        "cached_input_tokens": totals.cached_input_tokens,
        "impacts": impacts,
    }


def report_json(report: Report) -> dict[str, Any]:
    """The report as plain JSON types: exact sums in the record's units (kWh, kgCO2eq, MJ, kgSbeq, L)."""
    return {
        "schema": REPORT_SCHEMA,
        "sources": list(report.sources),
        "skipped_lines": report.skipped,
        "filters": report.filters,
        "methodology_versions": list(report.methodology_versions),
        "total": _totals_json(report.total),
        "groups": {
            grouping: [{"key": key, **_totals_json(totals)} for key, totals in rows]
            for grouping, rows in report.groups.items()
        },
        "series": {
            "step": report.series_unit,
            "rows": [{"key": key, **_totals_json(totals)} for key, totals in report.series],
        },
        "tracker_tree": [{"path": list(path), **_totals_json(totals)} for path, totals in report.tree],
    }
