"""The result types: ``Range`` and ``Impacts`` (pydantic v2), plus the recorded inputs of an estimate."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Literal, Self, TypeVar, cast

from pydantic import (
    BaseModel,
    ConfigDict,
    PrivateAttr,
    ValidationError,
    ValidatorFunctionWrapHandler,
    computed_field,
    model_validator,
)

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


_KWH, _CO2, _MJ, _SB, _L = "kWh", "kgCO2eq", "MJ", "kgSbeq", "L"
USAGE_KEYS = ("energy", "gwp", "pe", "adpe", "wcf")
EMBODIED_KEYS = ("gwp", "pe", "adpe")
UNITS: dict[str, str] = {"energy": _KWH, "gwp": _CO2, "pe": _MJ, "adpe": _SB, "wcf": _L}
# Every range an Impacts holds: the totals, then "usage.x" and "embodied.x". An Impacts stores them as one
# flat tuple of 26 floats in this order: (min, max) of ALL_KEYS[0], then of ALL_KEYS[1], ...
ALL_KEYS = (
    *USAGE_KEYS,
    *(f"usage.{c}" for c in USAGE_KEYS),
    *(f"embodied.{c}" for c in EMBODIED_KEYS),
)
_NEW = object.__new__
_SET = object.__setattr__


def _slot_setter(name: str) -> Callable[[Any, Any], None]:
    """The setter of one of BaseModel's slots, straight from its descriptor (``object.__setattr__`` would look
    the name up again and check the class first, on every model built)."""
    descriptor = BaseModel.__dict__.get(name)
    setter = getattr(descriptor, "__set__", None)
    if setter is None:  # a pydantic that keeps it elsewhere
        return lambda obj, value: _SET(obj, name, value)
    return cast(Callable[[Any, Any], None], setter)


_SET_DICT = _slot_setter("__dict__")
_SET_FIELDS_SET = _slot_setter("__pydantic_fields_set__")
_SET_EXTRA = _slot_setter("__pydantic_extra__")
_SET_PRIVATE = _slot_setter("__pydantic_private__")

_isfinite = math.isfinite
_RANGE_FIELDS = {"min", "max", "unit"}  # shared by instances (see typed_model)


def _range(lo: float, hi: float, unit: str) -> Range:
    """A Range from bounds already known to be finite and ordered (no validation)."""
    return typed_model(Range, {"min": lo, "max": hi, "unit": unit}, _RANGE_FIELDS)


class Impacts(BaseModel):  # noqa: PLW1641 (pydantic gives frozen models their __hash__)
    """The environmental impacts of one generation request, or of a total of several.

    Units: ``energy`` kWh, ``gwp`` kgCO2eq, ``pe`` MJ, ``adpe`` kgSbeq, ``wcf`` litres. ``energy`` and ``wcf``
    are usage only; ``gwp``, ``pe`` and ``adpe`` are usage plus embodied.

    The ranges are held as plain bounds and become ``Range`` objects on first access (then cached), so an
    instrumented call pays for the numbers, not for objects nobody reads. They serialise, validate and
    compare like ordinary fields: ``model_dump()`` / ``model_validate()`` round-trip every range.
    """

    model_config = ConfigDict(frozen=True)

    methodology_version: str
    inputs: EstimateInputs | None = None  # None on a total of several calls
    warnings: tuple[ImpactWarning, ...] = ()
    calls: int = 1
    _bounds: tuple[float, ...] = PrivateAttr()

    @model_validator(mode="wrap")
    @classmethod
    def _from_ranges(cls, data: Any, handler: ValidatorFunctionWrapHandler) -> Impacts:
        """Accept the serialised form: the ranges (``energy`` … ``wcf``, ``usage``, ``embodied``) as fields."""
        if isinstance(data, Impacts):
            return data
        if not isinstance(data, Mapping):
            return cast(Impacts, handler(data))
        rest = dict(data)
        flat: list[float] = []
        errors: list[str] = []
        groups = {"usage": rest.pop("usage", None), "embodied": rest.pop("embodied", None)}
        totals = {key: rest.pop(key, None) for key in USAGE_KEYS}
        for key in ALL_KEYS:
            group, _, name = key.rpartition(".")
            if group:
                container = groups[group]
                if isinstance(container, BaseModel):
                    container = container.__dict__
                value = container.get(name) if isinstance(container, Mapping) else None
            else:
                value = totals[key]
            if value is None:
                errors.append(f"{key}: missing")
                continue
            try:
                r = value if isinstance(value, Range) else _VALIDATE_RANGE(value)
            except ValidationError as exc:
                errors.append(f"{key}: {exc.errors()[0]['msg']}")
                continue
            if not (math.isfinite(r.min) and math.isfinite(r.max)):
                errors.append(f"{key}: bounds must be finite, got {r.min!r}, {r.max!r}")
            flat += (r.min, r.max)
        if errors:
            raise ValueError("invalid impact ranges: " + "; ".join(errors))
        impacts = cast(Impacts, handler(rest))
        _SET(impacts, "__pydantic_private__", {"_bounds": tuple(flat)})
        return impacts

    def _part(self, name: str) -> Any:
        """A range or breakdown, built with all the others on first access and kept in ``__dict__``."""
        found = self.__dict__.get(name)
        if found is None:
            self.__dict__.update(_parts(flat_bounds(self)))
            found = self.__dict__[name]
        return found

    @computed_field  # type: ignore[prop-decorator]
    @property
    def energy(self) -> Range:
        return cast(Range, self._part("energy"))

    @computed_field  # type: ignore[prop-decorator]
    @property
    def gwp(self) -> Range:
        return cast(Range, self._part("gwp"))

    @computed_field  # type: ignore[prop-decorator]
    @property
    def pe(self) -> Range:
        return cast(Range, self._part("pe"))

    @computed_field  # type: ignore[prop-decorator]
    @property
    def adpe(self) -> Range:
        return cast(Range, self._part("adpe"))

    @computed_field  # type: ignore[prop-decorator]
    @property
    def wcf(self) -> Range:
        return cast(Range, self._part("wcf"))

    @computed_field  # type: ignore[prop-decorator]
    @property
    def usage(self) -> UsageImpacts:
        return cast(UsageImpacts, self._part("usage"))

    @computed_field  # type: ignore[prop-decorator]
    @property
    def embodied(self) -> EmbodiedImpacts:
        return cast(EmbodiedImpacts, self._part("embodied"))

    def __add__(self, other: Impacts | int) -> Impacts:
        if isinstance(other, int) and other == 0:
            return self
        if not isinstance(other, Impacts):
            return NotImplemented
        return sum_impacts((self, other))

    __radd__ = __add__

    # pydantic compares, copies and pickles the private bounds as they are held: compute them first.
    def __eq__(self, other: object) -> bool:
        flat_bounds(self)
        if isinstance(other, Impacts):
            flat_bounds(other)
        return super().__eq__(other)

    def __copy__(self) -> Self:
        flat_bounds(self)
        return super().__copy__()

    def __deepcopy__(self, memo: dict[int, Any] | None = None) -> Self:
        flat_bounds(self)
        return super().__deepcopy__(memo)

    def __getstate__(self) -> dict[Any, Any]:
        flat_bounds(self)
        return super().__getstate__()


_M = TypeVar("_M", bound=BaseModel)


def typed_model(
    cls: type[_M],
    values: dict[str, Any],
    fields_set: set[str] | None = None,
    private: dict[str, Any] | None = None,
) -> _M:
    """An instance of ``cls`` from values already of the right types (no validation)."""
    obj = _NEW(cls)
    _SET_DICT(obj, values)
    # A set, not a frozenset: model_copy(update=...) adds to (a copy of) it. A given set may be shared by
    # instances: these models are frozen, and pydantic copies the set before changing it.
    _SET_FIELDS_SET(obj, set(values) if fields_set is None else fields_set)
    _SET_EXTRA(obj, None)
    _SET_PRIVATE(obj, private)
    return obj


def _parts(b: tuple[float, ...]) -> dict[str, Any]:
    """Every range of an Impacts from its 26 bounds: the totals, and the usage and embodied breakdowns."""
    energy, gwp, pe = _range(b[0], b[1], _KWH), _range(b[2], b[3], _CO2), _range(b[4], b[5], _MJ)
    adpe, wcf = _range(b[6], b[7], _SB), _range(b[8], b[9], _L)
    usage = typed_model(
        UsageImpacts,
        {
            "energy": energy,
            "gwp": _range(b[12], b[13], _CO2),
            "pe": _range(b[14], b[15], _MJ),
            "adpe": _range(b[16], b[17], _SB),
            "wcf": wcf,
        },
    )
    embodied = typed_model(
        EmbodiedImpacts,
        {"gwp": _range(b[20], b[21], _CO2), "pe": _range(b[22], b[23], _MJ), "adpe": _range(b[24], b[25], _SB)},
    )
    return {"energy": energy, "gwp": gwp, "pe": pe, "adpe": adpe, "wcf": wcf, "usage": usage, "embodied": embodied}


def flat_bounds(impacts: Impacts) -> tuple[float, ...]:
    """The 26 bounds of ``impacts`` (``ALL_KEYS`` order, min then max): for exact sums without objects.

    An instrumented call's bounds are computed here, on first read (see ``PendingBounds``), and kept."""
    # Straight from pydantic's private-attribute slot: ``impacts._bounds`` goes through __getattr__ (slower).
    private: dict[str, Any] = impacts.__pydantic_private__  # type: ignore[assignment]
    bounds = private["_bounds"]
    if type(bounds) is not tuple:
        bounds = private["_bounds"] = bounds.compute()
    return bounds  # type: ignore[no-any-return]


