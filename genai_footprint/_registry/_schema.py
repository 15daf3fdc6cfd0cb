"""The registry's data files as pydantic rows: one class per kind of row, each checked when it is read."""

from __future__ import annotations

from functools import cached_property
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from genai_footprint._impacts import ImpactWarning, Range

SCHEMA_VERSION = 1
WARNING_MESSAGES = {
    "model-arch-not-released": "The model's architecture is not published; its parameter counts are estimates.",
    "model-arch-multimodal": "The model is multimodal; a text-only estimate of its size is less precise.",
    "electricity-mix-world": "No figure of its own for this zone; the world value stands in",
    "provider-site-default": (
        "The provider publishes no datacenter figures; the documented world defaults stand in "
        "(PUE 1.58, WUE 1.8 L/kWh)."
    ),
    "provider-zone-unknown": (
        "Where the provider serves from is not known; the world electricity mix stands in (set the zone to say)."
    ),
}


def _known_codes(codes: tuple[str, ...]) -> tuple[str, ...]:
    for code in codes:
        if code not in WARNING_MESSAGES:
            raise ValueError(f"unknown warning code {code!r}; known: {', '.join(WARNING_MESSAGES)}")
    return codes


class Row(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


Positive = Annotated[float, Field(gt=0, allow_inf_nan=False)]
NonNegative = Annotated[float, Field(ge=0, allow_inf_nan=False)]


class Bounds(Row):
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


class ModelRow(Row):
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
    # Bits per weight as served (e.g. 8 for FP8, 4.25 for MXFP4); None: unpublished (methodologies that use it
    # then size at 16 bits).
    quantization_bits: Annotated[float, Field(gt=0, le=32)] | None = None
    quantization_sources: tuple[str, ...] = ()
    # Overrides of the provider's defaults, e.g. for a self-hosted model.
    zone: str | None = None
    pue: Positive | Bounds | None = None
    wue: NonNegative | Bounds | None = None

    @field_validator("warnings")
    @classmethod
    def _known_warnings(cls, codes: tuple[str, ...]) -> tuple[str, ...]:
        return _known_codes(codes)

    @model_validator(mode="after")
    def _consistent(self) -> ModelRow:
        active, total = as_range(self.active_params_b, ""), as_range(self.total_params_b, "")
        if active.max > total.max or active.min > total.min:
            raise ValueError("active parameters exceed total parameters")
        if self.architecture == "dense" and self.active_params_b != self.total_params_b:
            raise ValueError("a dense model has active == total parameters")
        if (self.tps is not None or self.ttft_s is not None) and not self.deployment_sources:
            raise ValueError("tps/ttft_s given without deployment_sources")
        if self.quantization_bits is not None and not self.quantization_sources:
            raise ValueError("quantization_bits given without quantization_sources")
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


class ProviderRow(Row):
    provider: str
    aliases: tuple[str, ...] = ()
    zone: str
    pue: Positive | Bounds
    wue: NonNegative | Bounds
    # "own": it serves the models it makes (a model name is looked up among its rows, or moves to the provider a
    # prefix names); "others": it hosts other makers' models, which keep its zone, PUE and WUE.
    serves: Literal["own", "others"] = "own"
    stream_usage: bool = False  # its chat streams accept stream_options.include_usage
    warnings: tuple[str, ...] = ()  # copied onto every estimate of a call it serves
    notes: str = ""
    sources: Annotated[tuple[str, ...], Field(min_length=1)]

    @field_validator("warnings")
    @classmethod
    def _known_warnings(cls, codes: tuple[str, ...]) -> tuple[str, ...]:
        return _known_codes(codes)

    @cached_property
    def pue_range(self) -> Range:
        return as_range(self.pue, "")

    @cached_property
    def wue_range(self) -> Range:
        return as_range(self.wue, "L/kWh")


class MixRow(Row):
    zone: Annotated[str, Field(pattern=r"^[A-Z]{3}$")]
    gwp: NonNegative
    pe: NonNegative
    adpe: NonNegative
    wue: NonNegative
    world_fallback: tuple[Literal["gwp", "pe", "adpe", "wue"], ...] = ()


Cloud = Literal["aws", "azure", "gcp"]


class RegionRow(Row):
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


class HostRow(Row):
    """An API host (``api.groq.com``; it also covers its subdomains) and the provider that serves behind it."""

    host: Annotated[str, Field(min_length=1, pattern=r"^[a-z0-9.:-]+$")]
    port: Annotated[int, Field(gt=0, lt=65536)] | None = None  # this port only (e.g. Ollama's 11434)
    provider: str
    stream_usage: bool | None = None  # overrides the provider's ``stream_usage`` for this host
    source: Annotated[str, Field(min_length=1)]


class ApiHostsSection(BaseModel):
    """``providers.json``'s ``api_hosts``: the OpenAI-compatible endpoints whose provider we know."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    about: str = ""
    rows: list[dict[str, Any]] = Field(default_factory=list)


class DataFile(BaseModel):
    model_config = ConfigDict(extra="allow")
    schema_version: Literal[1]
    registry_version: str


class ModelsFile(DataFile):
    models: list[dict[str, Any]]


class ProvidersFile(DataFile):
    providers: list[dict[str, Any]]
    regions: RegionsSection
    api_hosts: ApiHostsSection = Field(default_factory=ApiHostsSection)


class MixesFile(DataFile):
    sources: dict[Literal["gwp", "pe", "adpe", "wue"], str]
    zones: list[dict[str, Any]]
