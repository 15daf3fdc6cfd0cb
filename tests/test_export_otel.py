"""The OpenTelemetry exporter with the real SDK: counters read by an in-memory reader, attributes on spans."""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Iterator
from typing import Any

import pytest
from export_helpers import IMPACTS, event
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.semconv._incubating.attributes.gen_ai_attributes import GenAiProviderNameValues

import genai_footprint as gf
from genai_footprint._criteria import CRITERIA as ALL_CRITERIA
from genai_footprint._events import TokenDetails
from genai_footprint._export._otel import OTelExporter, otel_span_hook, provider_name
from genai_footprint._export._pipeline import ExportPipeline, build_exporter
from genai_footprint._export._record import CRITERIA, to_record
from genai_footprint._setup import current_runtime


class Metrics:
    """An explicit meter provider (the global one is never set) read by an in-memory reader."""

    def __init__(self) -> None:
        self.reader = InMemoryMetricReader()
        self.provider = MeterProvider(metric_readers=[self.reader])

    def sums(self) -> dict[str, dict[frozenset[tuple[str, Any]], float]]:
        """Every metric as {name: {attributes: value}}, checking each is a monotonic sum (a counter)."""
        found: dict[str, dict[frozenset[tuple[str, Any]], float]] = {}
        for metric in self.metrics():
            assert metric.data.is_monotonic, metric.name
            found[metric.name] = {frozenset(p.attributes.items()): p.value for p in metric.data.data_points}
        return found

    def metrics(self) -> list[Any]:
        data = self.reader.get_metrics_data()
        assert data is not None
        return [m for r in data.resource_metrics for s in r.scope_metrics for m in s.metrics]


@pytest.fixture
def meters() -> Iterator[Metrics]:
    sdk = Metrics()
    yield sdk
    sdk.provider.shutdown()


