"""``report --units base``: the text tables in base units, scientific notation, the same sums as the JSON."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_report import run, text_cells, write_sample_log

from genai_footprint._criteria import NAMES, UNITS


def test_base_units_show_the_json_sums(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    log = write_sample_log(tmp_path / "calls.jsonl")
    _, out, _ = run(capsys, "report", str(log), "--units", "base")
    _, data, _ = run(capsys, "report", str(log), "--json")
    total = json.loads(data)["total"]["impacts"]
    cells = text_cells(out)
    for criterion in NAMES:
        low, high = total[criterion]["min"], total[criterion]["max"]
        shown = cells[f"total:all:{criterion}"]
        assert shown.endswith(f" {UNITS[criterion]}"), shown  # kWh, kgCO2eq, MJ, kgSbeq, L: never a prefix
        figures = [float(part) for part in shown.removesuffix(f" {UNITS[criterion]}").split(" – ")]
        assert figures[0] == pytest.approx(low, rel=5e-3) and figures[-1] == pytest.approx(high, rel=5e-3)


def test_an_unknown_unit_style_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    log = write_sample_log(tmp_path / "calls.jsonl")
    code, out, err = run(capsys, "report", str(log), "--units", "imperial")
    assert code == 2 and out == "" and "--units" in err
