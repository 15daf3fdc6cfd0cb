"""LLM-inference impacts as published by EcoLogits 0.11 ("ecologits-0.11").

A pure function of explicit inputs: no registry, no I/O. Formulas and constants are those documented in
EcoLogits' methodology (facts, re-implemented here); ``docs/methodology.md`` lists them with sources.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, NamedTuple

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


def _run_constants(
    active_b: float, total_b: float, tps: float | None
) -> tuple[float, float, int, float, float, float, float]:
    """What one run (one point of the parameter range) needs besides tokens and latency.

    Per-token GPU energy (kWh), per-token generation time (s), the GPU count, that count over the server's
    GPUs, and the GPUs' plus their share of the server's embodied gwp, pe and adpe.
    """
    gpu_kwh_per_token = (GPU_ENERGY_ALPHA * _BATCH_FACTOR * active_b + GPU_ENERGY_GAMMA) / 1000
    n_gpus = gpu_count(total_b)
    if tps is None:
        per_token_s = LATENCY_ALPHA * active_b + LATENCY_BETA * BATCH_SIZE + LATENCY_GAMMA
    else:
        per_token_s = 1 / tps
    share = n_gpus / SERVER_GPUS
    # The GPUs used, plus the matching fraction of one 8-GPU server.
    hw_gwp, hw_pe, hw_adpe = (share * f[0] + n_gpus * f[1] for f in (_HW_GWP, _HW_PE, _HW_ADPE))
    return gpu_kwh_per_token, per_token_s, n_gpus, share, hw_gwp, hw_pe, hw_adpe


_LIFETIME_BATCH = HARDWARE_LIFETIME_S * BATCH_SIZE
_PER_REQUEST = 1 / BATCH_SIZE

Kernel = Callable[[float, "float | None"], tuple[float, ...]]


def kernel(
    *,
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
) -> Kernel:
    """The estimate as a function of ``(output_tokens, latency_s)`` alone, everything else fixed.

    It returns 26 floats: (min, max) of energy, gwp, pe, adpe, wcf (totals), of the usage parts (energy,
    gwp, pe, adpe, wcf) and of the embodied parts (gwp, pe, adpe). The lower bound is computed at
    (min active, min total, min PUE/WUE), the upper at the maxima; ``latency_s=None`` means unknown (no cap).
    The function's ``__dict__["ordered"]`` says whether every pair it returns is sure to be ordered (below).
    """
    g_lo, t_lo, n_lo, s_lo, hg_lo, hp_lo, ha_lo = _run_constants(active_params_b[0], total_params_b[0], tps)
    g_hi, t_hi, n_hi, s_hi, hg_hi, hp_hi, ha_hi = _run_constants(active_params_b[1], total_params_b[1], tps)
    pue_lo, pue_hi = pue
    water_lo = wue_onsite[0] + pue_lo * mix_wue
    water_hi = wue_onsite[1] + pue_hi * mix_wue
    first = ttft_s or 0
    # Per run, everything but tokens and time folds into a coefficient: IT energy (kWh) is
    # time * server_kw * share / batch / 3600 + tokens * gpus * gpu_kwh_per_token, and each embodied
    # criterion is time * hardware / (lifetime * batch).
    k_time_lo = SERVER_POWER_KW * s_lo * _PER_REQUEST / 3600
    k_time_hi = SERVER_POWER_KW * s_hi * _PER_REQUEST / 3600
    k_tok_lo, k_tok_hi = n_lo * g_lo, n_hi * g_hi
    span = _LIFETIME_BATCH
    kg_lo, kp_lo, ka_lo = hg_lo / span, hp_lo / span, ha_lo / span
    kg_hi, kp_hi, ka_hi = hg_hi / span, hp_hi / span, ha_hi / span

    # Every (min, max) pair run() returns is ordered, for any tokens >= 0 and latency >= 0 (or None), when each
    # coefficient is non-negative and its min is at most its max: +, * and the latency cap are monotonic, and so
    # is IEEE rounding. Known here once; then the caller need not compare 13 pairs on every request.
    ordered = (
        first >= 0
        and min(mix_gwp, mix_pe, mix_adpe) >= 0
        and all(
            0 <= lo <= hi
            for lo, hi in (
                (t_lo, t_hi),
                (k_time_lo, k_time_hi),
                (k_tok_lo, k_tok_hi),
                (pue_lo, pue_hi),
                (water_lo, water_hi),
                (kg_lo, kg_hi),
                (kp_lo, kp_hi),
                (ka_lo, ka_hi),
            )
        )
    )

    def times(output_tokens: float, latency_s: float | None) -> tuple[float, float]:
        """The modelled generation time at the lower and the upper bound, capped by the measured latency."""
        time_lo = output_tokens * t_lo + first
        time_hi = output_tokens * t_hi + first
        if latency_s is not None:  # the measured latency caps the modelled generation time
            if time_lo > latency_s:  # noqa: PLR1730 (a comparison is cheaper than a min() call)
                time_lo = latency_s
            if time_hi > latency_s:  # noqa: PLR1730
                time_hi = latency_s
        return time_lo, time_hi

    def at_times(output_tokens: float, time_lo: float, time_hi: float) -> tuple[float, ...]:
        """The 26 bounds at given generation times. Each is a linear form in (tokens, time), with no constant
        term, so the bounds of many requests add up as the bounds at their summed tokens and times."""
        it_lo = time_lo * k_time_lo + output_tokens * k_tok_lo
        it_hi = time_hi * k_time_hi + output_tokens * k_tok_hi
        e_lo, e_hi = pue_lo * it_lo, pue_hi * it_hi
        w_lo, w_hi = it_lo * water_lo, it_hi * water_hi
        ug_lo, ug_hi = e_lo * mix_gwp, e_hi * mix_gwp
        up_lo, up_hi = e_lo * mix_pe, e_hi * mix_pe
        ua_lo, ua_hi = e_lo * mix_adpe, e_hi * mix_adpe
        eg_lo, eg_hi = time_lo * kg_lo, time_hi * kg_hi
        ep_lo, ep_hi = time_lo * kp_lo, time_hi * kp_hi
        ea_lo, ea_hi = time_lo * ka_lo, time_hi * ka_hi
        return (
            e_lo, e_hi, ug_lo + eg_lo, ug_hi + eg_hi, up_lo + ep_lo, up_hi + ep_hi, ua_lo + ea_lo, ua_hi + ea_hi,
            w_lo, w_hi,
            e_lo, e_hi, ug_lo, ug_hi, up_lo, up_hi, ua_lo, ua_hi, w_lo, w_hi,
            eg_lo, eg_hi, ep_lo, ep_hi, ea_lo, ea_hi,
        )  # fmt: skip

    def run(output_tokens: float, latency_s: float | None) -> tuple[float, ...]:
        time_lo, time_hi = times(output_tokens, latency_s)
        return at_times(output_tokens, time_lo, time_hi)

    run.__dict__["ordered"] = ordered
    # The kernel's linear form: run(tokens, latency) is at_times(tokens, *times(tokens, latency)). A tracker
    # sums tokens and times per kernel and reads the bounds of the sums (see ``_track``).
    run.__dict__["linear"] = (times, at_times)
    return run


def compute(*, output_tokens: float, latency_s: float | None, **inputs: Any) -> Bounds:
    """Impacts of one request: ``kernel(**inputs)`` applied to ``(output_tokens, latency_s)``, as the usage and
    embodied parts (see ``kernel`` for the inputs and the bounds convention)."""
    flat = kernel(**inputs)(output_tokens, latency_s)
    return Bounds(*(flat[i : i + 2] for i in range(10, 26, 2)))  # type: ignore[arg-type]
