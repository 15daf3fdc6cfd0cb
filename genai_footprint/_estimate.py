"""``estimate()``: gather every input (registry defaults, overridden by arguments), then run a methodology."""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from numbers import Real
from types import EllipsisType, ModuleType
from typing import Any

from genai_footprint import _methodology
from genai_footprint._errors import InvalidInputError, UnknownModelError, UnknownZoneError
from genai_footprint._impacts import (
    _IMPACTS_FIELDS,
    _NEW,
    _SET_DICT,
    _SET_EXTRA,
    _SET_FIELDS_SET,
    _SET_PRIVATE,
    ElectricityMix,
    EstimateInputs,
    Impacts,
    ImpactWarning,
    PendingBounds,
    Range,
    TokensSource,
    checked_impacts,
    impacts_from_flat,
)
from genai_footprint._registry import ModelRow, Registry, get_registry

ParamValue = float | tuple[float, float]


def _number(name: str, value: object, *, allow_zero: bool = True) -> float:
    if isinstance(value, bool) or not isinstance(value, Real):
        raise InvalidInputError(name, f"expected a number, got {type(value).__name__} {value!r}")
    number = float(value)
    if not math.isfinite(number):
        raise InvalidInputError(name, f"must be finite, got {value!r}")
    if number < 0 or (number == 0 and not allow_zero):
        raise InvalidInputError(name, f"must be {'>= 0' if allow_zero else '> 0'}, got {value!r}")
    return number


def _range(name: str, value: object, unit: str, *, allow_zero: bool = True) -> Range:
    """A number or a ``(min, max)`` pair (list, tuple or Range) as a checked Range."""
    if isinstance(value, Range):
        value = (value.min, value.max)
    if isinstance(value, (tuple, list)):
        if len(value) != 2:
            raise InvalidInputError(name, f"a range is a (min, max) pair, got {value!r}")
        lo = _number(f"{name}[min]", value[0], allow_zero=allow_zero)
        hi = _number(f"{name}[max]", value[1], allow_zero=allow_zero)
        if lo > hi:
            raise InvalidInputError(name, f"inverted range: min {lo!r} is greater than max {hi!r}")
        return Range(min=lo, max=hi, unit=unit)
    number = _number(name, value, allow_zero=allow_zero)
    return Range(min=number, max=number, unit=unit)


def _optional(name: str, value: object, *, allow_zero: bool = True) -> float | None:
    return None if value is None else _number(name, value, allow_zero=allow_zero)


def _custom_mix(zone: str | None, mix: Mapping[str, object]) -> ElectricityMix:
    if not isinstance(mix, Mapping):
        raise InvalidInputError("mix", f"expected a mapping with gwp, pe, adpe, wue; got {type(mix).__name__}")
    unknown = set(mix) - {"gwp", "pe", "adpe", "wue"}
    missing = {"gwp", "pe", "adpe", "wue"} - set(mix)
    if unknown or missing:
        parts = [f"missing {sorted(missing)}" if missing else "", f"unknown keys {sorted(unknown)}" if unknown else ""]
        raise InvalidInputError("mix", "; ".join(p for p in parts if p) + " (expected gwp, pe, adpe, wue per kWh)")
    return ElectricityMix(
        zone=zone or "custom",
        gwp=_number("mix['gwp']", mix["gwp"]),
        pe=_number("mix['pe']", mix["pe"]),
        adpe=_number("mix['adpe']", mix["adpe"]),
        wue=_number("mix['wue']", mix["wue"]),
        source="user",
    )


def _zone(registry: Registry, zone: object, argument: str = "zone") -> str:
    if not isinstance(zone, str) or not zone.strip():
        raise InvalidInputError(argument, f"expected a zone code such as 'FRA', got {zone!r}")
    code = zone.strip().upper()
    if code not in registry.mixes:
        raise UnknownZoneError(zone, argument, registry.zone_suggestions(code))
    return code


def resolve_model(registry: Registry, provider: str | None, model: str) -> ModelRow:
    """The registry row for ``model`` (searching every provider when ``provider`` is None)."""
    if provider is not None:
        row = registry.resolve(provider, model)
        if row is None:
            raise UnknownModelError(provider, model, registry.suggestions(provider, model))
        return row
    found = {id(r): r for p in registry.providers if (r := registry.resolve(p, model)) is not None}
    if len(found) == 1:
        return next(iter(found.values()))
    if not found:
        raise UnknownModelError(None, model, registry.suggestions(None, model))
    owners = sorted(r.provider for r in found.values())
    raise InvalidInputError("provider", f"model {model!r} is served by several providers ({owners}); name one")


