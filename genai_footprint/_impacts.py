"""The result types: ``Range``, ``Impacts`` and the recorded inputs of an estimate.

An ``Impacts`` is an ordinary frozen pydantic model whose ranges are fields: built once, when the call ends,
and serialised, validated, compared, copied and pickled like any model.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from genai_footprint._criteria import EMBODIED_NAMES, LABELS, NAMES, UNITS, USAGE_NAMES, find_unit, format_range
from genai_footprint._equivalents import Equivalent, equivalents_of

TokensSource = Literal["given", "usage", "tiktoken", "approximation"]


@dataclass(frozen=True, slots=True)
class Range:
    """A closed interval ``[min, max]`` in ``unit``. A single value is a range with ``min == max``.

    Ranges add bound by bound (``min + min``, ``max + max``); a range is not a probability distribution,
    so ``mid`` is only the centre of the interval.
    """

    min: float
    max: float
    unit: str = ""

    def __post_init__(self) -> None:
        # Chained: a NaN or an infinite bound fails too, and a bound that is no number raises TypeError.
        if not (-math.inf < self.min <= self.max < math.inf):
            raise ValueError(f"a range needs finite bounds with min <= max, got min {self.min!r}, max {self.max!r}")

    @classmethod
    def of(cls, value: float | tuple[float, float] | Range, unit: str = "") -> Range:
        """A range from a number, a ``(min, max)`` pair or another range (re-labelled with ``unit``)."""
        if isinstance(value, Range):
            return cls(min=value.min, max=value.max, unit=unit or value.unit)
        if isinstance(value, tuple):
            return cls(min=value[0], max=value[1], unit=unit)
        return cls(min=value, max=value, unit=unit)

    @property
    def mid(self) -> float:
        """Centre of the interval (not an expected value)."""
        return (self.min + self.max) / 2

    @property
    def is_exact(self) -> bool:
        return self.min == self.max

    def __add__(self, other: Range | int) -> Range:
        if isinstance(other, int) and not isinstance(other, bool) and other == 0:  # lets sum() start from 0
            return self
        if not isinstance(other, Range):
            return NotImplemented
        if other.unit != self.unit:
            raise ValueError(f"cannot add a range in {other.unit!r} to one in {self.unit!r}")
        return Range(min=self.min + other.min, max=self.max + other.max, unit=self.unit)

    __radd__ = __add__

    def to(self, unit: str) -> Range:
        """This range in ``unit``, another unit of the same criterion: ``impacts.energy.to("Wh")``.

        Raises ValueError naming the unit and the allowed ones."""
        found = find_unit(self.unit)
        if found is None:
            raise ValueError(f"cannot convert a range in {self.unit!r} to {unit!r}: {self.unit!r} is no impact unit")
        criterion, _, size = found
        target = find_unit(unit)
        if target is None or target[0] is not criterion:
            allowed = ", ".join(name for name, _ in criterion.scales)
            raise ValueError(f"unknown unit {unit!r} for {criterion.label.lower()}: use one of {allowed}")
        _, name, target_size = target
        return Range(min=self.min * size / target_size, max=self.max * size / target_size, unit=name)

    def __format__(self, spec: str) -> str:
        """``f"{r}"``: SI-prefixed (``1.2 – 3.4 mWh``); ``f"{r:.2f}"`` formats the SI-scaled numbers;
        ``f"{r:Wh}"``, ``f"{r:Wh:.2f}"`` in a given unit; ``f"{r:base}"`` in the base unit, scientific notation.
        A range whose bounds show the same figures shows one number."""
        return format_range(self.min, self.max, self.unit, spec)

    def __str__(self) -> str:
        return format(self)


@dataclass(frozen=True, slots=True)
class UsageImpacts:
    """Impacts of the electricity used to serve the request."""

    energy: Range
    gwp: Range
    pe: Range
    adpe: Range
    wcf: Range


@dataclass(frozen=True, slots=True)
class EmbodiedImpacts:
    """The request's share of the impacts of manufacturing the hardware."""

    gwp: Range
    pe: Range
    adpe: Range


class ImpactWarning(BaseModel):
    """Something that lowers the precision of an estimate, e.g. an unreleased architecture."""

    model_config = ConfigDict(frozen=True)

    code: str
    message: str


