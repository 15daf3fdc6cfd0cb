"""OpenTelemetry: impact counters for any metrics backend, and the impacts of a call on the call's span.

Attribute names follow the OpenTelemetry GenAI semantic conventions (``gen_ai.*``); our own measures sit
under ``genai_footprint.*``, and instruments carry UCUM units (from ``_criteria``). Imported only when an
OpenTelemetry exporter is built (it needs ``opentelemetry-api``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from opentelemetry import metrics, trace

from genai_footprint._criteria import CRITERIA, NAMES
from genai_footprint._version import __version__

if TYPE_CHECKING:
    from genai_footprint._events import CallEvent

_BOUNDS = ("min", "max")
NAMESPACE = "genai_footprint"

# Our provider names (the registry's) → the well-known values of ``gen_ai.provider.name``. A provider the
# conventions do not list keeps its own name, as they ask. Google's SDK reaches both the Gemini API and Vertex
# AI; the call does not tell us which, so it is "gcp.gen_ai" ("any Google generative AI endpoint").
PROVIDER_NAMES: dict[str, str] = {
    "openai": "openai",
    "anthropic": "anthropic",
    "mistralai": "mistral_ai",
    "google": "gcp.gen_ai",
    "bedrock": "aws.bedrock",
    "groq": "groq",
    "cohere": "cohere",
    "deepseek": "deepseek",
    "perplexity": "perplexity",
    "xai": "x_ai",
}

# ``gen_ai.operation.name`` by provider: Google's generate_content, a chat everywhere else.
_OPERATIONS = {"google": "generate_content"}

# The token counts of a call (``CallEvent.details``) under their semantic-convention names.
_USAGE_ATTRIBUTES = (
    ("input_tokens", "gen_ai.usage.input_tokens"),
    ("cached_input_tokens", "gen_ai.usage.cache_read.input_tokens"),
    ("cache_write_input_tokens", "gen_ai.usage.cache_creation.input_tokens"),
    ("reasoning_tokens", "gen_ai.usage.reasoning.output_tokens"),
)


def provider_name(provider: str) -> str:
    """The ``gen_ai.provider.name`` of one of our provider names."""
    return PROVIDER_NAMES.get(provider, provider)


def operation_name(provider: str) -> str:
    """The ``gen_ai.operation.name`` of a call to ``provider`` (``chat``, ``generate_content``)."""
    return _OPERATIONS.get(provider, "chat")


def metric_attributes(record: Mapping[str, Any]) -> dict[str, str]:
    """The attributes a record's counters are added under: provider, model asked for, registry model, zone."""
    attributes = {"gen_ai.provider.name": provider_name(record["provider"])}
    requested = record.get("model_requested") or record.get("model_served")
    if requested:
        attributes["gen_ai.request.model"] = requested
    if record.get("model_resolved"):
        attributes[f"{NAMESPACE}.model"] = record["model_resolved"]
    if record.get("zone"):
        attributes[f"{NAMESPACE}.zone"] = record["zone"]
    return attributes


class OTelExporter:
    """Adds every record to counters ``genai_footprint.<criterion>.<min|max>`` and ``genai_footprint.calls``.

    Attributes: ``gen_ai.provider.name``, ``gen_ai.request.model``, ``genai_footprint.model`` (the registry
    model) and ``genai_footprint.zone`` (each omitted when unknown); ``genai_footprint.calls`` also has
    ``genai_footprint.estimated`` (false for a model not in the registry, which adds nothing to the impact
    counters). Units are UCUM (``kW.h``, ``kg{CO2eq}``, ``MJ``, ``kg{Sbeq}``, ``L``). ``meter_provider``
    defaults to the global one.
    """

    def __init__(self, *, meter_provider: metrics.MeterProvider | None = None) -> None:
        provider = meter_provider if meter_provider is not None else metrics.get_meter_provider()
        meter = provider.get_meter(NAMESPACE, __version__)
        self._counters = [
            (
                criterion.name,
                bound,
                meter.create_counter(
                    f"{NAMESPACE}.{criterion.name}.{bound}",
                    unit=criterion.ucum,
                    description=f"{criterion.description}, {bound}imum of the estimated range",
                ),
            )
            for criterion in CRITERIA
            for bound in _BOUNDS
        ]
        self._calls = meter.create_counter(
            f"{NAMESPACE}.calls", unit="{call}", description="GenAI calls seen by genai_footprint"
        )

    def export(self, records: Sequence[Mapping[str, Any]]) -> None:
        for record in records:
            attributes = metric_attributes(record)
            impacts = record.get("impacts")
            self._calls.add(1, {**attributes, f"{NAMESPACE}.estimated": impacts is not None})
            if impacts is None:
                continue
            for criterion, bound, counter in self._counters:
                counter.add(impacts[criterion][bound], attributes)


