"""Google Gemini instrumentation: the real ``google-genai`` SDK over ``httpx2.MockTransport`` (REST payloads of
``generateContent`` and ``streamGenerateContent?alt=sse``): models and chats x sync / async x plain / stream,
the Vertex AI zone, errors, missing usage, what is left alone, and the registry rows."""

from __future__ import annotations

import copy
import gc
import importlib
import importlib.metadata
import inspect
import json
import logging
import pickle
from typing import Any

import google_fakes as fakes
import lifecycle_helpers as h
import provider_checks as checks
import pytest
from google_fakes import FakeGemini

import genai_footprint
from genai_footprint import Impacts, _setup
from genai_footprint._instrument import _google
from genai_footprint._instrument._wrappers import installed

pytest.importorskip("google.genai")

from google.genai import errors, models, types

ASK = "What is the capital of France?"
OUTPUT = fakes.CANDIDATES_TOKENS + fakes.THOUGHTS_TOKENS
STREAM_OUTPUT = fakes.STREAM_CANDIDATES[-1] + fakes.STREAM_THOUGHTS


offline_counting = checks.offline_counting


def instrument() -> list[Any]:
    """``init(providers=["google"])``; returns the list every finished call appends its event to."""
    return checks.listen(["google"])


@pytest.fixture
def server() -> FakeGemini:
    return FakeGemini()


@pytest.fixture
def events() -> list[Any]:
    return instrument()


def check(impacts: Any, *, tokens: int, stream: bool, zone: str = "USA") -> Impacts:
    assert isinstance(impacts, Impacts)
    inputs = impacts.inputs
    assert inputs is not None
    assert inputs.provider == "google"
    assert inputs.model_resolved == fakes.SERVED
    assert inputs.output_tokens == tokens and inputs.tokens_source == "usage"
    assert inputs.zone == zone and inputs.stream is stream
    assert inputs.pue.min == inputs.pue.max == 1.09
    assert "model-arch-not-released" in {w.code for w in impacts.warnings}
    expected = genai_footprint.estimate(
        "google", fakes.SERVED, output_tokens=tokens, latency_s=inputs.latency_s, zone=zone
    )
    assert impacts.energy == expected.energy and impacts.gwp == expected.gwp
    return impacts


# -- models: sync / async x plain / stream -----------------------------------------------------------------


def test_generate_content(server: FakeGemini, events: list[Any]) -> None:
    response = server.client().models.generate_content(model=fakes.MODEL, contents=ASK)
    assert type(response) is types.GenerateContentResponse
    assert response.text == "".join(fakes.WORDS)
    check(response.impacts, tokens=OUTPUT, stream=False)
    assert [e.impacts for e in events] == [response.impacts]
    url, body = server.requests[0]
    assert url.endswith(f"/models/{fakes.MODEL}:generateContent") and body["contents"][0]["parts"][0]["text"] == ASK


async def test_generate_content_async(server: FakeGemini, events: list[Any]) -> None:
    response = await server.client().aio.models.generate_content(model=fakes.MODEL, contents=ASK)
    assert type(response) is types.GenerateContentResponse
    check(response.impacts, tokens=OUTPUT, stream=False)
    assert [e.impacts for e in events] == [response.impacts]


def test_generate_content_stream(server: FakeGemini, events: list[Any]) -> None:
    stream = server.client().models.generate_content_stream(model=fakes.MODEL, contents=ASK)
    assert stream.impacts is None and server.requests == []  # a generator: nothing is sent before iterating
    chunks = list(stream)
    assert [c.text for c in chunks] == list(fakes.WORDS)
    assert all(type(c) is types.GenerateContentResponse for c in chunks)
    assert server.requests[0][0].endswith(f"/models/{fakes.MODEL}:streamGenerateContent?alt=sse")
    impacts = check(stream.impacts, tokens=STREAM_OUTPUT, stream=True)
    assert chunks[-1].impacts is impacts  # the last chunk, which carries the final usage, gets them too
    assert not any("impacts" in vars(c) for c in chunks[:-1])
    assert [e.impacts for e in events] == [impacts]  # once per stream, not per chunk
    assert impacts.inputs is not None and impacts.inputs.measured_ttft_s is not None


