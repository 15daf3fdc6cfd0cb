"""``estimate()``: gather every input (registry defaults, overridden by arguments), then run a methodology.

An estimate has two steps: ``prepare()`` checks the arguments and gathers everything that does not depend on
the request (the model's figures, the zone's mix, the datacenter's PUE and WUE); ``compute()`` adds the
request's tokens and latency and runs the methodology. Instrumented calls of one registry model share one
preparation (``prepared_for_call``).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from types import EllipsisType, ModuleType
from typing import Any

from genai_footprint import _methodology, _validate
from genai_footprint._errors import InvalidInputError, UnknownModelError
from genai_footprint._events import TokenDetails
from genai_footprint._impacts import (
    ElectricityMix,
    EstimateInputs,
    Impacts,
    ImpactWarning,
    Range,
    TokensSource,
    from_parts,
)
from genai_footprint._registry import ModelRow, Registry, get_registry

ParamValue = float | tuple[float, float]


@dataclass(frozen=True, slots=True)
class Prepared:
    """Everything about an estimate that does not depend on the request's tokens and latency."""

    method: ModuleType  # the methodology module (``VERSION``, ``compute()``)
    inputs: Mapping[str, Any]  # the EstimateInputs fields known before the request
    warnings: tuple[ImpactWarning, ...]
    methodology_inputs: Mapping[str, Any]  # compute()'s keyword arguments known before the request

    @property
    def model(self) -> str | None:
        """The model name it was prepared for (as the caller named it)."""
        return self.inputs["model_requested"]  # type: ignore[no-any-return]


def resolve_model(registry: Registry, provider: str | None, model: str) -> ModelRow:
    """The registry row for ``model`` (searching the providers that make models when ``provider`` is None: a
    host serves other makers' models, found under their maker)."""
    if provider is not None:
        row = registry.resolve(provider, model)
        if row is None:
            raise UnknownModelError(provider, model, registry.suggestions(provider, model))
        return row
    found = {(r.provider, r.name): r for p in registry.makers if (r := registry.resolve(p, model)) is not None}
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
    input_tokens: int | None = None,
    cached_input_tokens: int | None = None,
    latency_s: float | None = None,
    zone: str | None = None,
    active_params: ParamValue | None = None,
    total_params: ParamValue | None = None,
    tps: float | None = None,
    ttft: float | None = None,
    pue: ParamValue | None = None,
    wue: ParamValue | None = None,
    mix: Mapping[str, float] | None = None,
    quantization_bits: float | None = None,
    methodology: str = _methodology.DEFAULT_VERSION,
) -> Impacts:
    """Estimate the impacts of one text-generation request.

    With ``model``, the registry supplies every input and any keyword given overrides it; without,
    ``active_params`` and ``total_params`` (billions; a number or a ``(min, max)`` tuple) are required.
    ``latency_s`` is the measured wall-clock time of the request (None: unknown). ``zone`` is an ISO 3166-1
    alpha-3 code (or ``WOR``); ``mix`` replaces the zone's factors with ``{"gwp", "pe", "adpe", "wue"}`` per kWh.
    ``input_tokens`` (every input token, cached ones included) and ``cached_input_tokens`` (of those, read from
    the provider's cache) are recorded, and used by methodologies that count the prefill. ``quantization_bits``
    replaces the model's bits per weight as served. ``methodology`` names the version (``methodology_versions()``).

    Raises ``UnknownModelError`` for a model not in the registry and ``InvalidInputError`` (a ``ValueError``)
    naming the argument for any other bad input.
    """
    tokens = _validate.number("output_tokens", output_tokens)
    latency = _validate.optional_number("latency_s", latency_s)
    details = _given_details(input_tokens, cached_input_tokens)
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
        quantization_bits=quantization_bits,
        methodology=methodology,
    )
    return compute(prepared, output_tokens=tokens, latency_s=latency, details=details)