def estimate(
    provider: str | None = None,
    model: str | None = None,
    *,
    output_tokens: float,
    latency_s: float | None = None,
    zone: str | None = None,
    active_params: ParamValue | None = None,
    total_params: ParamValue | None = None,
    tps: float | None = None,
    ttft: float | None = None,
    pue: ParamValue | None = None,
    wue: ParamValue | None = None,
    mix: Mapping[str, float] | None = None,
    methodology: str = _methodology.DEFAULT_VERSION,
) -> Impacts:
    """Estimate the impacts of one text-generation request.

    With ``model``, the registry supplies every input and any keyword given overrides it; without,
    ``active_params`` and ``total_params`` (billions; a number or a ``(min, max)`` tuple) are required.
    ``latency_s`` is the measured wall-clock time of the request (None: unknown). ``zone`` is an ISO 3166-1
    alpha-3 code (or ``WOR``); ``mix`` replaces the zone's factors with ``{"gwp", "pe", "adpe", "wue"}`` per kWh.

    Raises ``UnknownModelError`` for a model not in the registry and ``InvalidInputError`` (a ``ValueError``)
    naming the argument for any other bad input.
    """
    tokens = _number("output_tokens", output_tokens)
    latency = _optional("latency_s", latency_s)
    registry_only = (
        active_params is None and total_params is None and tps is None and ttft is None and pue is None
    ) and (wue is None and mix is None and methodology == _methodology.DEFAULT_VERSION)
    if (
        registry_only
        and isinstance(provider, str)
        and isinstance(model, str)
        and (zone is None or isinstance(zone, str))
    ):
        return compute(prepared_from_registry(get_registry(), provider, model, zone), tokens, latency)
    prepared = prepare(
        provider,
        model,
        zone=zone,
        active_params=active_params,
        total_params=total_params,
        tps=tps,
        ttft=ttft,
        pue=pue,
        wue=wue,
        mix=mix,
        methodology=methodology,
    )
    return compute(prepared, tokens, latency)


@dataclass(frozen=True, slots=True)
class Prepared:
    """Everything about an estimate that does not depend on the request's tokens and latency."""

    method: ModuleType
    # Every EstimateInputs field in the model's order: those known before the call, the per-call ones None. A
    # call copies it and sets those (one dict of the final size; merging into a new dict would grow it, and
    # re-allocate, as keys arrive).
    fixed_inputs: dict[str, Any]
    warnings: tuple[ImpactWarning, ...]
    compute_kwargs: dict[str, Any]  # methodology inputs known before the call
    kernel: Callable[[float, float | None], tuple[float, ...]]  # (tokens, latency) -> the 26 bounds
    ordered: bool = False  # the kernel's (min, max) pairs are ordered by construction (no per-call check)
    # Up to this many output tokens the bounds are sure to come out finite and ordered, so an instrumented call
    # may leave them to be computed when first read (PendingBounds); 0: always compute and check at once.
    lazy_tokens: float = 0.0


