"""This project's methodology "genai-footprint-2026.12": ``ecologits-0.11`` plus the prefill of input tokens,
cached input, and the model's quantization.

What changes, each from a sourced fact or a labelled assumption (``docs/methodology.md`` has them all):

- **Quantization.** The GPU count comes from the weights' memory at the model's bits per weight as served
  (FP8: 8, MXFP4: 4.25) instead of 16 for every model; 16 where unpublished.
- **Prefill.** Input tokens are computed at about ``2 * N_active`` FLOPs each, plus attention
  ``2 * L * d * n * (2c + n)`` for ``n`` new tokens after a cached prefix of ``c``, at the accelerator's peak
  FLOP/s times a utilisation range. During its prefill the request has the deployment to itself: the rest of
  the server and the hardware's manufacturing are charged for that time, unshared.
- **The decode curve already holds a short prefill.** The 0.11 energy curve was fitted on chat benchmarks whose
  figures include the prefill of their prompts; the prefill of a prompt of that size (an assumed range) is
  taken off the request's, never below zero.
- **Cached input tokens** cost a fraction of an uncached token's prefill (an assumption: no measurement is
  published; prices suggest at most a tenth).

Everything else, the decode energy and time, the server's share, PUE, water and embodied impacts, is
``ecologits-0.11``'s. Like it, a pure function of explicit inputs.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Unpack

from genai_footprint._impacts import ImpactWarning
from genai_footprint._methodology import ecologits_0_11 as base

VERSION = "genai-footprint-2026.12"

H100_PEAK_FLOPS = 989.4e12  # dense BF16, NVIDIA H100 SXM datasheet
H100_POWER_W = 700.0  # TDP, same datasheet; the GPU is taken at full power during prefill (assumption)
# Achieved share of peak during prefill: about 30% derived from DeepSeek's production figures (open-infra-index,
# Feb 2025); the range is an assumption around it. The low-energy end takes the higher utilisation.
PREFILL_UTILISATION = (0.2, 0.4)
# Energy of a cached input token relative to an uncached one's linear-layer prefill. Assumption: no measurement
# is published; cache prices (0.1x at Anthropic, Gemini, Mistral) bound it from above, a hit in GPU memory costs
# next to nothing.
CACHED_TOKEN_WEIGHT = (0.0, 0.1)
# Input tokens whose prefill the 0.11 decode curve already holds (the chat prompts of the benchmarks it was
# fitted on). Assumption: a range of chat-prompt sizes; the low-energy end takes the larger.
PREFILL_IN_DECODE_FIT = (0, 500)
# Attention width: L * d = ASPECT * L**2 with L = (N / (12 * ASPECT**2)) ** (1/3), for a dense transformer of N
# parameters (N ~ 12 L d**2) whose width is ASPECT times its depth. Approximation: Llama 3.1 8B/70B/405B have
# d/L = 128, 102, 130; it gives L*d within 15% of theirs.
ASPECT = 128

CONSTANTS: dict[str, object] = {
    **base.CONSTANTS,
    "quantization_bits": "the model's, else 16",
    "h100_peak_flops": H100_PEAK_FLOPS,
    "h100_power_w": H100_POWER_W,
    "prefill_utilisation": PREFILL_UTILISATION,
    "cached_token_weight": CACHED_TOKEN_WEIGHT,
    "prefill_in_decode_fit": PREFILL_IN_DECODE_FIT,
    "attention_aspect": ASPECT,
}

Bounds = base.Bounds
REQUEST_INPUTS = ("output_tokens", "latency_s", "input_tokens", "cached_input_tokens")

_NO_INPUT = ImpactWarning(
    code="input-tokens-unknown",
    message="The provider reported no input tokens; this estimate counts no prefill.",
)


def arguments(inputs: Mapping[str, Any]) -> dict[str, Any]:
    """compute()'s keyword arguments besides the request's, from an estimate's recorded inputs."""
    bits = inputs.get("quantization_bits")
    return {**base.arguments(inputs), "quantization_bits": base.QUANTIZATION_BITS if bits is None else bits}


