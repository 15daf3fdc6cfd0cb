"""``genai-footprint-2026.12``: prefill, cached input and quantization on top of ``ecologits-0.11``; and the
validation table that sets both beside published figures."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

import genai_footprint as gf
from genai_footprint import _validation
from genai_footprint._cli._validate import MARKDOWN_END, MARKDOWN_START, markdown
from genai_footprint._criteria import NAMES
from genai_footprint._methodology import ecologits_0_11, genai_footprint_2026_12
from genai_footprint._registry import data_dir

V2 = "genai-footprint-2026.12"
DOCS = Path(__file__).resolve().parent.parent / "docs"
SELF_HOSTED = {"active_params": 70, "total_params": 70, "zone": "FRA", "pue": 1.2, "wue": 0.5}


def _energy(**kwargs: object) -> tuple[float, float]:
    impacts = gf.estimate(**{**SELF_HOSTED, "output_tokens": 300, **kwargs})  # type: ignore[arg-type]
    return impacts.energy.min, impacts.energy.max


def test_without_input_tokens_or_quantization_it_is_ecologits_0_11() -> None:
    old = gf.estimate(**SELF_HOSTED, output_tokens=300, latency_s=4.0)  # type: ignore[arg-type]
    for input_tokens in (None, 0, 500):
        new = gf.estimate(
            **SELF_HOSTED,  # type: ignore[arg-type]
            output_tokens=300,
            latency_s=4.0,
            input_tokens=input_tokens,
            methodology=V2,
        )
        for key in (*NAMES, "usage.energy", "embodied.gwp"):
            low, high = _validation_range(new, key)
            assert low == _validation_range(old, key)[0]  # 500 tokens: inside the low end's allowance
            assert (high == _validation_range(old, key)[1]) is (not input_tokens)  # the high end allows none
        assert new.methodology_version == V2 and old.methodology_version == "ecologits-0.11"


def _validation_range(impacts: gf.Impacts, key: str) -> tuple[float, float]:
    found = impacts
    for part in key.split("."):
        found = getattr(found, part)
    return found.min, found.max  # type: ignore[attr-defined]


def test_unknown_input_tokens_warn_under_the_new_version_only() -> None:
    new = gf.estimate(**SELF_HOSTED, output_tokens=300, methodology=V2)  # type: ignore[arg-type]
    old = gf.estimate(**SELF_HOSTED, output_tokens=300)  # type: ignore[arg-type]
    assert "input-tokens-unknown" in [w.code for w in new.warnings]
    assert "input-tokens-unknown" not in [w.code for w in old.warnings]


def test_prefill_grows_with_the_input_and_faster_than_linearly() -> None:
    e10k, e100k = (_energy(input_tokens=n, methodology=V2) for n in (10_000, 100_000))
    base = _energy(methodology=V2)
    extra_10k, extra_100k = e10k[1] - base[1], e100k[1] - base[1]
    assert 0 < extra_10k and extra_100k > 10 * extra_10k  # attention over the context grows quadratically
    assert e10k[0] <= e10k[1]


def test_cached_input_costs_less_than_uncached() -> None:
    uncached = _energy(input_tokens=50_000, methodology=V2)
    cached = _energy(input_tokens=50_000, cached_input_tokens=45_000, methodology=V2)
    none = _energy(input_tokens=0, methodology=V2)
    assert none[1] < cached[1] < uncached[1]
    assert none[0] <= cached[0] < uncached[0]


def test_prefill_energy_matches_its_formula() -> None:
    """The upper bound's prefill recomputed by hand from the documented constants (PUE 1, no server share)."""
    active, n, allowance = 70.0, 20_000, 0  # upper end: no allowance, lowest utilisation
    width = 128 * (active * 1e9 / (12 * 128**2)) ** (2 / 3)
    flops = 2 * active * 1e9 * n + 2 * width * n * n
    gpus = ecologits_0_11.gpu_count(active)
    seconds = (flops - allowance) / (gpus * 989.4e12 * 0.2)
    deployed = ecologits_0_11.deployment(active, active, None, None, 1.0, 0.0, (0.0, 0.0, 0.0, 0.0))
    it_kwh = seconds * (gpus * 700 / 3.6e6 + deployed.server_kwh_per_s * ecologits_0_11.BATCH_SIZE)
    got = gf.estimate(active_params=70, total_params=70, output_tokens=0, input_tokens=n, pue=1, wue=0, methodology=V2)
    assert math.isclose(got.energy.max, it_kwh, rel_tol=1e-12)


def test_quantization_sizes_the_deployment() -> None:
    moe = {"active_params": 37, "total_params": 671, "zone": "USA", "pue": 1.0, "wue": 0.0, "output_tokens": 800}
    at16 = gf.estimate(**moe, methodology=V2)  # type: ignore[arg-type]
    at8 = gf.estimate(**moe, quantization_bits=8, methodology=V2)  # type: ignore[arg-type]
    old = gf.estimate(**moe, quantization_bits=8)  # type: ignore[arg-type]  # 0.11 records it, sizes at 16
    assert ecologits_0_11.gpu_count(671) == 32 and ecologits_0_11.gpu_count(671, 8) == 16
    assert at8.energy.max < 0.6 * at16.energy.max
    assert old.energy == at16.energy and old.inputs is not None and old.inputs.quantization_bits == 8


def test_a_v2_estimate_reproduces_from_its_json() -> None:
    impacts = gf.estimate(
        "openai", "gpt-4o", output_tokens=250, input_tokens=30_000, cached_input_tokens=20_000, methodology=V2
    )
    assert impacts.inputs is not None
    again = gf.reproduce(json.loads(impacts.inputs.model_dump_json()), V2)
    assert again.energy == impacts.energy and again.embodied == impacts.embodied and again.wcf == impacts.wcf