def prepare(
    provider: str | None,
    model: str | None,
    *,
    zone: object = None,
    active_params: object = None,
    total_params: object = None,
    tps: object = None,
    ttft: object = None,
    pue: object = None,
    wue: object = None,
    mix: Mapping[str, object] | None = None,
    methodology: str = _methodology.DEFAULT_VERSION,
    registry: Registry | None = None,
) -> Prepared:
    """Check every argument and gather the inputs an estimate needs besides tokens and latency."""
    method = _methodology.get(methodology)
    reg = registry or get_registry()

    provider_name: str | None = None
    if provider is not None:
        if not isinstance(provider, str):
            raise InvalidInputError("provider", f"expected a provider name, got {provider!r}")
        provider_name = reg.provider_name(provider)
        if provider_name is None:
            raise InvalidInputError("provider", f"unknown provider {provider!r}; known: {', '.join(reg.providers)}")

    row: ModelRow | None = None
    if model is not None:
        if not isinstance(model, str) or not model.strip():
            raise InvalidInputError("model", f"expected a model name, got {model!r}")
        row = resolve_model(reg, provider_name, model)
        provider_name = row.provider
    elif active_params is None or total_params is None:
        missing = [n for n, v in (("active_params", active_params), ("total_params", total_params)) if v is None]
        raise InvalidInputError(" and ".join(missing), "required when no model is given (billions of parameters)")
    prov = reg.providers[provider_name] if provider_name else None

    active = _range("active_params", active_params, "B params", allow_zero=False) if active_params is not None else None
    total = _range("total_params", total_params, "B params", allow_zero=False) if total_params is not None else None
    if active is None:
        assert row is not None
        active = row.active_range
    if total is None:
        total = row.total_range if row is not None else active
    if active.min > total.min or active.max > total.max:
        raise InvalidInputError("active_params", f"active parameters {active} exceed total parameters {total}")

    tps_value = _optional("tps", tps, allow_zero=False) if tps is not None else (row.tps if row else None)
    ttft_value = _optional("ttft", ttft) if ttft is not None else (row.ttft_s if row else None)

    pue_range = _site_range("pue", pue, "", row.pue_range if row else None, prov.pue_range if prov else None, False)
    wue_range = _site_range("wue", wue, "L/kWh", row.wue_range if row else None, prov.wue_range if prov else None, True)

    warnings: list[ImpactWarning] = []
    zone_code: str | None
    if zone is not None:
        zone_code = _zone(reg, zone)
    elif row is not None and row.zone is not None:
        zone_code = row.zone
    elif prov is not None:
        zone_code = prov.zone
    elif mix is not None:
        zone_code = None  # a custom mix stands for no registered zone
    else:
        zone_code = "WOR"
        warnings.append(
            ImpactWarning(code="zone-world-default", message="No provider or zone given; the world mix is used.")
        )
    if mix is not None:
        mix_model = _custom_mix(zone_code, mix)
    else:
        assert zone_code is not None
        mix_model = reg.mix_models[zone_code]

    if row is not None:
        warnings.extend(row.impact_warnings)
    if mix is None:
        warnings.extend(reg.mix_warnings[mix_model.zone])
    fixed_inputs = {
        "provider": provider_name,
        "model_requested": model,
        "model_resolved": row.name if row else None,
        "zone": mix_model.zone,
        "active_params": active,
        "total_params": total,
        "tps": tps_value,
        "ttft_s": ttft_value,
        "pue": pue_range,
        "wue": wue_range,
        "mix": mix_model,
        "registry_version": reg.version if (row is not None or mix is None) else None,
    }
    compute_kwargs = {
        "active_params_b": (active.min, active.max),
        "total_params_b": (total.min, total.max),
        "tps": tps_value,
        "ttft_s": ttft_value,
        "pue": (pue_range.min, pue_range.max),
        "wue_onsite": (wue_range.min, wue_range.max),
        "mix_gwp": mix_model.gwp,
        "mix_pe": mix_model.pe,
        "mix_adpe": mix_model.adpe,
        "mix_wue": mix_model.wue,
    }
    return _prepared(method, fixed_inputs, tuple(warnings), compute_kwargs)


def _prepared(
    method: ModuleType, fixed_inputs: dict[str, Any], warnings: tuple[ImpactWarning, ...], kwargs: dict[str, Any]
) -> Prepared:
    kernel = method.kernel(**kwargs)
    ordered = kernel.__dict__.get("ordered") is True
    lazy_tokens = 0.0
    if ordered:
        # Ordered coefficients, all non-negative, make every bound non-decreasing in tokens and latency (None:
        # uncapped, the largest): finite at this many tokens without a cap means finite below it.
        with contextlib.suppress(ArithmeticError):
            if math.isfinite(sum(kernel(_LAZY_TOKENS, None))):
                lazy_tokens = _LAZY_TOKENS
    fixed_inputs = {name: fixed_inputs.get(name) for name in EstimateInputs.model_fields}
    return Prepared(method, fixed_inputs, warnings, kwargs, kernel, ordered, lazy_tokens)


_LAZY_TOKENS = 1e12


def _site_range(
    argument: str, given: object, unit: str, of_model: Range | None, of_provider: Range | None, allow_zero: bool
) -> Range:
    """A datacenter figure (PUE, WUE): as given, else the model's own, else its provider's."""
    if given is not None:
        return _range(argument, given, unit, allow_zero=allow_zero)
    found = of_model if of_model is not None else of_provider
    if found is None:
        raise InvalidInputError(argument, "required when no provider is given (the datacenter's figure is unknown)")
    return found


def prepared_from_registry(
    registry: Registry, provider: str, model: str, zone: str | None = None, pue: Any = None, wue: Any = None
) -> Prepared:
    """The preparation of a registry model (with these overrides), made once and kept in ``registry.prepared``
    until the registry changes: estimate() and every instrumented call of that model share it."""
    key = (provider, model, zone, pue, wue)
    prepared: Prepared | None = registry.prepared.get(key)
    if prepared is None:
        prepared = prepare(provider, model, zone=zone, pue=pue, wue=wue, registry=registry)
        if len(registry.prepared) > 1024:
            registry.prepared.clear()
        registry.prepared[key] = prepared
    return prepared


def with_gwp(prepared: Prepared, gwp: float, source: str, timestamp: str | None) -> Prepared:
    """``prepared`` with another carbon intensity of electricity (e.g. real time); PE and ADPe stay annual.

    The mix recorded in the inputs says which intensity was used (``gwp_source``, ``gwp_timestamp``)."""
    mix = prepared.fixed_inputs["mix"]
    live = mix.model_copy(update={"gwp": _number("gwp", gwp), "gwp_source": source, "gwp_timestamp": timestamp})
    kwargs = {**prepared.compute_kwargs, "mix_gwp": live.gwp}
    return _prepared(prepared.method, {**prepared.fixed_inputs, "mix": live}, prepared.warnings, kwargs)