def _given_details(input_tokens: object, cached_input_tokens: object) -> TokenDetails:
    """The input counts given to ``estimate()``, checked: whole numbers, the cached part within the input."""
    given = {
        name: _validate.token_count(name, value)
        for name, value in (("input_tokens", input_tokens), ("cached_input_tokens", cached_input_tokens))
        if value is not None
    }
    cached = given.get("cached_input_tokens")
    if cached is not None and cached > given.get("input_tokens", cached):
        raise InvalidInputError("cached_input_tokens", f"{cached} is more than input_tokens={given['input_tokens']}")
    if cached is not None and "input_tokens" not in given:
        raise InvalidInputError("cached_input_tokens", "given without input_tokens (which counts the cached ones too)")
    return TokenDetails(**given)


def _provider_name(registry: Registry, provider: object) -> str | None:
    if provider is None:
        return None
    name = registry.provider_name(provider) if isinstance(provider, str) else None
    if name is None:
        known = ", ".join(registry.providers)
        raise InvalidInputError("provider", f"unknown provider {provider!r}; known: {known}")
    return name


def _model_row(
    registry: Registry, provider: str | None, model: object, active: object, total: object
) -> ModelRow | None:
    if model is not None:
        if not isinstance(model, str) or not model.strip():
            raise InvalidInputError("model", f"expected a model name, got {model!r}")
        return resolve_model(registry, provider, model)
    if active is None or total is None:
        missing = [name for name, value in (("active_params", active), ("total_params", total)) if value is None]
        raise InvalidInputError(" and ".join(missing), "required when no model is given (billions of parameters)")
    return None


def _parameters(row: ModelRow | None, active_params: object, total_params: object) -> tuple[Range, Range]:
    """Active and total parameters (billions): as given, else the model's."""
    unit = "B params"
    active = _given_range("active_params", active_params, unit, allow_zero=False)
    total = _given_range("total_params", total_params, unit, allow_zero=False)
    if active is None:
        assert row is not None  # _model_row() requires both figures when there is no row
        active = row.active_range
    if total is None:
        total = row.total_range if row is not None else active
    if active.min > total.min or active.max > total.max:
        raise InvalidInputError("active_params", f"active parameters {active} exceed total parameters {total}")
    return active, total


def _given_range(argument: str, value: object, unit: str, *, allow_zero: bool) -> Range | None:
    if value is None:
        return None
    low, high = _validate.bounds(argument, value, allow_zero=allow_zero)
    return Range(min=low, max=high, unit=unit)


def _site_range(
    argument: str, given: object, unit: str, of_model: Range | None, of_provider: Range | None, allow_zero: bool
) -> Range:
    """A datacenter figure (PUE, WUE): as given, else the model's own, else its provider's."""
    found = _given_range(argument, given, unit, allow_zero=allow_zero)
    found = found or of_model or of_provider
    if found is None:
        raise InvalidInputError(argument, "required when no provider is given (the datacenter's figure is unknown)")
    return found


def _zone_code(registry: Registry, zone: object, row: ModelRow | None, provider: Any, custom_mix: bool) -> str | None:
    """The serving zone: as given, else the model's, else its provider's; None for a custom mix alone."""
    if zone is not None:
        return _validate.zone("zone", zone, registry)
    if row is not None and row.zone is not None:
        return row.zone
    if provider is not None:
        return str(provider.zone)
    return None if custom_mix else "WOR"