async def test_generate_content_stream_async(server: FakeGemini, events: list[Any]) -> None:
    stream = await server.client().aio.models.generate_content_stream(model=fakes.MODEL, contents=ASK)
    assert stream.impacts is None and server.requests == []
    chunks = [chunk async for chunk in stream]
    assert [c.text for c in chunks] == list(fakes.WORDS)
    impacts = check(stream.impacts, tokens=STREAM_OUTPUT, stream=True)
    assert chunks[-1].impacts is impacts
    assert [e.impacts for e in events] == [impacts]


def test_stream_is_the_sdks_generator(server: FakeGemini, events: list[Any]) -> None:
    stream = server.client().models.generate_content_stream(model=fakes.MODEL, contents=ASK)
    assert inspect.isgenerator(stream) and stream.__name__ == "generate_content_stream"
    assert next(stream).text == fakes.WORDS[0]  # next() works as on the generator
    assert [c.text for c in stream] == list(fakes.WORDS[1:])
    assert len(events) == 1


def test_early_break_then_close(server: FakeGemini, events: list[Any]) -> None:
    stream = server.client().models.generate_content_stream(model=fakes.MODEL, contents=ASK)
    for chunk in stream:
        break
    assert events == [] and stream.impacts is None
    stream.close()
    assert server.served == 1  # the rest of the body was never read
    assert len(events) == 1
    impacts = stream.impacts
    assert isinstance(impacts, Impacts) and impacts.inputs is not None
    assert impacts.inputs.output_tokens == fakes.STREAM_CANDIDATES[0] + fakes.STREAM_THOUGHTS  # the running usage
    assert chunk.impacts is impacts
    stream.close()  # closing twice: still one estimate
    assert len(events) == 1


def test_an_abandoned_stream_is_estimated_when_collected(server: FakeGemini, events: list[Any]) -> None:
    stream = server.client().models.generate_content_stream(model=fakes.MODEL, contents=ASK)
    first = next(iter(stream))
    del stream
    gc.collect()
    assert len(events) == 1 and first.impacts is events[0].impacts


async def test_early_break_then_aclose(server: FakeGemini, events: list[Any]) -> None:
    stream = await server.client().aio.models.generate_content_stream(model=fakes.MODEL, contents=ASK)
    async for _ in stream:
        break
    await stream.aclose()
    assert len(events) == 1 and isinstance(stream.impacts, Impacts)
    assert server.served == 1


# -- errors and missing usage -------------------------------------------------------------------------------


def _raised(call: Any) -> BaseException:
    with pytest.raises(Exception) as info:
        call()
    return info.value


@pytest.mark.parametrize("status", [400, 429, 500])
@pytest.mark.parametrize("kind", ["plain", "stream"])
def test_http_errors_are_the_sdks(status: int, kind: str) -> None:
    import httpx2

    def call(server: FakeGemini) -> Any:
        model = server.client().models
        if kind == "plain":
            return model.generate_content(model=fakes.MODEL, contents=ASK)
        return list(model.generate_content_stream(model=fakes.MODEL, contents=ASK))

    server = FakeGemini(reply=lambda path, body: httpx2.Response(status, json=fakes.error_body(status)))
    plain = _raised(lambda: call(server))
    assert isinstance(plain, errors.APIError) and plain.code == status
    instrument()
    raised = _raised(lambda: call(server))
    assert type(raised) is type(plain) and str(raised) == str(plain)
    assert raised.code == status  # type: ignore[attr-defined]


