"""``genai-footprint reproduce``: a logged estimate is recomputed from its recorded inputs, bound by bound."""

from __future__ import annotations

import copy
import io
import json
import re
from pathlib import Path
from typing import Any

import pytest
from test_report import SAMPLE_CALLS, event, sample_records, write_log

import genai_footprint as gf
from genai_footprint._cli import main
from genai_footprint._export._record import to_record

# Every range an estimate holds, in the order the comparison lists them: totals, usage, embodied.
ALL_KEYS = (
    *("energy", "gwp", "pe", "adpe", "wcf"),
    *("usage.energy", "usage.gwp", "usage.pe", "usage.adpe", "usage.wcf"),
    *("embodied.gwp", "embodied.pe", "embodied.adpe"),
)
ESTIMATED_LINES = [n for n, call in enumerate(SAMPLE_CALLS, start=1) if call[1] != "my-local-model"]
UNESTIMATED_LINE = next(n for n, call in enumerate(SAMPLE_CALLS, start=1) if call[1] == "my-local-model")


def range_at(impacts: gf.Impacts, key: str) -> Any:
    """The range of ``impacts`` named by ``key``: ``"gwp"`` → ``impacts.gwp``, ``"usage.pe"`` → ``impacts.usage.pe``."""
    found: Any = impacts
    for part in key.split("."):
        found = getattr(found, part)
    return found


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def match_column(out: str) -> dict[str, str]:
    """The Match cell (✓ or ✗) of each row of the comparison table, by criterion key."""
    rows = {}
    for line in out.splitlines():
        cells = re.split(r"\s{2,}", line.strip())
        if cells[0] in ALL_KEYS and len(cells) == 4:
            rows[cells[0]] = cells[3]
    return rows


def assert_one_line_error(code: int, out: str, err: str, *needles: str) -> None:
    assert (code, out) == (2, "")
    assert err.count("\n") == 1 and err.startswith("genai-footprint: error: "), err
    for needle in needles:
        assert needle in err, f"{needle!r} not in {err!r}"


@pytest.fixture
def log(tmp_path: Path) -> Path:
    return write_log(tmp_path / "calls.jsonl", sample_records())


