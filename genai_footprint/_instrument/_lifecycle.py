"""``init()`` and ``shutdown()``: the public face of the instrumentation."""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, cast

from genai_footprint._config import PROVIDERS as SUPPORTED_PROVIDERS
from genai_footprint._config import load_config
from genai_footprint._instrument._runtime import Instrumentor, Runtime
from genai_footprint._instrument._spec import ProviderSpec, Settings

if TYPE_CHECKING:
    from genai_footprint._config import Config

_lock = threading.Lock()
_instrumentor: Instrumentor | None = None
_config: Config | None = None
_services: _Services | None = None


def _specs() -> list[ProviderSpec]:
    # Provider modules declare data only (targets, extractors); importing them imports no SDK.
    from genai_footprint._instrument import _anthropic, _mistralai, _openai

    return [_openai.SPEC, _anthropic.SPEC, _mistralai.SPEC]


def instrumentor() -> Instrumentor:
    global _instrumentor
    with _lock:
        if _instrumentor is None:
            _instrumentor = Instrumentor(_specs())
        return _instrumentor


def init(
    providers: Iterable[str] | str | None = None,
    *,
    zone: str | None = None,
    request_stream_usage: bool | None = None,
    strict: bool | None = None,
    log_level: str | int | None = None,
    tags: Mapping[str, str] | None = None,
    exporters: Iterable[object] | Mapping[str, Mapping[str, object] | None] | None = None,
    electricity_maps_token: str | None = None,
    config_file: str | os.PathLike[str] | None = None,
) -> None:
    """Instrument the provider SDKs so every text-generation call carries an ``impacts`` attribute.

    Every argument left None is decided by the configuration: defaults < user file < ``./genai-footprint.toml``
    (or ``[tool.genai-footprint]`` in ``./pyproject.toml``) < ``GENAI_FOOTPRINT_*`` variables < these arguments
    (``docs/configuration.md``). ``providers``: names among ``openai``, ``anthropic``, ``mistralai`` (default:
    every supported SDK installed). ``zone`` (ISO 3166-1 alpha-3) overrides the serving zone of every call. With
    ``request_stream_usage`` (default), OpenAI chat streams to endpoints known to accept it are asked for a
    usage chunk, hidden from the caller. ``strict=True`` raises instead of warning when a named provider cannot
    be instrumented. ``exporters``: names (``"jsonl"``, ``"csv"``, ``"http"``, ``"otel"``), a mapping of name
    to options, or objects with an ``export`` method. A bad setting raises ``ConfigError`` naming it, its value
    and where it came from. Safe to call again: nothing is wrapped twice; the new settings apply.
    """
    arguments = {
        "providers": providers,
        "zone": zone,
        "request_stream_usage": request_stream_usage,
        "strict": strict,
        "log_level": log_level,
        "tags": tags,
        "exporters": exporters,
        "electricity_maps_token": electricity_maps_token,
        "config_file": config_file,
    }
    config = load_config({k: v for k, v in arguments.items() if v is not None})
    _register_models(config)
    level = config.get("log_level")
    if isinstance(level, str):
        logging.getLogger("genai_footprint").setLevel(level)
    services = _Services.build(config)  # exporters and grid intensity; raises ConfigError before anything changes
    names = config.get("providers")
    try:
        instrumentor().init(None if names is None else list(cast("tuple[str, ...]", names)), settings_from(config))
    except BaseException:
        services.close()
        raise
    global _config, _services
    with _lock:
        previous, _services, _config = _services, services, config
    runtime = instrumentor().runtime
    runtime.sinks = services.sinks
    runtime.grid = services.grid
    if previous is not None:
        previous.close()  # flushes what the previous configuration's exporters still held


def settings_from(config: Config) -> Settings:
    """The frozen settings the wrappers read, from an effective configuration."""

    def by_provider(figure: str) -> dict[str, Any]:
        found = ((p, config.get(f"provider.{p}.{figure}")) for p in SUPPORTED_PROVIDERS)
        return {p: value for p, value in found if value is not None}

    return Settings(
        zone=cast("str | None", config.get("zone")),
        request_stream_usage=config.get("request_stream_usage") is True,
        strict=config.get("strict") is True,
        zones_by_provider=by_provider("zone"),
        pue_by_provider=by_provider("pue"),
        wue_by_provider=by_provider("wue"),
    )


