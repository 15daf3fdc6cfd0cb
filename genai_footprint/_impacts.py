"""The result types: ``Range`` and ``Impacts`` (pydantic v2), plus the recorded inputs of an estimate."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, model_validator

TokensSource = Literal["given", "usage", "tiktoken", "approximation"]


class Range(BaseModel):
    """A closed interval ``[min, max]`` in ``unit``. A single value is a range with ``min == max``.

    Ranges add bound by bound (``min + min``, ``max + max``); a range is not a probability distribution,
    so ``mid`` is only the centre of the interval.
    """

    model_config = ConfigDict(frozen=True)

    min: float
    max: float
    unit: str = ""

    @model_validator(mode="after")
    def _ordered(self) -> Range:
        if not (self.min <= self.max):  # also rejects NaN
            raise ValueError(f"range min {self.min!r} must be <= max {self.max!r}")
        return self

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
        if isinstance(other, int) and other == 0:  # lets sum() start from 0
            return self
        if not isinstance(other, Range):
            return NotImplemented
        if other.unit != self.unit:
            raise ValueError(f"cannot add a range in {other.unit!r} to one in {self.unit!r}")
        return Range(min=self.min + other.min, max=self.max + other.max, unit=self.unit)

    __radd__ = __add__

    def __format__(self, spec: str) -> str:
        spec = spec or ".3g"
        unit = f" {self.unit}" if self.unit else ""
        if self.is_exact:
            return f"{self.min:{spec}}{unit}"
        return f"{self.min:{spec}} – {self.max:{spec}}{unit}"

    def __str__(self) -> str:
        return format(self)


class UsageImpacts(BaseModel):
    """Impacts of the electricity used to serve the request."""

    model_config = ConfigDict(frozen=True)

    energy: Range
    gwp: Range
    pe: Range
    adpe: Range
    wcf: Range


class EmbodiedImpacts(BaseModel):
    """The request's share of the impacts of manufacturing the hardware."""

    model_config = ConfigDict(frozen=True)

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
    model_requested: str | None = None
    model_resolved: str | None = None
    zone: str
    output_tokens: float
    tokens_source: TokensSource = "given"
    latency_s: float | None = None
    measured_ttft_s: float | None = None
    stream: bool | None = None
    active_params: Range  # billions of parameters
    total_params: Range  # billions of parameters
    tps: float | None = None  # deployment's tokens per second
    ttft_s: float | None = None  # deployment's time to first token
    pue: Range
    wue: Range  # on-site water usage effectiveness, L / kWh
    mix: ElectricityMix
    registry_version: str | None = None


class Impacts(BaseModel):
    """The environmental impacts of one generation request, or of a total of several.

    Units: ``energy`` kWh, ``gwp`` kgCO2eq, ``pe`` MJ, ``adpe`` kgSbeq, ``wcf`` litres. ``energy`` and ``wcf``
    are usage only; ``gwp``, ``pe`` and ``adpe`` are usage plus embodied.
    """

    model_config = ConfigDict(frozen=True)

    energy: Range
    gwp: Range
    pe: Range
    adpe: Range
    wcf: Range
    usage: UsageImpacts
    embodied: EmbodiedImpacts
    methodology_version: str
    inputs: EstimateInputs | None = None  # None on a total of several calls
    warnings: tuple[ImpactWarning, ...] = ()
    calls: int = 1

    def __add__(self, other: Impacts | int) -> Impacts:
        if isinstance(other, int) and other == 0:
            return self
        if not isinstance(other, Impacts):
            return NotImplemented
        return sum_impacts((self, other))

    __radd__ = __add__


def _merge_versions(versions: Iterable[str]) -> str:
    unique = sorted(set(versions))
    return unique[0] if len(unique) == 1 else "mixed:" + "+".join(unique)


def sum_impacts(items: Iterable[Impacts]) -> Impacts:
    """Exact bound-by-bound total of several impacts; ``calls`` counts the calls it holds."""
    items = list(items)
    if not items:
        raise ValueError("sum_impacts() needs at least one Impacts")
    if len(items) == 1:
        return items[0]
    totals = {key: [0.0, 0.0] for key in ALL_KEYS}
    warnings: dict[str, ImpactWarning] = {}
    for item in items:
        for key in ALL_KEYS:
            r = range_at(item, key)
            t = totals[key]
            t[0] += r.min
            t[1] += r.max
        for w in item.warnings:
            warnings.setdefault(w.code, w)
    return impacts_from_bounds(
        {key: (lo, hi) for key, (lo, hi) in totals.items()},
        methodology_version=_merge_versions(i.methodology_version for i in items),
        inputs=None,
        warnings=tuple(warnings.values()),
        calls=sum(i.calls for i in items),
    )


UNITS: dict[str, str] = {"energy": "kWh", "gwp": "kgCO2eq", "pe": "MJ", "adpe": "kgSbeq", "wcf": "L"}
USAGE_KEYS = ("energy", "gwp", "pe", "adpe", "wcf")
EMBODIED_KEYS = ("gwp", "pe", "adpe")
# Every range an Impacts holds: the totals, then "usage.x" and "embodied.x".
ALL_KEYS = (
    *USAGE_KEYS,
    *(f"usage.{c}" for c in USAGE_KEYS),
    *(f"embodied.{c}" for c in EMBODIED_KEYS),
)


def range_at(impacts: Impacts, key: str) -> Range:
    """The range named by ``key`` (``"gwp"``, ``"usage.energy"``, ``"embodied.pe"``)."""
    obj: Any = impacts
    for part in key.split("."):
        obj = getattr(obj, part)
    assert isinstance(obj, Range)
    return obj


def impacts_from_bounds(
    bounds: dict[str, tuple[float, float]],
    *,
    methodology_version: str,
    inputs: EstimateInputs | dict[str, Any] | None,
    warnings: tuple[ImpactWarning, ...] | list[dict[str, str]] = (),
    calls: int = 1,
) -> Impacts:
    """Build an ``Impacts`` from ``(min, max)`` bounds keyed as ``ALL_KEYS``, validated in one pass.

    Where the totals ``energy``/``gwp``/``pe``/``adpe``/``wcf`` are absent they are derived: energy and
    water equal their usage part; gwp, pe and adpe are usage plus embodied.
    """
    for value in bounds.values():
        if not (math.isfinite(value[0]) and math.isfinite(value[1])):
            raise ValueError(f"non-finite impact bounds {bounds!r}")

    def rng(key: str, criterion: str) -> dict[str, Any]:
        lo, hi = bounds[key]
        return {"min": lo, "max": hi, "unit": UNITS[criterion]}

    def total(c: str) -> dict[str, Any]:
        if c in bounds:
            return rng(c, c)
        if c in EMBODIED_KEYS:
            u, e = bounds[f"usage.{c}"], bounds[f"embodied.{c}"]
            return {"min": u[0] + e[0], "max": u[1] + e[1], "unit": UNITS[c]}
        return rng(f"usage.{c}", c)

    return Impacts.model_validate(
        {
            **{c: total(c) for c in USAGE_KEYS},
            "usage": {c: rng(f"usage.{c}", c) for c in USAGE_KEYS},
            "embodied": {c: rng(f"embodied.{c}", c) for c in EMBODIED_KEYS},
            "methodology_version": methodology_version,
            "inputs": inputs,
            "warnings": warnings,
            "calls": calls,
        }
    )