@pytest.mark.parametrize(
    ("kwargs", "named"),
    [
        ({"input_tokens": 10, "cached_input_tokens": 20}, "cached_input_tokens"),
        ({"cached_input_tokens": 20}, "cached_input_tokens"),
        ({"input_tokens": 12.5}, "input_tokens"),
        ({"input_tokens": -1}, "input_tokens"),
        ({"quantization_bits": 0}, "quantization_bits"),
        ({"methodology": "genai-footprint-1999"}, "methodology"),
    ],
)
def test_bad_inputs_are_named(kwargs: dict[str, object], named: str) -> None:
    with pytest.raises(gf.InvalidInputError, match=named):
        gf.estimate(**SELF_HOSTED, output_tokens=10, **kwargs)  # type: ignore[arg-type]


def test_every_version_exposes_the_same_interface() -> None:
    for module in (ecologits_0_11, genai_footprint_2026_12):
        assert {"output_tokens", "latency_s"} <= set(module.REQUEST_INPUTS)
        assert callable(module.arguments) and callable(module.warnings) and callable(module.compute)
        assert module.CONSTANTS
    assert gf.methodology_versions() == ("ecologits-0.11", V2)


# -- validation -------------------------------------------------------------------------------------------------


def test_every_case_is_sourced_and_explains_its_scope() -> None:
    raw = json.loads((data_dir() / "validation.json").read_text(encoding="utf-8"))["cases"]
    cases = _validation.load_cases()
    assert len(cases) == len(raw) >= 10 and len({c.id for c in cases}) == len(cases)
    for case in cases:
        assert case.source and case.scope and case.inputs_note and case.figure.max > 0
    kinds = {c.id.split("-")[0] for c in cases}
    assert {"mlenergy", "epoch", "google", "openai", "mistral"} <= kinds
    assert any(c.long_input for c in cases) and any(c.quantized for c in cases)


def test_the_docs_table_is_what_the_code_computes_now() -> None:
    """docs/validation.md holds the output of ``genai-footprint validate --markdown``: a drifting number fails."""
    results = _validation.run_all()
    choice = _validation.default_choice(results)
    page = (DOCS / "validation.md").read_text(encoding="utf-8")
    start, end = page.index(MARKDOWN_START), page.index(MARKDOWN_END) + len(MARKDOWN_END)
    assert page[start:end] == markdown(results, choice.version, choice.reason), (
        "regenerate the table: genai-footprint validate --markdown"
    )


def test_the_default_follows_the_rule() -> None:
    results = _validation.run_all()
    choice = _validation.default_choice(results)
    from genai_footprint import _methodology

    assert _methodology.DEFAULT_VERSION == choice.version
    by_case = {row[0].case.id: {r.version: r for r in row} for row in results}
    # Where the new version must do better: quantized models and the 100k-token context.
    for case_id in ("mlenergy-gpt-oss-120b", "mlenergy-llama-3.1-405b-fp8", "epoch-gpt-4o-100k-in"):
        old, new = by_case[case_id]["ecologits-0.11"], by_case[case_id][V2]
        assert new.distance < old.distance
    assert (
        by_case["epoch-gpt-4o-100k-in"][V2].overlaps and not by_case["epoch-gpt-4o-100k-in"]["ecologits-0.11"].overlaps
    )


def test_validate_command_prints_every_case() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "genai_footprint._cli", "validate"],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    for case in _validation.load_cases():
        assert case.reference in done.stdout
    assert "Default version:" in done.stdout
    assert max(len(line) for line in done.stdout.splitlines()) <= 100


# -- choosing the version for instrumented calls ------------------------------------------------------------------


def _one_call() -> gf.Impacts:
    import httpx2
    import openai

    body = {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1765000000,
        "model": "gpt-4o-mini-2024-07-18",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "ok"}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 40_000, "completion_tokens": 20, "total_tokens": 40_020},
    }
    transport = httpx2.MockTransport(lambda request: httpx2.Response(200, json=body))
    client = openai.OpenAI(api_key="sk-test", http_client=httpx2.Client(transport=transport), max_retries=0)
    reply = client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])
    impacts: gf.Impacts = reply.impacts  # type: ignore[attr-defined]
    return impacts


@pytest.mark.parametrize("where", ["init", "env"])
def test_init_and_the_environment_choose_the_version(monkeypatch: pytest.MonkeyPatch, where: str) -> None:
    if where == "env":
        monkeypatch.setenv("GENAI_FOOTPRINT_METHODOLOGY", V2)
    try:
        gf.init(providers=["openai"], **({"methodology": V2} if where == "init" else {}))
        chosen = _one_call()
        gf.init(providers=["openai"], methodology="ecologits-0.11")
        default = _one_call()
    finally:
        gf.shutdown()
    assert chosen.methodology_version == V2 and default.methodology_version == "ecologits-0.11"
    assert chosen.inputs is not None and chosen.inputs.input_tokens == 40_000
    assert chosen.energy.max > default.energy.max  # 40k input tokens of prefill
    assert gf.reproduce(chosen.inputs, chosen.methodology_version).energy == chosen.energy


def test_an_unknown_version_is_a_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GENAI_FOOTPRINT_METHODOLOGY", "genai-footprint-1999")
    with pytest.raises(gf.ConfigError, match="GENAI_FOOTPRINT_METHODOLOGY"):
        gf.init(providers=["openai"])
    gf.shutdown()