async def test_http_errors_async() -> None:
    import httpx2

    server = FakeGemini(reply=lambda path, body: httpx2.Response(429, json=fakes.error_body(429)))
    with pytest.raises(errors.ClientError) as plain:
        await server.client().aio.models.generate_content(model=fakes.MODEL, contents=ASK)
    events = instrument()
    with pytest.raises(errors.ClientError) as raised:
        await server.client().aio.models.generate_content(model=fakes.MODEL, contents=ASK)
    assert str(raised.value) == str(plain.value) and events == []
    stream = await server.client().aio.models.generate_content_stream(model=fakes.MODEL, contents=ASK)
    with pytest.raises(errors.ClientError):
        async for _ in stream:
            pass


def test_arguments_the_sdk_refuses_raise_as_without_us(server: FakeGemini) -> None:
    plain = _raised(lambda: server.client().models.generate_content(fakes.MODEL, ASK))  # keyword-only
    instrument()
    raised = _raised(lambda: server.client().models.generate_content(fakes.MODEL, ASK))
    assert type(raised) is type(plain) is TypeError and str(raised) == str(plain)


def test_missing_usage_counts_the_text(events: list[Any]) -> None:
    server = FakeGemini(reply=lambda path, body: fakes.response_body(usage_metadata=None))
    response = server.client().models.generate_content(model=fakes.MODEL, contents=ASK)
    assert response.usage_metadata is None
    inputs = response.impacts.inputs
    assert inputs.tokens_source == "approximation"
    assert inputs.output_tokens == 8  # "The capital of France is Paris.": 31 characters / 4, rounded up
    assert "tokens-counted" in {w.code for w in response.impacts.warnings}


async def test_missing_usage_in_a_stream(events: list[Any]) -> None:
    server = FakeGemini(reply=lambda path, body: fakes.stream_chunks(with_usage=False))
    stream = await server.client().aio.models.generate_content_stream(model=fakes.MODEL, contents=ASK)
    async for _ in stream:
        pass
    inputs = stream.impacts.inputs
    assert inputs.tokens_source == "approximation" and inputs.output_tokens == 8
    assert "stream-partial" not in {w.code for w in stream.impacts.warnings}


def test_counts_left_out_are_zero(events: list[Any]) -> None:
    # A blocked prompt: no candidates, and the API leaves out the zero counts (proto3 JSON).
    body = {"promptFeedback": {"blockReason": "SAFETY"}, "usageMetadata": fakes.usage(None, None)}
    body["modelVersion"] = fakes.SERVED
    server = FakeGemini(reply=lambda path, _: body)
    response = server.client().models.generate_content(model=fakes.MODEL, contents=ASK)
    assert response.impacts.inputs.output_tokens == 0 and response.impacts.inputs.tokens_source == "usage"


def test_token_details_are_recorded(server: FakeGemini, events: list[Any]) -> None:
    inputs = server.client().models.generate_content(model=fakes.MODEL, contents=ASK).impacts.inputs
    assert inputs.input_tokens == fakes.PROMPT_TOKENS
    assert inputs.cached_input_tokens == fakes.CACHED_TOKENS
    assert inputs.reasoning_tokens == fakes.THOUGHTS_TOKENS
    assert inputs.output_tokens == fakes.CANDIDATES_TOKENS + fakes.THOUGHTS_TOKENS  # thinking is generated


def test_unknown_model_gives_none(caplog: pytest.LogCaptureFixture, events: list[Any]) -> None:
    server = FakeGemini(reply=lambda path, body: fakes.response_body(model="gemini-9-ultra"))
    with caplog.at_level(logging.WARNING, logger="genai_footprint"):
        response = server.client().models.generate_content(model="gemini-9-ultra", contents=ASK)
    assert response.impacts is None and response.text
    assert any("gemini-9-ultra" in r.getMessage() for r in caplog.records)