def _custom_mix(zone: str | None, mix: Mapping[str, object]) -> ElectricityMix:
    expected = {"gwp", "pe", "adpe", "wue"}
    if not isinstance(mix, Mapping):
        raise InvalidInputError("mix", f"expected a mapping with gwp, pe, adpe, wue; got {type(mix).__name__}")
    unknown, missing = set(mix) - expected, expected - set(mix)
    if unknown or missing:
        parts = [f"missing {sorted(missing)}" if missing else "", f"unknown keys {sorted(unknown)}" if unknown else ""]
        raise InvalidInputError("mix", "; ".join(p for p in parts if p) + " (expected gwp, pe, adpe, wue per kWh)")
    return ElectricityMix(
        zone=zone or "custom",
        gwp=_validate.number("mix['gwp']", mix["gwp"]),
        pe=_validate.number("mix['pe']", mix["pe"]),
        adpe=_validate.number("mix['adpe']", mix["adpe"]),
        wue=_validate.number("mix['wue']", mix["wue"]),
        source="user",
    )


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
    quantization_bits: object = None,
    methodology: str = _methodology.DEFAULT_VERSION,
    registry: Registry | None = None,
) -> Prepared:
    """Check every argument and gather the inputs an estimate needs besides tokens and latency."""
    method = _methodology.get(methodology)
    reg = registry or get_registry()
    provider_name = _provider_name(reg, provider)
    row = _model_row(reg, provider_name, model, active_params, total_params)
    if row is not None:
        provider_name = row.provider
    prov = reg.providers[provider_name] if provider_name else None
    active, total = _parameters(row, active_params, total_params)
    tps_value = _validate.optional_number("tps", tps, allow_zero=False) if tps is not None else None
    ttft_value = _validate.optional_number("ttft", ttft) if ttft is not None else None
    bits = _validate.optional_number("quantization_bits", quantization_bits, allow_zero=False)
    pue_range = _site_range("pue", pue, "", row.pue_range if row else None, prov.pue_range if prov else None, False)
    wue_range = _site_range("wue", wue, "L/kWh", row.wue_range if row else None, prov.wue_range if prov else None, True)
    zone_code = _zone_code(reg, zone, row, prov, mix is not None)
    electricity = _custom_mix(zone_code, mix) if mix is not None else reg.mix_models[str(zone_code)]
    # A host's missing figures, once given (e.g. a local server's [provider.local]), warn no more.
    supplied = {"provider-zone-unknown"} if zone is not None else set()
    if pue is not None and wue is not None:
        supplied.add("provider-site-default")
    unlocated = zone is None and prov is None and mix is None
    warnings = _warnings(reg, row, None if mix is not None else electricity.zone, unlocated=unlocated)
    warnings = [w for w in warnings if w.code not in supplied]
    inputs = {
        "provider": provider_name,
        "model_requested": model,
        "model_resolved": row.name if row else None,
        "zone": electricity.zone,
        "active_params": active,
        "total_params": total,
        "tps": tps_value if tps is not None else (row.tps if row else None),
        "ttft_s": ttft_value if ttft is not None else (row.ttft_s if row else None),
        "quantization_bits": bits if bits is not None else (row.quantization_bits if row else None),
        "pue": pue_range,
        "wue": wue_range,
        "mix": electricity,
        "registry_version": reg.version if (row is not None or mix is None) else None,
    }
    return Prepared(method, inputs, tuple(warnings), method.arguments(inputs))


def _warnings(reg: Registry, row: ModelRow | None, mix_zone: str | None, *, unlocated: bool) -> list[ImpactWarning]:
    """What lowers an estimate's precision: no provider or zone at all (``unlocated``), the model's and its
    host's codes, and the registry mix's (``mix_zone``; None for a custom mix)."""
    found: list[ImpactWarning] = []
    if row is not None:
        found.extend(row.impact_warnings)
    elif unlocated:
        message = "No provider or zone given; the world mix is used."
        found.append(ImpactWarning(code="zone-world-default", message=message))
    if mix_zone is not None:
        found.extend(reg.mix_warnings[mix_zone])
    return found


def prepared_for_call(
    provider: str,
    models: tuple[str | None, ...],
    zone_hint: str | None,
    *,
    zone: str | None = None,
    methodology: str = _methodology.DEFAULT_VERSION,
    provider_zone: str | None = None,
    pue: tuple[float, float] | None = None,
    wue: tuple[float, float] | None = None,
) -> Prepared | None:
    """The preparation of an instrumented call: its first name in ``models`` (served, then requested) that the
    registry knows, estimated in ``zone``, else the hinted zone (when it is a registered one), else the model's,
    else ``provider_zone``, else the provider's; ``pue`` / ``wue`` replace the provider's figures, never a
    model's own. None when no name is known. Cached per registry revision: this costs more than a call may."""
    registry = get_registry()
    return _prepared_for_call(
        registry, registry.revision, provider, models, zone_hint, zone, methodology, provider_zone, pue, wue
    )


