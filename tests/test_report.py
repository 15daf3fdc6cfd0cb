"""``genai-footprint report``: exact totals of logged records by provider, model, tracker and day."""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import pytest

import genai_footprint as gf
from genai_footprint import _events
from genai_footprint._cli import main
from genai_footprint._criteria import NAMES, format_quantity
from genai_footprint._events import CallEvent
from genai_footprint._export._record import to_record

DAY_1 = dt.datetime(2026, 11, 20, 9, 30, tzinfo=dt.UTC).timestamp()
DAY_2 = dt.datetime(2026, 11, 21, 23, 59, 59, tzinfo=dt.UTC).timestamp()

# (provider, model, output tokens, latency s, trackers, timestamp); "my-local-model" is not in the registry.
SAMPLE_CALLS: tuple[tuple[str, str, int, float, tuple[str, ...], float], ...] = (
    ("openai", "gpt-4o-mini", 400, 2.1, ("research", "search"), DAY_1),
    ("openai", "gpt-4o-mini", 120, 0.9, ("research",), DAY_1 + 60),
    ("openai", "gpt-4o", 800, 6.0, (), DAY_2),
    ("anthropic", "claude-3-5-haiku-20241022", 300, 3.0, ("research", "summarise"), DAY_2),
    ("anthropic", "claude-3-7-sonnet-latest", 1500, 20.0, ("review",), DAY_1 + 3600),
    ("mistralai", "mistral-small-latest", 200, 1.5, ("review",), DAY_2 - 5),
    ("mistralai", "my-local-model", 50, 0.4, ("review",), DAY_2 - 10),
)

COLUMN_IDS = {  # text table header → column id, as the HTML page's data-key names it
    "Calls": "calls",
    "Estimated": "estimated",
    "Unestimated": "unestimated",
    "Output tokens": "output_tokens",
    "Input tokens": "input_tokens",
    "Energy": "energy",
    "GHG emissions": "gwp",
    "Primary energy": "pe",
    "Abiotic resources": "adpe",
    "Water": "wcf",
}
SECTION_IDS = {"By provider": "provider", "By model": "model", "By tracker": "tracker", "By day (UTC)": "day"}


def event(
    provider: str, model: str, tokens: float, latency: float, trackers: tuple[str, ...], timestamp: float
) -> CallEvent:
    """A finished call as the instrumentation reports it, with a real estimate (None if the model is unknown)."""
    try:
        impacts: gf.Impacts | None = gf.estimate(provider, model, output_tokens=tokens, latency_s=latency)
    except gf.UnknownModelError:
        impacts = None
    inputs = None if impacts is None else impacts.inputs
    return CallEvent(
        timestamp=timestamp,
        provider=provider,
        model_requested=model,
        model_served=model,
        model_resolved=None if inputs is None else inputs.model_resolved,
        zone=None if inputs is None else inputs.zone,
        output_tokens=tokens,
        tokens_source="usage",
        latency_s=latency,
        ttft_s=None,
        stream=False,
        trackers=trackers,
        impacts=impacts,
        # Every sample call reports an input ten times its output, a tenth of it cached.
        details=_events.TokenDetails(input_tokens=int(tokens * 10), cached_input_tokens=int(tokens)),
    )


def sample_records() -> list[dict[str, Any]]:
    return [to_record(event(*call), {"project": "demo"}) for call in SAMPLE_CALLS]


def write_log(path: Path, records: Iterable[dict[str, Any] | str]) -> Path:
    """Records as JSON Lines (a str is written as the line itself)."""
    lines = [r if isinstance(r, str) else json.dumps(r, separators=(",", ":")) for r in records]
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def write_sample_log(path: Path) -> Path:
    return write_log(path, sample_records())


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def text_cells(out: str) -> dict[str, str]:
    """Every value cell of the text report, keyed ``grouping:row:column`` as the HTML page keys them."""
    found: dict[str, str] = {}
    grouping: str | None = None
    header: list[str] = []
    for line in out.splitlines():
        if line in SECTION_IDS or line == "Total":
            grouping, header = SECTION_IDS.get(line, "total"), []
            continue
        if grouping is None or not line.strip() or set(line) <= {"-", " "}:
            continue
        if not header:
            header = re.split(r"\s{2,}", line.strip())
            if grouping == "total":
                header = ["", *header]
            continue
        cells = re.split(r"\s{2,}", line.strip())
        if len(cells) != len(header):  # a note under a table
            grouping = None
            continue
        for label, cell in zip(header[1:], cells[1:], strict=True):
            found[f"{grouping}:{cells[0]}:{COLUMN_IDS[label]}"] = cell
    return found