class PendingBounds(tuple[Any, ...]):
    """The 26 bounds of an estimate not read yet: ``(kernel, output_tokens, latency_s)``.

    Used only where the bounds are sure to come out finite and ordered (``Prepared.lazy_tokens``), so
    computing them later cannot fail; an Impacts holding one reads, compares, copies and pickles as if
    its bounds had been computed at once (each of those computes them first). A tuple: made in C, once per
    instrumented call."""

    __slots__ = ()

    def compute(self) -> tuple[float, ...]:
        kernel, output_tokens, latency_s = self
        flat: tuple[float, ...] = kernel(output_tokens, latency_s)
        if len(flat) != 26 or not _isfinite(sum(flat)):  # ruled out by Prepared.lazy_tokens; checked anyway
            raise ValueError(f"expected 26 finite impact bounds, got {flat!r}")
        return flat

    def __reduce__(self) -> tuple[Any, ...]:  # copied or pickled as the bounds themselves
        return tuple, (self.compute(),)


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
    totals = [0.0] * (2 * len(ALL_KEYS))
    warnings: dict[str, ImpactWarning] = {}
    for item in items:
        for i, value in enumerate(flat_bounds(item)):
            totals[i] += value
        for w in item.warnings:
            warnings.setdefault(w.code, w)
    return impacts_from_flat(
        tuple(totals),
        methodology_version=_merge_versions(i.methodology_version for i in items),
        inputs=None,
        warnings=tuple(warnings.values()),
        calls=sum(i.calls for i in items),
    )