def call_span(event: CallEvent) -> trace.Span:
    """The span of the call: the one current where the call began, if the event says, else the current one.

    ``event.context`` (a ``contextvars.Context`` captured when the call began) is read if the core sets it;
    then a stream's impacts reach the span the stream was opened in, even when it ends elsewhere.
    """
    context = event.context
    if context is not None:
        span: trace.Span = context.run(trace.get_current_span)
        return span
    return trace.get_current_span()


def is_genai_span(span: trace.Span) -> bool:
    """Whether ``span`` was made by a GenAI instrumentation (it names an operation) and not annotated by us."""
    attributes = getattr(span, "attributes", None)  # the SDK's spans show theirs; the API's do not
    if not isinstance(attributes, Mapping) or f"{NAMESPACE}.estimated" in attributes:
        return False
    return "gen_ai.operation.name" in attributes


def genai_attributes(event: CallEvent) -> dict[str, str | int]:
    """The semantic-convention attributes of the call: provider, operation, models, reported token counts."""
    attributes: dict[str, str | int] = {
        "gen_ai.provider.name": provider_name(event.provider),
        "gen_ai.operation.name": operation_name(event.provider),
    }
    if event.model_requested:
        attributes["gen_ai.request.model"] = event.model_requested
    if event.model_served:
        attributes["gen_ai.response.model"] = event.model_served
    if event.output_tokens is not None and event.tokens_source == "usage":  # counted ones are our estimate
        attributes["gen_ai.usage.output_tokens"] = int(event.output_tokens)
    for name, key in _USAGE_ATTRIBUTES:
        value = getattr(event.details, name)
        if value is not None:
            attributes[key] = int(value)
    return attributes


def impact_attributes(event: CallEvent) -> dict[str, str | float | bool]:
    """Our measures of the call, under ``genai_footprint.``: the ranges, the registry model, zone, methodology."""
    impacts = event.impacts
    if impacts is None:
        return {f"{NAMESPACE}.estimated": False, f"{NAMESPACE}.model": event.model_requested or ""}
    attributes: dict[str, str | float | bool] = {
        f"{NAMESPACE}.estimated": True,
        f"{NAMESPACE}.model": event.model_resolved or "",
        f"{NAMESPACE}.zone": event.zone or "",
        f"{NAMESPACE}.methodology_version": impacts.methodology_version,
    }
    for name in NAMES:
        value = getattr(impacts, name)
        attributes[f"{NAMESPACE}.{name}.min"] = value.min
        attributes[f"{NAMESPACE}.{name}.max"] = value.max
    return attributes


def otel_span_hook(event: CallEvent) -> None:
    """On the request path: the call's impacts as attributes of its span, if that span is recording.

    A span made by a GenAI instrumentation (e.g. ``opentelemetry-instrumentation-openai-v2``) keeps its own
    ``gen_ai.*`` attributes and gets ours; any other span (yours) gets the ``gen_ai.*`` attributes too. A span
    holds one value per attribute: when several calls end inside one span, the last one shows.
    """
    span = call_span(event)
    if not span.is_recording():
        return
    attributes: dict[str, Any] = {} if is_genai_span(span) else dict(genai_attributes(event))
    attributes.update(impact_attributes(event))
    span.set_attributes(attributes)