def expected_cells(data: dict[str, Any], criteria: Sequence[str] = NAMES) -> dict[str, str]:
    """The cells the report must show for its JSON totals, formatted as the report formats them."""

    def row(totals: dict[str, Any]) -> dict[str, str]:
        shown = {
            "calls": f"{totals['calls']:,}",
            "estimated": f"{totals['estimated_calls']:,}",
            "unestimated": f"{totals['unestimated_calls']:,}",
            "output_tokens": f"{totals['output_tokens']:,.0f}",
            "input_tokens": f"{totals['input_tokens']:,.0f}",
        }
        for c in criteria:
            impacts = totals["impacts"]
            shown[c] = "-" if impacts is None else format_quantity(c, impacts[c]["min"], impacts[c]["max"])
        return shown

    cells = {f"total:all:{col}": text for col, text in row(data["total"]).items()}
    for grouping, rows in data["groups"].items():
        for r in rows:
            cells.update({f"{grouping}:{r['key']}:{col}": text for col, text in row(r).items()})
    return cells


_SCALE = {
    "MWh": 1e3, "kWh": 1.0, "Wh": 1e-3, "mWh": 1e-6, "µWh": 1e-9,
    "tCO2eq": 1e3, "kgCO2eq": 1.0, "gCO2eq": 1e-3, "mgCO2eq": 1e-6, "µgCO2eq": 1e-9,
    "GJ": 1e3, "MJ": 1.0, "kJ": 1e-3, "J": 1e-6, "mJ": 1e-9,
    "kgSbeq": 1.0, "gSbeq": 1e-3, "mgSbeq": 1e-6, "µgSbeq": 1e-9, "ngSbeq": 1e-12,
    "m³": 1e3, "L": 1.0, "mL": 1e-3, "µL": 1e-6,
}  # fmt: skip


def parse_quantity(text: str) -> tuple[float, float]:
    """``"1.2 – 3.4 mWh"`` → (1.2e-6, 3.4e-6) in the record's unit (kWh here)."""
    numbers, unit = text.rsplit(" ", 1)
    low, _, high = numbers.partition(" – ")
    factor = _SCALE[unit]
    return float(low.replace(",", "")) * factor, float((high or low).replace(",", "")) * factor


def assert_shown_close(text: str, low: float, high: float) -> None:
    """A displayed range rounds the exact one to 3 significant figures."""
    shown_low, shown_high = parse_quantity(text)
    assert shown_high == pytest.approx(high, rel=5e-3), text
    assert shown_low == pytest.approx(low, rel=5e-3, abs=high * 5e-3), text


def fsum_of(records: Iterable[dict[str, Any]], criterion: str) -> tuple[float, float]:
    chosen = [r for r in records if r["estimated"]]
    return (
        math.fsum(r["impacts"][criterion]["min"] for r in chosen),
        math.fsum(r["impacts"][criterion]["max"] for r in chosen),
    )


# -- totals ---------------------------------------------------------------------------------------------