def range_at(impacts: Impacts, key: str) -> Range:
    """The range named by ``key`` (``"gwp"``, ``"usage.energy"``, ``"embodied.pe"``)."""
    obj: Any = impacts
    for part in key.split("."):
        obj = getattr(obj, part)
    assert isinstance(obj, Range)
    return obj


_IMPACTS_FIELDS = {"methodology_version", "inputs", "warnings", "calls"}  # shared (see typed_model)


def impacts_from_flat(
    flat: tuple[float, ...],
    *,
    methodology_version: str,
    inputs: EstimateInputs | None,
    warnings: tuple[ImpactWarning, ...] = (),
    calls: int = 1,
    ordered: bool = False,
) -> Impacts:
    """An ``Impacts`` from its 26 bounds (``ALL_KEYS`` order) and already-typed parts, checked in one pass.

    Runs once per instrumented call, so it validates only what our own code cannot guarantee: every bound
    finite, and every range ordered unless ``ordered`` says the bounds come out ordered by construction.
    """
    return checked_impacts(flat, methodology_version, inputs, warnings, calls, ordered)


def checked_impacts(
    flat: tuple[float, ...],
    methodology_version: str,
    inputs: EstimateInputs | None,
    warnings: tuple[ImpactWarning, ...],
    calls: int,
    ordered: bool,
) -> Impacts:
    """``impacts_from_flat`` with every argument in order (keywords cost more to pass)."""
    # sum() of a NaN or an infinity is not finite.
    if len(flat) != 26 or not _isfinite(sum(flat)):
        raise ValueError(f"expected 26 finite impact bounds, got {flat!r}")
    b = flat  # every (min, max) pair in order, written out (a fifth of the cost of a loop or a map)
    if not ordered and not (
        b[0] <= b[1] and b[2] <= b[3] and b[4] <= b[5] and b[6] <= b[7] and b[8] <= b[9] and b[10] <= b[11]
        and b[12] <= b[13] and b[14] <= b[15] and b[16] <= b[17] and b[18] <= b[19] and b[20] <= b[21]
        and b[22] <= b[23] and b[24] <= b[25]
    ):  # fmt: skip
        raise ValueError(f"inverted impact range in {flat!r}")
    return typed_model(
        Impacts,
        {"methodology_version": methodology_version, "inputs": inputs, "warnings": warnings, "calls": calls},
        _IMPACTS_FIELDS,
        {"_bounds": flat},
    )


_VALIDATE_RANGE = Range.__pydantic_validator__.validate_python
