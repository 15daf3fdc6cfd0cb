"""Reading call logs (JSON Lines of records): totals by provider, model, tracker and day as text or JSON;
and checking that one logged estimate is reproduced from its recorded inputs.

Only the standard library is imported here; pydantic and the methodology are loaded by ``reproduce_record``.
The HTML page is drawn by ``genai_footprint._report_html`` from the same cells as the text tables.
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from genai_footprint._errors import InvalidInputError
from genai_footprint._export._record import CRITERIA, SCHEMA
from genai_footprint._impacts import UNITS

if TYPE_CHECKING:
    from genai_footprint._impacts import EstimateInputs

GROUPINGS = ("provider", "model", "tracker", "day")
NO_TRACKER = "(none)"
REPORT_SCHEMA = "genai-footprint.report/1"
RELATIVE_TOLERANCE = 1e-9

LABELS = {  # criterion → the column label, as ``genai-footprint estimate`` names the rows
    "energy": "Energy",
    "gwp": "GHG emissions",
    "pe": "Primary energy",
    "adpe": "Abiotic resources",
    "wcf": "Water",
}
COUNT_COLUMNS = (("calls", "Calls"), ("estimated", "Estimated"), ("unestimated", "Unestimated"))
GROUP_TITLES = {"provider": "Provider", "model": "Model", "tracker": "Tracker", "day": "Day (UTC)"}  # column header
GROUP_NAMES = {"provider": "provider", "model": "model", "tracker": "tracker", "day": "day (UTC)"}  # "By ..."
TRACKER_NOTE = (
    "A call counts under every tracker around it (each level of nested trackers), so these rows can add up to "
    f"more than the total; {NO_TRACKER}: calls outside any tracker."
)
UNESTIMATED_NOTE = "Unestimated calls (model not in the registry) count in Calls and Output tokens only."


# -- units chosen for readability ----------------------------------------------------------------------

# Per criterion, the display units from largest to smallest, each with its size in the record's unit.
_SCALES: dict[str, tuple[tuple[str, float], ...]] = {
    "energy": (("MWh", 1e3), ("kWh", 1.0), ("Wh", 1e-3), ("mWh", 1e-6), ("µWh", 1e-9)),
    "gwp": (("tCO2eq", 1e3), ("kgCO2eq", 1.0), ("gCO2eq", 1e-3), ("mgCO2eq", 1e-6), ("µgCO2eq", 1e-9)),
    "pe": (("GJ", 1e3), ("MJ", 1.0), ("kJ", 1e-3), ("J", 1e-6), ("mJ", 1e-9)),
    "adpe": (("kgSbeq", 1.0), ("gSbeq", 1e-3), ("mgSbeq", 1e-6), ("µgSbeq", 1e-9), ("ngSbeq", 1e-12)),
    "wcf": (("m³", 1e3), ("L", 1.0), ("mL", 1e-3), ("µL", 1e-6)),
}


def _sig3(value: float) -> str:
    """3 significant figures, without an exponent for large numbers (``12,300`` rather than ``1.23e+04``)."""
    text = f"{value:.3g}"
    if "e+" in text:
        return f"{float(text):,.0f}"
    return text


def format_quantity(criterion: str, low: float, high: float) -> str:
    """A min–max range of ``criterion`` (in the record's unit) in the unit that reads best, e.g. ``1.2 – 3.4 mWh``.

    The unit is the largest in which the upper bound shows as at least 1; both bounds use it. A range whose
    bounds round to the same figures shows one number.
    """
    scales = _SCALES[criterion]
    if high == 0:
        return f"0 {UNITS[criterion]}"
    unit, size = scales[-1]
    for unit_, size_ in scales:
        if float(f"{high / size_:.3g}") >= 1:
            unit, size = unit_, size_
            break
    lo, hi = _sig3(low / size), _sig3(high / size)
    return f"{hi} {unit}" if lo == hi else f"{lo} – {hi} {unit}"


def format_count(value: float) -> str:
    """A count of calls or tokens: whole, with thousands separators."""
    return f"{value:,.0f}"


# -- reading logs ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LoggedCall:
    """What the report needs of one record."""

    provider: str
    model: str  # resolved, else requested, else served, else "(unknown)"
    trackers: tuple[str, ...]  # outermost first
    day: str  # UTC date of the timestamp, ISO 8601
    output_tokens: float | None
    bounds: tuple[float, ...] | None  # (min, max) of each criterion in CRITERIA order; None when unestimated
    methodology_version: str | None


@dataclass(frozen=True, slots=True)
class Log:
    """The calls read from one or more log files."""

    calls: tuple[LoggedCall, ...]
    sources: tuple[str, ...]
    skipped: int = 0  # bad lines skipped (``skip_bad=True``)
    first_skipped: str | None = None  # the first skipped line's problem, "FILE:LINE: message"


def _number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _text(record: Mapping[str, Any], key: str, *, optional: bool = False) -> str | None:
    value = record.get(key)
    if value is None and optional:
        return None
    if not isinstance(value, str) or not value:
        raise ValueError(f"{key!r} must be a non-empty string, got {value!r}")
    return value


def parse_record(record: object) -> LoggedCall:
    """Check one decoded log line against the record schema; raises ValueError saying what is wrong."""
    if not isinstance(record, dict):
        raise ValueError(f"expected a JSON object, got {type(record).__name__}")
    schema = record.get("schema")
    if schema != SCHEMA:
        raise ValueError(f"not a genai-footprint record: schema {schema!r}, expected {SCHEMA!r}")
    provider = _text(record, "provider")
    assert provider is not None
    names = (_text(record, key, optional=True) for key in ("model_resolved", "model_requested", "model_served"))
    model = next((name for name in names if name), "(unknown)")
    stamp = _text(record, "timestamp")
    assert stamp is not None
    try:
        when = _dt.datetime.fromisoformat(stamp)
    except ValueError:
        raise ValueError(f"'timestamp' is not an ISO 8601 date-time: {stamp!r}") from None
    if when.tzinfo is None:  # records are written in UTC; a naive time is read as UTC too
        when = when.replace(tzinfo=_dt.UTC)
    trackers = record.get("trackers", [])
    if not isinstance(trackers, list) or not all(isinstance(t, str) and t for t in trackers):
        raise ValueError(f"'trackers' must be a list of tracker names, got {trackers!r}")
    tokens = record.get("output_tokens")
    if tokens is not None and not (_number(tokens) and tokens >= 0):
        raise ValueError(f"'output_tokens' must be a number >= 0 or null, got {tokens!r}")
    estimated = record.get("estimated")
    if not isinstance(estimated, bool):
        raise ValueError(f"'estimated' must be true or false, got {estimated!r}")
    impacts = record.get("impacts")
    bounds: tuple[float, ...] | None = None
    version: str | None = None
    if estimated:
        version = _text(record, "methodology_version")
        bounds = _recorded_bounds(impacts, "impacts")
    elif impacts is not None:
        raise ValueError("an unestimated record ('estimated': false) must have 'impacts': null")
    return LoggedCall(
        provider=provider,
        model=model,
        trackers=tuple(trackers),
        day=when.astimezone(_dt.UTC).date().isoformat(),
        output_tokens=None if tokens is None else float(tokens),
        bounds=bounds,
        methodology_version=version,
    )


def _range(value: object, where: str) -> tuple[float, float]:
    """A recorded ``{"min": .., "max": ..}`` as a pair; raises ValueError naming ``where``."""
    if not isinstance(value, dict) or not _number(value.get("min")) or not _number(value.get("max")):
        raise ValueError(f"{where!r} must be a range {{'min': number, 'max': number}}, got {value!r}")
    low, high = float(value["min"]), float(value["max"])
    if low > high:
        raise ValueError(f"{where!r}: min {low!r} is above max {high!r}")
    return low, high


def _recorded_bounds(impacts: object, where: str) -> tuple[float, ...]:
    if not isinstance(impacts, dict):
        raise ValueError(f"{where!r} must hold the ranges {', '.join(CRITERIA)}, got {impacts!r}")
    return tuple(bound for c in CRITERIA for bound in _range(impacts.get(c), f"{where}.{c}"))


def _lines(path: Path) -> Iterator[tuple[int, str]]:
    try:
        with path.open(encoding="utf-8") as file:
            yield from enumerate(file, start=1)
    except FileNotFoundError:
        raise InvalidInputError(str(path), "no such file") from None
    except UnicodeDecodeError as exc:
        raise InvalidInputError(str(path), f"not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except OSError as exc:
        raise InvalidInputError(str(path), f"cannot read it: {exc.strerror or exc}") from None


def read_logs(paths: Sequence[str | Path], *, skip_bad: bool = False) -> Log:
    """Read every record of the JSON Lines files ``paths``; blank lines are ignored.

    A line that is not JSON or not a record raises ``InvalidInputError`` naming ``FILE:LINE``, or, with
    ``skip_bad``, is counted in ``Log.skipped`` and left out.
    """
    calls: list[LoggedCall] = []
    skipped = 0
    first_skipped: str | None = None
    for path in map(Path, paths):
        for number, line in _lines(path):
            if not line.strip():
                continue
            try:
                calls.append(parse_record(json.loads(line)))
            except ValueError as exc:  # json.JSONDecodeError is a ValueError
                where = f"{path}:{number}"
                if not skip_bad:
                    raise InvalidInputError(where, str(exc)) from None
                skipped += 1
                first_skipped = first_skipped or f"{where}: {exc}"
    return Log(tuple(calls), tuple(str(p) for p in paths), skipped, first_skipped)


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
            for i, criterion in enumerate(CRITERIA)
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
        shown[criterion] = "-" if totals.impacts is None else format_quantity(criterion, *totals.impacts[criterion])
    return shown


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


def format_report(report: Report, criteria: Sequence[str] = CRITERIA) -> str:
    """The report as text: one table per grouping, then the grand total."""
    from genai_footprint._cli import _table

    cols = columns(criteria)
    right = tuple(range(1, len(cols) + 1))
    header = [label for _, label in cols]
    lines = [summary(report), "Impacts are min – max ranges, summed bound by bound.", ""]
    for grouping, rows in report.groups.items():
        lines.append(f"By {GROUP_NAMES[grouping]}")
        table = [[key, *cells(totals, criteria).values()] for key, totals in rows]
        lines += _table([GROUP_TITLES[grouping], *header], table, right=right) if table else ["(no calls)"]
        if grouping == "tracker":
            lines.append(TRACKER_NOTE)
        lines.append("")
    lines.append("Total")
    lines += _table(["", *header], [["all", *cells(report.total, criteria).values()]], right=right)
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


# -- reproducing one record -----------------------------------------------------------------------------

_LINE_REF = re.compile(r"^(?P<path>.+):(?P<line>\d+)$")


def load_record(spec: str, stdin: TextIO) -> tuple[str, object]:
    """The JSON object named by ``spec`` and where it came from.

    ``spec`` is a JSON file (a record or an ``Impacts`` JSON), ``LOG.jsonl:N`` (line N, from 1), or ``-``
    (one JSON object on ``stdin``).
    """
    if spec == "-":
        return "<stdin>", _decode(stdin.read(), "<stdin>")
    path = Path(spec)
    match = _LINE_REF.match(spec)
    if match and not path.exists():
        path, number = Path(match["path"]), int(match["line"])
        where = f"{path}:{number}"
        for n, line in _lines(path):
            if n == number:
                if not line.strip():
                    raise InvalidInputError(where, "the line is blank")
                return where, _decode(line, where)
        raise InvalidInputError(where, f"{path} has fewer than {number} lines" if number else "lines count from 1")
    text = "".join(line for _, line in _lines(path))
    try:
        return spec, json.loads(text)
    except ValueError as exc:
        lines = [line for line in text.splitlines() if line.strip()]
        if len(lines) > 1 and _is_json_object(lines[0]):  # a log: one record a line
            raise InvalidInputError(
                spec, f"holds {len(lines)} lines, not one JSON object; name one as {spec}:N"
            ) from None
        raise InvalidInputError(spec, f"not valid JSON ({exc})") from None


def _is_json_object(text: str) -> bool:
    try:
        return isinstance(json.loads(text), dict)
    except ValueError:
        return False


def _decode(text: str, where: str) -> object:
    try:
        return json.loads(text)
    except ValueError as exc:
        raise InvalidInputError(where, f"not valid JSON ({exc})") from None


def _close(recorded: float, recomputed: float) -> bool:
    return math.isclose(recorded, recomputed, rel_tol=RELATIVE_TOLERANCE, abs_tol=0.0)


@dataclass(frozen=True, slots=True)
class BoundCheck:
    """One recorded range beside its recomputed value."""

    key: str  # as ``Impacts`` names it: "energy", "usage.gwp", "embodied.pe", ...
    unit: str
    recorded: tuple[float, float]
    recomputed: tuple[float, float]

    @property
    def matches(self) -> bool:
        return all(_close(a, b) for a, b in zip(self.recorded, self.recomputed, strict=True))


@dataclass(frozen=True, slots=True)
class Reproduction:
    """The outcome of recomputing a recorded estimate from its recorded inputs."""

    source: str
    methodology_version: str
    inputs: EstimateInputs
    checks: tuple[BoundCheck, ...]

    @property
    def mismatches(self) -> tuple[str, ...]:
        return tuple(c.key for c in self.checks if not c.matches)

    @property
    def ok(self) -> bool:
        return not self.mismatches


def _recorded_ranges(obj: dict[str, Any], source: str) -> tuple[str, dict[str, Any], dict[str, tuple[float, float]]]:
    """The methodology version, the inputs and every recorded range (keyed as ``Impacts`` names them)."""
    schema = obj.get("schema")
    if schema is not None:
        if schema != SCHEMA:
            raise InvalidInputError(source, f"schema {schema!r} is not supported; expected {SCHEMA!r}")
        if obj.get("estimated") is not True or obj.get("impacts") is None or obj.get("inputs") is None:
            model = obj.get("model_requested") or obj.get("model_served")
            raise InvalidInputError(
                source, f"an unestimated call (model {model!r} not in the registry): it has no estimate to reproduce"
            )
        totals, prefix = obj["impacts"], "impacts."
    elif {"methodology_version", "energy", "usage", "embodied"} <= obj.keys():
        if obj.get("inputs") is None:
            calls = obj.get("calls")
            raise InvalidInputError(
                source, f"a total of {calls} calls has no inputs of its own: reproduce each call's record instead"
            )
        totals, prefix = obj, ""
    else:
        raise InvalidInputError(
            source, f"neither a genai-footprint record (a 'schema': {SCHEMA!r} key) nor an Impacts JSON"
        )
    version = obj.get("methodology_version")
    if not isinstance(version, str) or not version:
        raise InvalidInputError(source, f"'methodology_version' must be a string, got {version!r}")
    inputs = obj["inputs"]
    if not isinstance(inputs, dict):
        raise InvalidInputError(source, f"'inputs' must be an object, got {type(inputs).__name__}")
    ranges: dict[str, tuple[float, float]] = {}
    try:
        if not isinstance(totals, dict):
            raise ValueError(f"{prefix.rstrip('.') or 'the record'!r} must be an object")
        for criterion in CRITERIA:
            ranges[criterion] = _range(totals.get(criterion), prefix + criterion)
        for part, names in (("usage", CRITERIA), ("embodied", ("gwp", "pe", "adpe"))):
            section = obj.get(part)
            if not isinstance(section, dict):
                raise ValueError(f"{part!r} must be an object, got {section!r}")
            for name in names:
                ranges[f"{part}.{name}"] = _range(section.get(name), f"{part}.{name}")
    except ValueError as exc:
        raise InvalidInputError(source, str(exc)) from None
    return version, inputs, ranges


def reproduce_record(obj: object, source: str) -> Reproduction:
    """Recompute the estimate of a record (or ``Impacts`` JSON) from its inputs and compare every range.

    Raises ``InvalidInputError`` naming ``source`` when there is nothing to reproduce or it cannot be read
    (an unestimated call, missing ranges, invalid inputs, an unknown methodology version).
    """
    from pydantic import ValidationError

    from genai_footprint._estimate import reproduce
    from genai_footprint._impacts import ALL_KEYS, EstimateInputs, range_at

    if not isinstance(obj, dict):
        raise InvalidInputError(source, f"expected a JSON object, got {type(obj).__name__}")
    version, raw_inputs, recorded = _recorded_ranges(obj, source)
    try:
        inputs = EstimateInputs.model_validate(raw_inputs)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = ".".join(str(part) for part in ("inputs", *first["loc"]))
        raise InvalidInputError(source, f"{loc}: {first['msg']}") from None
    try:
        impacts = reproduce(inputs, version)
    except InvalidInputError as exc:
        raise InvalidInputError(source, str(exc)) from None
    checks = []
    for key in ALL_KEYS:
        again = range_at(impacts, key)
        checks.append(BoundCheck(key, again.unit, recorded[key], (again.min, again.max)))
    return Reproduction(source, version, inputs, tuple(checks))


def _pair(bounds: tuple[float, float]) -> str:
    return f"{bounds[0]:.6g} – {bounds[1]:.6g}"


def format_reproduction(result: Reproduction) -> str:
    """The comparison as text: what was recomputed, one row per range, and the verdict."""
    from genai_footprint._cli import _table

    inputs = result.inputs
    model = inputs.model_resolved or inputs.model_requested or "parameters given"
    lines = [
        f"Record:       {result.source}",
        f"Call:         {inputs.provider or '-'} {model}, zone {inputs.zone}, {inputs.output_tokens:g} output tokens",
        f"Methodology:  {result.methodology_version} (registry {inputs.registry_version or 'not used'})",
        "",
    ]
    rows = [[c.key, c.unit, _pair(c.recorded), _pair(c.recomputed), "✓" if c.matches else "✗"] for c in result.checks]
    lines += _table(["Criterion", "Unit", "Recorded (min – max)", "Recomputed (min – max)", "Match"], rows)
    lines.append("")
    bounds = 2 * len(result.checks)
    if result.ok:
        lines.append(
            f"Reproduced: all {bounds} bounds match within {RELATIVE_TOLERANCE:g} relative, "
            "recomputed from the recorded inputs alone."
        )
    else:
        lines.append(f"NOT reproduced. Mismatches (recorded ≠ recomputed): {', '.join(result.mismatches)}.")
        for c in result.checks:
            for side, a, b in (("min", c.recorded[0], c.recomputed[0]), ("max", c.recorded[1], c.recomputed[1])):
                if not _close(a, b):
                    lines.append(f"  {c.key} {side}: recorded {a!r}, recomputed {b!r} {c.unit}")
    return "\n".join(lines)


def reproduction_json(result: Reproduction) -> dict[str, Any]:
    """The comparison as plain JSON types."""
    return {
        "source": result.source,
        "methodology_version": result.methodology_version,
        "reproduced": result.ok,
        "relative_tolerance": RELATIVE_TOLERANCE,
        "mismatches": list(result.mismatches),
        "checks": [
            {
                "key": c.key,
                "unit": c.unit,
                "recorded": {"min": c.recorded[0], "max": c.recorded[1]},
                "recomputed": {"min": c.recomputed[0], "max": c.recomputed[1]},
                "match": c.matches,
            }
            for c in result.checks
        ],
    }