@functools.lru_cache(maxsize=1024)
def _prepared_for_call(
    registry: Registry,
    revision: int,
    provider: str,
    models: tuple[str | None, ...],
    zone_hint: str | None,
    zone: str | None,
    methodology: str,
    provider_zone: str | None,
    pue: tuple[float, float] | None,
    wue: tuple[float, float] | None,
) -> Prepared | None:
    found = [(name, row) for name in models if name if (row := registry.resolve(provider, name)) is not None]
    if not found:
        return None
    name, row = found[0]
    zone = zone or (zone_hint if zone_hint in registry.mixes else None)
    if zone is None and row.zone is None:
        zone = provider_zone
    return prepare(
        provider,
        name,
        zone=zone,
        pue=pue if row.pue is None else None,
        wue=wue if row.wue is None else None,
        registry=registry,
        methodology=methodology,
    )


def with_gwp(prepared: Prepared, gwp: float, source: str, timestamp: str | None) -> Prepared:
    """``prepared`` with another carbon intensity of electricity (e.g. real time); PE and ADPe stay annual.

    The mix recorded in the inputs says which intensity was used (``gwp_source``, ``gwp_timestamp``)."""
    mix = prepared.inputs["mix"]
    live = mix.model_copy(
        update={"gwp": _validate.number("gwp", gwp), "gwp_source": source, "gwp_timestamp": timestamp}
    )
    inputs = {**prepared.inputs, "mix": live}
    return Prepared(prepared.method, inputs, prepared.warnings, prepared.method.arguments(inputs))


def compute(
    prepared: Prepared,
    *,
    output_tokens: float,
    latency_s: float | None,
    tokens_source: TokensSource = "given",
    measured_ttft_s: float | None = None,
    stream: bool | None = None,
    extra_warnings: tuple[ImpactWarning, ...] = (),
    model_requested: str | EllipsisType | None = ...,
    model_served: str | None = None,
    details: TokenDetails | None = None,
) -> Impacts:
    """The impacts of one request from prepared inputs; ``output_tokens``, ``latency_s`` and ``details`` (the
    other token counts) already checked.

    ``model_requested``: the name the caller asked for (None: they named none, e.g. an agent id); left out,
    the name the estimate was prepared with."""
    counts = details or TokenDetails()
    per_request = {
        "input_tokens": counts.input_tokens,
        "cached_input_tokens": counts.cached_input_tokens,
        "cache_write_input_tokens": counts.cache_write_input_tokens,
        "reasoning_tokens": counts.reasoning_tokens,
        "output_tokens": output_tokens,
        "tokens_source": tokens_source,
        "latency_s": latency_s,
        "measured_ttft_s": measured_ttft_s,
        "stream": stream,
        "model_served": model_served,
    }
    if model_requested is not ...:
        per_request["model_requested"] = model_requested
    inputs = EstimateInputs(**{**prepared.inputs, **per_request})
    method = prepared.method
    request = {name: per_request[name] for name in method.REQUEST_INPUTS}
    bounds = method.compute(**request, **prepared.methodology_inputs)
    return from_parts(
        bounds.usage,
        bounds.embodied,
        methodology_version=method.VERSION,
        inputs=inputs,
        warnings=prepared.warnings + extra_warnings + method.warnings(per_request),
    )


def reproduce(inputs: EstimateInputs | Mapping[str, Any], methodology_version: str) -> Impacts:
    """Recompute an estimate from its recorded inputs alone (no registry lookup)."""
    recorded = inputs if isinstance(inputs, EstimateInputs) else EstimateInputs.model_validate(inputs)
    method = _methodology.get(methodology_version)
    fields = dict(recorded)
    request = {name: fields[name] for name in method.REQUEST_INPUTS}
    bounds = method.compute(**request, **method.arguments(fields))
    return from_parts(
        bounds.usage,
        bounds.embodied,
        methodology_version=method.VERSION,
        inputs=recorded,
    )
