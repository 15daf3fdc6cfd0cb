"""With the official OpenTelemetry GenAI instrumentation (``opentelemetry-instrumentation-openai-v2``) active,
the impacts of a call land on *its* span, once: the real SDKs, an in-memory span exporter, no network."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
from openai_fakes import REQUESTED, FakeOpenAI
from opentelemetry.instrumentation.openai_v2 import OpenAIInstrumentor
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

import genai_footprint as gf
from genai_footprint._criteria import NAMES
from genai_footprint._export._otel import otel_span_hook
from genai_footprint._export._pipeline import ExportPipeline
from genai_footprint._setup import current_runtime

MESSAGES = [{"role": "user", "content": "Hi"}]


class Setup:
    """Explicit tracer and meter providers (the global ones are never set) and the pipeline's span hook."""

    def __init__(self) -> None:
        self.finished = InMemorySpanExporter()
        self.tracer_provider = TracerProvider()
        self.tracer_provider.add_span_processor(SimpleSpanProcessor(self.finished))
        self.meter_provider = MeterProvider()
        self.tracer = self.tracer_provider.get_tracer("tests")
        self.pipeline = ExportPipeline([], span_hook=otel_span_hook)
        self.instrumentor = OpenAIInstrumentor()

    def start(self, *, theirs_first: bool) -> None:
        """Both instrumentations on; the one switched on last wraps the other (its wrapper is outermost)."""
        if theirs_first:
            self._instrument()
        gf.init(providers=["openai"])
        if not theirs_first:
            self._instrument()
        runtime = current_runtime()
        assert runtime is not None
        runtime.listeners = (self.pipeline.listener,)

    def _instrument(self) -> None:
        self.instrumentor.instrument(tracer_provider=self.tracer_provider, meter_provider=self.meter_provider)

    def stop(self) -> None:
        self.pipeline.close()
        gf.shutdown()
        if self.instrumentor.is_instrumented_by_opentelemetry:
            self.instrumentor.uninstrument()
        self.tracer_provider.shutdown()
        self.meter_provider.shutdown()

    def spans(self) -> list[ReadableSpan]:
        return list(self.finished.get_finished_spans())


@pytest.fixture
def otel() -> Iterator[Setup]:
    setup = Setup()
    yield setup
    setup.stop()


def annotated(spans: list[ReadableSpan]) -> list[ReadableSpan]:
    """The spans that got our attributes."""
    return [s for s in spans if any(key.startswith("genai_footprint.") for key in (s.attributes or {}))]


def check_their_span(spans: list[ReadableSpan], impacts: Any) -> None:
    """Our attributes are on the instrumentation's span of the call, only there, with the call's impacts."""
    (theirs,) = [s for s in spans if s.kind is SpanKind.CLIENT]
    assert annotated(spans) == [theirs]
    attributes = dict(theirs.attributes or {})
    assert attributes["gen_ai.operation.name"] == "chat"
    assert attributes["gen_ai.request.model"] == REQUESTED
    for name in NAMES:
        assert attributes[f"genai_footprint.{name}.min"] == getattr(impacts, name).min
        assert attributes[f"genai_footprint.{name}.max"] == getattr(impacts, name).max
    assert attributes["genai_footprint.model"] == impacts.inputs.model_resolved
    assert attributes["genai_footprint.estimated"] is True


def call_inside_handle_request(otel: Setup, *, theirs_first: bool) -> tuple[Any, list[ReadableSpan]]:
    """One chat call (40 output tokens) inside the application's own span, "handle request": its response and the
    spans ended."""
    otel.start(theirs_first=theirs_first)
    client = FakeOpenAI(completion_tokens=40).client()
    with otel.tracer.start_as_current_span("handle request"):
        response = client.chat.completions.create(model=REQUESTED, messages=MESSAGES)
    return response, otel.spans()


def test_the_impacts_land_on_the_instrumentation_span_once(otel: Setup) -> None:
    response, spans = call_inside_handle_request(otel, theirs_first=False)
    assert [s.name for s in spans] == [f"chat {REQUESTED}", "handle request"]
    check_their_span(spans, response.impacts)
    (theirs,) = [s for s in spans if s.kind is SpanKind.CLIENT]
    attributes = dict(theirs.attributes or {})
    # Their own attributes are theirs: the usage they read is left as they set it.
    assert attributes["gen_ai.usage.output_tokens"] == 40
    assert attributes["gen_ai.provider.name"] == "openai"
    (handler,) = [s for s in spans if s.name == "handle request"]
    assert not handler.attributes  # the enclosing span gets nothing


async def test_an_async_call_too(otel: Setup) -> None:
    otel.start(theirs_first=False)
    client = FakeOpenAI(completion_tokens=25).async_client()
    response = await client.chat.completions.create(model=REQUESTED, messages=MESSAGES)
    check_their_span(otel.spans(), response.impacts)


def test_two_calls_each_on_their_own_span(otel: Setup) -> None:
    otel.start(theirs_first=False)
    server = FakeOpenAI(tokens_from_messages=True)
    client = server.client()
    first = client.chat.completions.create(model=REQUESTED, messages=[{"role": "user", "content": "tokens=10"}])
    second = client.chat.completions.create(model=REQUESTED, messages=[{"role": "user", "content": "tokens=900"}])
    spans = otel.spans()
    assert len(annotated(spans)) == 2
    by_tokens = {s.attributes["gen_ai.usage.output_tokens"]: s.attributes for s in spans if s.attributes}
    assert by_tokens[10]["genai_footprint.energy.max"] == first.impacts.energy.max
    assert by_tokens[900]["genai_footprint.energy.max"] == second.impacts.energy.max


def test_a_stream_read_where_it_was_opened_lands_on_the_instrumentation_span(otel: Setup) -> None:
    otel.start(theirs_first=False)
    client = FakeOpenAI().client()
    stream = client.chat.completions.create(model=REQUESTED, messages=MESSAGES, stream=True)
    for _ in stream:
        pass
    check_their_span(otel.spans(), stream.impacts)


def test_a_stream_read_in_another_thread_lands_on_the_instrumentation_span(otel: Setup) -> None:
    otel.start(theirs_first=False)
    client = FakeOpenAI().client()
    stream = client.chat.completions.create(model=REQUESTED, messages=MESSAGES, stream=True)
    reader = threading.Thread(target=lambda: list(stream))
    reader.start()
    reader.join()
    check_their_span(otel.spans(), stream.impacts)


@pytest.mark.xfail(
    strict=True,
    reason="needs the core to wrap beneath an instrumentation switched on before init(): ours then runs "
    "outside their span, which ends before the impacts exist (docs/opentelemetry.md)",
)
def test_instrumentation_switched_on_before_init(otel: Setup) -> None:
    otel.start(theirs_first=True)
    client = FakeOpenAI(completion_tokens=40).client()
    response = client.chat.completions.create(model=REQUESTED, messages=MESSAGES)
    check_their_span(otel.spans(), response.impacts)


def test_before_init_the_enclosing_span_is_not_mistaken_for_theirs(otel: Setup) -> None:
    """Until the core wraps beneath, the call's impacts go to the span around it, never twice."""
    response, spans = call_inside_handle_request(otel, theirs_first=True)
    (mine,) = annotated(spans)
    assert mine.name == "handle request"
    assert mine.attributes is not None
    assert mine.attributes["genai_footprint.energy.max"] == response.impacts.energy.max
