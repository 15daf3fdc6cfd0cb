"""LLM-inference impacts as published by EcoLogits 0.11 ("ecologits-0.11").

A pure function of explicit inputs: no registry, no I/O. Formulas and constants are those documented in
EcoLogits' methodology (facts, re-implemented here); ``docs/methodology.md`` lists them with sources.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypedDict, Unpack

from genai_footprint._impacts import ImpactWarning

VERSION = "ecologits-0.11"

BATCH_SIZE = 64
GPU_ENERGY_ALPHA = 1.1665273170451914e-06  # Wh / token / billion active parameters, before batch factor
GPU_ENERGY_BETA = -0.011205921025579175
GPU_ENERGY_GAMMA = 4.052928146734005e-05  # Wh / token
LATENCY_ALPHA = 0.0006785088094353663  # s / token / billion active parameters
LATENCY_BETA = 0.0003119310311688259  # s / token / request in the batch
LATENCY_GAMMA = 0.019473717579473387  # s / token
QUANTIZATION_BITS = 16
GPU_MEMORY_GB = 80.0
SERVER_GPUS = 8
SERVER_POWER_KW = 1.2  # server without its GPUs
GPU_EMBODIED = {"gwp": 273.0, "adpe": 0.00895, "pe": 3721.0}  # kgCO2eq, kgSbeq, MJ per GPU
SERVER_EMBODIED = {"gwp": 5700.0, "adpe": 0.37, "pe": 70000.0}  # per server, GPUs excluded
HARDWARE_LIFETIME_S = 3 * 365 * 24 * 60 * 60

CONSTANTS: dict[str, object] = {
    "batch_size": BATCH_SIZE,
    "gpu_energy_alpha": GPU_ENERGY_ALPHA,
    "gpu_energy_beta": GPU_ENERGY_BETA,
    "gpu_energy_gamma": GPU_ENERGY_GAMMA,
    "latency_alpha": LATENCY_ALPHA,
    "latency_beta": LATENCY_BETA,
    "latency_gamma": LATENCY_GAMMA,
    "quantization_bits": QUANTIZATION_BITS,
    "gpu_memory_gb": GPU_MEMORY_GB,
    "server_gpus": SERVER_GPUS,
    "server_power_kw": SERVER_POWER_KW,
    "gpu_embodied": GPU_EMBODIED,
    "server_embodied": SERVER_EMBODIED,
    "hardware_lifetime_s": HARDWARE_LIFETIME_S,
}

# GPU energy per token (Wh) is alpha * exp(beta * B) * P_active + gamma: exp(beta * B) is a constant.
_BATCH_FACTOR = math.exp(GPU_ENERGY_BETA * BATCH_SIZE)
_LIFETIME_BATCH = HARDWARE_LIFETIME_S * BATCH_SIZE


@dataclass(frozen=True, slots=True)
class Bounds:
    """(min, max) of every usage criterion (kWh, kgCO2eq, MJ, kgSbeq, L) and every embodied one."""

    usage: dict[str, tuple[float, float]]  # energy, gwp, pe, adpe, wcf
    embodied: dict[str, tuple[float, float]]  # gwp, pe, adpe


def gpu_count(total_params_b: float, bits: float = QUANTIZATION_BITS) -> int:
    """GPUs needed to hold the weights stored at ``bits`` per parameter, rounded up to a power of two."""
    memory_gb = 1.2 * total_params_b * bits / 8
    needed = math.ceil(memory_gb / GPU_MEMORY_GB)
    return int(2 ** math.ceil(math.log2(needed)))


@dataclass(frozen=True, slots=True)
class Deployment:
    """One end of the ranges (every input at its min, or every one at its max), in the terms a request's tokens
    and time multiply: what does not depend on the request."""

    n_gpus: int
    per_token_s: float  # modelled generation time per output token
    ttft_s: float
    gpu_kwh_per_token: float  # the GPUs' energy per output token, all GPUs serving the model
    server_kwh_per_s: float  # the request's share of the rest of the server's power
    pue: float
    water_l_per_kwh: float  # on-site WUE plus PUE times the mix's off-site water, per kWh of IT energy
    mix_gwp: float
    mix_pe: float
    mix_adpe: float
    embodied_per_s: tuple[float, float, float]  # the hardware's gwp, pe, adpe per second of the request


@functools.lru_cache(maxsize=1024)
def deployment(
    active_params_b: float,
    total_params_b: float,
    tps: float | None,
    ttft_s: float | None,
    pue: float,
    wue_onsite: float,
    mix: tuple[float, float, float, float],
    bits: float = QUANTIZATION_BITS,
) -> Deployment:
    """The deployment terms of one end of the ranges. ``mix``: the electricity's gwp, pe, adpe and off-site
    water per kWh; ``bits``: the weights' precision (this version always sizes at 16; a later one passes the
    model's). Cached: the same few deployments serve every request (computing them costs more than the
    request's own arithmetic; benchmarks/README.md)."""
    mix_gwp, mix_pe, mix_adpe, mix_wue = mix
    n_gpus = gpu_count(total_params_b, bits)
    server_share = n_gpus / SERVER_GPUS
    if tps is None:
        per_token_s = LATENCY_ALPHA * active_params_b + LATENCY_BETA * BATCH_SIZE + LATENCY_GAMMA
    else:
        per_token_s = 1 / tps
    gpu_kwh_per_token = (GPU_ENERGY_ALPHA * _BATCH_FACTOR * active_params_b + GPU_ENERGY_GAMMA) / 1000
    return Deployment(
        n_gpus=n_gpus,
        per_token_s=per_token_s,
        ttft_s=ttft_s or 0,
        gpu_kwh_per_token=n_gpus * gpu_kwh_per_token,
        server_kwh_per_s=SERVER_POWER_KW * server_share / BATCH_SIZE / 3600,
        pue=pue,
        water_l_per_kwh=wue_onsite + pue * mix_wue,
        mix_gwp=mix_gwp,
        mix_pe=mix_pe,
        mix_adpe=mix_adpe,
        # The request's share of the hardware's life: its time over the lifetime, shared by the batch.
        embodied_per_s=tuple(  # type: ignore[arg-type]
            (server_share * SERVER_EMBODIED[name] + n_gpus * GPU_EMBODIED[name]) / _LIFETIME_BATCH
            for name in ("gwp", "pe", "adpe")
        ),
    )