# -- where the call is served -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("location", "zone", "host"),
    [
        ("europe-west4", "NLD", "europe-west4-aiplatform.googleapis.com"),
        ("us-central1", "USA", "us-central1-aiplatform.googleapis.com"),
        ("europe-west9", "FRA", "europe-west9-aiplatform.googleapis.com"),
        ("global", "USA", "aiplatform.googleapis.com"),  # any region: the provider's default
    ],
)
def test_vertex_zone_from_the_location(
    server: FakeGemini, events: list[Any], location: str, zone: str, host: str
) -> None:
    client = server.vertex_client(location)
    response = client.models.generate_content(model=fakes.MODEL, contents=ASK)
    assert server.requests[0][0].startswith(f"https://{host}/")
    assert f"/locations/{location}/publishers/google/models/{fakes.MODEL}:generateContent" in server.requests[0][0]
    check(response.impacts, tokens=OUTPUT, stream=False, zone=zone)
    stream = client.models.generate_content_stream(model=fakes.MODEL, contents=ASK)
    list(stream)
    check(stream.impacts, tokens=STREAM_OUTPUT, stream=True, zone=zone)


async def test_vertex_zone_async(server: FakeGemini, events: list[Any]) -> None:
    response = await server.vertex_client("europe-west4").aio.models.generate_content(model=fakes.MODEL, contents=ASK)
    assert response.impacts.inputs.zone == "NLD"


def test_init_zone_wins_over_the_location(server: FakeGemini) -> None:
    genai_footprint.init(providers=["google"], zone="SWE")
    response = server.vertex_client("europe-west4").models.generate_content(model=fakes.MODEL, contents=ASK)
    assert response.impacts.inputs.zone == "SWE"


def test_gemini_api_uses_the_registry_default(server: FakeGemini, events: list[Any]) -> None:
    response = server.client().models.generate_content(model=fakes.MODEL, contents=ASK)
    assert response.impacts.inputs.zone == "USA"


@pytest.mark.parametrize(
    "requested",
    [
        "models/gemini-2.5-flash",
        "publishers/google/models/gemini-2.5-flash",
        "projects/test-project/locations/europe-west4/publishers/google/models/gemini-2.5-flash",
    ],
)
def test_resource_names_resolve(requested: str, events: list[Any]) -> None:
    body = fakes.response_body()
    del body["modelVersion"]  # so the requested name is what resolves
    server = FakeGemini(reply=lambda path, _: body)
    response = server.vertex_client().models.generate_content(model=requested, contents=ASK)
    assert response.impacts.inputs.model_resolved == fakes.SERVED
    assert events[0].model_requested == fakes.SERVED


# -- chats: every request through models, counted once --------------------------------------------------


def test_chat_send_message(server: FakeGemini, events: list[Any]) -> None:
    chat = server.client().chats.create(model=fakes.MODEL)
    first = chat.send_message(ASK)
    second = chat.send_message("And of Spain?")
    check(first.impacts, tokens=OUTPUT, stream=False)
    assert [e.impacts for e in events] == [first.impacts, second.impacts]
    assert len(chat.get_history()) == 4 and len(server.requests) == 2


def test_chat_send_message_stream(server: FakeGemini, events: list[Any]) -> None:
    chat = server.client().chats.create(model=fakes.MODEL)
    chunks = list(chat.send_message_stream(ASK))
    impacts = check(chunks[-1].impacts, tokens=STREAM_OUTPUT, stream=True)
    assert [e.impacts for e in events] == [impacts]


async def test_async_chat(server: FakeGemini, events: list[Any]) -> None:
    chat = server.client().aio.chats.create(model=fakes.MODEL)
    response = await chat.send_message(ASK)
    chunks = [chunk async for chunk in await chat.send_message_stream("And of Spain?")]
    check(response.impacts, tokens=OUTPUT, stream=False)
    check(chunks[-1].impacts, tokens=STREAM_OUTPUT, stream=True)
    assert [e.impacts for e in events] == [response.impacts, chunks[-1].impacts]


