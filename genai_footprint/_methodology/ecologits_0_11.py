"""LLM-inference impacts as published by EcoLogits 0.11 ("ecologits-0.11").

A pure function of explicit inputs: no registry, no I/O. Formulas and constants are those documented in
EcoLogits' methodology (facts, re-implemented here); ``docs/methodology.md`` lists them with sources.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

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


def gpu_count(total_params_b: float) -> int:
    """GPUs needed to hold the weights, rounded up to a power of two."""
    memory_gb = 1.2 * total_params_b * QUANTIZATION_BITS / 8
    needed = math.ceil(memory_gb / GPU_MEMORY_GB)
    return int(2 ** math.ceil(math.log2(needed)))


def generation_time_s(
    output_tokens: float, active_params_b: float, tps: float | None, ttft_s: float | None, latency_s: float | None
) -> float:
    """The modelled generation time, capped by the measured latency (None: unknown, no cap)."""
    if tps is None:
        per_token_s = LATENCY_ALPHA * active_params_b + LATENCY_BETA * BATCH_SIZE + LATENCY_GAMMA
    else:
        per_token_s = 1 / tps
    modelled = output_tokens * per_token_s + (ttft_s or 0)
    return modelled if latency_s is None or modelled <= latency_s else latency_s


class _End(NamedTuple):
    """Every impact at one end of the ranges: usage (kWh, kgCO2eq, MJ, kgSbeq, L), then embodied."""

    energy: float
    gwp: float
    pe: float
    adpe: float
    wcf: float
    embodied_gwp: float
    embodied_pe: float
    embodied_adpe: float


def _one_end(
    output_tokens: float,
    latency_s: float | None,
    active_params_b: float,
    total_params_b: float,
    tps: float | None,
    ttft_s: float | None,
    pue: float,
    wue_onsite: float,
    mix: tuple[float, float, float, float],
) -> _End:
    """The impacts with every input at one end of its range (all at their min, or all at their max). ``mix``:
    the electricity's gwp, pe, adpe and off-site water per kWh."""
    mix_gwp, mix_pe, mix_adpe, mix_wue = mix
    n_gpus = gpu_count(total_params_b)
    server_share = n_gpus / SERVER_GPUS
    gpu_kwh_per_token = (GPU_ENERGY_ALPHA * _BATCH_FACTOR * active_params_b + GPU_ENERGY_GAMMA) / 1000
    time_s = generation_time_s(output_tokens, active_params_b, tps, ttft_s, latency_s)
    server_kwh = time_s * (SERVER_POWER_KW * server_share / BATCH_SIZE / 3600)
    it_kwh = server_kwh + output_tokens * (n_gpus * gpu_kwh_per_token)
    energy_kwh = pue * it_kwh
    # The request's share of the hardware's life: its time over the lifetime, shared by the batch.
    life_share = time_s / _LIFETIME_BATCH
    return _End(
        energy=energy_kwh,
        gwp=energy_kwh * mix_gwp,
        pe=energy_kwh * mix_pe,
        adpe=energy_kwh * mix_adpe,
        wcf=it_kwh * (wue_onsite + pue * mix_wue),
        embodied_gwp=life_share * (server_share * SERVER_EMBODIED["gwp"] + n_gpus * GPU_EMBODIED["gwp"]),
        embodied_pe=life_share * (server_share * SERVER_EMBODIED["pe"] + n_gpus * GPU_EMBODIED["pe"]),
        embodied_adpe=life_share * (server_share * SERVER_EMBODIED["adpe"] + n_gpus * GPU_EMBODIED["adpe"]),
    )


def compute(
    *,
    output_tokens: float,
    latency_s: float | None,
    active_params_b: tuple[float, float],
    total_params_b: tuple[float, float],
    tps: float | None,
    ttft_s: float | None,
    pue: tuple[float, float],
    wue_onsite: tuple[float, float],
    mix_gwp: float,
    mix_pe: float,
    mix_adpe: float,
    mix_wue: float,
) -> Bounds:
    """The impacts of one request. Ranges are (min, max): the lower bound is computed with every range at its
    minimum, the upper with every range at its maximum. ``latency_s=None`` means unknown (no cap)."""
    mix = (mix_gwp, mix_pe, mix_adpe, mix_wue)
    low = _one_end(
        output_tokens, latency_s, active_params_b[0], total_params_b[0], tps, ttft_s, pue[0], wue_onsite[0], mix
    )
    high = _one_end(
        output_tokens, latency_s, active_params_b[1], total_params_b[1], tps, ttft_s, pue[1], wue_onsite[1], mix
    )
    return Bounds(
        usage={
            "energy": (low.energy, high.energy),
            "gwp": (low.gwp, high.gwp),
            "pe": (low.pe, high.pe),
            "adpe": (low.adpe, high.adpe),
            "wcf": (low.wcf, high.wcf),
        },
        embodied={
            "gwp": (low.embodied_gwp, high.embodied_gwp),
            "pe": (low.embodied_pe, high.embodied_pe),
            "adpe": (low.embodied_adpe, high.embodied_adpe),
        },
    )
