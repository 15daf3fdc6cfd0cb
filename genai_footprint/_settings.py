"""The frozen sections of the effective configuration, each handed to the part of the package that uses it.

Data only: ``genai_footprint._config`` builds them (checked, with sources), ``genai_footprint._setup`` hands
them out. Importing this module imports nothing of the package.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any


def _empty() -> Mapping[Any, Any]:
    return MappingProxyType({})


@dataclass(frozen=True, slots=True)
class InstrumentationSettings:
    """What the wrappers read: which SDKs to instrument and how to estimate their calls."""

    providers: tuple[str, ...] | None = None  # None: every supported SDK installed
    zone: str | None = None  # serving zone of every call (ISO 3166-1 alpha-3), over any per-provider one
    request_stream_usage: bool = True  # ask OpenAI chat streams for a usage chunk, hidden from the caller
    strict: bool = False  # raise, not warn, when a named provider cannot be instrumented
    # A reported count of output tokens above this is refused (impacts None, a warning): no real call has one.
    max_output_tokens: int = 10_000_000
    methodology: str = "ecologits-0.11"  # the version estimating every call (genai_footprint._methodology)
    zones_by_provider: Mapping[str, str] = field(default_factory=_empty)
    # Replace the registry's per-provider figures (a model's own figures still win): (min, max).
    pue_by_provider: Mapping[str, tuple[float, float]] = field(default_factory=_empty)
    wue_by_provider: Mapping[str, tuple[float, float]] = field(default_factory=_empty)


@dataclass(frozen=True, slots=True)
class ExporterSettings:
    """One built-in exporter switched on: its name, its checked options and where switching it on came from."""

    name: str  # "jsonl", "csv", "http" or "otel"
    # e.g. {"path": Path(...)}; options left unset are left out. Not in repr: the http exporter's token is one.
    options: Mapping[str, object] = field(repr=False)
    source: str  # e.g. "default", "env GENAI_FOOTPRINT_EXPORTERS", "init(exporters=...)"


@dataclass(frozen=True, slots=True)
class ExportSettings:
    """Where the impacts of every call go once estimated."""

    exporters: tuple[ExporterSettings, ...] = ()  # the built-in ones switched on, in table order
    objects: tuple[object, ...] = ()  # the user's own exporters (each has an export() method)
    tags: Mapping[str, str] = field(default_factory=_empty)
    queue_size: int = 10000  # records held for the export thread before new ones are dropped
    otel_spans: bool = False  # impacts also set as attributes of the current OpenTelemetry span
    flush_on_sigterm: bool = True  # flush queued records on SIGTERM, then end as the signal would have


@dataclass(frozen=True, slots=True)
class GridSettings:
    """Live carbon intensity from Electricity Maps; off without a token."""

    token: str | None = field(default=None, repr=False)  # a secret: never in a repr or a log line
    ttl_s: float = 900.0  # how long a zone's intensity is reused, in seconds
    url: str = "https://api.electricitymap.org/v3"  # base URL, no trailing slash


@dataclass(frozen=True, slots=True)
class ModelSettings:
    """A custom model from a configuration file: the arguments of ``register_model()``, checked, and its source."""

    provider: str
    name: str
    active_params: tuple[float, float]  # billions of parameters, (min, max)
    total_params: tuple[float, float] | None = None
    zone: str | None = None
    tps: float | None = None  # output tokens per second
    ttft: float | None = None  # time to first token, seconds
    pue: tuple[float, float] | None = None
    wue: tuple[float, float] | None = None  # L/kWh
    aliases: tuple[str, ...] = ()
    source: str = "default"  # the file it came from, e.g. "project file /app/genai-footprint.toml"
