"""LLM-inference impacts as published by EcoLogits 0.11 ("ecologits-0.11").

A pure function of explicit inputs: no registry, no I/O. Formulas and constants are those documented in
EcoLogits' methodology (facts, re-implemented here); ``docs/methodology.md`` lists them with sources.
"""

from __future__ import annotations

import math
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

# Per-token GPU energy in Wh is alpha * exp(beta * B) * P_active + gamma; exp(beta * B) is a constant.
_BATCH_FACTOR = math.exp(GPU_ENERGY_BETA * BATCH_SIZE)
_HW_GWP = (SERVER_EMBODIED["gwp"], GPU_EMBODIED["gwp"])
_HW_ADPE = (SERVER_EMBODIED["adpe"], GPU_EMBODIED["adpe"])
_HW_PE = (SERVER_EMBODIED["pe"], GPU_EMBODIED["pe"])


class Bounds(NamedTuple):
    """(min, max) of every criterion, in kWh, kgCO2eq, MJ, kgSbeq and litres."""

    energy: tuple[float, float]
    usage_gwp: tuple[float, float]
    usage_pe: tuple[float, float]
    usage_adpe: tuple[float, float]
    wcf: tuple[float, float]
    embodied_gwp: tuple[float, float]
    embodied_pe: tuple[float, float]
    embodied_adpe: tuple[float, float]


def gpu_count(total_params_b: float) -> int:
    """GPUs needed to hold the weights, rounded up to a power of two."""
    memory_gb = 1.2 * total_params_b * QUANTIZATION_BITS / 8
    needed = math.ceil(memory_gb / GPU_MEMORY_GB)
    return int(2 ** math.ceil(math.log2(needed)))


def _one_run(
    active_b: float,
    total_b: float,
    output_tokens: float,
    latency_s: float,
    tps: float | None,
    ttft_s: float | None,
) -> tuple[float, float, int]:
    """IT energy (kWh) and generation time (s) at one point of the parameter range, and the GPU count."""
    gpu_energy_kwh = output_tokens * ((GPU_ENERGY_ALPHA * _BATCH_FACTOR * active_b + GPU_ENERGY_GAMMA) / 1000)
    n_gpus = gpu_count(total_b)
    if tps is None:
        per_token_s = LATENCY_ALPHA * active_b + LATENCY_BETA * BATCH_SIZE + LATENCY_GAMMA
    else:
        per_token_s = 1 / tps
    generation_s = output_tokens * per_token_s + (ttft_s or 0)
    generation_s = min(generation_s, latency_s)
    server_kwh = (generation_s / 3600) * SERVER_POWER_KW * (n_gpus / SERVER_GPUS) * (1 / BATCH_SIZE)
    it_kwh = server_kwh + n_gpus * gpu_energy_kwh
    return it_kwh, generation_s, n_gpus


def _embodied(factors: tuple[float, float], n_gpus: int, generation_s: float) -> float:
    # The GPUs used, plus the matching fraction of one 8-GPU server.
    hardware = (n_gpus / SERVER_GPUS) * factors[0] + n_gpus * factors[1]
    return generation_s * hardware / (HARDWARE_LIFETIME_S * BATCH_SIZE)


def compute(
    *,
    active_params_b: tuple[float, float],
    total_params_b: tuple[float, float],
    output_tokens: float,
    latency_s: float | None,
    tps: float | None,
    ttft_s: float | None,
    pue: tuple[float, float],
    wue_onsite: tuple[float, float],
    mix_gwp: float,
    mix_pe: float,
    mix_adpe: float,
    mix_wue: float,
) -> Bounds:
    """Impacts of one request. The lower bound is computed at (min active, min total, min PUE/WUE), the
    upper at the maxima; a scalar is given as ``(x, x)``. ``latency_s=None`` means unknown (no cap)."""
    cap = math.inf if latency_s is None else latency_s
    lo = _one_run(active_params_b[0], total_params_b[0], output_tokens, cap, tps, ttft_s)
    hi = _one_run(active_params_b[1], total_params_b[1], output_tokens, cap, tps, ttft_s)
    energy = (pue[0] * lo[0], pue[1] * hi[0])
    wcf = (lo[0] * (wue_onsite[0] + pue[0] * mix_wue), hi[0] * (wue_onsite[1] + pue[1] * mix_wue))
    return Bounds(
        energy=energy,
        usage_gwp=(energy[0] * mix_gwp, energy[1] * mix_gwp),
        usage_pe=(energy[0] * mix_pe, energy[1] * mix_pe),
        usage_adpe=(energy[0] * mix_adpe, energy[1] * mix_adpe),
        wcf=wcf,
        embodied_gwp=(_embodied(_HW_GWP, lo[2], lo[1]), _embodied(_HW_GWP, hi[2], hi[1])),
        embodied_pe=(_embodied(_HW_PE, lo[2], lo[1]), _embodied(_HW_PE, hi[2], hi[1])),
        embodied_adpe=(_embodied(_HW_ADPE, lo[2], lo[1]), _embodied(_HW_ADPE, hi[2], hi[1])),
    )
