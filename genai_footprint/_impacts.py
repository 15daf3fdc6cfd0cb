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
    model_requested: str | None = None  # the name the caller asked for
    model_served: str | None = None  # the name the provider answered with (e.g. a dated snapshot)
    model_resolved: str | None = None  # the registry row the figures came from
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
    water equal their usage part; gwp, pe and adpe are usage plus embodied. This runs once per instrumented
    call, so it is written flat: one core validation of plain dicts.
    """
    ue, ug, up, ua, uw = (
        bounds["usage.energy"],
        bounds["usage.gwp"],
        bounds["usage.pe"],
        bounds["usage.adpe"],
        bounds["usage.wcf"],
    )
    eg, ep, ea = bounds["embodied.gwp"], bounds["embodied.pe"], bounds["embodied.adpe"]
    te = bounds.get("energy", ue)
    tw = bounds.get("wcf", uw)
    tg = bounds.get("gwp") or (ug[0] + eg[0], ug[1] + eg[1])
    tp = bounds.get("pe") or (up[0] + ep[0], up[1] + ep[1])
    ta = bounds.get("adpe") or (ua[0] + ea[0], ua[1] + ea[1])
    # One check for all: a NaN or an infinity anywhere makes the sum non-finite.
    if not math.isfinite(sum(ue + ug + up + ua + uw + eg + ep + ea + te + tw + tg + tp + ta)):
        raise ValueError(f"non-finite impact bounds {bounds!r}")
    kwh, co2, mj, sb, litres = "kWh", "kgCO2eq", "MJ", "kgSbeq", "L"
    usage_energy = _VALIDATE_RANGE({"min": ue[0], "max": ue[1], "unit": kwh})
    usage_wcf = _VALIDATE_RANGE({"min": uw[0], "max": uw[1], "unit": litres})
    # Energy and water totals are their usage parts: the same Range object serves both places.
    energy = usage_energy if te is ue else {"min": te[0], "max": te[1], "unit": kwh}
    wcf = usage_wcf if tw is uw else {"min": tw[0], "max": tw[1], "unit": litres}
    impacts: Impacts = _VALIDATE_IMPACTS(
        {
            "energy": energy,
            "gwp": {"min": tg[0], "max": tg[1], "unit": co2},
            "pe": {"min": tp[0], "max": tp[1], "unit": mj},
            "adpe": {"min": ta[0], "max": ta[1], "unit": sb},
            "wcf": wcf,
            "usage": {
                "energy": usage_energy,
                "gwp": {"min": ug[0], "max": ug[1], "unit": co2},
                "pe": {"min": up[0], "max": up[1], "unit": mj},
                "adpe": {"min": ua[0], "max": ua[1], "unit": sb},
                "wcf": usage_wcf,
            },
            "embodied": {
                "gwp": {"min": eg[0], "max": eg[1], "unit": co2},
                "pe": {"min": ep[0], "max": ep[1], "unit": mj},
                "adpe": {"min": ea[0], "max": ea[1], "unit": sb},
            },
            "methodology_version": methodology_version,
            "inputs": inputs,
            "warnings": warnings,
            "calls": calls,
        }
    )
    return impacts


_VALIDATE_IMPACTS = Impacts.__pydantic_validator__.validate_python
_VALIDATE_RANGE = Range.__pydantic_validator__.validate_python