def compute(
    prepared: Prepared,
    output_tokens: float,
    latency_s: float | None,
    *,
    tokens_source: TokensSource = "given",
    measured_ttft_s: float | None = None,
    stream: bool | None = None,
    extra_warnings: tuple[ImpactWarning, ...] = (),
    model_requested: str | EllipsisType | None = ...,
    model_served: str | None = None,
) -> Impacts:
    """The impacts of one request from prepared inputs; ``output_tokens``/``latency_s`` already checked.

    ``model_requested``: the name the caller asked for (None: they named none, e.g. an agent id); left out,
    the name the estimate was prepared with."""
    return compute_positional(
        prepared,
        output_tokens,
        latency_s,
        tokens_source,
        measured_ttft_s,
        stream,
        extra_warnings,
        model_requested,
        model_served,
    )


def compute_positional(
    prepared: Prepared,
    output_tokens: float,
    latency_s: float | None,
    tokens_source: TokensSource,
    measured_ttft_s: float | None,
    stream: bool | None,
    extra_warnings: tuple[ImpactWarning, ...],
    model_requested: str | EllipsisType | None,
    model_served: str | None,
) -> Impacts:
    """``compute`` with every argument in order (keywords cost more to pass): once per instrumented call."""
    fixed = prepared.fixed_inputs
    if model_requested is ...:
        model_requested = fixed["model_requested"]
    elif model_requested is not None and type(model_requested) is not str:
        model_requested = str(model_requested)
    if model_served is not None and type(model_served) is not str:
        model_served = str(model_served)
    # Every value below is already of its field's type (checked by prepare() and by the callers), so the
    # inputs are assembled without a second validation: this runs once per instrumented call.
    values = fixed.copy()
    values["model_requested"] = model_requested
    values["model_served"] = model_served
    values["output_tokens"] = output_tokens
    values["tokens_source"] = tokens_source
    values["latency_s"] = latency_s
    values["measured_ttft_s"] = measured_ttft_s
    values["stream"] = stream
    # typed_model(), inlined for both models (a Python call costs about what its body does). Every field is a
    # key of fixed_inputs: all of them are set (one shared set, see typed_model).
    inputs = _NEW(EstimateInputs)
    _SET_DICT(inputs, values)
    _SET_FIELDS_SET(inputs, _ALL_INPUTS)
    _SET_EXTRA(inputs, None)
    _SET_PRIVATE(inputs, None)
    warnings = prepared.warnings + extra_warnings if extra_warnings else prepared.warnings
    if output_tokens <= prepared.lazy_tokens:
        # The bounds cannot fail: computed when first read (most calls' numbers are read later, if at all).
        impacts = _NEW(Impacts)
        _SET_DICT(
            impacts,
            {"methodology_version": prepared.method.VERSION, "inputs": inputs, "warnings": warnings, "calls": 1},
        )
        _SET_FIELDS_SET(impacts, _IMPACTS_FIELDS)
        _SET_EXTRA(impacts, None)
        _SET_PRIVATE(impacts, {"_bounds": PendingBounds((prepared.kernel, output_tokens, latency_s))})
        return impacts
    return checked_impacts(
        prepared.kernel(output_tokens, latency_s), prepared.method.VERSION, inputs, warnings, 1, prepared.ordered
    )


_ALL_INPUTS = set(EstimateInputs.model_fields)


def reproduce(inputs: EstimateInputs | Mapping[str, Any], methodology_version: str) -> Impacts:
    """Recompute an estimate from its recorded inputs alone (no registry lookup)."""
    recorded = inputs if isinstance(inputs, EstimateInputs) else EstimateInputs.model_validate(inputs)
    return _run(_methodology.get(methodology_version), recorded, ())


def _run(method: ModuleType, inputs: EstimateInputs, warnings: tuple[ImpactWarning, ...]) -> Impacts:
    """Run ``method`` on recorded ``inputs``."""
    mix = inputs.mix
    kernel = method.kernel(
        active_params_b=(inputs.active_params.min, inputs.active_params.max),
        total_params_b=(inputs.total_params.min, inputs.total_params.max),
        tps=inputs.tps,
        ttft_s=inputs.ttft_s,
        pue=(inputs.pue.min, inputs.pue.max),
        wue_onsite=(inputs.wue.min, inputs.wue.max),
        mix_gwp=mix.gwp,
        mix_pe=mix.pe,
        mix_adpe=mix.adpe,
        mix_wue=mix.wue,
    )
    return impacts_from_flat(
        kernel(inputs.output_tokens, inputs.latency_s),
        methodology_version=method.VERSION,
        inputs=inputs,
        warnings=warnings,
    )
