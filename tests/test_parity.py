"""Parity with the published EcoLogits 0.11.3 implementation, used as a test-only oracle.

Two levels: the pure methodology on a grid of explicit inputs, and every model the peer knows for our three
providers, resolved through our registry, against the peer's own registry path.
"""

from __future__ import annotations

import itertools
import json
import logging
from pathlib import Path

import pytest
from ecologits.impacts.llm import compute_llm_impacts
from ecologits.tracers.utils import llm_impacts
from ecologits.utils.range_value import RangeValue

import genai_footprint as gf
from genai_footprint._impacts import ALL_KEYS, range_at

REL = 1e-9

PARAMS = [  # (active, total) in billions
    (1.0, 1.0),
    (7.0, 7.0),
    (405.0, 405.0),
    (13.0, 47.0),
    ((10.0, 35.0), (10.0, 35.0)),
    ((134.0, 400.0), 1340.0),
    (8.0, (100.0, 200.0)),
]
PUE = [1.2, (1.09, 1.14)]
WUE = [0.569, (0.13, 0.999)]
TOKENS = [0, 1, 17, 400, 4096]
LATENCY = [None, 0.05, 2.1, 60.0]
DEPLOYMENT = [(None, None), (79.0, 0.5), (None, 1.2), (120.0, None)]
MIXES = [
    {"gwp": 0.3844, "pe": 9.6884, "adpe": 9.855e-08, "wue": 3.1321},
    {"gwp": 0.03526, "pe": 4.73, "adpe": 7.771e-08, "wue": 6.0315},
]


def _peer_value(value: object) -> tuple[float, float]:
    if isinstance(value, RangeValue):
        return float(value.min), float(value.max)
    assert isinstance(value, (int, float))
    return float(value), float(value)


def _peer(impacts: object, key: str) -> tuple[float, float]:
    obj = impacts
    for part in key.split("."):
        obj = getattr(obj, part)
    return _peer_value(obj.value)  # type: ignore[attr-defined]


def _rv(value: float | tuple[float, float]) -> float | RangeValue:
    return RangeValue(min=value[0], max=value[1]) if isinstance(value, tuple) else value


def _assert_close(ours: tuple[float, float], theirs: tuple[float, float], where: str) -> None:
    for a, b, bound in ((ours[0], theirs[0], "min"), (ours[1], theirs[1], "max")):
        assert a == pytest.approx(b, rel=REL, abs=0.0), f"{where} {bound}: ours {a!r} != peer {b!r}"


GRID = list(itertools.product(PARAMS, PUE, WUE, TOKENS, LATENCY, DEPLOYMENT, range(len(MIXES))))


def test_grid_is_the_one_the_issue_asks_for() -> None:
    assert len(GRID) == 7 * 2 * 2 * 5 * 4 * 4 * 2
    assert any(isinstance(p[0], tuple) for p in PARAMS) and any(isinstance(p[1], tuple) for p in PARAMS)
    assert min(TOKENS) == 0 and max(TOKENS) == 4096


@pytest.mark.parametrize("chunk", range(8))
def test_methodology_matches_peer_on_grid(chunk: int) -> None:
    for (active, total), pue, wue, tokens, latency, (tps, ttft), mix_index in GRID[chunk::8]:
        mix = MIXES[mix_index]
        ours = gf.estimate(
            active_params=active,
            total_params=total,
            output_tokens=tokens,
            latency_s=latency,
            tps=tps,
            ttft=ttft,
            pue=pue,
            wue=wue,
            mix=mix,
        )
        theirs = compute_llm_impacts(
            model_active_parameter_count=_rv(active),
            model_total_parameter_count=_rv(total),
            output_token_count=tokens,
            request_latency=latency,
            tps=tps,
            ttft=ttft,
            datacenter_pue=_rv(pue),
            datacenter_wue=_rv(wue),
            if_electricity_mix_gwp=mix["gwp"],
            if_electricity_mix_pe=mix["pe"],
            if_electricity_mix_adpe=mix["adpe"],
            if_electricity_mix_wue=mix["wue"],
        )
        where = (
            f"active={active} total={total} pue={pue} wue={wue} tokens={tokens} latency={latency} tps={tps} ttft={ttft}"
        )
        for key in ALL_KEYS:
            _assert_close((range_at(ours, key).min, range_at(ours, key).max), _peer(theirs, key), f"{where}: {key}")


def _peer_models() -> list[tuple[str, str]]:
    import ecologits

    data = json.loads((Path(ecologits.__file__).parent / "data" / "models.json").read_text())
    names = [(m["provider"], m["name"]) for m in data["models"]]
    names += [(a["provider"], a["name"]) for a in data["aliases"]]
    return sorted({(p, n) for p, n in names if p in ("openai", "anthropic", "mistralai")})


PEER_MODELS = _peer_models()


def test_registry_covers_every_peer_model() -> None:
    assert len(PEER_MODELS) >= 140
    missing = [(p, n) for p, n in PEER_MODELS if gf.estimate(p, n, output_tokens=1).inputs is None]
    assert not missing


@pytest.mark.parametrize(("provider", "model"), PEER_MODELS)
def test_every_peer_model_matches_peer(provider: str, model: str) -> None:
    logging.getLogger("ecologits").setLevel(logging.ERROR)
    for tokens, latency in ((0, None), (250, None), (250, 1.5), (4096, 30.0)):
        ours = gf.estimate(provider, model, output_tokens=tokens, latency_s=latency)
        theirs = llm_impacts(provider, model, tokens, latency)
        assert ours.inputs is not None and ours.inputs.model_resolved is not None
        for key in ALL_KEYS:
            _assert_close((range_at(ours, key).min, range_at(ours, key).max), _peer(theirs, key), f"{model}: {key}")


def _peer_zones() -> list[str]:
    import ecologits

    data = json.loads((Path(ecologits.__file__).parent / "data" / "electricity_mixes.json").read_text())
    return sorted(z["name"] for z in data["electricity_mixes"])


def test_every_peer_zone_matches_peer() -> None:
    logging.getLogger("ecologits").setLevel(logging.ERROR)
    zones = _peer_zones()
    assert len(zones) == 215
    for zone in zones:
        ours = gf.estimate("mistralai", "mistral-small-2603", output_tokens=300, latency_s=4.0, zone=zone)
        theirs = llm_impacts("mistralai", "mistral-small-2603", 300, 4.0, electricity_mix_zone=zone)
        for key in ALL_KEYS:
            _assert_close((range_at(ours, key).min, range_at(ours, key).max), _peer(theirs, key), f"{zone}: {key}")
