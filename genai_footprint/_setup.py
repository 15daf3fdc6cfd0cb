"""``init()``, ``flush()`` and ``shutdown()``: the one place wiring configuration, instrumentation and exports."""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from genai_footprint import _validate
from genai_footprint._config import PROVIDERS as SUPPORTED_PROVIDERS
from genai_footprint._config import load_config
from genai_footprint._instrument._instrumentor import instrumentor
from genai_footprint._instrument._runtime import Runtime

if TYPE_CHECKING:
    from genai_footprint._config import Config
    from genai_footprint._settings import (
        ExporterSettings,
        ExportSettings,
        GridSettings,
        InstrumentationSettings,
        ModelSettings,
    )

_lock = threading.Lock()
_config: Config | None = None
_services: _Services | None = None


def init(
    providers: Iterable[str] | str | None = None,
    *,
    zone: str | None = None,
    request_stream_usage: bool | None = None,
    strict: bool | None = None,
    max_output_tokens: int | None = None,
    methodology: str | None = None,
    log_level: str | int | None = None,
    tags: Mapping[str, str] | None = None,
    exporters: Iterable[object] | Mapping[str, Mapping[str, object] | None] | None = None,
    electricity_maps_token: str | None = None,
    config_file: str | os.PathLike[str] | None = None,
) -> None:
    """Instrument the provider SDKs so every text-generation call carries an ``impacts`` attribute.

    Every argument left None is decided by the configuration: defaults < user file < ``./genai-footprint.toml``
    (or ``[tool.genai-footprint]`` in ``./pyproject.toml``) < ``GENAI_FOOTPRINT_*`` variables < these arguments
    (``docs/configuration.md``). ``providers``: names among ``openai``, ``anthropic``, ``mistralai``, ``google``,
    ``groq``, ``cohere``, ``bedrock``, ``huggingface``, ``litellm`` (default: every supported SDK installed).
    ``zone`` (ISO 3166-1 alpha-3) overrides the serving zone of every call. With
    ``request_stream_usage`` (default), OpenAI chat streams to endpoints known to accept it are asked for a
    usage chunk, hidden from the caller. ``strict=True`` raises instead of warning when a named provider cannot
    be instrumented. ``max_output_tokens`` (default 10,000,000): a call reporting more output tokens than this,
    or a count that is not a whole number, gets ``impacts = None`` and a warning. ``methodology``: the version
    estimating every call (``methodology_versions()``; default ``ecologits-0.11``). ``exporters``: names
    (``"jsonl"``, ``"csv"``, ``"http"``, ``"otel"``), a mapping of name to options, or objects with an ``export``
    method. A bad setting raises ``ConfigError`` naming it, its value and where it came from. Safe to call
    again: nothing is wrapped twice; the new settings apply.
    """
    arguments = {
        "providers": providers,
        "zone": zone,
        "request_stream_usage": request_stream_usage,
        "strict": strict,
        "max_output_tokens": max_output_tokens,
        "methodology": methodology,
        "log_level": log_level,
        "tags": tags,
        "exporters": exporters,
        "electricity_maps_token": electricity_maps_token,
        "config_file": config_file,
    }
    config = load_config({k: v for k, v in arguments.items() if v is not None})
    _register_models(config.models)
    if config.log_level is not None:
        logging.getLogger("genai_footprint").setLevel(config.log_level)
    # Exporters and grid intensity; raises ConfigError before anything changes.
    services = _Services.build(config.export, config.grid, config.instrumentation)
    try:
        instrumentor().init(config.instrumentation)
    except BaseException:
        services.close()
        raise
    global _config, _services
    with _lock:
        previous, _services, _config = _services, services, config
    _switch_to(services, previous, flush_on_sigterm=config.export.flush_on_sigterm)


def _switch_to(services: _Services, previous: _Services | None, *, flush_on_sigterm: bool) -> None:
    """Calls now go to ``services``; the previous configuration's exporters flush what they still hold."""
    runtime = instrumentor().runtime
    runtime.listeners = services.listeners
    runtime.grid = services.grid
    if previous is not None:
        previous.close()
    _watch_sigterm(flush_on_sigterm and services.pipeline is not None)