def one_record(tmp_path: Path, record: dict[str, Any], name: str = "record.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(record, indent=2), encoding="utf-8")
    return path


# -- reproduced ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("line", ESTIMATED_LINES)
def test_every_logged_estimate_is_reproduced(log: Path, capsys: pytest.CaptureFixture[str], line: int) -> None:
    code, out, err = run(capsys, "reproduce", f"{log}:{line}")
    assert (code, err) == (0, "")
    assert match_column(out) == dict.fromkeys(ALL_KEYS, "✓")
    assert out.splitlines()[0] == f"Record:       {log}:{line}"
    assert re.search(r"^Methodology:\s+ecologits-0\.11 \(registry \S+\)$", out, re.M)
    assert "Reproduced: all 26 bounds match within 1e-09 relative" in out


def test_a_record_file_an_impacts_json_and_stdin_are_reproduced(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    impacts = gf.estimate("anthropic", "claude-3-5-haiku-latest", output_tokens=321, latency_s=2.5, zone="FRA")
    record = to_record(event("openai", "gpt-4o", 700, 5.0, ("agent",), 1.8e9))
    record_file = one_record(tmp_path, record)  # pretty-printed: many lines, one object
    impacts_file = tmp_path / "impacts.json"
    impacts_file.write_text(impacts.model_dump_json(indent=2), encoding="utf-8")
    for target in (record_file, impacts_file):
        code, out, err = run(capsys, "reproduce", str(target))
        assert (code, err) == (0, ""), out
        assert match_column(out) == dict.fromkeys(ALL_KEYS, "✓")
    assert "zone FRA, 321 output tokens" in out

    monkeypatch.setattr("sys.stdin", io.StringIO(impacts.model_dump_json()))
    code, out, _ = run(capsys, "reproduce", "-", "--json")
    assert code == 0
    data = json.loads(out)
    assert data["source"] == "<stdin>"
    assert data["reproduced"] is True and data["mismatches"] == []
    assert [c["key"] for c in data["checks"]] == list(ALL_KEYS)
    for check in data["checks"]:
        exact = range_at(impacts, check["key"])
        assert check["recorded"] == check["recomputed"] == {"min": exact.min, "max": exact.max}
        assert check["unit"] == exact.unit and check["match"] is True


def test_a_difference_within_the_tolerance_still_matches(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    record = sample_records()[0]
    record["impacts"]["gwp"]["max"] *= 1 + 1e-12  # e.g. a value re-serialised by another tool
    code, _, _ = run(capsys, "reproduce", str(one_record(tmp_path, record)))
    assert code == 0


# -- not reproduced: exit 1 ---------------------------------------------------------------------------


def test_a_tampered_impact_exits_1_naming_the_criterion(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    record = sample_records()[0]
    recorded = record["impacts"]["energy"]["max"]
    record["impacts"]["energy"]["max"] = recorded * (1 + 1e-6)
    path = one_record(tmp_path, record)
    code, out, err = run(capsys, "reproduce", str(path))
    assert (code, err) == (1, "")
    matches = match_column(out)
    assert matches.pop("energy") == "✗"
    assert set(matches.values()) == {"✓"}  # usage.energy, recorded apart, still matches
    assert "NOT reproduced. Mismatches (recorded ≠ recomputed): energy." in out
    assert f"  energy max: recorded {recorded * (1 + 1e-6)!r}, recomputed {recorded!r} kWh" in out

    code, out, _ = run(capsys, "reproduce", str(path), "--json")
    assert code == 1
    data = json.loads(out)
    assert data["reproduced"] is False
    assert data["mismatches"] == ["energy"]


def test_a_tampered_input_exits_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    record = sample_records()[0]
    record["inputs"]["output_tokens"] += 100
    code, out, _ = run(capsys, "reproduce", str(one_record(tmp_path, record)))
    assert code == 1
    matches = match_column(out)
    # More tokens, more GPU energy: every total and usage range moves. (The embodied share follows the
    # generation time, which the recorded latency caps, so it may not.)
    assert {key: matches[key] for key in ALL_KEYS if not key.startswith("embodied.")} == {
        key: "✗" for key in ALL_KEYS if not key.startswith("embodied.")
    }
    assert "NOT reproduced. Mismatches (recorded ≠ recomputed): energy, gwp, pe, adpe, wcf, usage.energy" in out


# -- nothing to reproduce or unreadable: exit 2 --------------------------------------------------------


def test_an_unknown_methodology_version_is_an_error_naming_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    record = sample_records()[0]
    record["methodology_version"] = "ecologits-9.9"
    path = one_record(tmp_path, record)
    code, out, err = run(capsys, "reproduce", str(path))
    assert_one_line_error(code, out, err, f"{path}: methodology_version: unknown methodology 'ecologits-9.9'")
    assert "known: ecologits-0.11" in err


def test_an_unestimated_record_has_nothing_to_reproduce(log: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "reproduce", f"{log}:{UNESTIMATED_LINE}")
    assert_one_line_error(
        code, out, err, f"{log}:{UNESTIMATED_LINE}: an unestimated call (model 'my-local-model' not in the registry)"
    )
    assert "no estimate to reproduce" in err


def test_a_total_of_several_calls_has_no_inputs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a = gf.estimate("openai", "gpt-4o-mini", output_tokens=10)
    b = gf.estimate("openai", "gpt-4o-mini", output_tokens=20)
    path = tmp_path / "total.json"
    path.write_text((a + b).model_dump_json(), encoding="utf-8")
    code, out, err = run(capsys, "reproduce", str(path))
    assert_one_line_error(code, out, err, "a total of 2 calls has no inputs of its own")


def _spoil(record: dict[str, Any], path: str, value: object) -> dict[str, Any]:
    spoilt = copy.deepcopy(record)
    *parents, last = path.split(".")
    target = spoilt
    for part in parents:
        target = target[part]
    if value is KeyError:
        del target[last]
    else:
        target[last] = value
    return spoilt


@pytest.mark.parametrize(
    ("path", "value", "needle"),
    [
        ("schema", "genai-footprint.record/2", "schema 'genai-footprint.record/2' is not supported"),
        ("schema", KeyError, "neither a genai-footprint record"),
        ("impacts.pe", KeyError, "'impacts.pe' must be a range"),
        ("usage.wcf", {"min": "a lot"}, "'usage.wcf' must be a range"),
        ("embodied", None, "'embodied' must be an object"),
        ("inputs.output_tokens", "many", "inputs.output_tokens: Input should be a valid number"),
        ("inputs.zone", KeyError, "inputs.zone: Field required"),
        ("methodology_version", 11, "'methodology_version' must be a string"),
    ],
)
def test_an_unreadable_record_is_a_one_line_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], path: str, value: object, needle: str
) -> None:
    record_file = one_record(tmp_path, _spoil(sample_records()[0], path, value))
    code, out, err = run(capsys, "reproduce", str(record_file))
    assert_one_line_error(code, out, err, f"{record_file}: ", needle)


def test_record_references_that_lead_nowhere(tmp_path: Path, log: Path, capsys: pytest.CaptureFixture[str]) -> None:
    lines = len(SAMPLE_CALLS)
    cases = [
        (
            f"{log}:{lines + 1}",
            f"{log}:{lines + 1}: past the end of the log, which has {lines} record(s) on {lines} line(s); "
            f"name a line from 1 to {lines}",
        ),
        (f"{log}:0", f"{log}:0: lines count from 1"),
        (str(log), f"{log}: holds {lines} lines, not one JSON object; name one as {log}:N"),
        (str(tmp_path / "missing.json"), f"{tmp_path / 'missing.json'}: no such file"),
        (f"{tmp_path / 'missing.jsonl'}:2", f"{tmp_path / 'missing.jsonl'}: no such file"),
    ]
    for spec, needle in cases:
        code, out, err = run(capsys, "reproduce", spec)
        assert_one_line_error(code, out, err, needle)

    blank = write_log(tmp_path / "blank.jsonl", [sample_records()[0], ""])
    code, out, err = run(capsys, "reproduce", f"{blank}:2")
    assert_one_line_error(code, out, err, f"{blank}:2: the line is blank")
    broken = tmp_path / "broken.json"
    broken.write_text("{", encoding="utf-8")
    code, out, err = run(capsys, "reproduce", str(broken))
    assert_one_line_error(code, out, err, f"{broken}: not valid JSON")
    pretty_but_broken = tmp_path / "pretty.json"
    pretty_but_broken.write_text('{\n  "schema": "genai-footprint.record/1",\n', encoding="utf-8")
    code, out, err = run(capsys, "reproduce", str(pretty_but_broken))
    assert_one_line_error(code, out, err, f"{pretty_but_broken}: not valid JSON")
    listed = tmp_path / "list.json"
    listed.write_text("[]", encoding="utf-8")
    code, out, err = run(capsys, "reproduce", str(listed))
    assert_one_line_error(code, out, err, f"{listed}: expected a JSON object, got list")


def test_past_the_end_counts_records_apart_from_blank_lines(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    log = tmp_path / "gaps.jsonl"
    first = json.dumps(sample_records()[0])
    log.write_text(f"{first}\n\n{first}\n", encoding="utf-8")
    code, out, err = run(capsys, "reproduce", f"{log}:4")
    assert_one_line_error(code, out, err, f"{log}:4: ", "2 record(s) on 3 line(s)", "from 1 to 3")
    empty = tmp_path / "empty.jsonl"
    empty.write_text("", encoding="utf-8")
    assert_one_line_error(*run(capsys, "reproduce", f"{empty}:1"), f"{empty}:1: the log is empty")


def test_a_malformed_line_is_named_by_file_and_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    log = tmp_path / "broken.jsonl"
    log.write_text(json.dumps(sample_records()[0]) + "\n{not json\n", encoding="utf-8")
    assert_one_line_error(*run(capsys, "reproduce", f"{log}:2"), f"{log}:2: not valid JSON")


def test_units_and_equivalents(log: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "reproduce", f"{log}:1", "--units", "base")
    assert code == 0, err
    energy = next(re.split(r"\s{2,}", line.strip()) for line in out.splitlines() if line.startswith("energy "))
    assert re.fullmatch(r"\d\.\d{5}e-\d\d – \d\.\d{5}e-\d\d kWh|\d\.\d{5}e-\d\d kWh", energy[1]), energy
    code, out, err = run(capsys, "reproduce", f"{log}:1")
    assert code == 0, err
    energy = next(re.split(r"\s{2,}", line.strip()) for line in out.splitlines() if line.startswith("energy "))
    assert energy[1] == energy[2] and re.search(r" (mWh|Wh|µWh)$", energy[1]), energy  # SI-prefixed
    assert "Everyday equivalents" not in out
    code, out, err = run(capsys, "reproduce", f"{log}:1", "--equivalents")
    assert code == 0, err
    assert "smartphone charges [1]" in out and "Sources:" in out
    code, out, err = run(capsys, "reproduce", f"{log}:1", "--equivalents", "--json")
    assert [e["name"] for e in json.loads(out)["equivalents"]][:1] == ["smartphone_charges"]
