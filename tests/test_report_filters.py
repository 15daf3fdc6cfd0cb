"""``genai-footprint report`` filters, the time series, the tracker tree, the table of calls, and the reader's
fast path (which must accept and read exactly what the reference check does)."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest
from test_report import BAD_LINES, SAMPLE_CALLS, fsum_of, run, sample_records, text_cells, write_log

from genai_footprint._cli._logs import LogReader, parse_line, parse_record
from genai_footprint._cli._report import RECENT_CALLS, build_report
from genai_footprint._cli._report_sums import Tally, exact_parts
from genai_footprint._criteria import NAMES


def report_json(capsys: pytest.CaptureFixture[str], log: Path, *argv: str) -> dict[str, Any]:
    code, out, err = run(capsys, "report", str(log), "--json", *argv)
    assert code == 0, err
    data: dict[str, Any] = json.loads(out)
    return data


# -- filters --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "keep"),
    [
        (["--provider", "openai"], lambda r: r["provider"] == "openai"),
        (["--provider", "openai", "--provider", "anthropic"], lambda r: r["provider"] in ("openai", "anthropic")),
        (["--model", "gpt-4o-mini"], lambda r: r["model_requested"] == "gpt-4o-mini"),
        # the name the call asked for, or the registry's name it resolved to
        (["--model", "claude-3-7-sonnet-latest"], lambda r: r["model_requested"] == "claude-3-7-sonnet-latest"),
        (["--model", "claude-3-7-sonnet-20250219"], lambda r: r["model_requested"] == "claude-3-7-sonnet-latest"),
        (["--tracker", "search"], lambda r: "search" in r["trackers"]),
        (["--tracker", "research"], lambda r: "research" in r["trackers"]),  # nested calls included
        (["--since", "2026-11-21"], lambda r: r["timestamp"] >= "2026-11-21"),
        (["--until", "2026-11-20"], lambda r: r["timestamp"] < "2026-11-21"),  # a date: that whole day
        (["--since", "2026-11-20T10:00"], lambda r: r["timestamp"] >= "2026-11-20T10:00"),
        (["--since", "2026-11-20T11:00+01:00", "--until", "2026-11-20T10:31Z"], lambda r: "10:30" in r["timestamp"]),
        (["--tag", "project=demo", "--provider", "mistralai"], lambda r: r["provider"] == "mistralai"),
    ],
)
def test_filters_choose_the_calls_counted(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str], keep: Any
) -> None:
    records = sample_records()
    records[0]["tags"] = {"project": "demo", "team": "search"}
    log = write_log(tmp_path / "calls.jsonl", records)
    chosen = [r for r in records if keep(r)]
    assert 0 < len(chosen) < len(records)
    data = report_json(capsys, log, *argv)
    estimated = [r for r in chosen if r["estimated"]]
    assert data["total"]["calls"] == len(chosen)
    assert data["total"]["estimated_calls"] == len(estimated)
    for c in NAMES:
        assert data["total"]["impacts"][c]["max"] == fsum_of(estimated, c)[1]
    assert all(word in data["filters"].split() for word in argv if not word[0].isdigit())
    # The text report counts the same calls, and says which.
    code, out, _ = run(capsys, "report", str(log), *argv)
    assert code == 0
    assert out.splitlines()[0].startswith(f"{len(chosen)} calls")
    assert f"only calls matching {data['filters']}." in out.splitlines()[0]
    assert text_cells(out)["total:all:calls"] == str(len(chosen))


def test_tags_must_all_match(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    records = sample_records()
    records[0]["tags"] = {"project": "demo", "team": "search"}
    log = write_log(tmp_path / "calls.jsonl", records)
    assert report_json(capsys, log, "--tag", "team=search")["total"]["calls"] == 1
    assert report_json(capsys, log, "--tag", "team=search", "--tag", "project=other")["total"]["calls"] == 0
    assert report_json(capsys, log, "--tag", "project=demo")["total"]["calls"] == len(records)


def test_a_filter_that_matches_nothing_gives_an_empty_report(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    log = write_log(tmp_path / "calls.jsonl", sample_records())
    data = report_json(capsys, log, "--provider", "nobody")
    assert data["total"]["calls"] == 0 and data["total"]["impacts"] is None
    page = tmp_path / "report.html"
    assert run(capsys, "report", str(log), "--provider", "nobody", "--html", str(page))[0] == 0
    assert "0 calls" in page.read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["--since", "yesterday"], "argument --since: expected an ISO 8601 date or date-time"),
        (["--until", "2026-13-01"], "argument --until: expected an ISO 8601 date or date-time"),
        (["--tag", "project"], "argument --tag: expected KEY=VALUE, got 'project'"),
        (["--tag", "=demo"], "argument --tag: expected KEY=VALUE"),
        (["--since", "2026-11-21", "--until", "2026-11-20T12:00"], "--until: 2026-11-20T12:00:00+00:00 is not after"),
        (["--provider", ""], "--provider: expected a name"),
    ],
)
def test_bad_filters_are_one_line_errors_naming_the_option(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str], needle: str
) -> None:
    log = write_log(tmp_path / "calls.jsonl", sample_records())
    code, out, err = run(capsys, "report", str(log), *argv)
    assert (code, out) == (2, "")
    assert err.count("\n") == 1 and err.startswith("genai-footprint: error: ")
    assert needle in err


# -- what the page and the JSON add: time series, tree, calls ------------------------------------------


def test_a_log_spanning_less_than_two_days_is_charted_by_the_hour(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    records = sample_records()
    data = report_json(capsys, write_log(tmp_path / "calls.jsonl", records))
    series = data["series"]
    assert series["step"] == "hour"
    keys = [row["key"] for row in series["rows"]]
    assert keys[0] == "2026-11-20 09:00" and keys[-1] == "2026-11-21 23:00"
    assert len(keys) == 39  # every hour between, empty ones included
    assert sum(row["calls"] for row in series["rows"]) == len(records)
    for c in NAMES:
        assert math.fsum(r["impacts"][c]["max"] for r in series["rows"] if r["impacts"]) == pytest.approx(
            fsum_of(records, c)[1], rel=1e-12
        )


def test_a_longer_log_is_charted_by_the_day_then_by_the_month(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    records = sample_records()
    records[0]["timestamp"] = "2026-11-25T10:00:00+00:00"
    data = report_json(capsys, write_log(tmp_path / "days.jsonl", records))
    assert data["series"]["step"] == "day"
    assert [row["key"] for row in data["series"]["rows"]] == [f"2026-11-{d}" for d in range(20, 26)]
    records[0]["timestamp"] = "2027-06-01T10:00:00+00:00"
    data = report_json(capsys, write_log(tmp_path / "months.jsonl", records))
    assert data["series"]["step"] == "month"
    rows = data["series"]["rows"]
    assert [row["key"] for row in rows][:2] == ["2026-11", "2026-12"] and rows[-1]["key"] == "2027-06"
    assert [row["calls"] for row in rows] == [6, 0, 0, 0, 0, 0, 0, 1]


def test_the_tracker_tree_counts_each_call_under_its_path(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = report_json(capsys, write_log(tmp_path / "calls.jsonl", sample_records()))
    tree = {tuple(node["path"]): node["calls"] for node in data["tracker_tree"]}
    assert tree == {
        ("research",): 3,
        ("research", "search"): 1,
        ("research", "summarise"): 1,
        ("(none)",): 1,
        ("review",): 3,
    }
    paths = [tuple(node["path"]) for node in data["tracker_tree"]]
    assert paths.index(("research",)) < paths.index(("research", "search"))  # parents first
    top = [node for node in data["tracker_tree"] if len(node["path"]) == 1]
    assert sum(node["calls"] for node in top) == data["total"]["calls"]  # each call once at the top level


def test_the_page_lists_the_latest_calls_and_says_how_many_it_leaves_out(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    record = sample_records()[0]
    log = write_log(tmp_path / "calls.jsonl", [record] * (RECENT_CALLS + 30))
    page = tmp_path / "report.html"
    assert run(capsys, "report", str(log), "--html", str(page))[0] == 0
    html = page.read_text(encoding="utf-8")
    assert f'data-key="call:{RECENT_CALLS + 30}:provider"' in html  # the latest
    assert 'data-key="call:31:provider"' in html and 'data-key="call:30:provider"' not in html
    assert f"The latest {RECENT_CALLS} of {RECENT_CALLS + 30:,} calls" in html
    assert html.count('class="page"') == RECENT_CALLS // 25


# -- exact sums in bounded memory ---------------------------------------------------------------------


def test_a_tally_sums_exactly_whatever_the_order() -> None:
    values = [1e16, 1.0, -1e16, 1e-3, 3.0, 1e-20, 7.5e-9] * 300
    tally, backwards = Tally(), Tally()
    for v in values:
        tally.add((v, None, None), (v,) * 2 * len(NAMES))
    for v in reversed(values):
        backwards.add((v, None, None), (v,) * 2 * len(NAMES))
    expected = math.fsum(values)
    assert tally.totals().output_tokens == backwards.totals().output_tokens == expected
    assert tally.totals().impacts == dict.fromkeys(NAMES, (expected, expected))
    assert math.fsum(exact_parts(values)) == expected and len(exact_parts(values)) <= 3


def test_build_report_takes_any_iterable_once(tmp_path: Path) -> None:
    records = sample_records()
    log = write_log(tmp_path / "calls.jsonl", records * 3)
    reader = LogReader([log])
    report = build_report(iter(reader), reader.sources)
    assert report.total.calls == 3 * len(SAMPLE_CALLS)
    assert report.recent[0][0] == 3 * len(SAMPLE_CALLS)  # the latest first


# -- the fast path reads what the reference check reads -------------------------------------------------


def test_the_fast_path_reads_every_record_as_the_reference_does() -> None:
    records = sample_records()
    shuffled = {k: records[0][k] for k in reversed(records[0])}  # fields in another order: the whole line is read
    for record in [*records, shuffled]:
        for line in (json.dumps(record), json.dumps(record, separators=(",", ":"))):
            assert parse_line(line) == parse_record(json.loads(line))


@pytest.mark.parametrize(("spoil", "needle"), BAD_LINES)
def test_the_fast_path_refuses_what_the_reference_refuses(spoil: Any, needle: str) -> None:
    bad = spoil(sample_records()[1])
    line = bad if isinstance(bad, str) else json.dumps(bad, separators=(",", ":"))
    with pytest.raises(ValueError, match=None) as caught:
        parse_line(line)
    assert needle in str(caught.value)


def test_a_line_cut_where_the_fields_end_still_has_to_be_a_record() -> None:
    record = sample_records()[0]
    record["tags"] = {"a": "b", "usage": "x"}  # the marker the reader cuts at, inside a field
    line = json.dumps(record, separators=(",", ":"))
    assert parse_line(line) == parse_record(record)
    torn = line[: line.index(',"usage":', line.index('"impacts"')) + 20]  # a line torn mid-write
    with pytest.raises(ValueError, match=r"Unterminated|Expecting|delimiter"):
        parse_line(torn)