def generation_time_s(output_tokens: float, latency_s: float | None, deployed: Deployment) -> float:
    """The modelled generation time, capped by the measured latency (None: unknown, no cap)."""
    modelled = output_tokens * deployed.per_token_s + deployed.ttft_s
    return modelled if latency_s is None or modelled <= latency_s else latency_s


def one_end(output_tokens: float, latency_s: float | None, deployed: Deployment) -> tuple[float, ...]:
    """energy, gwp, pe, adpe, wcf (usage), then embodied gwp, pe, adpe, at one end of the ranges."""
    time_s = generation_time_s(output_tokens, latency_s, deployed)
    it_kwh = time_s * deployed.server_kwh_per_s + output_tokens * deployed.gpu_kwh_per_token
    energy_kwh = deployed.pue * it_kwh
    embodied_gwp, embodied_pe, embodied_adpe = deployed.embodied_per_s
    return (
        energy_kwh,
        energy_kwh * deployed.mix_gwp,
        energy_kwh * deployed.mix_pe,
        energy_kwh * deployed.mix_adpe,
        it_kwh * deployed.water_l_per_kwh,
        time_s * embodied_gwp,
        time_s * embodied_pe,
        time_s * embodied_adpe,
    )


# What compute() takes of each request; everything else comes from arguments().
REQUEST_INPUTS = ("output_tokens", "latency_s")


def arguments(inputs: Mapping[str, Any]) -> Site:
    """compute()'s keyword arguments besides the request's, from an estimate's recorded inputs."""
    mix = inputs["mix"]
    return {
        "active_params_b": (inputs["active_params"].min, inputs["active_params"].max),
        "total_params_b": (inputs["total_params"].min, inputs["total_params"].max),
        "tps": inputs["tps"],
        "ttft_s": inputs["ttft_s"],
        "pue": (inputs["pue"].min, inputs["pue"].max),
        "wue_onsite": (inputs["wue"].min, inputs["wue"].max),
        "mix_gwp": mix.gwp,
        "mix_pe": mix.pe,
        "mix_adpe": mix.adpe,
        "mix_wue": mix.wue,
    }


def warnings(request: Mapping[str, Any]) -> tuple[ImpactWarning, ...]:
    """What this version says of a request besides its numbers: nothing (input tokens are not part of it)."""
    return ()


class Site(TypedDict):
    """Where and on what a request runs: ``compute()``'s keyword arguments besides the request's (ranges as
    (min, max)); ``arguments()`` builds them from an estimate's recorded inputs."""

    active_params_b: tuple[float, float]
    total_params_b: tuple[float, float]
    tps: float | None
    ttft_s: float | None
    pue: tuple[float, float]
    wue_onsite: tuple[float, float]
    mix_gwp: float
    mix_pe: float
    mix_adpe: float
    mix_wue: float


def deployments(site: Site, bits: float = QUANTIZATION_BITS) -> tuple[Deployment, Deployment]:
    """The deployment at each end of the ranges, the low end first, its weights stored at ``bits``."""
    mix = (site["mix_gwp"], site["mix_pe"], site["mix_adpe"], site["mix_wue"])
    low, high = (
        deployment(
            site["active_params_b"][end],
            site["total_params_b"][end],
            site["tps"],
            site["ttft_s"],
            site["pue"][end],
            site["wue_onsite"][end],
            mix,
            bits,
        )
        for end in (0, 1)
    )
    return low, high


def compute(*, output_tokens: float, latency_s: float | None, **site: Unpack[Site]) -> Bounds:
    """The impacts of one request. Ranges are (min, max): the lower bound is computed with every range at its
    minimum, the upper with every range at its maximum. ``latency_s=None`` means unknown (no cap)."""
    return bounds([one_end(output_tokens, latency_s, deployed) for deployed in deployments(site)])


def bounds(ends: list[tuple[float, ...]]) -> Bounds:
    """The ``Bounds`` of the figures at each end (``one_end``'s order), the low end first."""
    pairs = list(zip(*ends, strict=True))  # (min, max) of each figure
    return Bounds(
        usage=dict(zip(("energy", "gwp", "pe", "adpe", "wcf"), pairs[:5], strict=True)),
        embodied=dict(zip(("gwp", "pe", "adpe"), pairs[5:], strict=True)),
    )
