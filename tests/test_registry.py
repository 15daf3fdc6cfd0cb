"""The registry data files and their loader: data invariants, name resolution, run-time registration, bad files.

The data tests read the JSON files directly (not through the loader) so a loader that stops checking something
cannot hide a bad row; the loader tests build ``Registry`` on broken copies written to ``tmp_path``.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import genai_footprint as gf
import genai_footprint._registry as registry_module
from genai_footprint._impacts import ALL_KEYS, range_at
from genai_footprint._registry import Registry, data_dir
from genai_footprint._settings import ModelSettings

DATA = data_dir()
FILES = ("models.json", "providers.json", "electricity_mixes.json")
FACTORS = ("gwp", "pe", "adpe", "wue")


def _load(name: str) -> dict[str, Any]:
    return json.loads((DATA / name).read_text(encoding="utf-8"))


MODELS = _load("models.json")
PROVIDERS = _load("providers.json")
MIXES = _load("electricity_mixes.json")
ROWS = MODELS["models"]
ROW_IDS = [f"{r['provider']}/{r['name']}" for r in ROWS]
ZONES = {z["zone"]: z for z in MIXES["zones"]}


def _bounds(value: float | dict[str, float]) -> tuple[float, float]:
    if isinstance(value, dict):
        return value["min"], value["max"]
    return value, value


def _figures(row: dict[str, Any]) -> list[tuple[str, float | dict[str, float]]]:
    keys = ("total_params_b", "active_params_b", "pue", "wue")
    return [(k, row[k]) for k in keys if row.get(k) is not None]


# -- the data files ------------------------------------------------------------------------------------


def test_the_three_files_agree_on_version_and_schema() -> None:
    assert MODELS["registry_version"] == PROVIDERS["registry_version"] == MIXES["registry_version"]
    assert MODELS["schema_version"] == PROVIDERS["schema_version"] == MIXES["schema_version"] == 1
    assert gf.estimate("openai", "gpt-4o", output_tokens=1).inputs.registry_version == MODELS["registry_version"]


def test_models_file_is_sorted_by_provider_then_name() -> None:
    keys = [(r["provider"], r["name"]) for r in ROWS]
    assert keys == sorted(keys)


@pytest.mark.parametrize("row", ROWS, ids=ROW_IDS)
def test_model_row_invariants(row: dict[str, Any]) -> None:
    assert row["provider"] in {p["provider"] for p in PROVIDERS["providers"]}
    assert row["sources"], "every row names its sources"
    assert all(isinstance(s, str) and s.strip() for s in row["sources"])
    for source in row["sources"]:
        if "EcoLogits" in source:
            assert re.fullmatch(r"EcoLogits \d+\.\d+\.\d+ registry estimate", source), source
    for key, value in _figures(row):
        lo, hi = _bounds(value)
        assert 0 <= lo <= hi, f"{key}: range out of order {value}"
    active, total = _bounds(row["active_params_b"]), _bounds(row["total_params_b"])
    assert active[0] > 0
    assert active[0] <= total[0] and active[1] <= total[1], "active parameters exceed total parameters"
    if row["architecture"] == "dense":
        assert row["active_params_b"] == row["total_params_b"]
    else:
        assert row["architecture"] == "moe"
        assert active[1] < total[0], "a mixture of experts activates a part of its parameters"
    if row.get("tps") is not None or row.get("ttft_s") is not None:
        assert row.get("deployment_sources"), "tps/ttft_s need deployment_sources"
    assert set(row["warnings"]) <= set(registry_module.WARNING_MESSAGES)
    if row.get("zone") is not None:
        assert row["zone"] in ZONES


def test_names_and_aliases_are_unique_per_provider() -> None:
    seen: dict[tuple[str, str], str] = {}
    for row in ROWS:
        for name in (row["name"], *row["aliases"]):
            key = (row["provider"], name.lower())
            assert key not in seen, f"{name!r} is both in {seen[key]!r} and {row['name']!r}"
            seen[key] = row["name"]


@pytest.mark.parametrize("row", ROWS, ids=ROW_IDS)
def test_every_name_and_alias_resolves_to_its_row(row: dict[str, Any]) -> None:
    reg = Registry(DATA)
    for name in (row["name"], *row["aliases"]):
        for spelling in (name, name.upper(), f" {name} "):
            found = reg.resolve(row["provider"], spelling)
            assert found is not None and found.name == row["name"], spelling
        assert gf.estimate(row["provider"], name, output_tokens=1).inputs.model_resolved == row["name"]


ANTHROPIC_DATED = [r["name"] for r in ROWS if r["provider"] == "anthropic" and re.search(r"-\d{8}$", r["name"])]


@pytest.mark.parametrize("name", ANTHROPIC_DATED)
def test_every_dated_anthropic_model_resolves_from_bedrock_and_vertex_ids(name: str) -> None:
    reg = Registry(DATA)
    base, date = name.rsplit("-", 1)
    for cloud_id in (f"anthropic.{name}-v1:0", f"us.anthropic.{name}-v2:0", f"eu.anthropic.{name}", f"{base}@{date}"):
        found = reg.resolve("anthropic", cloud_id)
        assert found is not None and found.name == name, cloud_id


def test_providers_have_sources_and_known_zones() -> None:
    for prov in PROVIDERS["providers"]:
        assert prov["sources"], prov["provider"]
        assert prov["zone"] in ZONES, prov["provider"]
        for key in ("pue", "wue"):
            lo, hi = _bounds(prov[key])
            assert 0 <= lo <= hi, (prov["provider"], key)
        assert _bounds(prov["pue"])[0] >= 1.0, "a PUE below 1 is impossible"


CLOUDS = PROVIDERS["regions"]["clouds"]
# Every commercial region of each cloud when these tables were written (the providers' region pages): a region
# missing here would silently fall back to the provider's default zone.
AWS_REGIONS = (
    "us-east-1 us-east-2 us-west-1 us-west-2 af-south-1 ap-east-1 ap-east-2 ap-south-1 ap-south-2 ap-northeast-1 "
    "ap-northeast-2 ap-northeast-3 ap-southeast-1 ap-southeast-2 ap-southeast-3 ap-southeast-4 ap-southeast-5 "
    "ap-southeast-6 ap-southeast-7 ca-central-1 ca-west-1 eu-central-1 eu-central-2 eu-west-1 eu-west-2 eu-west-3 "
    "eu-south-1 eu-south-2 eu-north-1 il-central-1 me-south-1 me-central-1 mx-central-1 sa-east-1"
).split()
GCP_REGIONS = (
    "africa-south1 asia-east1 asia-east2 asia-northeast1 asia-northeast2 asia-northeast3 asia-south1 asia-south2 "
    "asia-southeast1 asia-southeast2 asia-southeast3 australia-southeast1 australia-southeast2 europe-central2 "
    "europe-north1 europe-north2 europe-southwest1 europe-west1 europe-west2 europe-west3 europe-west4 europe-west6 "
    "europe-west8 europe-west9 europe-west10 europe-west12 me-central1 me-central2 me-west1 northamerica-northeast1 "
    "northamerica-northeast2 northamerica-south1 southamerica-east1 southamerica-west1 us-central1 us-east1 us-east4 "
    "us-east5 us-south1 us-west1 us-west2 us-west3 us-west4"
).split()
REGION_ROWS = [(cloud, name, row) for cloud, table in CLOUDS.items() for name, row in table.items()]


@pytest.mark.parametrize(("cloud", "name", "row"), REGION_ROWS, ids=[f"{c}/{n}" for c, n, _ in REGION_ROWS])
def test_every_region_row_has_a_source_and_a_known_zone(cloud: str, name: str, row: dict[str, Any]) -> None:
    assert set(row) == {"zone", "location", "source"}
    assert re.fullmatch(r"https://[^\s]+", row["source"]), "a region's source is the public page naming its place"
    assert row["location"].strip()
    assert row["zone"] is None or row["zone"] in ZONES, f"unknown zone {row['zone']!r}"
    assert name == name.strip().lower(), "region names are written in lower case"


def test_region_tables_cover_every_current_region() -> None:
    assert set(AWS_REGIONS) <= set(CLOUDS["aws"]), set(AWS_REGIONS) - set(CLOUDS["aws"])
    assert set(GCP_REGIONS) <= set(CLOUDS["gcp"]), set(GCP_REGIONS) - set(CLOUDS["gcp"])
    assert len(CLOUDS["azure"]) >= 50


@pytest.mark.parametrize(
    ("cloud", "name", "zone"),
    [
        ("aws", "us", "USA"),  # Bedrock profiles us.* stay in the United States
        ("aws", "eu", None),  # eu.*, apac.*, global.*: several countries, no hint
        ("aws", "apac", None),
        ("aws", "global", None),
        ("gcp", "us", "USA"),  # Vertex multi-regions
        ("gcp", "eu", None),
        ("gcp", "global", None),
    ],
)
def test_multi_country_names_give_a_zone_only_when_one_country(cloud: str, name: str, zone: str | None) -> None:
    assert CLOUDS[cloud][name]["zone"] == zone


def test_hosts_and_reported_tables() -> None:
    regions = PROVIDERS["regions"]
    assert regions["sources"]
    assert all(zone in ZONES for zone in regions["hosts"].values())
    providers = {p["provider"] for p in PROVIDERS["providers"]}
    for provider, cloud in regions["reported"].items():
        assert provider in providers and cloud in CLOUDS


def test_region_lookups(fresh_registry: Registry) -> None:
    assert fresh_registry.cloud_zone("aws", "eu-west-3") == "FRA"
    assert fresh_registry.cloud_zone("gcp", " Europe-West4 ") == "NLD"
    # Azure writes a region "Sweden Central" in headers and "swedencentral" in host names: the same row.
    assert fresh_registry.cloud_zone("azure", "Sweden Central") == "SWE"
    assert fresh_registry.cloud_zone("azure", "swedencentral") == "SWE"
    assert fresh_registry.cloud_zone("aws", "mars-north-1") is None
    assert fresh_registry.cloud_zone("gcp", "global") is None
    assert fresh_registry.cloud_zone("oracle", "us-ashburn-1") is None
    # OpenAI reports Azure's region names (x-ms-region): its table is Azure's, by display name.
    assert fresh_registry.region_zones["openai"]["east us 2"] == "USA"
    assert fresh_registry.region_zones["anthropic"] == {}


def test_world_zone_exists_and_every_mix_row_is_complete() -> None:
    assert "WOR" in ZONES
    assert ZONES["WOR"]["world_fallback"] == []
    assert set(MIXES["sources"]) == set(FACTORS)
    assert all(MIXES["sources"][f].strip() for f in FACTORS)
    assert len(ZONES) == len(MIXES["zones"]), "a zone appears twice"
    for zone, row in ZONES.items():
        assert re.fullmatch(r"[A-Z]{3}", zone)
        for factor in FACTORS:
            value = row.get(factor)
            assert isinstance(value, (int, float)) and value >= 0, (zone, factor)


def test_world_fallback_flags_match_the_world_values() -> None:
    world = ZONES["WOR"]
    for zone, row in ZONES.items():
        flagged = row.get("world_fallback", [])
        assert len(set(flagged)) == len(flagged) and set(flagged) <= set(FACTORS), zone
        for factor in flagged:
            assert row[factor] == world[factor], f"{zone}.{factor} is flagged as the world value but differs"


def test_world_fallback_turns_into_a_warning() -> None:
    flagged = next(z for z, r in ZONES.items() if r["world_fallback"])
    impacts = gf.estimate("openai", "gpt-4o", output_tokens=10, zone=flagged)
    assert "electricity-mix-world" in {w.code for w in impacts.warnings}
    clean = next(z for z, r in ZONES.items() if not r["world_fallback"] and z != "WOR")
    clean_warnings = gf.estimate("openai", "gpt-4o", output_tokens=10, zone=clean).warnings
    assert "electricity-mix-world" not in {w.code for w in clean_warnings}


def test_some_added_rows_carry_their_published_figures() -> None:
    reg = Registry(DATA)
    oss = reg.resolve("openai", "gpt-oss-120b")
    assert oss is not None and oss.architecture == "moe"
    assert (oss.total_range.min, oss.active_range.min) == (117, 5.1)
    assert any("gpt-oss_model_card" in s for s in oss.sources)
    nemo = reg.resolve("mistralai", "open-mistral-nemo-2407")
    assert nemo is not None and nemo.name == "open-mistral-nemo"
    mixtral = reg.resolve("mistralai", "open-mixtral-8x22b-2404")
    assert mixtral is not None and (mixtral.total_range.max, mixtral.active_range.max) == (140.6, 39.1)
    opus = reg.resolve("anthropic", "claude-opus-4-1")
    assert opus is not None and opus.name == "claude-opus-4-1-20250805"
    assert "model-arch-not-released" in opus.warnings


# -- name resolution -----------------------------------------------------------------------------------

RESOLVES = [
    ("openai", "gpt-4o-mini-2024-07-18", "gpt-4o-mini-2024-07-18"),
    ("openai", "gpt-4o-mini-2099-01-01", "gpt-4o-mini"),
    ("openai", "gpt-4o-mini-20990101", "gpt-4o-mini"),
    ("anthropic", "claude-haiku-4-5-20251001", "claude-haiku-4-5-20251001"),
    ("anthropic", "claude-haiku-4-5", "claude-haiku-4-5-20251001"),
    ("anthropic", "claude-opus-4-6-20990101", "claude-opus-4-6"),
    ("anthropic", "claude-3-5-haiku-latest", "claude-3-5-haiku-20241022"),
    ("anthropic", "claude-opus-4-6-latest", "claude-opus-4-6"),
    ("mistralai", "codestral-latest", "codestral-latest"),
    ("openai", "gpt-35-turbo", "gpt-3.5-turbo"),
    ("azure", "gpt-35-turbo-16k", "gpt-3.5-turbo-16k"),
    ("openai", "openai/gpt-4o", "gpt-4o"),
    ("openai", "OPENAI/GPT-4O", "gpt-4o"),
    ("mistralai", "openai/gpt-4o", "gpt-4o"),
    ("openai", "mistral/mistral-large-2411", "mistral-large-2411"),
    ("openai", "ft:gpt-4o-mini-2024-07-18:acme::abc123", "gpt-4o-mini-2024-07-18"),
    ("openai", "ft:gpt-4.1-2025-04-14:acme:support:xyz", "gpt-4.1-2025-04-14"),
    ("anthropic", "us.anthropic.claude-sonnet-4-5-20250929-v1:0", "claude-sonnet-4-5-20250929"),
    ("anthropic", "anthropic.claude-3-5-sonnet-20241022-v2:0", "claude-3-5-sonnet-20241022"),
    ("anthropic", "global.anthropic.claude-haiku-4-5-20251001-v1:0", "claude-haiku-4-5-20251001"),
    ("anthropic", "claude-sonnet-4-5@20250929", "claude-sonnet-4-5-20250929"),
    ("anthropic", "claude-3-5-sonnet-v2@20241022", "claude-3-5-sonnet-20241022"),
    ("anthropic", "claude-opus-4-6@20990101", "claude-opus-4-6"),
    (None, "claude-sonnet-4-0", "claude-sonnet-4-20250514"),
    (None, "gpt-oss-20b", "gpt-oss-20b"),
]


@pytest.mark.parametrize(("provider", "model", "expected"), RESOLVES)
def test_name_resolution(provider: str | None, model: str, expected: str) -> None:
    impacts = gf.estimate(provider, model, output_tokens=1)
    assert impacts.inputs is not None
    assert impacts.inputs.model_requested == model
    assert impacts.inputs.model_resolved == expected


def test_a_prefix_naming_another_provider_switches_provider() -> None:
    inputs = gf.estimate("anthropic", "openai/gpt-4o", output_tokens=1).inputs
    assert inputs.provider == "openai"
    assert inputs.zone == "USA"


UNRESOLVED = [
    ("openai", "gpt-4o-mega", "gpt-4o"),
    ("anthropic", "claude-opus", "claude-opus"),
    ("openai", "gpt-5-ultra", "gpt-5"),
    ("mistralai", "mistral-small-2409", "mistral-small"),
    ("mistralai", "mistral-large-2402", "mistral-large"),
    ("openai", "gpt-4-0314", "gpt-4"),
    ("anthropic", "claude-3-5-opus-20240101", "claude-3"),
    (None, "gpt-5-ultra", "gpt-5"),
]


@pytest.mark.parametrize(("provider", "model", "family"), UNRESOLVED)
def test_names_that_must_not_resolve(provider: str | None, model: str, family: str) -> None:
    reg = Registry(DATA)
    with pytest.raises(gf.UnknownModelError) as info:
        gf.estimate(provider, model, output_tokens=1)
    error = info.value
    assert isinstance(error, gf.InvalidInputError) and error.argument == "model"
    assert error.model == model
    assert model in str(error)
    assert error.suggestions, "the error suggests close registered names"
    assert set(error.suggestions) <= set(reg.names(provider))
    for name in error.suggestions:
        assert name in str(error)
    assert any(name.startswith(family) for name in error.suggestions), error.suggestions
    if provider is not None:
        assert reg.resolve(provider, model) is None


def test_unknown_provider_is_refused() -> None:
    with pytest.raises(gf.InvalidInputError) as info:
        gf.estimate("openia", "gpt-4o", output_tokens=1)
    assert info.value.argument == "provider"


# -- register_model ------------------------------------------------------------------------------------


def test_register_model_adds_a_model_used_by_estimate(fresh_registry: Registry) -> None:
    assert fresh_registry.resolve("openai", "acme-llama-70b") is None
    gf.register_model(
        "openai",
        "acme-llama-70b",
        active_params=70,
        zone="fra",
        pue=1.3,
        wue=(0.1, 0.2),
        aliases=["acme-llama"],
        sources=["our own deployment"],
    )
    impacts = gf.estimate("openai", "acme-llama-70b", output_tokens=200)
    inputs = impacts.inputs
    assert inputs.model_resolved == "acme-llama-70b"
    assert inputs.zone == "FRA"
    assert (inputs.active_params.min, inputs.active_params.max) == (70, 70)
    assert (inputs.total_params.min, inputs.total_params.max) == (70, 70)
    assert (inputs.pue.min, inputs.pue.max) == (1.3, 1.3)
    assert (inputs.wue.min, inputs.wue.max) == (0.1, 0.2)
    explicit = gf.estimate(active_params=70, total_params=70, output_tokens=200, zone="FRA", pue=1.3, wue=(0.1, 0.2))
    for key in ALL_KEYS:
        ours, theirs = range_at(impacts, key), range_at(explicit, key)
        assert (ours.min, ours.max) == pytest.approx((theirs.min, theirs.max), rel=1e-12), key
    assert gf.estimate("openai", "acme-llama", output_tokens=1).inputs.model_resolved == "acme-llama-70b"
    assert gf.estimate("openai", "acme-llama-70b-2099-01-01", output_tokens=1).inputs.model_resolved == "acme-llama-70b"
    assert gf.estimate(None, "acme-llama-70b", output_tokens=1).inputs.provider == "openai"
    row = fresh_registry.resolve("openai", "acme-llama-70b")
    assert row is not None and row.sources == ("our own deployment",)


def test_register_model_moe_with_deployment(fresh_registry: Registry) -> None:
    gf.register_model("mistral", "my-moe", active_params=(3, 4), total_params=30, tps=50.0, ttft=0.4)
    row = fresh_registry.resolve("mistralai", "my-moe")
    assert row is not None and row.architecture == "moe" and row.deployment_sources
    inputs = gf.estimate("mistralai", "my-moe", output_tokens=10).inputs
    assert (inputs.active_params.min, inputs.active_params.max, inputs.total_params.max) == (3, 4, 30)
    assert (inputs.tps, inputs.ttft_s, inputs.zone) == (50.0, 0.4, "SWE")


def test_register_model_overrides_an_existing_model(fresh_registry: Registry) -> None:
    before = gf.estimate("openai", "gpt-4o", output_tokens=100)
    assert before.inputs.active_params.max == 132
    gf.register_model("openai", "gpt-4o", active_params=10, zone="SWE")
    after = gf.estimate("openai", "gpt-4o", output_tokens=100)
    assert (after.inputs.active_params.max, after.inputs.zone) == (10, "SWE")
    assert range_at(after, "usage.energy").max < range_at(before, "usage.energy").max
    # the files are untouched: a registry built anew still has the published row
    row = Registry(data_dir()).resolve("openai", "gpt-4o")
    assert row is not None and row.active_range.max == 132


def test_the_fixture_restored_the_process_registry() -> None:
    inputs = gf.estimate("openai", "gpt-4o", output_tokens=1).inputs
    assert (inputs.active_params.max, inputs.zone) == (132, "USA")
    with pytest.raises(gf.UnknownModelError):
        gf.estimate("openai", "acme-llama-70b", output_tokens=1)


BAD_REGISTRATIONS: list[tuple[dict[str, Any], str]] = [
    ({"active_params": -1, "total_params": 10}, "active_params"),
    ({"active_params": 0, "total_params": 10}, "active_params"),
    ({"active_params": 1, "total_params": -10}, "total_params"),
    ({"active_params": (20, 10), "total_params": 30}, "active_params"),
    ({"active_params": 5, "total_params": (20, 10)}, "total_params"),
    ({"active_params": 5, "pue": (1.5, 1.1)}, "pue"),
    ({"active_params": 5, "wue": -0.1}, "wue"),
    ({"active_params": 5, "tps": -3}, "tps"),
    ({"active_params": 5, "ttft": float("nan")}, "ttft"),
    ({"active_params": 5, "zone": "XYZ"}, "zone"),
    ({"active_params": 5, "zone": "france"}, "zone"),
    ({"active_params": 5, "sources": []}, "sources"),
    ({"active_params": 5, "warnings": ["not-a-warning"]}, "warnings"),
    ({"active_params": 5, "total_params": 4}, "active_params"),
    ({"active_params": 5, "tps": 0}, "tps"),
    ({"active_params": 5, "pue": (1.1, 1.2, 1.3)}, "pue"),
    ({"active_params": 5, "aliases": "acme"}, "aliases"),
    ({"active_params": 5, "aliases": ["acme", " "]}, "aliases"),
]


@pytest.mark.parametrize(("kwargs", "argument"), BAD_REGISTRATIONS)
def test_register_model_rejects_bad_input(fresh_registry: Registry, kwargs: dict[str, Any], argument: str) -> None:
    with pytest.raises(gf.InvalidInputError) as info:
        gf.register_model("openai", "bad-model", **kwargs)
    assert info.value.argument == argument
    assert str(info.value).startswith(f"{argument}:")
    assert fresh_registry.resolve("openai", "bad-model") is None


def test_register_model_unknown_zone_is_an_unknown_zone_error(fresh_registry: Registry) -> None:
    with pytest.raises(gf.UnknownZoneError) as info:
        gf.register_model("openai", "bad-model", active_params=5, zone="FRX")
    assert info.value.argument == "zone"
    assert "FRA" in str(info.value)


def test_register_model_changes_the_registry_revision(fresh_registry: Registry) -> None:
    # What is derived from the rows (e.g. estimate()'s prepared inputs) is good for one revision.
    assert fresh_registry.revision == 0
    gf.register_model("openai", "acme-llama-70b", active_params=70)
    assert fresh_registry.revision == 1
    with pytest.raises(gf.InvalidInputError):
        gf.register_model("openai", "acme-llama-70b", active_params=-70)
    assert fresh_registry.revision == 1


def test_check_model_normalises_what_register_model_is_given(fresh_registry: Registry) -> None:
    checked = registry_module.check_model(
        fresh_registry, " Mistral ", " my-moe ", active_params=[3, 4], total_params=30, zone="fra",
        tps=50, aliases=(" moe ",), source="register_model()",
    )  # fmt: skip
    assert checked == ModelSettings(
        provider="mistralai", name="my-moe", active_params=(3.0, 4.0), total_params=(30.0, 30.0), zone="FRA",
        tps=50.0, aliases=("moe",), source="register_model()",
    )  # fmt: skip


@pytest.mark.parametrize(("provider", "name", "argument"), [("openia", "x", "provider"), ("openai", "  ", "name")])
def test_register_model_rejects_unknown_provider_and_empty_name(
    fresh_registry: Registry, provider: str, name: str, argument: str
) -> None:
    with pytest.raises(gf.InvalidInputError) as info:
        gf.register_model(provider, name, active_params=5)
    assert info.value.argument == argument
    if argument == "provider":
        assert "openai" in str(info.value)


# -- broken registry files -----------------------------------------------------------------------------


def _broken(tmp_path: Path, name: str, edit: Callable[[dict[str, Any]], None]) -> Path:
    for file in FILES:
        doc = copy.deepcopy({"models.json": MODELS, "providers.json": PROVIDERS, "electricity_mixes.json": MIXES}[file])
        if file == name:
            edit(doc)
        (tmp_path / file).write_text(json.dumps(doc, indent=1), encoding="utf-8")
    return tmp_path


def _row(doc: dict[str, Any], name: str) -> dict[str, Any]:
    return next(r for r in doc["models"] if r["name"] == name)


def _index(name: str) -> int:
    return next(i for i, r in enumerate(ROWS) if r["name"] == name)


def test_an_unmodified_copy_loads(tmp_path: Path) -> None:
    reg = Registry(_broken(tmp_path, "models.json", lambda doc: None))
    assert reg.version == MODELS["registry_version"]
    assert len(reg.models()) == len(ROWS)


def _drop_sources(doc: dict[str, Any]) -> None:
    del _row(doc, "gpt-4o-mini")["sources"]


def _empty_sources(doc: dict[str, Any]) -> None:
    _row(doc, "gpt-4o-mini")["sources"] = []


def _invert_range(doc: dict[str, Any]) -> None:
    _row(doc, "gpt-4o-mini")["active_params_b"] = {"min": 28, "max": 8}


def _active_above_total(doc: dict[str, Any]) -> None:
    _row(doc, "gpt-4o")["active_params_b"] = 500


def _dense_mismatch(doc: dict[str, Any]) -> None:
    _row(doc, "gpt-4o-mini")["total_params_b"] = 30


def _tps_without_source(doc: dict[str, Any]) -> None:
    _row(doc, "codestral-latest")["tps"] = 50.0


def _unknown_warning(doc: dict[str, Any]) -> None:
    _row(doc, "gpt-4o-mini")["warnings"] = ["model-too-big"]


def _negative_params(doc: dict[str, Any]) -> None:
    row = _row(doc, "gpt-4o-mini")
    row["active_params_b"] = row["total_params_b"] = -8


@pytest.mark.parametrize(
    ("edit", "row_name", "words"),
    [
        (_drop_sources, "gpt-4o-mini", "sources"),
        (_empty_sources, "gpt-4o-mini", "sources"),
        (_invert_range, "gpt-4o-mini", "greater than max"),
        (_active_above_total, "gpt-4o", "exceed"),
        (_dense_mismatch, "gpt-4o-mini", "dense"),
        (_tps_without_source, "codestral-latest", "deployment_sources"),
        (_unknown_warning, "gpt-4o-mini", "model-too-big"),
        (_negative_params, "gpt-4o-mini", "active_params_b"),
    ],
)
def test_a_bad_model_row_names_file_and_row(
    tmp_path: Path, edit: Callable[[dict[str, Any]], None], row_name: str, words: str
) -> None:
    directory = _broken(tmp_path, "models.json", edit)
    with pytest.raises(gf.RegistryError) as info:
        Registry(directory)
    message = str(info.value)
    assert str(directory / "models.json") in message
    assert f"row {_index(row_name)} " in message
    assert repr(row_name) in message
    assert words in message


def test_a_duplicate_alias_names_file_and_name(tmp_path: Path) -> None:
    directory = _broken(tmp_path, "models.json", lambda doc: _row(doc, "gpt-4o-mini")["aliases"].append("GPT-4O"))
    with pytest.raises(gf.RegistryError) as info:
        Registry(directory)
    message = str(info.value)
    assert str(directory / "models.json") in message
    assert "'GPT-4O'" in message and "twice" in message


def test_an_alias_repeating_its_own_name_is_a_duplicate(tmp_path: Path) -> None:
    directory = _broken(tmp_path, "models.json", lambda doc: _row(doc, "gpt-oss-20b")["aliases"].append("gpt-oss-20b"))
    with pytest.raises(gf.RegistryError, match="gpt-oss-20b"):
        Registry(directory)


def test_a_model_of_an_unknown_provider_is_refused(tmp_path: Path) -> None:
    directory = _broken(tmp_path, "models.json", lambda doc: _row(doc, "gpt-4o-mini").update(provider="openai2"))
    with pytest.raises(gf.RegistryError) as info:
        Registry(directory)
    assert str(directory / "models.json") in str(info.value)
    assert "'gpt-4o-mini'" in str(info.value) and "openai2" in str(info.value)


def test_a_model_zone_override_must_exist(tmp_path: Path) -> None:
    directory = _broken(tmp_path, "models.json", lambda doc: _row(doc, "gpt-oss-20b").update(zone="ZZZ"))
    with pytest.raises(gf.RegistryError) as info:
        Registry(directory)
    assert str(directory / "models.json") in str(info.value)
    assert "'gpt-oss-20b'" in str(info.value) and "ZZZ" in str(info.value)


def _provider(doc: dict[str, Any], name: str) -> dict[str, Any]:
    return next(p for p in doc["providers"] if p["provider"] == name)


def test_an_unknown_provider_zone_names_file_and_provider(tmp_path: Path) -> None:
    directory = _broken(tmp_path, "providers.json", lambda doc: _provider(doc, "mistralai").update(zone="SWD"))
    with pytest.raises(gf.RegistryError) as info:
        Registry(directory)
    message = str(info.value)
    assert str(directory / "providers.json") in message
    assert "'mistralai'" in message and "SWD" in message


def test_a_provider_without_sources_names_file_and_provider(tmp_path: Path) -> None:
    directory = _broken(tmp_path, "providers.json", lambda doc: _provider(doc, "anthropic").update(sources=[]))
    with pytest.raises(gf.RegistryError) as info:
        Registry(directory)
    message = str(info.value)
    assert str(directory / "providers.json") in message
    assert "'anthropic'" in message and "sources" in message


def test_an_unknown_regions_zone_is_refused(tmp_path: Path) -> None:
    directory = _broken(tmp_path, "providers.json", lambda doc: doc["regions"]["hosts"].update({"mars.example": "MRS"}))
    with pytest.raises(gf.RegistryError) as info:
        Registry(directory)
    assert str(directory / "providers.json") in str(info.value) and "MRS" in str(info.value)


def test_an_unknown_cloud_region_zone_names_file_cloud_and_region(tmp_path: Path) -> None:
    directory = _broken(
        tmp_path, "providers.json", lambda doc: doc["regions"]["clouds"]["aws"]["eu-west-3"].update(zone="FRX")
    )
    with pytest.raises(gf.RegistryError) as info:
        Registry(directory)
    message = str(info.value)
    assert str(directory / "providers.json") in message
    assert "clouds.aws['eu-west-3']" in message and "FRX" in message


def test_a_region_row_without_source_names_file_and_row(tmp_path: Path) -> None:
    directory = _broken(
        tmp_path, "providers.json", lambda doc: doc["regions"]["clouds"]["gcp"]["us-east5"].pop("source")
    )
    with pytest.raises(gf.RegistryError) as info:
        Registry(directory)
    message = str(info.value)
    assert str(directory / "providers.json") in message
    assert "regions.clouds.gcp.us-east5.source" in message


def test_a_region_spelled_twice_is_refused(tmp_path: Path) -> None:
    def twice(doc: dict[str, Any]) -> None:
        azure = doc["regions"]["clouds"]["azure"]
        azure["eastus2"] = {**azure["east us 2"], "zone": "CAN"}

    with pytest.raises(gf.RegistryError, match=r"clouds\.azure\['eastus2'\]: the region appears twice"):
        Registry(_broken(tmp_path, "providers.json", twice))


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (lambda doc: doc["regions"]["reported"].update(acme="azure"), "unknown provider 'acme'"),
        (lambda doc: doc["regions"]["reported"].update(openai="oracle"), "reported.openai"),
        (lambda doc: doc["regions"]["clouds"].pop("azure"), "names cloud 'azure'"),
        (lambda doc: doc["regions"].update(openai={"east us": "USA"}), "regions.openai: Extra inputs"),
    ],
    ids=["unknown provider", "unknown cloud", "missing table", "old per-provider table"],
)
def test_bad_region_sections_are_refused(tmp_path: Path, edit: Callable[[dict[str, Any]], None], expected: str) -> None:
    with pytest.raises(gf.RegistryError) as info:
        Registry(_broken(tmp_path, "providers.json", edit))
    assert str(tmp_path / "providers.json") in str(info.value)
    assert expected in str(info.value)


def _mix(doc: dict[str, Any], zone: str) -> dict[str, Any]:
    return next(z for z in doc["zones"] if z["zone"] == zone)


def test_a_mix_row_missing_a_factor_names_file_and_zone(tmp_path: Path) -> None:
    directory = _broken(tmp_path, "electricity_mixes.json", lambda doc: _mix(doc, "FRA").pop("adpe"))
    with pytest.raises(gf.RegistryError) as info:
        Registry(directory)
    message = str(info.value)
    assert str(directory / "electricity_mixes.json") in message
    assert "'FRA'" in message and "adpe" in message


def test_a_missing_world_zone_is_refused(tmp_path: Path) -> None:
    def drop_world(doc: dict[str, Any]) -> None:
        doc["zones"] = [z for z in doc["zones"] if z["zone"] != "WOR"]

    with pytest.raises(gf.RegistryError, match="WOR"):
        Registry(_broken(tmp_path, "electricity_mixes.json", drop_world))


@pytest.mark.parametrize("file", FILES)
def test_mismatched_registry_versions_are_refused(tmp_path: Path, file: str) -> None:
    directory = _broken(tmp_path, file, lambda doc: doc.update(registry_version="1999.01.01"))
    with pytest.raises(gf.RegistryError) as info:
        Registry(directory)
    message = str(info.value)
    assert str(directory) in message
    assert "1999.01.01" in message and MODELS["registry_version"] in message


def test_an_unreadable_file_names_the_file(tmp_path: Path) -> None:
    directory = _broken(tmp_path, "models.json", lambda doc: None)
    (directory / "providers.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(gf.RegistryError) as info:
        Registry(directory)
    assert str(directory / "providers.json") in str(info.value)


@pytest.mark.parametrize("name", ["mistral-tiny", "mistral-tiny-latest", "mistral-tiny-2407"])
def test_mistral_tiny_legacy_alias_resolves(name: str) -> None:
    """``mistral-tiny`` (Mistral's legacy alias, seen in real recordings) resolves like ``mistral-tiny-latest``."""
    row = registry_module.get_registry().resolve("mistralai", name)
    assert row is not None and row.name == "mistral-tiny-2407"
    assert gf.estimate("mistralai", name, output_tokens=100, latency_s=1.0).inputs.model_resolved == row.name
