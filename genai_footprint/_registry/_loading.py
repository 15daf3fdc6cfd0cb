"""The registry: its data files read and checked, indexed for lookups; ``register_model`` adds rows at run time."""

from __future__ import annotations

import difflib
import json
import threading
from collections.abc import Iterable, Sequence
from functools import cached_property
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from genai_footprint._errors import RegistryError
from genai_footprint._impacts import ElectricityMix, ImpactWarning
from genai_footprint._registry._hosts import ApiHost, HostTable
from genai_footprint._registry._names import candidates, hosted_candidates, own_candidates
from genai_footprint._registry._schema import (
    WARNING_MESSAGES,
    DataFile,
    HostRow,
    MixesFile,
    MixRow,
    ModelRow,
    ModelsFile,
    ProviderRow,
    ProvidersFile,
    RegionsSection,
    Row,
    region_key,
)


def _read_json(path: Path) -> Any:
    try:
        with path.open("rb") as fh:
            return json.load(fh)
    except (OSError, ValueError) as exc:
        raise RegistryError(f"{path}: cannot read registry file: {exc}") from exc


def _rows(path: Path, kind: type[Row], rows: Iterable[dict[str, Any]], key: str) -> list[Any]:
    out = []
    for index, raw in enumerate(rows):
        try:
            out.append(kind.model_validate(raw))
        except ValidationError as exc:
            label = raw.get(key, "?") if isinstance(raw, dict) else "?"
            problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'row'}: {e['msg']}" for e in exc.errors())
            raise RegistryError(f"{path}: row {index} ({key}={label!r}): {problems}") from None
    return out


def _file(path: Path, kind: type[DataFile]) -> Any:
    try:
        return kind.model_validate(_read_json(path))
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise RegistryError(f"{path}: {problems}") from None


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
        host_rows = _rows(providers_path, HostRow, providers_file.api_hosts.rows, "host")
        self.api_hosts = HostTable(providers_path, host_rows, self.providers)
        # The providers that make the models they serve, whose rows hosts find other makers' models among.
        self.makers = tuple(p for p, row in self.providers.items() if row.serves == "own")

        self._lock = threading.Lock()
        self.revision = 0  # counts register_model() calls: what is derived from the rows is good for one revision
        self._file_models: dict[tuple[str, str], ModelRow] = {}
        self._index: dict[tuple[str, str], ModelRow] = {}  # (provider, lower-case name or alias) -> row
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
        self._index = index  # swapped as one object: a lookup racing with register_model() sees one or the other
        self._served: dict[tuple[str, str, str], ModelRow] = {}  # rows as another provider serves them

    def add_model(self, row: ModelRow) -> None:
        self._check_model("register_model()", row)
        with self._lock:
            for name in (row.name, *row.aliases):
                self._runtime[(row.provider, name.lower())] = row
            self._rebuild_index()
            self.revision += 1

    # -- lookups -------------------------------------------------------------------------------------

    def provider_name(self, name: str) -> str | None:
        return self.provider_names.get(name.strip().lower())

    def models(self, provider: str | None = None) -> list[ModelRow]:
        seen: dict[int, ModelRow] = {}
        for (prov, _), row in sorted(self._index.items()):
            if provider is None or prov == provider:
                seen.setdefault(id(row), row)
        return sorted(seen.values(), key=lambda r: (r.provider, r.name))

    def names(self, provider: str | None = None) -> list[str]:
        return sorted(name for (prov, name) in self._index if provider is None or prov == provider)

    def resolve(self, provider: str, model: str) -> ModelRow | None:
        """The row for ``model`` served by ``provider``, or None. Never guesses across model families.

        A provider that makes its models looks the name up among its rows, or moves to the provider a prefix
        names (``openai/gpt-4o``). A host of other makers' models (``serves: others``) looks it up among its own
        rows, then finds the maker's row under any spelling, and serves it: the row comes back with the host as
        its provider (so its zone, PUE and WUE apply) and the model's figures."""
        index = self._index
        prov = self.providers.get(provider)
        if prov is not None and prov.serves == "others":
            for key in own_candidates(provider, model):
                row = index.get(key)
                if row is not None:
                    return self._as_served(provider, row)
            row = self._maker_row(index, model)
            return None if row is None else self._as_served(provider, row)
        for key in candidates(self.provider_names, provider, model):
            row = index.get(key)
            if row is not None:
                return self._as_served(row.provider, row)
        for maker, name in hosted_candidates(self.provider_names, model):  # another maker's spelling
            row = index.get((maker, name)) if maker is not None else None
            if row is not None:
                return self._as_served(row.provider, row)
        return None

    def _maker_row(self, index: dict[tuple[str, str], ModelRow], model: str) -> ModelRow | None:
        """The maker's row of a name a host gives, or None; a name more than one maker claims is not guessed."""
        for maker, name in hosted_candidates(self.provider_names, model):
            if maker is not None:
                row = index.get((maker, name))
                if row is not None:
                    return row
                continue
            found = {(r.provider, r.name): r for p in self.makers if (r := index.get((p, name))) is not None}
            if len(found) > 1:
                return None
            if found:
                return next(iter(found.values()))
        return None

    def _as_served(self, provider: str, row: ModelRow) -> ModelRow:
        """``row`` as ``provider`` serves it: the provider's warnings added; served by a host, the maker's own
        deployment figures (zone, PUE, WUE, speed) dropped, for the host's apply."""
        warnings = self.providers[provider].warnings
        if row.provider == provider and all(code in row.warnings for code in warnings):
            return row
        key = (provider, row.provider, row.name.lower())
        served = self._served.get(key)
        if served is None:
            fields = row.model_dump()
            fields.update(provider=provider, warnings=tuple(dict.fromkeys((*row.warnings, *warnings))))
            if row.provider != provider:
                fields.update(zone=None, pue=None, wue=None, tps=None, ttft_s=None, deployment_sources=())
            served = self._served[key] = ModelRow.model_validate(fields)
        return served

    def api_host(self, host: str, port: int | None = None) -> ApiHost | None:
        """The provider behind an OpenAI-compatible API host (``api.groq.com``, ``localhost:11434``), if known."""
        return self.api_hosts.find(host, port)

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