class ElectricityMix(BaseModel):
    """Impact factors of one kWh of electricity in a zone."""

    model_config = ConfigDict(frozen=True)

    zone: str
    gwp: float  # kgCO2eq / kWh
    pe: float  # MJ / kWh
    adpe: float  # kgSbeq / kWh
    wue: float  # L / kWh, water consumed off-site to generate it
    source: str = "registry"
    world_fallback: tuple[str, ...] = ()  # factors where the world value stands in for a missing figure
    gwp_source: str = "annual"  # "annual" average, or a real-time provider
    gwp_timestamp: str | None = None


class EstimateInputs(BaseModel):
    """Everything an estimate was computed from, enough to recompute it with ``reproduce()``."""

    model_config = ConfigDict(frozen=True)

    provider: str | None = None
    model_requested: str | None = None  # the name the caller asked for
    model_served: str | None = None  # the name the provider answered with (e.g. a dated snapshot)
    model_resolved: str | None = None  # the registry row the figures came from
    zone: str
    output_tokens: float
    tokens_source: TokensSource = "given"
    # The other counts the provider reported (None: not reported). input_tokens includes the cached and
    # cache-written ones; reasoning_tokens is part of output_tokens.
    input_tokens: int | None = None
    cached_input_tokens: int | None = None
    cache_write_input_tokens: int | None = None
    reasoning_tokens: int | None = None
    latency_s: float | None = None
    measured_ttft_s: float | None = None
    stream: bool | None = None
    active_params: Range  # billions of parameters
    total_params: Range  # billions of parameters
    tps: float | None = None  # deployment's tokens per second
    ttft_s: float | None = None  # deployment's time to first token
    quantization_bits: float | None = None  # bits per weight as served; None: unpublished
    pue: Range
    wue: Range  # on-site water usage effectiveness, L / kWh
    mix: ElectricityMix
    registry_version: str | None = None


# Every range an Impacts holds, by key: the totals, then "usage.x" and "embodied.x".
ALL_KEYS: tuple[str, ...] = (
    *NAMES,
    *(f"usage.{name}" for name in USAGE_NAMES),
    *(f"embodied.{name}" for name in EMBODIED_NAMES),
)


class Impacts(BaseModel):
    """The environmental impacts of one generation request, or of a total of several.

    Units: ``energy`` kWh, ``gwp`` kgCO2eq, ``pe`` MJ, ``adpe`` kgSbeq, ``wcf`` litres. ``energy`` and ``wcf``
    are usage only; ``gwp``, ``pe`` and ``adpe`` are usage plus embodied. ``inputs`` is None on a total of
    several calls; ``calls`` counts the calls it holds.
    """

    model_config = ConfigDict(frozen=True)

    methodology_version: str
    energy: Range
    gwp: Range
    pe: Range
    adpe: Range
    wcf: Range
    usage: UsageImpacts
    embodied: EmbodiedImpacts
    inputs: EstimateInputs | None = None
    warnings: tuple[ImpactWarning, ...] = ()
    calls: int = 1

    def __add__(self, other: Impacts | int) -> Impacts:
        if isinstance(other, int) and not isinstance(other, bool) and other == 0:
            return self
        if not isinstance(other, Impacts):
            return NotImplemented
        return sum_impacts((self, other))

    __radd__ = __add__

    def equivalents(self) -> tuple[Equivalent, ...]:
        """Everyday equivalents of these impacts (smartphone charges, LED-bulb minutes, km by car, glasses of
        water), each with the source of its figure: a sense of scale, never an offset."""
        return equivalents_of(self)

    def __str__(self) -> str:
        """A short summary for people: each criterion SI-prefixed, then the model, zone, tokens and methodology.
        ``repr()`` stays complete."""
        return "\n".join(f"{label + ':':<{LABEL_WIDTH}}{text}" for label, text in summary_rows(self))


# Wide enough for "Abiotic resources:" and one space.
LABEL_WIDTH = max(len(label) for label in LABELS.values()) + 2


