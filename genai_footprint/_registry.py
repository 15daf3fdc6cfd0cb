"""The data registry: models, providers and electricity mixes, read from ``registry/*.json``.

Loaded on first use and cached; importing the package reads nothing. Rows are validated with pydantic and
a bad file raises ``RegistryError`` naming the file and the row.
"""

from __future__ import annotations

import difflib
import json
import re
import threading
from collections.abc import Iterable, Sequence
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from genai_footprint._errors import RegistryError
from genai_footprint._impacts import ElectricityMix, ImpactWarning, Range

SCHEMA_VERSION = 1
WARNING_MESSAGES = {
    "model-arch-not-released": "The model's architecture is not published; its parameter counts are estimates.",
    "model-arch-multimodal": "The model is multimodal; a text-only estimate of its size is less precise.",
    "electricity-mix-world": "No figure of its own for this zone; the world value stands in",
}


class _Row(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


Positive = Annotated[float, Field(gt=0, allow_inf_nan=False)]
NonNegative = Annotated[float, Field(ge=0, allow_inf_nan=False)]


class Bounds(_Row):
    """A ``{"min": a, "max": b}`` figure in a data file."""

    min: NonNegative
    max: NonNegative

    @model_validator(mode="after")
    def _ordered(self) -> Bounds:
        if self.min > self.max:
            raise ValueError(f"min {self.min} is greater than max {self.max}")
        return self


def as_range(value: float | Bounds, unit: str) -> Range:
    if isinstance(value, Bounds):
        return Range(min=value.min, max=value.max, unit=unit)
    return Range(min=value, max=value, unit=unit)


class ModelRow(_Row):
    provider: str
    name: str
    architecture: Literal["dense", "moe"]
    total_params_b: Positive | Bounds
    active_params_b: Positive | Bounds
    tps: Positive | None = None
    ttft_s: NonNegative | None = None
    warnings: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()
    sources: Annotated[tuple[str, ...], Field(min_length=1)]
    deployment_sources: tuple[str, ...] = ()
    # Overrides of the provider's defaults, e.g. for a self-hosted model.
    zone: str | None = None
    pue: Positive | Bounds | None = None
    wue: NonNegative | Bounds | None = None

    @field_validator("warnings")
    @classmethod
    def _known_warnings(cls, codes: tuple[str, ...]) -> tuple[str, ...]:
        for code in codes:
            if code not in WARNING_MESSAGES:
                raise ValueError(f"unknown warning code {code!r}; known: {', '.join(WARNING_MESSAGES)}")
        return codes

    @model_validator(mode="after")
    def _consistent(self) -> ModelRow:
        active, total = as_range(self.active_params_b, ""), as_range(self.total_params_b, "")
        if active.max > total.max or active.min > total.min:
            raise ValueError("active parameters exceed total parameters")
        if self.architecture == "dense" and self.active_params_b != self.total_params_b:
            raise ValueError("a dense model has active == total parameters")
        if (self.tps is not None or self.ttft_s is not None) and not self.deployment_sources:
            raise ValueError("tps/ttft_s given without deployment_sources")
        return self

    @cached_property
    def active_range(self) -> Range:
        return as_range(self.active_params_b, "B params")

    @cached_property
    def total_range(self) -> Range:
        return as_range(self.total_params_b, "B params")

    @cached_property
    def pue_range(self) -> Range | None:
        return None if self.pue is None else as_range(self.pue, "")

    @cached_property
    def wue_range(self) -> Range | None:
        return None if self.wue is None else as_range(self.wue, "L/kWh")

    @cached_property
    def impact_warnings(self) -> tuple[ImpactWarning, ...]:
        return tuple(ImpactWarning(code=c, message=WARNING_MESSAGES[c]) for c in self.warnings)


class ProviderRow(_Row):
    provider: str
    aliases: tuple[str, ...] = ()
    zone: str
    pue: Positive | Bounds
    wue: NonNegative | Bounds
    notes: str = ""
    sources: Annotated[tuple[str, ...], Field(min_length=1)]

    @cached_property
    def pue_range(self) -> Range:
        return as_range(self.pue, "")

    @cached_property
    def wue_range(self) -> Range:
        return as_range(self.wue, "L/kWh")


class MixRow(_Row):
    zone: Annotated[str, Field(pattern=r"^[A-Z]{3}$")]
    gwp: NonNegative
    pe: NonNegative
    adpe: NonNegative
    wue: NonNegative
    world_fallback: tuple[Literal["gwp", "pe", "adpe", "wue"], ...] = ()


Cloud = Literal["aws", "azure", "gcp"]


class RegionRow(_Row):
    """A cloud region (or multi-region name) and the zone of the country it stands in. ``zone`` None: the name
    spans several countries (``eu``, ``global``) and so says nothing about the grid."""

    zone: Annotated[str, Field(pattern=r"^[A-Z]{3}$")] | None
    location: Annotated[str, Field(min_length=1)]
    source: Annotated[str, Field(min_length=1)]


class RegionsSection(BaseModel):
    """``providers.json``'s ``regions``: where a call was served, as the client or the response tells."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    about: str = ""
    sources: Annotated[tuple[str, ...], Field(min_length=1)]
    hosts: dict[str, str] = Field(default_factory=dict)
    # provider -> the cloud whose region names its responses report (OpenAI: Azure's x-ms-region header)
    reported: dict[str, Cloud] = Field(default_factory=dict)
    clouds: dict[Cloud, dict[str, RegionRow]]


def region_key(name: str) -> str:
    """A region name compared without case or spaces: Azure's ``East US 2`` (a header) is ``eastus2`` (a host)."""
    return "".join(name.split()).lower()


class _File(BaseModel):
    model_config = ConfigDict(extra="allow")
    schema_version: Literal[1]
    registry_version: str


class ModelsFile(_File):
    models: list[dict[str, Any]]


class ProvidersFile(_File):
    providers: list[dict[str, Any]]
    regions: RegionsSection


class MixesFile(_File):
    sources: dict[Literal["gwp", "pe", "adpe", "wue"], str]
    zones: list[dict[str, Any]]


def data_dir() -> Path:
    """The registry folder: inside the installed package (wheel), else beside it (source checkout)."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "_registry_data", here.parent / "registry"):
        if (candidate / "models.json").is_file():
            return candidate
    raise RegistryError(f"registry data not found (looked in {here / '_registry_data'} and {here.parent / 'registry'})")


def _read(path: Path) -> Any:
    try:
        with path.open("rb") as fh:
            return json.load(fh)
    except (OSError, ValueError) as exc:
        raise RegistryError(f"{path}: cannot read registry file: {exc}") from exc


def _rows(path: Path, kind: type[_Row], rows: Iterable[dict[str, Any]], key: str) -> list[Any]:
    out = []
    for index, raw in enumerate(rows):
        try:
            out.append(kind.model_validate(raw))
        except ValidationError as exc:
            label = raw.get(key, "?") if isinstance(raw, dict) else "?"
            problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'row'}: {e['msg']}" for e in exc.errors())
            raise RegistryError(f"{path}: row {index} ({key}={label!r}): {problems}") from None
    return out


def _file(path: Path, kind: type[_File]) -> Any:
    try:
        return kind.model_validate(_read(path))
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise RegistryError(f"{path}: {problems}") from None


_DATE_SUFFIX = re.compile(r"-(\d{4}-\d{2}-\d{2}|\d{8})$")
_BEDROCK = re.compile(r"^(?:(?:us|eu|apac|au|jp|global)\.)?anthropic\.(?P<name>.+?)(?:-v\d+(?::\d+)?)?$")
_VERTEX_AT = re.compile(r"^(?P<name>[^@]+)@(?P<date>\d{8})$")


class Registry:
    """All registry data, indexed for lookups. Built once; ``register_model`` adds rows at run time."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        models_path = directory / "models.json"
        providers_path = directory / "providers.json"
        mixes_path = directory / "electricity_mixes.json"
        models_file: ModelsFile = _file(models_path, ModelsFile)
        providers_file: ProvidersFile = _file(providers_path, ProvidersFile)
        mixes_file: MixesFile = _file(mixes_path, MixesFile)
        by_file = {
            models_path.name: models_file.registry_version,
            providers_path.name: providers_file.registry_version,
            mixes_path.name: mixes_file.registry_version,
        }
        if len(set(by_file.values())) != 1:
            detail = ", ".join(f"{name} has {version!r}" for name, version in by_file.items())
            raise RegistryError(f"{directory}: registry files disagree on registry_version: {detail}")
        self.version = models_file.registry_version
        self.mix_sources = dict(mixes_file.sources)

        self.mixes: dict[str, MixRow] = {}
        for mix in _rows(mixes_path, MixRow, mixes_file.zones, "zone"):
            if mix.zone in self.mixes:
                raise RegistryError(f"{mixes_path}: zone {mix.zone!r} appears twice")
            self.mixes[mix.zone] = mix
        if "WOR" not in self.mixes:
            raise RegistryError(f"{mixes_path}: the world zone 'WOR' is missing")

        self.providers: dict[str, ProviderRow] = {}
        self.provider_names: dict[str, str] = {}
        for prov in _rows(providers_path, ProviderRow, providers_file.providers, "provider"):
            if prov.zone not in self.mixes:
                raise RegistryError(f"{providers_path}: provider {prov.provider!r}: unknown zone {prov.zone!r}")
            self.providers[prov.provider] = prov
            for name in (prov.provider, *prov.aliases):
                self.provider_names[name.lower()] = prov.provider
        self._read_regions(providers_path, providers_file.regions)

        self._lock = threading.Lock()
        self._file_models: dict[tuple[str, str], ModelRow] = {}
        self._lookup: tuple[dict[tuple[str, str], ModelRow], dict[tuple[str, str], ModelRow | None]] = ({}, {})
        self._runtime: dict[tuple[str, str], ModelRow] = {}
        for row in _rows(models_path, ModelRow, models_file.models, "name"):
            self._check_model(models_path, row)
            for name in (row.name, *row.aliases):
                key = (row.provider, name.lower())
                if key in self._file_models:
                    raise RegistryError(f"{models_path}: model name {name!r} of {row.provider!r} appears twice")
                self._file_models[key] = row
        self._rebuild_index()

    def _read_regions(self, path: Path, regions: RegionsSection) -> None:
        self.host_zones: dict[str, str] = {k.lower(): v for k, v in regions.hosts.items()}
        for host, zone in self.host_zones.items():
            if zone not in self.mixes:
                raise RegistryError(f"{path}: regions: hosts[{host!r}]: unknown zone {zone!r}")
        self._cloud_index: dict[str, dict[str, str | None]] = {}
        for cloud, rows in regions.clouds.items():
            index = self._cloud_index[cloud] = {}
            for name, row in rows.items():
                if row.zone is not None and row.zone not in self.mixes:
                    raise RegistryError(f"{path}: regions: clouds.{cloud}[{name!r}]: unknown zone {row.zone!r}")
                if region_key(name) in index:
                    raise RegistryError(f"{path}: regions: clouds.{cloud}[{name!r}]: the region appears twice")
                index[region_key(name)] = row.zone
        # Per provider, the region names its responses may report (lower case) and their zones.
        self.region_zones: dict[str, dict[str, str]] = {p: {} for p in self.providers}
        for provider, cloud in regions.reported.items():
            if provider not in self.providers:
                raise RegistryError(f"{path}: regions: reported: unknown provider {provider!r}")
            if cloud not in regions.clouds:
                raise RegistryError(f"{path}: regions: reported: {provider!r} names cloud {cloud!r}: no such table")
            rows = regions.clouds[cloud]
            self.region_zones[provider] = {k.lower(): r.zone for k, r in rows.items() if r.zone is not None}

    def cloud_zone(self, cloud: str, region: str) -> str | None:
        """The zone of a region of ``cloud`` (``aws``, ``azure``, ``gcp``), compared without case or spaces; None
        for a name the registry does not know or one that spans several countries."""
        return self._cloud_index.get(cloud, {}).get(region_key(region))

    def _check_model(self, path: Path | str, row: ModelRow) -> None:
        if row.provider not in self.providers:
            raise RegistryError(f"{path}: model {row.name!r}: unknown provider {row.provider!r}")
        if row.zone is not None and row.zone not in self.mixes:
            raise RegistryError(f"{path}: model {row.name!r}: unknown zone {row.zone!r}")

    def _rebuild_index(self) -> None:
        index = dict(self._file_models)
        index.update(self._runtime)
        # Swapped as one object, so a lookup racing with register_model() never caches a stale answer
        # into the new index's cache.
        self._lookup = (index, {})
        # _estimate.prepared_from_registry's cache: (provider, model, zone, pue, wue) -> Prepared; reset with the index
        self.prepared: dict[tuple[Any, ...], Any] = {}

    def add_model(self, row: ModelRow) -> None:
        self._check_model("register_model()", row)
        with self._lock:
            for name in (row.name, *row.aliases):
                self._runtime[(row.provider, name.lower())] = row
            self._rebuild_index()

    # -- lookups -------------------------------------------------------------------------------------

    def provider_name(self, name: str) -> str | None:
        return self.provider_names.get(name.strip().lower())

    def models(self, provider: str | None = None) -> list[ModelRow]:
        seen: dict[int, ModelRow] = {}
        for (prov, _), row in sorted(self._lookup[0].items()):
            if provider is None or prov == provider:
                seen.setdefault(id(row), row)
        return sorted(seen.values(), key=lambda r: (r.provider, r.name))

    def names(self, provider: str | None = None) -> list[str]:
        return sorted(name for (prov, name) in self._lookup[0] if provider is None or prov == provider)

    def resolve(self, provider: str, model: str) -> ModelRow | None:
        """The row for ``model`` served by ``provider``, or None. Never guesses across model families."""
        index, cache = self._lookup
        key = (provider, model)
        try:
            return cache[key]
        except KeyError:
            pass
        row = self._resolve(index, provider, model)
        if len(cache) > 4096:  # unknown names from many sources must not grow memory forever
            cache.clear()
        cache[key] = row
        return row

    def _candidates(self, provider: str, model: str) -> Iterable[tuple[str, str]]:
        name = model.strip().lower()
        # "openai/gpt-4o": a prefix naming a provider we know (gateways prefix the real provider).
        if "/" in name:
            prefix, rest = name.split("/", 1)
            owner = self.provider_names.get(prefix)
            if owner is not None:
                provider, name = owner, rest
        # "ft:gpt-4o-mini-2024-07-18:org:suffix:id": a fine-tune costs what its base model costs.
        if name.startswith("ft:"):
            name = name[3:].split(":", 1)[0]
        # Bedrock ids ("us.anthropic.claude-sonnet-4-5-20250929-v1:0") and Vertex ids ("name@20250929").
        match = _BEDROCK.match(name)
        if match:
            name = match.group("name")
        match = _VERTEX_AT.match(name)
        if match:
            name = f"{match.group('name')}-{match.group('date')}"
        yield provider, name
        # A dated snapshot falls back to its undated name, "-latest" to the bare name: same model family.
        base = _DATE_SUFFIX.sub("", name)
        if base != name:
            yield provider, base
        if name.endswith("-latest"):
            yield provider, name[: -len("-latest")]

    def _resolve(self, index: dict[tuple[str, str], ModelRow], provider: str, model: str) -> ModelRow | None:
        for key in self._candidates(provider, model):
            row = index.get(key)
            if row is not None:
                return row
        return None

    def suggestions(self, provider: str | None, model: str, limit: int = 3) -> list[str]:
        names = self.names(provider)
        return difflib.get_close_matches(model.strip().lower(), names, n=limit, cutoff=0.6)

    def mix(self, zone: str) -> MixRow | None:
        return self.mixes.get(zone)

    def zone_suggestions(self, zone: str) -> Sequence[str]:
        return difflib.get_close_matches(zone.upper(), list(self.mixes), n=3, cutoff=0.5)

    @cached_property
    def mix_warnings(self) -> dict[str, tuple[ImpactWarning, ...]]:
        """Per zone, the warning that some of its factors are world values (empty when none are)."""
        out: dict[str, tuple[ImpactWarning, ...]] = {}
        for zone, row in self.mixes.items():
            if row.world_fallback:
                message = (
                    f"{WARNING_MESSAGES['electricity-mix-world']} for {', '.join(row.world_fallback)} in zone {zone}."
                )
                out[zone] = (ImpactWarning(code="electricity-mix-world", message=message),)
            else:
                out[zone] = ()
        return out

    @cached_property
    def mix_models(self) -> dict[str, ElectricityMix]:
        """Each zone's factors as the ``ElectricityMix`` recorded in estimate inputs (built once)."""
        return {
            zone: ElectricityMix(
                zone=zone,
                gwp=row.gwp,
                pe=row.pe,
                adpe=row.adpe,
                wue=row.wue,
                source=f"registry {self.version}",
                world_fallback=row.world_fallback,
            )
            for zone, row in self.mixes.items()
        }


_lock = threading.Lock()
_registry: Registry | None = None


def get_registry() -> Registry:
    """The process-wide registry, loaded on first call."""
    global _registry
    if _registry is None:
        with _lock:
            if _registry is None:
                _registry = Registry(data_dir())
    return _registry


def register_model(
    provider: str,
    name: str,
    *,
    active_params: float | tuple[float, float],
    total_params: float | tuple[float, float] | None = None,
    tps: float | None = None,
    ttft: float | None = None,
    zone: str | None = None,
    pue: float | tuple[float, float] | None = None,
    wue: float | tuple[float, float] | None = None,
    aliases: Sequence[str] = (),
    sources: Sequence[str] = ("registered at run time by the application",),
    warnings: Sequence[str] = (),
) -> None:
    """Add or override a model at run time, e.g. a self-hosted model behind an OpenAI-compatible server.

    Parameters are in billions (a number or a ``(min, max)`` tuple); ``total_params`` defaults to
    ``active_params`` (a dense model). ``zone``, ``pue`` and ``wue`` override the provider's defaults for
    this model. Raises ``InvalidInputError`` naming the argument on bad input.
    """
    from genai_footprint._errors import InvalidInputError, UnknownZoneError
    from genai_footprint._estimate import _number, _range

    registry = get_registry()
    canonical = registry.provider_name(provider) if isinstance(provider, str) else None
    if canonical is None:
        raise InvalidInputError("provider", f"unknown provider {provider!r}; known: {', '.join(registry.providers)}")
    if not isinstance(name, str) or not name.strip():
        raise InvalidInputError("name", f"expected a model name, got {name!r}")

    # Each figure is checked on its own, with estimate()'s rules, so an error names the argument at fault.
    def figure(argument: str, value: object, *, allow_zero: bool) -> float | dict[str, float] | None:
        if value is None:
            return None
        checked = _range(argument, value, "", allow_zero=allow_zero)
        return checked.min if checked.is_exact else {"min": checked.min, "max": checked.max}

    active = figure("active_params", active_params, allow_zero=False)
    total = figure("total_params", total_params, allow_zero=False) if total_params is not None else active
    if total is not None and active is not None:
        lo_a, hi_a = (active["min"], active["max"]) if isinstance(active, dict) else (active, active)
        lo_t, hi_t = (total["min"], total["max"]) if isinstance(total, dict) else (total, total)
        if lo_a > lo_t or hi_a > hi_t:
            raise InvalidInputError("active_params", f"active parameters {active} exceed total parameters {total}")
    zone_code = zone.strip().upper() if isinstance(zone, str) else zone
    if zone_code is not None and zone_code not in registry.mixes:
        raise UnknownZoneError(str(zone), "zone", registry.zone_suggestions(str(zone_code)))
    fields = {
        "provider": canonical,
        "name": name.strip(),
        "architecture": "dense" if total == active else "moe",
        "active_params_b": active,
        "total_params_b": total,
        "tps": None if tps is None else _number("tps", tps, allow_zero=False),
        "ttft_s": None if ttft is None else _number("ttft", ttft),
        "zone": zone_code,
        "pue": figure("pue", pue, allow_zero=False),
        "wue": figure("wue", wue, allow_zero=True),
        "aliases": tuple(aliases),
        "sources": tuple(sources),
        "deployment_sources": tuple(sources) if (tps is not None or ttft is not None) else (),
        "warnings": tuple(warnings),
    }
    try:
        row = ModelRow.model_validate(fields)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = str(first["loc"][0]) if first["loc"] else "sources"
        raise InvalidInputError(loc, str(first["msg"])) from None
    registry.add_model(row)