def _watch_sigterm(on: bool) -> None:
    """Flush on SIGTERM while exports are on (``export.flush_on_sigterm``); put the signal back otherwise."""
    from genai_footprint._export import _sigterm

    if on:
        _sigterm.install(_flush_on_signal)
    else:
        _sigterm.uninstall()


def _flush_on_signal(timeout_s: float) -> object:
    return flush(timeout_s)


def _register_models(models: tuple[ModelSettings, ...]) -> None:
    """The configuration files' custom models (checked by ``load_config`` with ``register_model()``'s checks)."""
    if models:
        from genai_footprint._registry import add_custom_model

        for model in models:
            add_custom_model(model)


def current_config() -> Config | None:
    """The configuration the last successful ``init()`` applied (None before the first one)."""
    return _config


def shutdown() -> None:
    """Restore every SDK method exactly as it was, stop annotating calls, and flush the exporters."""
    global _services
    instrumented = instrumentor()
    instrumented.shutdown()
    instrumented.runtime.listeners = ()
    instrumented.runtime.grid = None
    with _lock:
        services, _services = _services, None
    _watch_sigterm(False)
    if services is not None:
        services.close()


def flush(timeout_s: float | None = 10.0) -> bool:
    """Hand every record queued so far to the exporters and flush them, without shutting down (for a long-running
    service). True when that finished within ``timeout_s`` seconds (None: no limit), and when nothing is
    configured to export; False if the exporters were still at work when the time ran out."""
    if timeout_s is not None:
        timeout_s = _validate.number("timeout_s", timeout_s)
    services = _services
    if services is None or services.pipeline is None:
        return True
    return bool(services.pipeline.flush(timeout=timeout_s))


class _Services:
    """What an ``init()`` configuration runs beside the wrappers: the export pipeline and the grid intensity."""

    def __init__(self, pipeline: Any, grid: Any) -> None:
        self.pipeline = pipeline
        self.grid = grid
        self.listeners: tuple[Any, ...] = () if pipeline is None else (pipeline.listener,)

    @classmethod
    def build(
        cls, export: ExportSettings, grid_settings: GridSettings, instrumentation: InstrumentationSettings
    ) -> _Services:
        exporters: list[Any] = []
        try:
            exporters += [_exporter(settings) for settings in export.exporters]
            exporters += export.objects  # checked by load_config: each has an export() method
            pipeline = None
            if exporters:
                pipeline = _pipeline(exporters, export)
                exporters = []
            grid = None if grid_settings.token is None else _grid(grid_settings, instrumentation)
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


def _exporter(settings: ExporterSettings) -> Any:
    """A built-in exporter; a refusal names the exporter and where switching it on came from."""
    from genai_footprint._errors import ConfigError

    try:
        from genai_footprint._export._pipeline import build_exporter

        return build_exporter(settings.name, settings.options)
    except (ValueError, ImportError) as exc:
        message = f"exporter {settings.name!r}: {exc}"
        raise ConfigError(f"exporters.{settings.name}", message, source=settings.source) from exc


def _pipeline(exporters: list[Any], export: ExportSettings) -> Any:
    from genai_footprint._export._pipeline import ExportPipeline

    span_hook = None
    if export.otel_spans:
        from genai_footprint._export._otel import otel_span_hook

        span_hook = otel_span_hook
    return ExportPipeline(exporters, tags=export.tags, queue_size=export.queue_size, span_hook=span_hook)


def _grid(settings: GridSettings, instrumentation: InstrumentationSettings) -> Any:
    from genai_footprint._grid import GridIntensity

    assert settings.token is not None
    grid = GridIntensity(settings.token, ttl_s=settings.ttl_s, base_url=settings.url)
    grid.prefetch(_default_zones(instrumentation))
    return grid


def _default_zones(instrumentation: InstrumentationSettings) -> list[str]:
    """The zones calls will most likely be estimated in: the configured ones and the providers' defaults."""
    from genai_footprint._registry import get_registry

    zones = {instrumentation.zone, *instrumentation.zones_by_provider.values()}
    registry = get_registry()
    for provider in SUPPORTED_PROVIDERS:
        row = registry.providers.get(provider)
        zones.add(getattr(row, "zone", None))
    return sorted(z for z in zones if isinstance(z, str))


def current_runtime() -> Runtime | None:
    """The runtime while instrumentation is on, else None."""
    runtime = instrumentor().runtime
    return None if runtime.settings is None else runtime
