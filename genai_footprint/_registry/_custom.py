"""Custom models: the checks of ``register_model()`` (a configuration file's ``[[models]]`` go through them too)
and the registry row a checked model becomes."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from pydantic import ValidationError

from genai_footprint import _validate
from genai_footprint._errors import InvalidInputError
from genai_footprint._registry._loading import Registry
from genai_footprint._registry._schema import Bounds, ModelRow
from genai_footprint._settings import ModelSettings


def check_model(
    registry: Registry,
    provider: object,
    name: object,
    *,
    active_params: object,
    total_params: object = None,
    tps: object = None,
    ttft: object = None,
    zone: object = None,
    pue: object = None,
    wue: object = None,
    aliases: object = (),
    source: str,
) -> ModelSettings:
    """``register_model()``'s arguments, checked and normalised; raises ``InvalidInputError`` naming the one at
    fault. Figures are checked with ``estimate()``'s rules (``genai_footprint._validate``)."""
    canonical = registry.provider_name(provider) if isinstance(provider, str) else None
    if canonical is None:
        raise InvalidInputError("provider", f"unknown provider {provider!r}; known: {', '.join(registry.providers)}")
    if not isinstance(name, str) or not name.strip():
        raise InvalidInputError("name", f"expected a model name, got {name!r}")
    active = _validate.bounds("active_params", active_params, allow_zero=False)
    total = None if total_params is None else _validate.bounds("total_params", total_params, allow_zero=False)
    if total is not None and (active[0] > total[0] or active[1] > total[1]):
        raise InvalidInputError("active_params", f"active parameters {active} exceed total parameters {total}")
    return ModelSettings(
        provider=canonical,
        name=name.strip(),
        active_params=active,
        total_params=total,
        zone=None if zone is None else _validate.zone("zone", zone, registry),
        tps=_validate.optional_number("tps", tps, allow_zero=False),
        ttft=_validate.optional_number("ttft", ttft),
        pue=None if pue is None else _validate.bounds("pue", pue, allow_zero=False),
        wue=None if wue is None else _validate.bounds("wue", wue),
        aliases=_aliases(aliases),
        source=source,
    )


def _aliases(value: object) -> tuple[str, ...]:
    items = tuple(value) if isinstance(value, Iterable) and not isinstance(value, str) else None
    if items is None or not all(isinstance(v, str) and v.strip() for v in items):
        raise InvalidInputError("aliases", f"expected a list of model names, got {value!r}")
    return tuple(v.strip() for v in items)


def model_row(model: ModelSettings, sources: Sequence[str], warnings: Sequence[str] = ()) -> ModelRow:
    """The registry row of a checked model; ``sources`` say where its figures come from."""
    active = _figure(model.active_params)
    total = active if model.total_params is None else _figure(model.total_params)
    deployed = model.tps is not None or model.ttft is not None
    fields = {
        "provider": model.provider,
        "name": model.name,
        "architecture": "dense" if total == active else "moe",
        "active_params_b": active,
        "total_params_b": total,
        "tps": model.tps,
        "ttft_s": model.ttft,
        "zone": model.zone,
        "pue": None if model.pue is None else _figure(model.pue),
        "wue": None if model.wue is None else _figure(model.wue),
        "aliases": model.aliases,
        "sources": tuple(sources),
        "deployment_sources": tuple(sources) if deployed else (),
        "warnings": tuple(warnings),
    }
    try:
        return ModelRow.model_validate(fields)
    except ValidationError as exc:  # what only the row knows: e.g. an unknown warning code, no sources
        first = exc.errors()[0]
        argument = str(first["loc"][0]) if first["loc"] else "sources"
        raise InvalidInputError(argument, str(first["msg"])) from None


def _figure(bounds: tuple[float, float]) -> float | Bounds:
    low, high = bounds
    return low if low == high else Bounds(min=low, max=high)