def test_automatic_function_calling_counts_each_request(events: list[Any]) -> None:
    def get_weather(city: str) -> str:
        """The weather in a city."""
        return "sunny"

    call = fakes.response_body()
    call["candidates"][0]["content"]["parts"] = [{"functionCall": {"name": "get_weather", "args": {"city": "Paris"}}}]
    answers = iter([call, fakes.response_body()])
    server = FakeGemini(reply=lambda path, body: next(answers))
    chat = server.client().chats.create(model=fakes.MODEL, config=types.GenerateContentConfig(tools=[get_weather]))
    response = chat.send_message("Weather in Paris?")
    assert len(server.requests) == 2 and len(events) == 2  # the chat sends each request through the models
    assert response.impacts is events[-1].impacts


# -- what is left alone -------------------------------------------------------------------------------------


def test_embeddings_and_token_counting_are_not_annotated(server: FakeGemini, events: list[Any]) -> None:
    client = server.client()
    embedded = client.models.embed_content(model="gemini-embedding-001", contents=ASK)
    counted = client.models.count_tokens(model=fakes.MODEL, contents=ASK)
    assert embedded.embeddings and counted.total_tokens == fakes.PROMPT_TOKENS
    assert not hasattr(embedded, "impacts") and not hasattr(counted, "impacts")
    assert events == []
    for method in ("embed_content", "count_tokens", "compute_tokens"):
        assert not installed(models.Models.__dict__[method]) and not installed(models.AsyncModels.__dict__[method])


async def test_async_embeddings_are_not_annotated(server: FakeGemini, events: list[Any]) -> None:
    embedded = await server.client().aio.models.embed_content(model="gemini-embedding-001", contents=ASK)
    assert not hasattr(embedded, "impacts") and events == []


# -- the object the caller gets is the SDK's own --------------------------------------------------------------


def test_the_very_object(server: FakeGemini, monkeypatch: pytest.MonkeyPatch) -> None:
    """What ``generate_content`` returns is the object the SDK built from the HTTP answer (spied on below)."""
    built: list[Any] = []
    inner = models.Models._generate_content

    def spy(self: Any, **kwargs: Any) -> Any:
        built.append(inner(self, **kwargs))
        return built[-1]

    monkeypatch.setattr(models.Models, "_generate_content", spy)
    plain = server.client().models.generate_content(model=fakes.MODEL, contents=ASK)
    instrument()
    response = server.client().models.generate_content(model=fakes.MODEL, contents=ASK)
    assert response is built[-1] and isinstance(response.impacts, Impacts)
    assert response == plain and plain == response
    assert response.model_dump() == plain.model_dump() and "impacts" not in response.model_dump_json()
    assert repr(response) == repr(plain) and str(response) == str(plain)
    assert set(vars(response)) - set(vars(plain)) == {"impacts"}
    assert not [cls for cls in type(response).__mro__ if "impacts" in vars(cls)]


@pytest.mark.parametrize("how", ["copy", "deepcopy", "model_copy", "pickle"])
def test_a_response_copies_and_pickles_as_the_sdks_own(server: FakeGemini, how: str) -> None:
    clone = {
        "copy": copy.copy,
        "deepcopy": copy.deepcopy,
        "model_copy": lambda r: r.model_copy(),
        "pickle": lambda r: pickle.loads(pickle.dumps(r)),
    }[how]
    plain = server.client().models.generate_content(model=fakes.MODEL, contents=ASK)
    instrument()
    response = server.client().models.generate_content(model=fakes.MODEL, contents=ASK)
    copied, plain_copied = clone(response), clone(plain)
    assert type(copied) is type(plain) and copied == plain_copied
    assert copied.model_dump() == plain_copied.model_dump()
    assert copied.impacts == response.impacts and not hasattr(plain_copied, "impacts")


# -- the lifecycle ------------------------------------------------------------------------------------------