def summary_rows(impacts: Impacts) -> list[tuple[str, str]]:
    """(label, text) rows of ``str(impacts)``: the five criteria SI-prefixed, then where they came from."""
    rows = [(LABELS[name], format(getattr(impacts, name))) for name in NAMES]
    inputs = impacts.inputs
    if inputs is None:
        rows.append(("Calls", f"{impacts.calls:,}"))
    else:
        rows += [("Model", _model_text(inputs)), ("Zone", inputs.zone), ("Tokens", _tokens_text(inputs))]
    rows.append(("Methodology", impacts.methodology_version))
    if impacts.warnings:
        rows.append(("Warnings", ", ".join(w.code for w in impacts.warnings)))
    return rows


def _model_text(inputs: EstimateInputs) -> str:
    provider = f" ({inputs.provider})" if inputs.provider else ""
    if inputs.model_resolved is None:
        return f"none: {format(inputs.active_params, '')} B active parameters{provider}"
    asked = inputs.model_requested or inputs.model_resolved
    shown = asked if asked == inputs.model_resolved else f"{asked} → {inputs.model_resolved}"
    return shown + provider


def _tokens_text(inputs: EstimateInputs) -> str:
    text = f"{inputs.output_tokens:,g} output"
    if inputs.input_tokens is not None:
        cached = f" ({inputs.cached_input_tokens:,} cached)" if inputs.cached_input_tokens else ""
        text += f", {inputs.input_tokens:,} input{cached}"
    return text


def range_at(impacts: Impacts, key: str) -> Range:
    """The range named by ``key`` (``"gwp"``, ``"usage.energy"``, ``"embodied.pe"``)."""
    found: Any = impacts
    for part in key.split("."):
        found = getattr(found, part)
    if not isinstance(found, Range):
        raise KeyError(key)
    return found


def from_parts(
    usage: dict[str, tuple[float, float]],
    embodied: dict[str, tuple[float, float]],
    *,
    methodology_version: str,
    inputs: EstimateInputs | None,
    warnings: tuple[ImpactWarning, ...] = (),
    calls: int = 1,
) -> Impacts:
    """An ``Impacts`` from the (min, max) of each usage and embodied criterion: the totals are their sums
    (energy and water are usage only)."""
    usage_ranges = {name: Range(low, high, UNITS[name]) for name, (low, high) in usage.items()}
    embodied_ranges = {name: Range(low, high, UNITS[name]) for name, (low, high) in embodied.items()}
    totals = dict(usage_ranges)  # energy and water: usage only
    for name, (low, high) in embodied.items():
        usage_low, usage_high = usage[name]
        totals[name] = Range(usage_low + low, usage_high + high, UNITS[name])
    return Impacts(
        methodology_version=methodology_version,
        **totals,
        usage=UsageImpacts(**usage_ranges),
        embodied=EmbodiedImpacts(**embodied_ranges),
        inputs=inputs,
        warnings=warnings,
        calls=calls,
    )


def merge_versions(versions: Iterable[str]) -> str:
    """The methodology version of a total: the one version, or ``mixed:a+b`` when calls used several."""
    unique = sorted(set(versions))
    return unique[0] if len(unique) == 1 else "mixed:" + "+".join(unique)


def sum_impacts(items: Iterable[Impacts]) -> Impacts:
    """The bound-by-bound total of several impacts: each usage and embodied bound summed exactly (``math.fsum``),
    and the totals their sums, as for one call (so a total may differ from the exact sum of the calls' totals by
    a unit in the last place)."""
    items = list(items)
    if not items:
        raise ValueError("sum_impacts() needs at least one Impacts")
    if len(items) == 1:
        return items[0]
    warnings: dict[str, ImpactWarning] = {}
    for item in items:
        for warning in item.warnings:
            warnings.setdefault(warning.code, warning)

    def total(part: str, name: str) -> tuple[float, float]:
        ranges = [getattr(getattr(item, part), name) for item in items]
        return math.fsum(r.min for r in ranges), math.fsum(r.max for r in ranges)

    return from_parts(
        {name: total("usage", name) for name in USAGE_NAMES},
        {name: total("embodied", name) for name in EMBODIED_NAMES},
        methodology_version=merge_versions(item.methodology_version for item in items),
        inputs=None,
        warnings=tuple(warnings.values()),
        calls=sum(item.calls for item in items),
    )
