"""The ``genai-footprint`` command line: same numbers as ``estimate()``, readable output, one-line errors."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

import genai_footprint as gf
from genai_footprint._cli import main
from genai_footprint._criteria import BY_NAME, display_unit, format_quantity
from genai_footprint._registry import get_registry

SCRIPT = Path(sys.executable).parent / ("genai-footprint.exe" if sys.platform == "win32" else "genai-footprint")

ROWS = (  # (Impacts field, row label, unit) as the table shows them
    ("energy", "Energy", "kWh"),
    ("gwp", "GHG emissions", "kgCO2eq"),
    ("pe", "Primary energy", "MJ"),
    ("adpe", "Abiotic resources", "kgSbeq"),
    ("wcf", "Water", "L"),
)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def table_row(out: str, label: str) -> list[str]:
    """The cells of the table row starting with ``label`` (cells are separated by 2+ spaces)."""
    rows = [line for line in out.splitlines() if line.startswith(label + "  ")]
    assert len(rows) == 1, f"expected one row for {label!r} in:\n{out}"
    return re.split(r"\s{2,}", rows[0].strip())


def _mid(field: str, r: gf.Range) -> str:
    """The midpoint as the estimate table shows it: in the unit of its range."""
    unit, _ = display_unit(BY_NAME[field], "si", r.max)
    return format_quantity(field, r.mid, r.mid, unit)


def assert_one_line_error(code: int, out: str, err: str, *needles: str) -> None:
    assert code == 2
    assert out == ""
    assert "Traceback" not in err
    assert err.endswith("\n") and err.count("\n") == 1, err
    lines = err.splitlines()
    assert lines[0].startswith("genai-footprint: error: "), err
    for needle in needles:
        assert needle in lines[0], f"{needle!r} not in {lines[0]!r}"


# -- estimate ------------------------------------------------------------------------------------------


def test_estimate_table_shows_the_library_numbers(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(
        capsys, "estimate", "--provider", "openai", "--model", "gpt-4o", "--output-tokens", "500", "--latency", "3.2"
    )
    assert code == 0, err
    assert err == ""
    expected = gf.estimate("openai", "gpt-4o", output_tokens=500, latency_s=3.2)
    for field, label, _ in ROWS:
        r = getattr(expected, field)
        assert r.min < r.max  # gpt-4o has a parameter range, so every criterion is a true range
        assert table_row(out, label) == [label, f"{r:si}", _mid(field, r)]

    usage = next(line for line in out.splitlines() if line.startswith("Usage"))
    embodied = next(line for line in out.splitlines() if line.startswith("Embodied"))
    assert f"GHG {format_quantity('gwp', expected.usage.gwp.mid, expected.usage.gwp.mid)}" in usage
    assert f"primary energy {format_quantity('pe', expected.usage.pe.mid, expected.usage.pe.mid)}" in usage
    assert f"GHG {format_quantity('gwp', expected.embodied.gwp.mid, expected.embodied.gwp.mid)}" in embodied

    registry = get_registry()
    assert "gpt-4o → gpt-4o (openai)" in out
    assert re.search(r"^Zone:\s+USA$", out, re.M)
    assert re.search(r"^Output tokens:\s+500$", out, re.M)
    assert re.search(r"^Latency:\s+3.2 s$", out, re.M)
    assert re.search(rf"^Methodology:\s+{re.escape(expected.methodology_version)}$", out, re.M)
    assert re.search(rf"^Registry:\s+{re.escape(registry.version)}$", out, re.M)
    for warning in expected.warnings:  # wrapped to 100 columns
        assert f"- {warning.code}: {warning.message}" in " ".join(out.split())


def test_estimate_alias_resolution_and_world_fallback_warning(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        capsys,
        "estimate",
        "--provider",
        "openai",
        "--model",
        "gpt-4o-2024-08-06-latest",
        "--output-tokens",
        "10",
        "--zone",
        "abw",
    )
    expected = gf.estimate("openai", "gpt-4o-2024-08-06-latest", output_tokens=10, zone="abw")
    assert code == 0
    assert expected.inputs is not None
    assert f"gpt-4o-2024-08-06-latest → {expected.inputs.model_resolved} (openai)" in out
    assert re.search(r"^Zone:\s+ABW$", out, re.M)
    assert "electricity-mix-world" in out
    assert table_row(out, "Water")[1:] == [f"{expected.wcf}", _mid("wcf", expected.wcf)]


def test_estimate_json_round_trips(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["estimate", "--provider", "anthropic", "--model", "claude-haiku-4-5", "--output-tokens", "321"]
    code, out, _ = run(capsys, *argv, "--zone", "FRA", "--latency", "1.5", "--json")
    assert code == 0
    parsed = gf.Impacts.model_validate_json(out)
    expected = gf.estimate("anthropic", "claude-haiku-4-5", output_tokens=321, zone="FRA", latency_s=1.5)
    assert parsed == expected
    assert out.strip() == expected.model_dump_json(indent=2)


@pytest.mark.parametrize("active", ["10:35", "10-35", " 10 : 35 "])
def test_ranges_parse(capsys: pytest.CaptureFixture[str], active: str) -> None:
    code, out, err = run(
        capsys,
        "estimate",
        "--active-params",
        active,
        "--total-params",
        "47",
        "--output-tokens",
        "200",
        "--pue",
        "1.1:1.3",
        "--wue",
        "0.2-0.4",
        "--zone",
        "FRA",
        "--json",
    )
    assert code == 0, err
    impacts = gf.Impacts.model_validate_json(out)
    assert impacts.inputs is not None
    assert (impacts.inputs.active_params.min, impacts.inputs.active_params.max) == (10.0, 35.0)
    assert (impacts.inputs.total_params.min, impacts.inputs.total_params.max) == (47.0, 47.0)
    assert (impacts.inputs.pue.min, impacts.inputs.pue.max) == (1.1, 1.3)
    assert (impacts.inputs.wue.min, impacts.inputs.wue.max) == (0.2, 0.4)
    expected = gf.estimate(
        active_params=(10, 35), total_params=47, output_tokens=200, pue=(1.1, 1.3), wue=(0.2, 0.4), zone="FRA"
    )
    assert impacts == expected


def test_scientific_notation_range_and_custom_mix(capsys: pytest.CaptureFixture[str]) -> None:
    mix = {"gwp": 0.1, "pe": 2.0, "adpe": 1e-8, "wue": 3.0}
    code, out, err = run(
        capsys,
        "estimate",
        "--active-params",
        "5e-1-2e0",
        "--total-params",
        "2",
        "--output-tokens",
        "100",
        "--pue",
        "1.2",
        "--wue",
        "0.5",
        "--mix",
        "gwp=0.1, pe=2, adpe=1e-8, wue=3",
        "--tps",
        "80",
        "--ttft",
        "0.4",
    )
    assert code == 0, err
    expected = gf.estimate(
        active_params=(0.5, 2.0), total_params=2, output_tokens=100, pue=1.2, wue=0.5, mix=mix, tps=80, ttft=0.4
    )
    assert table_row(out, "GHG emissions")[2] == _mid("gwp", expected.gwp)
    assert "custom mix (gwp 0.1, pe 2, adpe 1e-08, wue 3 per kWh)" in out
    assert re.search(r"^Model:\s+none given$", out, re.M)


# -- errors --------------------------------------------------------------------------------------------


def test_unknown_model_names_close_matches(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "estimate", "--provider", "openai", "--model", "gpt-4x", "--output-tokens", "5")
    suggestions = get_registry().suggestions("openai", "gpt-4x")
    assert suggestions  # the registry does have close names for this typo
    assert_one_line_error(code, out, err, "--model", "'gpt-4x'", *suggestions)


@pytest.mark.parametrize(
    ("argv", "needles"),
    [
        (["--output-tokens", "-5"], ["--output-tokens", "-5"]),
        (["--output-tokens", "5.5"], ["--output-tokens", "whole number", "'5.5'"]),
        (["--output-tokens", "many"], ["--output-tokens", "'many'"]),
        (["--output-tokens", "5", "--units", "imperial"], ["--units", "'imperial'", "si", "base"]),
        (["--output-tokens", "5", "--pue", "1.3:1.1"], ["--pue", "inverted range", "1.3", "1.1"]),
        (["--output-tokens", "5", "--zone", "XYZ"], ["--zone", "'XYZ'"]),
        (["--output-tokens", "5", "--latency", "soon"], ["--latency", "'soon'"]),
        (["--output-tokens", "5", "--latency", "-1"], ["--latency: must be >= 0"]),
        (["--output-tokens", "5", "--active-params", "0:20"], ["--active-params (min): must be > 0"]),
        (["--output-tokens", "5", "--active-params", "10..35"], ["--active-params", "'10..35'"]),
        (["--output-tokens", "5", "--mix", "gwp=1,pe=2"], ["--mix", "adpe", "wue"]),
        (["--output-tokens", "5", "--mix", "gwp=1,pe=2,adpe=-1,wue=3"], ["--mix adpe", ">= 0"]),
        (["--output-tokens", "5", "--mix", "gwp"], ["--mix", "gwp=.."]),
        (["--output-tokens", "5", "--provider", "nope"], ["--provider", "'nope'", "openai"]),
    ],
)
def test_bad_inputs_give_one_line_naming_the_option(
    capsys: pytest.CaptureFixture[str], argv: list[str], needles: list[str]
) -> None:
    code, out, err = run(capsys, "estimate", "--provider", "openai", "--model", "gpt-4o-mini", *argv)
    assert_one_line_error(code, out, err, *needles)


def test_missing_output_tokens(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "estimate", "--model", "gpt-4o")
    assert_one_line_error(code, out, err, "--output-tokens", "required")


def test_no_model_and_no_params(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "estimate", "--output-tokens", "5")
    assert_one_line_error(code, out, err, "--active-params", "--total-params")


def test_no_command_and_unknown_command(capsys: pytest.CaptureFixture[str]) -> None:
    assert_one_line_error(*run(capsys), "estimate", "models", "zones")
    assert_one_line_error(*run(capsys, "frobnicate"), "'frobnicate'")


def test_help_and_version_exit_zero(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "--version")
    assert code == 0
    assert out.strip() == f"genai-footprint {gf.__version__}"
    code, out, _ = run(capsys, "estimate", "--help")
    assert code == 0
    assert "--output-tokens" in out and "MIN:MAX" in out


# -- models and zones ----------------------------------------------------------------------------------


def test_models_search(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "models", "GPT-4O")
    assert code == 0
    names = [re.split(r"\s{2,}", line)[1] for line in out.splitlines() if line.startswith("openai ")]
    assert "gpt-4o" in names and "gpt-4o-mini" in names
    assert all("gpt-4o" in name for name in names)
    row = get_registry().resolve("openai", "gpt-4o-mini")
    assert row is not None
    cells = table_row(out, "openai    gpt-4o-mini")
    assert cells == ["openai", "gpt-4o-mini", "dense", "8–28", "8–28", f"{row.tps:g}"]


def test_models_provider_filter_and_json(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "models", "--provider", "azure", "--json")  # an alias of openai
    assert code == 0
    data = json.loads(out)
    assert data["registry_version"] == get_registry().version
    assert data["models"] and {m["provider"] for m in data["models"]} == {"openai"}
    assert len(data["models"]) == len(get_registry().models("openai"))
    code, out, _ = run(capsys, "models", "claude", "--provider", "anthropic")
    assert code == 0 and "claude" in out
    code, out, err = run(capsys, "models", "--provider", "nope")
    assert_one_line_error(code, out, err, "--provider", "'nope'")


def test_zones_fra(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "zones", "FRA")
    assert code == 0
    registry = get_registry()
    fra = registry.mixes["FRA"]
    cells = ["FRA", "France", f"{fra.gwp:.3g}", f"{fra.pe:.3g}", f"{fra.adpe:.3g}", f"{fra.wue:.3g}", "-"]
    assert table_row(out, "FRA") == cells
    sources = " ".join(out.partition("\nSources")[2].split())  # wrapped to 100 columns
    for factor, source in registry.mix_sources.items():
        assert f"{factor}: {' '.join(source.split())}" in sources


def test_zones_fallback_and_json(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "zones", "abw")
    assert code == 0
    assert table_row(out, "ABW")[-1] == ", ".join(get_registry().mixes["ABW"].world_fallback)
    code, out, _ = run(capsys, "zones", "--json")
    data = json.loads(out)
    assert len(data["zones"]) == len(get_registry().mixes)
    assert {"gwp", "pe", "adpe", "wue"} <= set(data["sources"])


def test_zones_search_country_names(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "zones", "france")
    assert code == 0, err
    assert table_row(out, "FRA")[:2] == ["FRA", "France"]
    code, out, _ = run(capsys, "zones", "kingdom", "--json")
    assert code == 0
    zones = {z["zone"]: z["name"] for z in json.loads(out)["zones"]}
    assert zones["GBR"] == "United Kingdom"
    assert all("kingdom" in name.lower() for name in zones.values())


@pytest.mark.parametrize("command", ["models", "zones"])
def test_a_search_without_match_exits_1_with_a_message(capsys: pytest.CaptureFixture[str], command: str) -> None:
    code, out, err = run(capsys, command, "xyzzy")
    assert code == 1
    assert out == ""
    assert err.count("\n") == 1 and "'xyzzy'" in err and f"genai-footprint {command}" in err
    code, out, _ = run(capsys, command, "xyzzy", "--json")
    assert code == 1
    assert json.loads(out)[command] == []


@pytest.mark.parametrize(
    "argv",
    [
        ["models"],
        ["zones"],
        ["estimate", "--provider", "openai", "--model", "gpt-4o", "--output-tokens", "500", "--equivalents"],
        ["estimate", "--provider", "openai", "--model", "gpt-4o", "--output-tokens", "500", "--units", "base"],
    ],
)
def test_text_output_fits_100_columns(capsys: pytest.CaptureFixture[str], argv: list[str]) -> None:
    code, out, err = run(capsys, *argv)
    assert code == 0, err
    shown = out.partition("\nSources")[0]  # sources keep their web addresses whole
    assert max(len(line) for line in shown.splitlines()) <= 100


def test_estimate_units_base_shows_base_units_in_scientific_notation(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["estimate", "--provider", "openai", "--model", "gpt-4o", "--output-tokens", "500", "--units", "base"]
    code, out, err = run(capsys, *argv)
    assert code == 0, err
    expected = gf.estimate("openai", "gpt-4o", output_tokens=500)
    for field, label, unit in ROWS:
        r = getattr(expected, field)
        assert table_row(out, label)[1:] == [f"{r.min:.2e} – {r.max:.2e} {unit}", f"{r.mid:.2e} {unit}"]
    usage = next(line for line in out.splitlines() if line.startswith("Usage"))
    assert f"primary energy {expected.usage.pe.mid:.2e} MJ" in usage


def test_estimate_equivalents_name_their_sources(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["estimate", "--provider", "openai", "--model", "gpt-4o", "--output-tokens", "500", "--equivalents"]
    code, out, err = run(capsys, *argv)
    assert code == 0, err
    expected = gf.estimate("openai", "gpt-4o", output_tokens=500).equivalents()
    assert len(expected) >= 4
    for n, item in enumerate(expected, start=1):
        assert f"  {item} [{n}]" in out
        assert f"  [{n}] " + item.source.split()[0] in out
    assert "epa.gov" in out and "smartphone" in out
    code, out, _ = run(capsys, *argv, "--json")
    shown = json.loads(out)
    assert gf.Impacts.model_validate(shown["impacts"]) == gf.estimate("openai", "gpt-4o", output_tokens=500)
    assert [e["name"] for e in shown["equivalents"]] == [e.name for e in expected]
    assert shown["equivalents"][0]["min"] == expected[0].min and shown["equivalents"][0]["source"]


# -- the installed console script ----------------------------------------------------------------------


def estimate_with_the_console_script(*args: str) -> subprocess.CompletedProcess[str]:
    """``genai-footprint estimate --provider openai --model gpt-4o-mini`` and ``args``, as installed."""
    command = [str(SCRIPT), "estimate", "--provider", "openai", "--model", "gpt-4o-mini", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)


def test_console_script() -> None:
    assert SCRIPT.exists(), f"{SCRIPT} missing: pip install -e . to create the console script"
    ok = estimate_with_the_console_script("--output-tokens", "150", "--zone", "FRA")
    assert ok.returncode == 0, ok.stderr
    expected = gf.estimate("openai", "gpt-4o-mini", output_tokens=150, zone="FRA")
    assert table_row(ok.stdout, "Energy")[1:] == [f"{expected.energy}", _mid("energy", expected.energy)]

    bad = estimate_with_the_console_script("--output-tokens", "5", "--pue", "1.3:1.1")
    assert_one_line_error(bad.returncode, bad.stdout, bad.stderr, "--pue", "inverted range")


def test_import_is_light() -> None:
    code = (
        "import sys, genai_footprint._cli;"
        "print(sorted(m for m in ('pydantic', 'genai_footprint._registry') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert done.stdout.strip() == "[]"
