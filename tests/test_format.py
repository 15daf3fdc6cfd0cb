"""Impacts for people: ranges with SI prefixes, format specs and units, a short ``str()`` of an ``Impacts`` and of a
``Run``, everyday equivalents with their sources, and the CLI's tables and trees."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

import genai_footprint as gf
from genai_footprint._cli._text import table, tree_labels
from genai_footprint._criteria import CRITERIA, find_unit, format_quantity, split_spec
from genai_footprint._equivalents import Equivalent, parse_rows, plain
from genai_footprint._equivalents import table as equivalents_table
from genai_footprint._errors import RegistryError

ROOT = Path(__file__).resolve().parent.parent


def _estimate() -> gf.Impacts:
    return gf.estimate("openai", "gpt-4o-mini", output_tokens=400, input_tokens=1200, cached_input_tokens=200)


# -- Range --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("r", "spec", "shown"),
    [
        (gf.Range(1.2e-6, 3.4e-6, "kWh"), "", "1.2 – 3.4 mWh"),
        (gf.Range(2.88e-5, 2.88e-5, "kWh"), "", "28.8 mWh"),  # min == max prints once
        (gf.Range(1.2e-6, 3.4e-6, "kWh"), ".2f", "1.20 – 3.40 mWh"),  # precision on the SI-scaled numbers
        (gf.Range(1.2e-6, 3.4e-6, "kWh"), "Wh", "0.0012 – 0.0034 Wh"),
        (gf.Range(1.2e-6, 3.4e-6, "kWh"), "Wh:.5f", "0.00120 – 0.00340 Wh"),
        (gf.Range(1.2e-6, 3.4e-6, "kWh"), "kWh:.2f", "1.2e-06 – 3.4e-06 kWh"),  # never 0.00 – 0.00
        (gf.Range(1.2e-6, 3.4e-6, "kWh"), "base", "1.20e-06 – 3.40e-06 kWh"),
        (gf.Range(1.2e-6, 3.4e-6, "kWh"), ">20", "       1.2 – 3.4 mWh"),  # width and fill on the whole text
        (gf.Range(1.2e-6, 3.4e-6, "kWh"), "*<16.1f", "1.2 – 3.4 mWh***"),
        (gf.Range(0.00029, 0.00029, "MJ"), "", "290 J"),
        (gf.Range(2e-4, 4e-4, "L"), "", "200 – 400 µL"),
        (gf.Range(2e-4, 4e-4, "L"), "uL", "200 – 400 µL"),  # "u" for "µ"
        (gf.Range(1500.0, 2500.0, "kgCO2eq"), "", "1.5 – 2.5 tCO2eq"),
        (gf.Range(0.0, 0.0, "kWh"), "", "0 kWh"),
        (gf.Range(1.0, 2.0), "", "1 – 2"),  # no criterion's unit: the numbers as they are
        (gf.Range(8.0, 28.0, "B"), ".1f", "8.0 – 28.0 B"),
    ],
)
def test_format_specs(r: gf.Range, spec: str, shown: str) -> None:
    assert format(r, spec) == shown


def test_str_and_fstring_are_si_prefixed_and_never_round_to_zero() -> None:
    impacts = _estimate()
    assert (
        str(impacts.energy) == f"{impacts.energy}" == format_quantity("energy", impacts.energy.min, impacts.energy.max)
    )
    for name in ("energy", "gwp", "pe", "adpe", "wcf"):
        shown = f"{getattr(impacts, name):.2f}"
        assert "0.00" not in shown.split(maxsplit=1)[0], shown
        assert float(shown.split()[-2]) >= 1  # the upper bound shows as at least 1 in its unit


def test_to_converts_between_units_of_one_criterion() -> None:
    energy = gf.Range(1.2e-6, 3.4e-6, "kWh")
    in_wh = energy.to("Wh")
    assert in_wh.unit == "Wh"
    assert math.isclose(in_wh.min, 1.2e-3) and math.isclose(in_wh.max, 3.4e-3)
    assert str(in_wh) == "0.0012 – 0.0034 Wh"  # a converted range stays in its unit
    assert f"{in_wh:si}" == "1.2 – 3.4 mWh"
    back = in_wh.to("kWh")
    assert math.isclose(back.min, energy.min) and back.unit == "kWh"
    assert gf.Range(1.0, 2.0, "L").to("m3").unit == "m³"
    assert gf.Range(1.0, 2.0, "L").to("uL").unit == "µL"


@pytest.mark.parametrize("call", [lambda r: r.to("kwh"), lambda r: format(r, "kwh"), lambda r: r.to("L")])
def test_a_bad_unit_names_itself_and_the_allowed_ones(call: object) -> None:
    energy = gf.Range(1.2e-6, 3.4e-6, "kWh")
    with pytest.raises(ValueError, match=r"unknown unit '(kwh|L)' for energy: use one of MWh, kWh, Wh, mWh, µWh"):
        call(energy)  # type: ignore[operator]
    with pytest.raises(ValueError, match="'B' is no impact"):
        gf.Range(1.0, 2.0, "B").to("Wh")
    with pytest.raises(ValueError, match="invalid format spec"):
        format(energy, "Wh:abc")


def test_split_spec_and_find_unit() -> None:
    assert split_spec("Wh:>20.2f") == ("Wh", ".2f", ">20")
    assert split_spec(".3g") == ("", ".3g", "")
    assert split_spec("mL") == ("mL", "", "")
    for criterion in CRITERIA:
        for name, size in criterion.scales:
            assert find_unit(name) == (criterion, name, size)
    assert find_unit("furlongs") is None


# -- Impacts and Run ----------------------------------------------------------------------------------------


def test_str_of_impacts_is_a_short_summary_and_repr_stays_complete() -> None:
    impacts = _estimate()
    text = str(impacts)
    lines = text.splitlines()
    assert len(lines) <= 12 and max(len(line) for line in lines) <= 100
    assert lines[0] == f"Energy:            {impacts.energy}"
    assert f"Primary energy:    {impacts.pe}" in lines
    assert "Model:             gpt-4o-mini (openai)" in lines
    assert "Zone:              USA" in lines
    assert "Tokens:            400 output, 1,200 input (200 cached)" in lines
    assert f"Methodology:       {impacts.methodology_version}" in lines
    assert repr(impacts).startswith("Impacts(methodology_version=") and "usage=UsageImpacts(" in repr(impacts)
    assert f"{impacts}" == text

    total = sum([impacts, impacts])
    assert "Calls:             2" in str(total).splitlines()
    assert "Model:" not in str(total)


def test_str_of_a_run_is_short_and_by_model_values_read_well() -> None:
    with gf.track("outer"), gf.track("agent") as run:
        run.add("openai", "gpt-4o-mini", gf.estimate("openai", "gpt-4o-mini", output_tokens=400))
        run.add("openai", "gpt-4o", gf.estimate("openai", "gpt-4o", output_tokens=400))
        run.add("openai", "not-a-model", None)
    text = str(run)
    lines = text.splitlines()
    assert lines[0] == "Run outer › agent: 3 call(s), 1 without an estimate (model not in the registry)"
    assert any(line.strip() == f"Energy:            {run.impacts.energy}" for line in lines)  # type: ignore[union-attr]
    assert "    openai/gpt-4o (1 call(s)): " in text
    assert len(lines) <= 12 and max(len(line) for line in lines) <= 100
    for total in run.by_model.values():
        assert len(str(total).splitlines()) <= 10
    assert repr(run).startswith("Run('agent', calls=3, energy=")


# -- equivalents --------------------------------------------------------------------------------------------


def test_equivalents_are_typed_sourced_and_computed_from_their_criterion() -> None:
    impacts = _estimate()
    found = impacts.equivalents()
    assert [e.name for e in found] == ["smartphone_charges", "led_bulb_minutes", "car_km", "glasses_of_water"]
    for item in found:
        assert isinstance(item, Equivalent)
        r = getattr(impacts, item.criterion)
        assert math.isclose(item.min, r.min / item.per) and math.isclose(item.max, r.max / item.per)
        assert "http" in item.source
        assert str(item).endswith(item.label)
    rows = json.loads((ROOT / "registry" / "equivalents.json").read_text(encoding="utf-8"))["equivalents"]
    assert [r["name"] for r in rows] == [row.name for row in equivalents_table()]
    assert {row.criterion for row in equivalents_table()} <= {"energy", "gwp", "wcf"}


@pytest.mark.parametrize(
    ("document", "needle"),
    [
        ({}, "non-empty 'equivalents' list"),
        ({"equivalents": [{"name": "x"}]}, "equivalents[0]: expected exactly the keys"),
        ({"equivalents": [{"name": "x", "label": "x", "criterion": "heat", "per": 1, "source": "s"}]}, "'heat'"),
        ({"equivalents": [{"name": "x", "label": "x", "criterion": "gwp", "per": 0, "source": "s"}]}, "'per'"),
        ({"equivalents": [{"name": "x", "label": "x", "criterion": "gwp", "per": 1, "source": " "}]}, "source"),
    ],
)
def test_a_broken_equivalents_table_is_refused(document: object, needle: str) -> None:
    with pytest.raises(RegistryError, match=r"table\.json") as info:
        parse_rows(document, "table.json")
    assert needle in str(info.value)


def test_counts_read_without_exponents() -> None:
    assert [plain(x) for x in (4.39e-5, 0.156, 2.0, 12.34, 12345.6)] == ["0.0000439", "0.156", "2", "12.3", "12,300"]


# -- the CLI's tables and trees --------------------------------------------------------------------------------


def test_a_table_fits_its_width_dropping_then_wrapping() -> None:
    header = ["Name", "Count", "Notes", "Extra"]
    rows = [["alpha", "1", "a long note that goes on and on about nothing much at all", "x" * 30]]
    full = table(header, rows, right=(1,), width=200)
    assert len(full) == 3 and max(map(len, full)) > 60
    dropped = table(header, rows, right=(1,), width=80, drop=(3,))
    assert "Extra" not in dropped[0] and len(dropped) == 3
    wrapped = table(header, rows, right=(1,), width=40, drop=(3,))
    assert max(map(len, wrapped)) <= 40 and len(wrapped) > 3
    assert " ".join(" ".join(line.split()[2:]) for line in wrapped[2:]).startswith("a long note")


def test_tree_labels_follow_the_order_and_nesting() -> None:
    paths = [("a",), ("a", "b"), ("a", "b", "c"), ("a", "b", "d"), ("a", "e"), ("f",)]
    assert tree_labels(paths) == ["a", "├─ b", "│  ├─ c", "│  └─ d", "└─ e", "f"]