def test_every_target_is_wrapped_and_restored(server: FakeGemini) -> None:
    owners = {(t.owner, t.method): getattr(models, t.owner).__dict__[t.method] for t in _google.TARGETS}
    instrument()
    assert "google" in _setup.instrumentor().enabled
    for (owner, method), original in owners.items():
        replacement = getattr(models, owner).__dict__[method]
        assert installed(replacement) and replacement.__wrapped__ is original
        assert inspect.signature(replacement) == inspect.signature(original)
        assert inspect.iscoroutinefunction(replacement) == inspect.iscoroutinefunction(original)
        assert replacement.__doc__ == original.__doc__ and replacement.__qualname__ == original.__qualname__
    genai_footprint.init(providers=["google"])  # idempotent: nothing wrapped twice
    assert getattr(models, "Models").__dict__["generate_content"].__wrapped__ is owners[("Models", "generate_content")]
    genai_footprint.shutdown()
    for (owner, method), original in owners.items():
        assert getattr(models, owner).__dict__[method] is original
    response = server.client().models.generate_content(model=fakes.MODEL, contents=ASK)
    assert not hasattr(response, "impacts")


def test_a_stream_begun_before_shutdown_is_estimated_when_it_ends(server: FakeGemini) -> None:
    instrument()
    stream = server.client().models.generate_content_stream(model=fakes.MODEL, contents=ASK)
    genai_footprint.shutdown()
    chunks = list(stream)
    assert isinstance(stream.impacts, Impacts) and chunks[-1].impacts is stream.impacts


def test_untested_version_patches_nothing(monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    real = importlib.metadata.version
    monkeypatch.setattr(importlib.metadata, "version", lambda name: "2.9.0" if name == "google-genai" else real(name))
    with caplog.at_level(logging.WARNING, logger="genai_footprint"):
        genai_footprint.init(providers=["google"])
    assert "google" not in _setup.instrumentor().enabled
    assert any("google-genai 2.9.0" in r.getMessage() for r in caplog.records)
    assert not installed(models.Models.__dict__["generate_content"])
    with pytest.raises(genai_footprint.InstrumentationError):
        genai_footprint.init(providers=["google"], strict=True)


VARS_SCRIPT = """
import json
import lifecycle_helpers as h
print(json.dumps(h.class_vars_report("google")))
"""


def test_after_shutdown_every_class_we_touched_has_exactly_the_vars_it_had_before_init() -> None:
    """As ``test_lifecycle``'s check, for Google (in a fresh interpreter: no earlier init() saw these classes)."""
    report = h.finish(h.run_script(VARS_SCRIPT))
    assert "Traceback" not in report["_stderr"], report["_stderr"]
    assert report["targets"] == len(_google.TARGETS) and report["sdk_classes"] >= 3, report
    assert report["unexpected_impacts"] == [] and report["not_wrapped"] == [] and report["still_wrapped"] == []
    assert report["without_impacts"] == [] and report["impacts_none"] == [], report
    assert report["not_snapshotted"] == [], report
    assert report["changed"] == {}, json.dumps(report["changed"], indent=1)


# -- reading SDK objects ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("gemini-2.5-flash", "gemini-2.5-flash"),
        ("models/gemini-2.5-flash", "gemini-2.5-flash"),
        ("publishers/google/models/gemini-2.5-pro", "gemini-2.5-pro"),
        ("projects/p/locations/us-central1/publishers/google/models/gemini-2.0-flash-001", "gemini-2.0-flash-001"),
        ("projects/p/locations/us-east5/publishers/anthropic/models/claude-sonnet-4-5", "anthropic/claude-sonnet-4-5"),
        ("google/gemini-2.5-flash", "google/gemini-2.5-flash"),
        ("tunedModels/my-model-123", "tunedModels/my-model-123"),
        ("projects/p/locations/l/endpoints/123", "projects/p/locations/l/endpoints/123"),
        ("", ""),
        (None, None),
    ],
)
def test_model_id(name: str | None, expected: str | None) -> None:
    assert _google.model_id(name) == expected


def test_output_tokens_is_none_safe() -> None:
    usage = types.GenerateContentResponseUsageMetadata
    assert _google.output_tokens(None) is None
    assert _google.output_tokens(usage()) is None  # nothing reported at all
    assert _google.output_tokens(usage(prompt_token_count=5)) == 0
    assert _google.output_tokens(usage(candidates_token_count=7)) == 7
    assert _google.output_tokens(usage(candidates_token_count=7, thoughts_token_count=30)) == 37
    assert _google.output_tokens(usage(thoughts_token_count=30, total_token_count=35)) == 30