def _register_models(config: Config) -> None:
    if not config.models:
        return
    from genai_footprint._config import model_source
    from genai_footprint._errors import ConfigError, InvalidInputError
    from genai_footprint._registry import register_model

    for index, row in enumerate(config.models):
        try:
            register_model(**row)  # type: ignore[arg-type]
        except InvalidInputError as exc:  # checked by load_config already; kept so a miss still names the row
            source = model_source(row)
            raise ConfigError(f"models[{index}]", f"models[{index}] (from {source}): {exc}", source=source) from exc


def current_config() -> Config | None:
    """The configuration the last successful ``init()`` applied (None before the first one)."""
    return _config


def shutdown() -> None:
    """Restore every SDK method exactly as it was, stop annotating calls, and flush the exporters."""
    global _services
    if _instrumentor is not None:
        _instrumentor.shutdown()
        _instrumentor.runtime.listeners = ()
        _instrumentor.runtime.sinks = ()
        _instrumentor.runtime.grid = None
    with _lock:
        services, _services = _services, None
    if services is not None:
        services.close()


class _Services:
    """What an ``init()`` configuration runs beside the wrappers: the export pipeline and the grid intensity."""

    def __init__(self, pipeline: Any, grid: Any) -> None:
        self.pipeline = pipeline
        self.grid = grid
        self.sinks: tuple[Any, ...] = () if pipeline is None else (pipeline.take,)

    @classmethod
    def build(cls, config: Config) -> _Services:
        from genai_footprint._errors import ConfigError

        exporters: list[Any] = []
        enabled = config.enabled_exporters()
        try:
            for name in enabled:
                options = {k: v for k, v in config.exporter_options(name).items() if v is not None}
                source = config.values[f"exporters.{name}.enabled"].source
                try:
                    from genai_footprint._export._pipeline import build_exporter

                    exporters.append(build_exporter(name, options))
                except (ValueError, ImportError) as exc:
                    raise ConfigError(f"exporters.{name}", f"exporter {name!r}: {exc}", source=source) from exc
            exporters += config.exporter_objects  # checked by load_config: each has an export() method
            pipeline = None
            if exporters:
                from genai_footprint._export._pipeline import ExportPipeline

                span_hook = None
                if "otel" in enabled:
                    from genai_footprint._export._otel import otel_span_hook

                    span_hook = otel_span_hook
                tags = config.get("tags") or {}
                pipeline = ExportPipeline(
                    exporters,
                    tags=cast("dict[str, str]", tags),
                    queue_size=cast(int, config.get("export.queue_size")),
                    span_hook=span_hook,
                )
                exporters = []
            grid = None
            token = config.get("electricity_maps.token")
            if isinstance(token, str):
                from genai_footprint._grid import GridIntensity

                grid = GridIntensity(
                    token,
                    ttl_s=cast(float, config.get("electricity_maps.ttl_s")),
                    base_url=cast(str, config.get("electricity_maps.url")),
                )
                grid.prefetch(_default_zones(config))
        except BaseException:
            for exporter in exporters:  # built but not handed to a pipeline (an HTTP exporter runs a thread)
                close = getattr(exporter, "close", None)
                if callable(close):
                    close()
            raise
        return cls(pipeline, grid)

    def close(self) -> None:
        if self.pipeline is not None:
            self.pipeline.close()
        if self.grid is not None:
            self.grid.close()


def _default_zones(config: Config) -> list[str]:
    """The zones calls will most likely be estimated in: the configured ones and the providers' defaults."""
    from genai_footprint._registry import get_registry

    zones = {config.get("zone"), *(config.get(f"provider.{p}.zone") for p in SUPPORTED_PROVIDERS)}
    registry = get_registry()
    for provider in SUPPORTED_PROVIDERS:
        row = registry.providers.get(provider)
        zones.add(getattr(row, "zone", None))
    return sorted(z for z in zones if isinstance(z, str))


def current_runtime() -> Runtime | None:
    """The runtime while instrumentation is on, else None."""
    if _instrumentor is None or _instrumentor.runtime.settings is None:
        return None
    return _instrumentor.runtime
