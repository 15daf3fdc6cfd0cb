"""OpenTelemetry: impact counters for any metrics backend, and the impacts of a call on the current span.

Imported only when the ``otel`` exporter is built (it needs ``opentelemetry-api``).
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


class OTelExporter:
    """Adds every record to counters ``genai_footprint.<criterion>.<min|max>`` and ``genai_footprint.calls``.

    Attributes: ``provider``, ``model`` (resolved, else as requested), ``zone`` (omitted when unknown);
    ``genai_footprint.calls`` also has ``estimated`` (false for a model not in the registry, which adds
    nothing to the impact counters). ``meter_provider`` defaults to the global one.
    """

    def __init__(self, *, meter_provider: metrics.MeterProvider | None = None) -> None:
        provider = meter_provider if meter_provider is not None else metrics.get_meter_provider()
        meter = provider.get_meter("genai_footprint", __version__)
        self._counters = [
            (
                criterion.name,
                bound,
                meter.create_counter(
                    f"genai_footprint.{criterion.name}.{bound}",
                    unit=criterion.unit,
                    description=f"{criterion.description}, {bound}imum of the estimated range",
                ),
            )
            for criterion in CRITERIA
            for bound in _BOUNDS
        ]
        self._calls = meter.create_counter(
            "genai_footprint.calls", unit="{call}", description="GenAI calls seen by genai_footprint"
        )

    def export(self, records: Sequence[Mapping[str, Any]]) -> None:
        for record in records:
            attributes: dict[str, str | bool] = {"provider": record["provider"]}
            model = record.get("model_resolved") or record.get("model_requested") or record.get("model_served")
            if model:
                attributes["model"] = model
            if record.get("zone"):
                attributes["zone"] = record["zone"]
            impacts = record.get("impacts")
            self._calls.add(1, {**attributes, "estimated": impacts is not None})
            if impacts is None:
                continue
            for criterion, bound, counter in self._counters:
                counter.add(impacts[criterion][bound], attributes)


def otel_span_hook(event: CallEvent) -> None:
    """On the request path: the call's impacts as attributes of the current span, if one is recording.

    A span holds one value per attribute: when several calls end inside one span, the last one shows.
    """
    span = trace.get_current_span()
    if not span.is_recording():
        return
    impacts = event.impacts
    if impacts is None:
        span.set_attributes({"genai_footprint.estimated": False, "genai_footprint.model": event.model_requested or ""})
        return
    attributes: dict[str, str | float | bool] = {
        "genai_footprint.estimated": True,
        "genai_footprint.model": event.model_resolved or "",
        "genai_footprint.zone": event.zone or "",
        "genai_footprint.methodology_version": impacts.methodology_version,
    }
    for name in NAMES:
        value = getattr(impacts, name)
        attributes[f"genai_footprint.{name}.min"] = value.min
        attributes[f"genai_footprint.{name}.max"] = value.max
    span.set_attributes(attributes)