@pytest.fixture
def spans() -> Iterator[tuple[Any, InMemorySpanExporter]]:
    """A tracer of an explicit provider (the global one is never set), and the spans it finished."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    yield provider.get_tracer("tests"), exporter
    provider.shutdown()


def test_counters_add_up_min_and_max_per_model_and_zone(meters: Metrics) -> None:
    pipeline = ExportPipeline([build_exporter("otel", {"meter_provider": meters.provider})])
    for number in range(10):
        pipeline.listener(event(number))
    for number in range(3):
        pipeline.listener(event(number, estimated=False, model="my-finetune"))
    pipeline.close()
    found = meters.sums()
    where = frozenset(
        {
            ("gen_ai.provider.name", "openai"),
            ("gen_ai.request.model", "gpt-4o-mini"),
            ("genai_footprint.model", "gpt-4o-mini"),
            ("genai_footprint.zone", "USA"),
        }
    )
    for criterion in CRITERIA:
        for bound in ("min", "max"):
            name = f"genai_footprint.{criterion}.{bound}"
            assert found[name] == {where: pytest.approx(10 * getattr(getattr(IMPACTS, criterion), bound))}
    assert found["genai_footprint.calls"] == {
        where | {("genai_footprint.estimated", True)}: 10,
        frozenset(
            {
                ("gen_ai.provider.name", "openai"),
                ("gen_ai.request.model", "my-finetune"),
                ("genai_footprint.estimated", False),
            }
        ): 3,
    }


def test_counter_names_and_ucum_units(meters: Metrics) -> None:
    OTelExporter(meter_provider=meters.provider).export([to_record(event(1))])
    units = {metric.name: metric.unit for metric in meters.metrics()}
    expected = {f"genai_footprint.{c.name}.{b}": c.ucum for c in ALL_CRITERIA for b in ("min", "max")}
    assert units == {**expected, "genai_footprint.calls": "{call}"}
    assert units["genai_footprint.energy.max"] == "kW.h"
    assert units["genai_footprint.gwp.min"] == "kg{CO2eq}"
    assert units["genai_footprint.adpe.max"] == "kg{Sbeq}"
    assert units["genai_footprint.pe.max"] == "MJ" and units["genai_footprint.wcf.min"] == "L"


@pytest.mark.parametrize(
    ("ours", "theirs"),
    [
        ("openai", "openai"),
        ("anthropic", "anthropic"),
        ("mistralai", "mistral_ai"),
        ("google", "gcp.gen_ai"),
        ("bedrock", "aws.bedrock"),
        ("groq", "groq"),
        ("cohere", "cohere"),
        ("xai", "x_ai"),
        ("together", "together"),  # not in the conventions' list: kept as it is
    ],
)
def test_provider_names_are_the_semantic_conventions_values(ours: str, theirs: str) -> None:
    assert provider_name(ours) == theirs
    if theirs != "together":
        assert theirs in {v.value for v in GenAiProviderNameValues}


def test_span_hook_puts_the_impacts_on_the_recording_span(spans: tuple[Any, InMemorySpanExporter]) -> None:
    tracer, finished = spans
    pipeline = ExportPipeline([], span_hook=otel_span_hook)
    with tracer.start_as_current_span("llm call"):
        pipeline.listener(event(4))
    with tracer.start_as_current_span("unknown model"):
        pipeline.listener(event(5, estimated=False, model="my-finetune"))
    pipeline.listener(event(6))  # no current span: nothing to do, no error
    pipeline.close()
    first, second = finished.get_finished_spans()
    attributes = dict(first.attributes or {})
    assert attributes["genai_footprint.model"] == "gpt-4o-mini"
    assert attributes["genai_footprint.zone"] == "USA"
    assert attributes["genai_footprint.methodology_version"] == IMPACTS.methodology_version
    for criterion in CRITERIA:
        assert attributes[f"genai_footprint.{criterion}.min"] == getattr(IMPACTS, criterion).min
        assert attributes[f"genai_footprint.{criterion}.max"] == getattr(IMPACTS, criterion).max
    # Your own span around the call is its GenAI span: it gets the semantic-convention attributes too.
    assert attributes["gen_ai.provider.name"] == "openai"
    assert attributes["gen_ai.operation.name"] == "chat"
    assert attributes["gen_ai.request.model"] == "gpt-4o-mini"
    assert attributes["gen_ai.response.model"] == "gpt-4o-mini-2024-07-18"
    assert attributes["gen_ai.usage.output_tokens"] == 4
    assert "gen_ai.usage.input_tokens" not in attributes  # not reported: not made up
    assert dict(second.attributes or {}) == {
        "genai_footprint.estimated": False,
        "genai_footprint.model": "my-finetune",
        "gen_ai.provider.name": "openai",
        "gen_ai.operation.name": "chat",
        "gen_ai.request.model": "my-finetune",
        "gen_ai.response.model": "my-finetune-2024-07-18",
        "gen_ai.usage.output_tokens": 5,
    }


def test_token_details_use_the_semantic_conventions_names(spans: tuple[Any, InMemorySpanExporter]) -> None:
    tracer, finished = spans
    details = TokenDetails(
        input_tokens=1200, cached_input_tokens=1000, cache_write_input_tokens=100, reasoning_tokens=3
    )
    counted = dataclasses.replace(event(7), details=details, tokens_source="tiktoken")
    with tracer.start_as_current_span("llm call"):
        otel_span_hook(counted)
    (span,) = finished.get_finished_spans()
    attributes = dict(span.attributes or {})
    assert attributes["gen_ai.usage.input_tokens"] == 1200
    assert attributes["gen_ai.usage.cache_read.input_tokens"] == 1000
    assert attributes["gen_ai.usage.cache_creation.input_tokens"] == 100
    assert attributes["gen_ai.usage.reasoning.output_tokens"] == 3
    assert "gen_ai.usage.output_tokens" not in attributes  # counted from the text, not reported by the provider


def test_a_genai_instrumentation_span_keeps_its_own_attributes(spans: tuple[Any, InMemorySpanExporter]) -> None:
    tracer, finished = spans
    theirs = {"gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai", "gen_ai.request.model": "x"}
    with tracer.start_as_current_span("chat x", attributes=theirs):
        otel_span_hook(event(8))
    (span,) = finished.get_finished_spans()
    attributes = dict(span.attributes or {})
    assert {k: v for k, v in attributes.items() if k.startswith("gen_ai.")} == theirs
    assert attributes["genai_footprint.energy.max"] == IMPACTS.energy.max


def test_an_instrumented_openai_call_reaches_the_span_and_the_counters(
    spans: tuple[Any, InMemorySpanExporter], meters: Metrics
) -> None:
    from openai_fakes import REQUESTED, FakeOpenAI

    tracer, finished = spans
    pipeline = ExportPipeline([OTelExporter(meter_provider=meters.provider)], span_hook=otel_span_hook)
    gf.init(providers=["openai"])
    runtime = current_runtime()
    assert runtime is not None
    try:
        runtime.listeners = (pipeline.listener,)
        client = FakeOpenAI(completion_tokens=40).client()
        with tracer.start_as_current_span("chat"):
            response = client.chat.completions.create(model=REQUESTED, messages=[{"role": "user", "content": "Hi"}])
        pipeline.close()
    finally:
        runtime.listeners = ()
        gf.shutdown()
    found = meters.sums()
    impacts = response.impacts
    assert impacts is not None
    (span,) = finished.get_finished_spans()
    assert span.attributes is not None
    assert span.attributes["genai_footprint.energy.max"] == impacts.energy.max
    assert span.attributes["genai_footprint.model"] == impacts.inputs.model_resolved
    assert span.attributes["gen_ai.provider.name"] == "openai"
    assert span.attributes["gen_ai.usage.output_tokens"] == 40
    where = {
        ("gen_ai.provider.name", "openai"),
        ("gen_ai.request.model", REQUESTED),
        ("genai_footprint.model", impacts.inputs.model_resolved),
        ("genai_footprint.zone", impacts.inputs.zone),
    }
    assert found["genai_footprint.gwp.max"] == {frozenset(where): pytest.approx(impacts.gwp.max)}
    assert found["genai_footprint.calls"] == {frozenset(where | {("genai_footprint.estimated", True)}): 1}


def test_without_opentelemetry_the_error_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delitem(sys.modules, "genai_footprint._export._otel")
    monkeypatch.setitem(sys.modules, "opentelemetry", None)  # what an uninstalled package looks like
    with pytest.raises(ImportError, match=r"pip install 'genai-footprint\[opentelemetry\]'"):
        build_exporter("otel", {})