# -- the registry -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "row"),
    [
        ("gemini-1.5-pro-002", "gemini-1.5-pro"),
        ("gemini-1.5-flash-latest", "gemini-1.5-flash"),
        ("gemini-1.5-flash-8b-001", "gemini-1.5-flash-8b"),
        ("gemini-2.0-flash-001", "gemini-2.0-flash"),
        ("models/gemini-2.0-flash-lite-001", "gemini-2.0-flash-lite"),
        ("gemini-2.5-pro-preview-06-05", "gemini-2.5-pro"),
        ("models/gemini-2.5-flash-preview-05-20", "gemini-2.5-flash"),
        ("gemini-2.5-flash-lite", "gemini-2.5-flash-lite"),
        ("gemini-3-pro-preview", "gemini-3-pro-preview"),
        ("models/gemini-3.1-pro-preview", "gemini-3.1-pro-preview"),
        ("gemini-3.5-flash-lite", "gemini-3.5-flash-lite"),
        ("gemini-flash-latest", "gemini-flash-latest"),
        ("google/gemini-2.5-flash", "gemini-2.5-flash"),
        ("gemini/gemini-2.5-flash", "gemini-2.5-flash"),
        ("gemma-3-27b-it", "gemma-3-27b-it"),
        ("models/gemma-3-4b-it", "gemma-3-4b-it"),
    ],
)
def test_gemini_names_resolve(name: str, row: str) -> None:
    inputs = genai_footprint.estimate("google", name, output_tokens=100).inputs
    assert inputs is not None and inputs.model_resolved == row
    assert genai_footprint.estimate(None, name, output_tokens=100).inputs.model_resolved == row


@pytest.mark.parametrize(
    ("name", "active", "total"),
    [("gemma-3-1b-it", 1.0, 1.0), ("gemma-3-27b-it", 27.433, 27.433), ("gemma-4-26b-a4b-it", 4, 26)],
)
def test_gemma_sizes_are_the_published_ones(name: str, active: float, total: float) -> None:
    inputs = genai_footprint.estimate("google", name, output_tokens=1).inputs
    assert (inputs.active_params.min, inputs.active_params.max) == (active, active)
    assert (inputs.total_params.min, inputs.total_params.max) == (total, total)
    assert "model-arch-not-released" not in {
        w.code for w in genai_footprint.estimate("google", name, output_tokens=1).warnings
    }


def _peer_google_models() -> list[str]:
    from pathlib import Path

    import ecologits

    data = json.loads((Path(ecologits.__file__).parent / "data" / "models.json").read_text())
    return sorted(m["name"] for m in data["models"] if m["provider"] == "google_genai")


@pytest.mark.parametrize("name", _peer_google_models())
def test_rows_taken_from_ecologits_give_its_numbers(name: str) -> None:
    """Each Gemini / Gemma row EcoLogits 0.11.3 estimates gives that release's impacts (Google's provider figures
    included); gemini-3-flash-preview is the one left out (see docs/providers.md)."""
    from ecologits.tracers.utils import llm_impacts

    logging.getLogger("ecologits").setLevel(logging.ERROR)
    if name == "gemini-3-flash-preview":
        with pytest.raises(genai_footprint.UnknownModelError):
            genai_footprint.estimate("google", name, output_tokens=1)
        return
    ours = genai_footprint.estimate("google", name, output_tokens=250, latency_s=1.5)
    theirs = llm_impacts("google_genai", name, 250, 1.5)
    for key in ("energy", "gwp", "adpe", "pe"):
        mine, peer = getattr(ours, key), getattr(theirs, key).value
        low, high = (peer.min, peer.max) if hasattr(peer, "min") else (peer, peer)
        assert mine.min == pytest.approx(low, rel=1e-9) and mine.max == pytest.approx(high, rel=1e-9), key
