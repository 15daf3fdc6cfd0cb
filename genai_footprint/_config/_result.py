"""The effective configuration: every setting with its source (for listing it), and the typed sections the
rest of the package is handed (``genai_footprint._settings``)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from genai_footprint._config._checks import EXPORTERS, SITE_PROVIDERS, mask_url
from genai_footprint._config._table import MODEL_KEYS, SETTINGS
from genai_footprint._settings import ExporterSettings, ExportSettings, GridSettings, InstrumentationSettings

if TYPE_CHECKING:
    from genai_footprint._settings import ModelSettings


@dataclass(frozen=True)
class Value:
    """One effective setting: its value, where it came from and whether it must not be shown in full."""

    value: object
    source: str
    secret: bool = False


@dataclass(frozen=True)
class Config:
    """The effective configuration. Consumers read its sections; ``values``, ``get()``, ``describe()`` and
    ``as_json()`` list every setting by key with its source (``genai-footprint config``, tests)."""

    values: Mapping[str, Value]  # dotted key → Value, e.g. "zone", "provider.openai.pue", "tags.project"
    instrumentation: InstrumentationSettings
    export: ExportSettings
    grid: GridSettings
    models: tuple[ModelSettings, ...] = ()  # custom models from the files, checked as register_model() does
    log_level: str | None = None  # None: the "genai_footprint" logger is left alone
    files: tuple[str, ...] = ()  # the sources of the files read, lowest layer first

    def get(self, key: str, default: object = None) -> object:
        """A setting's value; a prefix (``"tags"``, ``"provider.openai"``) gives a dict of the settings under it."""
        found = self.values.get(key)
        if found is not None:
            return found.value
        prefix = key + "."
        below = {k[len(prefix) :]: v.value for k, v in self.values.items() if k.startswith(prefix)}
        return below or default

    def describe(self) -> list[tuple[str, str, str]]:
        """(setting, value as shown, source) for every setting, model and exporter object; secrets masked."""
        rows = [(key, show(key, v), v.source) for key, v in self.values.items()]
        for index, model in enumerate(self.models):
            rows.append((f"models[{index}]", _show_model(model), model.source))
        for index, obj in enumerate(self.export.objects):
            rows.append((f"exporters[{index}]", type(obj).__qualname__, "init(exporters=...)"))
        return rows

    def as_json(self) -> dict[str, object]:
        """The same as ``describe()`` with typed values (JSON-ready); secrets masked."""
        settings = {key: {"value": _jsonable(v), "source": v.source} for key, v in self.values.items()}
        models = [{k: _json_value(v) for k, v in dataclasses.asdict(model).items()} for model in self.models]
        objects = [type(obj).__qualname__ for obj in self.export.objects]
        return {"settings": settings, "models": models, "exporter_objects": objects, "files": list(self.files)}


def build_config(
    values: Mapping[str, Value], models: tuple[ModelSettings, ...], objects: tuple[object, ...], files: tuple[str, ...]
) -> Config:
    """The configuration of checked values: each section built once, here."""

    def value(key: str) -> Any:
        return values[key].value

    def by_provider(figure: str) -> Mapping[str, Any]:
        found = {p: value(f"provider.{p}.{figure}") for p in SITE_PROVIDERS}
        return MappingProxyType({p: v for p, v in found.items() if v is not None})

    instrumentation = InstrumentationSettings(
        providers=value("providers"),
        zone=value("zone"),
        request_stream_usage=value("request_stream_usage"),
        strict=value("strict"),
        max_output_tokens=value("max_output_tokens"),
        methodology=value("methodology"),
        zones_by_provider=by_provider("zone"),
        pue_by_provider=by_provider("pue"),
        wue_by_provider=by_provider("wue"),
    )
    grid = GridSettings(
        token=value("electricity_maps.token"), ttl_s=value("electricity_maps.ttl_s"), url=value("electricity_maps.url")
    )
    return Config(
        values=values,
        instrumentation=instrumentation,
        export=_export(values, objects),
        grid=grid,
        models=models,
        log_level=value("log_level"),
        files=files,
    )


def _export(values: Mapping[str, Value], objects: tuple[object, ...]) -> ExportSettings:
    exporters = []
    for name in EXPORTERS:
        enabled = values[f"exporters.{name}.enabled"]
        if enabled.value is not True:
            continue
        prefix = f"exporters.{name}."
        options = {k.removeprefix(prefix): v.value for k, v in values.items() if k.startswith(prefix)}
        del options["enabled"]
        checked = MappingProxyType({k: v for k, v in options.items() if v is not None})
        exporters.append(ExporterSettings(name=name, options=checked, source=enabled.source))
    tags = {k.removeprefix("tags."): str(v.value) for k, v in values.items() if k.startswith("tags.")}
    queue_size = values["export.queue_size"].value
    assert isinstance(queue_size, int)
    return ExportSettings(
        exporters=tuple(exporters),
        objects=objects,
        tags=MappingProxyType(tags),
        queue_size=queue_size,
        otel_spans=any(e.name == "otel" for e in exporters),
        flush_on_sigterm=values["export.flush_on_sigterm"].value is True,
    )


# -- how values are shown ---------------------------------------------------------------------------------


def mask(secret: str) -> str:
    """``****`` and the last 4 characters (only ``****`` for a secret shorter than 12 characters)."""
    return "****" + secret[-4:] if len(secret) >= 12 else "****"


def show(key: str, value: Value) -> str:
    """How ``describe()`` shows a value."""
    if value.value is None:
        setting = SETTINGS.get(key)
        return setting.unset if setting else "-"
    if value.secret:
        return _plain(_masked(value.value))
    return _plain(value.value)


def _masked(secret: object) -> object:
    """A secret as shown: a table of them (extra HTTP headers) by its names, each value masked."""
    if isinstance(secret, Mapping):
        return {name: mask(str(item)) for name, item in secret.items()}
    return mask(str(secret))


def _plain(v: object) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return f"{v:g}"
    if isinstance(v, tuple) and len(v) == 2 and all(isinstance(x, float) for x in v):
        return f"{v[0]:g}" if v[0] == v[1] else f"[{v[0]:g}, {v[1]:g}]"
    if isinstance(v, tuple):
        return ", ".join(map(str, v)) or "(none)"
    if isinstance(v, Mapping):
        return ", ".join(f"{name}: {item}" for name, item in v.items())
    if isinstance(v, str):
        return mask_url(v)  # a collector URL may carry credentials
    return str(v)


def _show_model(model: ModelSettings) -> str:
    shown = {key: getattr(model, key) for key in MODEL_KEYS[2:]}
    parts = [f"{key} {_plain(value)}" for key, value in shown.items() if value not in (None, ())]
    return f"{model.provider}/{model.name}: " + ", ".join(parts)


def _json_value(value: object) -> object:
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, str):
        return mask_url(value)
    if isinstance(value, Mapping):
        return {name: _json_value(item) for name, item in value.items()}
    if isinstance(value, tuple):
        return [_json_value(v) for v in value]
    return value


def _jsonable(value: Value) -> object:
    if value.secret and value.value is not None:
        return _json_value(_masked(value.value))
    return _json_value(value.value)