def warnings(request: Mapping[str, Any]) -> tuple[ImpactWarning, ...]:
    """An estimate without input tokens counts no prefill: say so."""
    return (_NO_INPUT,) if request.get("input_tokens") is None else ()


def attention_width(active_params_b: float) -> float:
    """The approximate L * d (layers times attention width) of a model with this many active parameters."""
    layers = (active_params_b * 1e9 / (12 * ASPECT**2)) ** (1 / 3)
    return float(ASPECT * layers**2)


def prefill_flops(active_params_b: float, new_tokens: float, cached_tokens: float, cached_weight: float) -> float:
    """FLOPs of a prefill of ``new_tokens`` after a cached prefix of ``cached_tokens``: the linear layers of the
    new tokens, their attention over the prefix and themselves, and the cached tokens at ``cached_weight``."""
    linear = 2 * active_params_b * 1e9
    attention = 2 * attention_width(active_params_b) * new_tokens * (2 * cached_tokens + new_tokens)
    return linear * (new_tokens + cached_weight * cached_tokens) + attention


def _prefill_s(active_params_b: float, uncached: float, cached: float, n_gpus: int, end: int) -> float:
    """Seconds the deployment spends on the request's prefill beyond what the decode curve holds, at one end."""
    flops = prefill_flops(active_params_b, uncached, cached, CACHED_TOKEN_WEIGHT[end])
    in_fit = prefill_flops(active_params_b, PREFILL_IN_DECODE_FIT[1 - end], 0, 0)
    utilisation = PREFILL_UTILISATION[1 - end]
    return max(flops - in_fit, 0.0) / (n_gpus * H100_PEAK_FLOPS * utilisation)


def _one_end(
    output_tokens: float,
    latency_s: float | None,
    input_tokens: int | None,
    cached_input_tokens: int | None,
    deployed: base.Deployment,
    active_params_b: float,
    end: int,
) -> tuple[float, ...]:
    """energy, gwp, pe, adpe, wcf (usage), then embodied gwp, pe, adpe, at one end of the ranges."""
    decode = base.one_end(output_tokens, latency_s, deployed)
    if not input_tokens:
        return decode
    cached = cached_input_tokens or 0
    prefill_s = _prefill_s(active_params_b, input_tokens - cached, cached, deployed.n_gpus, end)
    # Unshared during its prefill: the GPUs at full power, the server's share and the hardware's time undivided.
    it_kwh = prefill_s * (deployed.n_gpus * H100_POWER_W / 3.6e6 + deployed.server_kwh_per_s * base.BATCH_SIZE)
    energy_kwh = deployed.pue * it_kwh
    embodied = [prefill_s * base.BATCH_SIZE * per_s for per_s in deployed.embodied_per_s]
    prefill = (
        energy_kwh,
        energy_kwh * deployed.mix_gwp,
        energy_kwh * deployed.mix_pe,
        energy_kwh * deployed.mix_adpe,
        it_kwh * deployed.water_l_per_kwh,
        *embodied,
    )
    return tuple(a + b for a, b in zip(decode, prefill, strict=True))


def compute(
    *,
    output_tokens: float,
    latency_s: float | None,
    input_tokens: int | None,
    cached_input_tokens: int | None,
    quantization_bits: float,
    **site: Unpack[base.Site],
) -> base.Bounds:
    """The impacts of one request. Ranges are (min, max): the lower bound takes every input range at its
    minimum and every assumption at its low-energy end, the upper bound the opposite. ``input_tokens`` None:
    unknown (no prefill counted, and a warning); ``cached_input_tokens`` is part of ``input_tokens``."""
    active = site["active_params_b"]
    ends = [
        _one_end(output_tokens, latency_s, input_tokens, cached_input_tokens, deployed, active[end], end)
        for end, deployed in enumerate(base.deployments(site, quantization_bits))
    ]
    return base.bounds(ends)