def test_json_totals_are_exact_sums_of_the_records(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    records = sample_records()
    log = write_log(tmp_path / "calls.jsonl", records)
    code, out, err = run(capsys, "report", str(log), "--json")
    assert code == 0, err
    data = json.loads(out)
    assert data["schema"] == "genai-footprint.report/1"
    assert data["sources"] == [str(log)]
    assert data["methodology_versions"] == ["ecologits-0.11"]
    total = data["total"]
    assert (total["calls"], total["estimated_calls"], total["unestimated_calls"]) == (7, 6, 1)
    assert total["output_tokens"] == sum(c[2] for c in SAMPLE_CALLS)
    for c in NAMES:
        low, high = fsum_of(records, c)
        assert total["impacts"][c] == {"min": low, "max": high, "unit": records[0]["impacts"][c]["unit"]}
        assert 0 < low < high

    def members(grouping: str, key: str) -> list[dict[str, Any]]:
        if grouping == "provider":
            return [r for r in records if r["provider"] == key]
        if grouping == "model":
            return [r for r in records if (r["model_resolved"] or r["model_requested"]) == key]
        if grouping == "day":
            return [r for r in records if r["timestamp"].startswith(key)]
        return [r for r in records if key in r["trackers"] or (key == "(none)" and not r["trackers"])]

    keys = {grouping: [row["key"] for row in rows] for grouping, rows in data["groups"].items()}
    assert sorted(keys["provider"]) == ["anthropic", "mistralai", "openai"]
    assert sorted(keys["model"]) == [
        "claude-3-5-haiku-20241022",
        "claude-3-7-sonnet-20250219",  # resolved from the alias the call asked for
        "gpt-4o",
        "gpt-4o-mini",
        "mistral-small-latest",
        "my-local-model",  # unresolved: the requested name
    ]
    assert keys["day"] == ["2026-11-20", "2026-11-21"]
    assert sorted(keys["tracker"]) == ["(none)", "research", "review", "search", "summarise"]
    for grouping, rows in data["groups"].items():
        for row in rows:
            chosen = members(grouping, row["key"])
            assert row["calls"] == len(chosen), (grouping, row["key"])
            assert row["estimated_calls"] == sum(r["estimated"] for r in chosen)
            assert row["output_tokens"] == math.fsum(r["output_tokens"] for r in chosen)
            if row["estimated_calls"] == 0:
                assert row["impacts"] is None
                continue
            for c in NAMES:
                low, high = fsum_of(chosen, c)
                assert (row["impacts"][c]["min"], row["impacts"][c]["max"]) == (low, high)


def test_model_rows_run_from_the_largest_emissions_down_and_days_in_order(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    log = write_sample_log(tmp_path / "calls.jsonl")
    data = json.loads(run(capsys, "report", str(log), "--json")[1])
    models = data["groups"]["model"]
    estimated = [row["impacts"]["gwp"]["max"] for row in models if row["impacts"] is not None]
    assert estimated == sorted(estimated, reverse=True)
    assert models[-1]["key"] == "my-local-model"  # no estimate: last
    assert [row["key"] for row in data["groups"]["day"]] == ["2026-11-20", "2026-11-21"]


def test_tracker_rows_count_a_call_under_each_enclosing_tracker(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    log = write_sample_log(tmp_path / "calls.jsonl")
    data = json.loads(run(capsys, "report", str(log), "--json", "--by", "tracker")[1])
    calls = {row["key"]: row["calls"] for row in data["groups"]["tracker"]}
    assert calls == {"research": 3, "search": 1, "summarise": 1, "review": 3, "(none)": 1}
    assert sum(calls.values()) > data["total"]["calls"]  # nested trackers count at each level

    code, out, _ = run(capsys, "report", str(log), "--by", "tracker")
    assert code == 0
    assert "A call counts under every tracker around it" in out
    assert "(none): calls outside any tracker" in out


def test_a_tracker_named_twice_in_one_path_counts_the_call_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    record = to_record(event("openai", "gpt-4o-mini", 10, 0.5, ("loop", "loop"), DAY_1))
    log = write_log(tmp_path / "calls.jsonl", [record])
    data = json.loads(run(capsys, "report", str(log), "--json", "--by", "tracker")[1])
    assert [(row["key"], row["calls"]) for row in data["groups"]["tracker"]] == [("loop", 1)]


def test_day_is_the_utc_date_of_the_timestamp(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    base = to_record(event("openai", "gpt-4o-mini", 10, 0.5, (), DAY_1))
    records = [
        {**base, "timestamp": "2026-11-20T23:30:00-02:00"},  # 01:30 UTC on the 21st
        {**base, "timestamp": "2026-11-21T00:30:00+02:00"},  # 22:30 UTC on the 20th
        {**base, "timestamp": "2026-11-22T12:00:00Z"},
        {**base, "timestamp": "2026-11-22T12:00:00"},  # no offset: read as UTC
    ]
    log = write_log(tmp_path / "calls.jsonl", records)
    data = json.loads(run(capsys, "report", str(log), "--json", "--by", "day")[1])
    assert [(row["key"], row["calls"]) for row in data["groups"]["day"]] == [
        ("2026-11-20", 1),
        ("2026-11-21", 1),
        ("2026-11-22", 2),
    ]


def test_several_logs_and_blank_lines_add_up(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    records = sample_records()
    first = write_log(tmp_path / "a.jsonl", [records[0], "", "   ", records[1]])
    second = write_log(tmp_path / "b.jsonl", records[2:])
    data = json.loads(run(capsys, "report", str(first), str(second), "--json")[1])
    assert data["sources"] == [str(first), str(second)]
    assert data["total"]["calls"] == len(records)
    assert data["total"]["impacts"]["gwp"]["max"] == fsum_of(records, "gwp")[1]


# -- the text table -------------------------------------------------------------------------------------


def test_text_tables_show_every_total_rounded_for_reading(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    log = write_sample_log(tmp_path / "calls.jsonl")
    data = json.loads(run(capsys, "report", str(log), "--json")[1])
    code, out, err = run(capsys, "report", str(log))
    assert code == 0, err
    assert err == ""
    assert out.splitlines()[0] == (f"7 calls (6 estimated, 1 unestimated) from {log}; methodology ecologits-0.11.")
    for heading in ("By provider", "By model", "By tracker", "By day (UTC)", "Total"):
        assert heading in out.splitlines()
    shown = text_cells(out)
    expected = expected_cells(data)
    assert shown == expected
    # Each displayed range is the exact total rounded to 3 significant figures, in a readable unit.
    for c in NAMES:
        exact = data["total"]["impacts"][c]
        assert_shown_close(shown[f"total:all:{c}"], exact["min"], exact["max"])
    assert shown["model:my-local-model:gwp"] == "-"
    assert shown["model:my-local-model:output_tokens"] == "50"
    assert "Unestimated calls (model not in the registry) count in Calls and Output tokens only." in out


def test_by_and_criterion_choose_the_tables_and_columns(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    log = write_sample_log(tmp_path / "calls.jsonl")
    code, out, err = run(capsys, "report", str(log), "--by", "day,model", "--criterion", "gwp,wcf")
    assert code == 0, err
    lines = out.splitlines()
    assert "By provider" not in lines and "By tracker" not in lines
    assert lines.index("By day (UTC)") < lines.index("By model") < lines.index("Total")
    columns = {key.rsplit(":", 1)[1] for key in text_cells(out)}
    assert columns == {"calls", "estimated", "unestimated", "output_tokens", "input_tokens", "gwp", "wcf"}


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["--by", "model,week"], "--by: unknown value 'week'; choose from provider, model, tracker, day"),
        (["--criterion", "co2"], "--criterion: unknown value 'co2'; choose from energy, gwp, pe, adpe, wcf"),
        (["--by", ","], "--by: expected a comma-separated list"),
    ],
)
def test_bad_choices_are_one_line_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str], needle: str
) -> None:
    log = write_sample_log(tmp_path / "calls.jsonl")
    code, out, err = run(capsys, "report", str(log), *argv)
    assert (code, out) == (2, "")
    assert err.count("\n") == 1 and err.startswith("genai-footprint: error: ")
    assert needle in err


@pytest.mark.parametrize(
    ("criterion", "low", "high", "shown"),
    [
        ("energy", 0.0012, 0.0012, "1.2 Wh"),
        ("energy", 1.5e-6, 2.5e-6, "1.5 – 2.5 mWh"),
        ("energy", 4e-4, 9.996e-4, "0.4 – 1 Wh"),  # the upper bound rounds up to 1 Wh: Wh it is
        ("energy", 0.0, 0.0, "0 kWh"),
        ("energy", 12345.0, 12345.0, "12.3 MWh"),
        ("energy", 1.23e7, 1.23e7, "12,300 MWh"),
        ("gwp", 4.2e-5, 4.25e-5, "42 – 42.5 mgCO2eq"),
        ("gwp", 0.0123449, 0.012345, "12.3 gCO2eq"),  # bounds that round alike show one number
        ("pe", 2.5e-4, 7.5e-4, "250 – 750 J"),
        ("adpe", 3e-11, 3e-11, "30 ngSbeq"),
        ("wcf", 0.25, 1.5, "0.25 – 1.5 L"),
        ("wcf", 0.025, 0.025, "25 mL"),
        ("wcf", 2.5e-4, 2.5e-4, "250 µL"),
    ],
)
def test_quantities_are_shown_in_a_readable_unit(criterion: str, low: float, high: float, shown: str) -> None:
    assert format_quantity(criterion, low, high) == shown


# -- bad input ------------------------------------------------------------------------------------------


BAD_LINES: list[tuple[Callable[[dict[str, Any]], object], str]] = [
    (lambda r: "{not json", "Expecting property name"),
    (lambda r: [r], "expected a JSON object, got list"),
    (lambda r: {**r, "schema": "other.record/9"}, "not a genai-footprint record: schema 'other.record/9'"),
    (lambda r: {k: v for k, v in r.items() if k != "schema"}, "not a genai-footprint record: schema None"),
    (lambda r: {**r, "timestamp": "yesterday"}, "'timestamp' is not an ISO 8601 date-time: 'yesterday'"),
    (lambda r: {**r, "trackers": "research"}, "'trackers' must be a list of tracker names"),
    (lambda r: {**r, "output_tokens": -3}, "'output_tokens' must be a number >= 0 or null"),
    (lambda r: {**r, "impacts": {**r["impacts"], "gwp": {"min": 1.0}}}, "'impacts.gwp' must be a range"),
    (lambda r: {**r, "impacts": {**r["impacts"], "wcf": {"min": 2.0, "max": 1.0}}}, "'impacts.wcf': min 2.0 is"),
    (lambda r: {**r, "estimated": "yes"}, "'estimated' must be true or false"),
]


@pytest.mark.parametrize(("spoil", "needle"), BAD_LINES)
def test_a_bad_line_is_a_one_line_error_naming_file_and_line(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    spoil: Callable[[dict[str, Any]], object],
    needle: str,
) -> None:
    records = sample_records()
    bad = spoil(records[1])
    log = write_log(tmp_path / "calls.jsonl", [records[0], "", bad if isinstance(bad, str) else json.dumps(bad)])
    code, out, err = run(capsys, "report", str(log))
    assert (code, out) == (2, "")
    assert err.count("\n") == 1, err
    assert err.startswith(f"genai-footprint: error: {log}:3: "), err
    assert needle in err


def test_skip_bad_counts_and_skips_bad_lines(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    records = sample_records()
    log = write_log(tmp_path / "calls.jsonl", [records[0], "garbage", {"schema": "x"}, *records[1:]])
    code, out, err = run(capsys, "report", str(log), "--skip-bad", "--json")
    assert code == 0
    data = json.loads(out)
    assert data["skipped_lines"] == 2
    assert data["total"]["calls"] == len(records)
    assert err.startswith(f"genai-footprint: skipped 2 bad line(s); first: {log}:2: ")
    code, out, _ = run(capsys, "report", str(log), "--skip-bad")
    assert "2 bad line(s) skipped" in out.splitlines()[0]


def test_a_missing_log_is_a_one_line_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "nope.jsonl"
    code, out, err = run(capsys, "report", str(missing))
    assert (code, out, err) == (2, "", f"genai-footprint: error: {missing}: no such file\n")


def test_an_empty_log_reports_zero_calls(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    log = write_log(tmp_path / "empty.jsonl", [])
    code, out, _ = run(capsys, "report", str(log), "--json")
    assert code == 0
    data = json.loads(out)
    assert data["total"] == {
        "calls": 0,
        "estimated_calls": 0,
        "unestimated_calls": 0,
        "output_tokens": 0.0,
        "input_tokens": 0.0,
        "cached_input_tokens": 0.0,
        "impacts": None,
    }
    assert data["groups"] == {"provider": [], "model": [], "tracker": [], "day": []}
    code, out, _ = run(capsys, "report", str(log))
    assert code == 0 and "(no calls)" in out


# -- the HTML page (its rendering in a browser: test_report_browser.py) ---------------------------------


def test_html_page_is_self_contained_and_keys_every_cell(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    log = write_sample_log(tmp_path / "calls.jsonl")
    page = tmp_path / "report.html"
    code, out, err = run(capsys, "report", str(log), "--html", str(page))
    assert code == 0
    assert err == f"genai-footprint: wrote {page}\n"
    assert out.startswith("7 calls")  # stdout still carries the text report
    html = page.read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>")
    for external in ("<script", "<link", "src=", "@import", "url("):
        assert external not in html
    assert re.findall(r"https?://[^\s\"']+", html) == []  # inline SVG needs no namespace
    for key, text in text_cells(out).items():
        assert f'data-key="{key}">{text}<' in html


def test_html_that_cannot_be_written_is_a_one_line_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    log = write_sample_log(tmp_path / "calls.jsonl")
    target = tmp_path / "missing-dir" / "report.html"
    code, out, err = run(capsys, "report", str(log), "--html", str(target))
    assert (code, out) == (2, "")
    assert err.startswith(f"genai-footprint: error: --html: cannot write {target}: ")
    assert err.count("\n") == 1
