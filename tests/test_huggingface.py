"""Hugging Face instrumentation: the real ``huggingface_hub`` over its client-factory seam (``huggingface_fakes``)
— chat completions and text generation, sync and async, plain and streamed; Inference Providers routing to the
serving provider's registry row; Hub ids resolved to the maker's row; errors, missing usage, early breaks; tasks
that are not generations left alone."""

from __future__ import annotations

import importlib
import importlib.metadata
import json
import os
from collections.abc import Iterator
from functools import partial
from typing import Any

import pytest

pytest.importorskip("huggingface_hub")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")

import huggingface_fakes as hf
import lifecycle_helpers as h
import provider_checks as checks
from huggingface_hub import ChatCompletionOutput, TextGenerationOutput
from huggingface_hub.errors import HfHubHTTPError

import genai_footprint
from genai_footprint import Impacts
from genai_footprint._instrument import _huggingface
from genai_footprint._instrument._wrappers import installed

MESSAGES = [{"role": "user", "content": "What is the capital of France?"}]
RESOLVED = "llama-3.1-8b-instruct"  # the maker's row of meta-llama/Llama-3.1-8B-Instruct


offline_counting = checks.offline_counting


@pytest.fixture
def server() -> Iterator[hf.FakeHub]:
    fake = hf.FakeHub()
    fake.install()
    yield fake
    fake.uninstall()


instrument = partial(checks.listen_for_impacts, "huggingface")  # init(), then the impacts of every finished call


@pytest.fixture
def finished(server: hf.FakeHub) -> list[Impacts | None]:
    return instrument()


def check(impacts: Any, *, provider: str, tokens: float, stream: bool, source: str = "usage") -> Impacts:
    """``impacts`` of a call served by ``provider``, equal to ``estimate()`` with the same inputs."""
    inputs = checks.measured_inputs(impacts, provider=provider, tokens=tokens, stream=stream, source=source)
    assert inputs.model_requested == hf.HUB_ID
    assert inputs.model_resolved == RESOLVED
    checks.assert_as_estimated(impacts, provider, hf.HUB_ID, output_tokens=tokens, latency_s=inputs.latency_s)
    return impacts


# -- chat completion: sync / async x plain / stream -----------------------------------------------------------


def test_chat_sync_through_the_router(server: hf.FakeHub, finished: list[Impacts | None]) -> None:
    result = server.client(provider="together").chat_completion(MESSAGES, model=hf.HUB_ID)
    assert isinstance(result, ChatCompletionOutput)
    check(result.impacts, provider="together", tokens=hf.COMPLETION_TOKENS, stream=False)
    host, path, body = server.requests[0]
    assert (host, path, body["model"]) == ("router.huggingface.co", "/v1/chat/completions", f"{hf.HUB_ID}:together")
    inputs = result.impacts.inputs
    assert (inputs.input_tokens, inputs.cached_input_tokens) == (hf.PROMPT_TOKENS, 32)
    assert inputs.zone == "USA"  # Together's row
    assert finished == [result.impacts]
    assert "impacts" not in result  # the response is a dict too: its items are untouched


async def test_chat_async(server: hf.FakeHub, finished: list[Impacts | None]) -> None:
    result = await server.async_client(provider="together").chat_completion(MESSAGES, model=hf.HUB_ID)
    check(result.impacts, provider="together", tokens=hf.COMPLETION_TOKENS, stream=False)
    assert finished == [result.impacts]


def test_chat_stream_sync_direct_to_the_provider(server: hf.FakeHub, finished: list[Impacts | None]) -> None:
    client = server.client(provider="fireworks-ai", api_key=hf.PROVIDER_KEY)
    stream = client.chat_completion(MESSAGES, model=hf.HUB_ID, stream=True)
    assert stream.impacts is None  # readable before the end
    chunks = list(stream)
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "".join(hf.PIECES)
    host, _path, body = server.requests[0]
    assert host == "api.fireworks.ai" and body["model"] == hf.FIREWORKS_ID  # the provider's own model id
    impacts = check(stream.impacts, provider="fireworks", tokens=hf.STREAM_TOKENS, stream=True)
    assert impacts.inputs.model_served == hf.FIREWORKS_ID
    assert chunks[-1].impacts is impacts  # the last chunk carries them too
    assert finished == [impacts]


async def test_chat_stream_async(server: hf.FakeHub, finished: list[Impacts | None]) -> None:
    stream = await server.async_client(provider="together").chat_completion(MESSAGES, model=hf.HUB_ID, stream=True)
    pieces = [c.choices[0].delta.content async for c in stream if c.choices]
    assert "".join(p or "" for p in pieces) == "".join(hf.PIECES)
    check(stream.impacts, provider="together", tokens=hf.STREAM_TOKENS, stream=True)
    assert finished == [stream.impacts]


def test_openai_style_create_is_counted_once(server: hf.FakeHub, finished: list[Impacts | None]) -> None:
    client = server.client(provider="together")
    with genai_footprint.track("hf") as run:
        result = client.chat.completions.create(model=hf.HUB_ID, messages=MESSAGES)
        list(client.chat.completions.create(model=hf.HUB_ID, messages=MESSAGES, stream=True))
    check(result.impacts, provider="together", tokens=hf.COMPLETION_TOKENS, stream=False)
    assert run.calls == 2 and len(finished) == 2 and len(server.requests) == 2


# -- text generation (TGI) ----------------------------------------------------------------------------------


def test_text_generation_details(server: hf.FakeHub, finished: list[Impacts | None]) -> None:
    client = server.client(provider="hf-inference")
    result = client.text_generation("The capital of France is", model=hf.HUB_ID, details=True)
    assert isinstance(result, TextGenerationOutput)
    impacts = check(result.impacts, provider="huggingface", tokens=hf.GENERATED_TOKENS, stream=False)
    assert {w.code for w in impacts.warnings} >= {"provider-site-default", "provider-zone-unknown"}
    assert finished == [impacts]


def test_text_generation_text_only_reaches_the_tracker(server: hf.FakeHub, finished: list[Impacts | None]) -> None:
    with genai_footprint.track("tgi") as run:
        text = server.client(provider="hf-inference").text_generation("The capital of France is", model=hf.HUB_ID)
    assert text == "".join(hf.PIECES)  # a str, as without us: it cannot hold impacts
    assert run.calls == 1 and len(finished) == 1
    check(
        finished[0],
        provider="huggingface",
        tokens=finished[0].inputs.output_tokens,
        stream=False,
        source="approximation",
    )


@pytest.mark.parametrize("details", [True, False])
def test_text_generation_stream(server: hf.FakeHub, finished: list[Impacts | None], details: bool) -> None:
    stream = server.client(provider="hf-inference").text_generation(
        "The capital of France is", model=hf.HUB_ID, details=details, stream=True
    )
    items = list(stream)
    assert len(items) == len(hf.PIECES)
    if details:
        impacts = check(stream.impacts, provider="huggingface", tokens=hf.GENERATED_TOKENS, stream=True)
        assert impacts.inputs.input_tokens == hf.INPUT_LENGTH
        assert items[-1].impacts is impacts
    else:
        assert items == list(hf.PIECES)  # token strings: the text is counted
        check(
            stream.impacts,
            provider="huggingface",
            tokens=stream.impacts.inputs.output_tokens,
            stream=True,
            source="approximation",
        )
    assert finished == [stream.impacts]


async def test_text_generation_async(server: hf.FakeHub, finished: list[Impacts | None]) -> None:
    client = server.async_client(provider="hf-inference")
    result = await client.text_generation("The capital of France is", model=hf.HUB_ID, details=True)
    check(result.impacts, provider="huggingface", tokens=hf.GENERATED_TOKENS, stream=False)
    stream = await client.text_generation("The capital", model=hf.HUB_ID, details=True, stream=True)
    assert len([item async for item in stream]) == len(hf.PIECES)
    check(stream.impacts, provider="huggingface", tokens=hf.GENERATED_TOKENS, stream=True)
    assert finished == [result.impacts, stream.impacts]


def test_a_tgi_server_by_url(server: hf.FakeHub, finished: list[Impacts | None]) -> None:
    # A self-hosted TGI on this machine: the host is "local" in the registry; TGI names the model it serves.
    result = server.client(base_url=hf.TGI_URL).chat.completions.create(model=hf.HUB_ID, messages=MESSAGES)
    assert server.requests[0][:2] == ("127.0.0.1", "/v1/chat/completions")
    check(result.impacts, provider="local", tokens=hf.COMPLETION_TOKENS, stream=False)


# -- which provider serves ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "model", "provider"),
    [
        ({"provider": "together"}, hf.HUB_ID, "together"),
        ({"provider": "fireworks-ai"}, hf.HUB_ID, "fireworks"),
        ({"provider": "novita"}, hf.HUB_ID, "huggingface"),  # no row of its own: the huggingface row
        ({}, hf.HUB_ID, "huggingface"),  # automatic routing: the router picks, server-side
        ({}, f"{hf.HUB_ID}:fastest", "huggingface"),
        ({}, f"{hf.HUB_ID}:together", "together"),
    ],
)
def test_the_serving_providers_row(
    server: hf.FakeHub, finished: list[Impacts | None], kwargs: dict[str, Any], model: str, provider: str
) -> None:
    result = server.client(**kwargs).chat_completion(MESSAGES, model=model)
    impacts = check(result.impacts, provider=provider, tokens=hf.COMPLETION_TOKENS, stream=False)
    assert impacts.inputs.zone == ("WOR" if provider == "huggingface" else "USA")


def test_serving_reads_url_clients_and_suffixes() -> None:
    assert _huggingface.serving(None, "together", hf.HUB_ID) == ("together", hf.HUB_ID)
    assert _huggingface.serving(hf.HUB_ID, None, None) == ("huggingface", hf.HUB_ID)
    assert _huggingface.serving("https://xyz.endpoints.huggingface.cloud", None, "tgi") == ("huggingface", "tgi")
    assert _huggingface.serving("http://localhost:8080", None, None) == ("local", None)
    assert _huggingface.serving(None, "no-such-provider", hf.HUB_ID) == ("huggingface", hf.HUB_ID)


# -- the user's objects, errors and odd answers ---------------------------------------------------------------


def test_the_very_object(server: hf.FakeHub) -> None:
    plain = server.client(provider="together").chat_completion(MESSAGES, model=hf.HUB_ID)
    plain_stream = list(server.client(provider="together").chat_completion(MESSAGES, model=hf.HUB_ID, stream=True))
    instrument()
    result = server.client(provider="together").chat_completion(MESSAGES, model=hf.HUB_ID)
    stream = list(server.client(provider="together").chat_completion(MESSAGES, model=hf.HUB_ID, stream=True))
    assert type(result) is type(plain) and dict(result) == dict(plain) and result == plain
    assert json.dumps(result) == json.dumps(plain)
    assert stream == plain_stream and [type(c) for c in stream] == [type(c) for c in plain_stream]


@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize("status", [400, 429, 503])
def test_http_errors_are_the_sdks(status: int, stream: bool) -> None:
    server = hf.FakeHub(status=status)
    server.install()
    try:
        with pytest.raises(HfHubHTTPError) as plain:
            server.client(provider="together").chat_completion(MESSAGES, model=hf.HUB_ID, stream=stream)
        finished = instrument()
        with pytest.raises(HfHubHTTPError) as raised:
            server.client(provider="together").chat_completion(MESSAGES, model=hf.HUB_ID, stream=stream)
    finally:
        server.uninstall()
    assert type(raised.value) is type(plain.value) and str(raised.value) == str(plain.value)
    assert raised.value.response.status_code == status
    assert finished == []


async def test_http_error_async() -> None:
    server = hf.FakeHub(status=503)
    server.install()
    try:
        finished = instrument()
        with pytest.raises(HfHubHTTPError):
            await server.async_client(provider="together").chat_completion(MESSAGES, model=hf.HUB_ID, stream=True)
    finally:
        server.uninstall()
    assert finished == []


def test_missing_usage_counts_the_text() -> None:
    server = hf.FakeHub(tokens=False)
    server.install()
    try:
        finished = instrument()
        result = server.client(provider="together").chat_completion(MESSAGES, model=hf.HUB_ID)
        stream = server.client(provider="together").chat_completion(MESSAGES, model=hf.HUB_ID, stream=True)
        list(stream)
    finally:
        server.uninstall()
    assert result.usage is None
    for impacts in (result.impacts, stream.impacts):
        assert impacts.inputs.tokens_source == "approximation" and impacts.inputs.output_tokens > 0
        assert "tokens-counted" in {w.code for w in impacts.warnings}
    assert finished == [result.impacts, stream.impacts]


def test_early_break_then_close(server: hf.FakeHub, finished: list[Impacts | None]) -> None:
    stream = server.client(provider="together").chat_completion(MESSAGES, model=hf.HUB_ID, stream=True)
    for i, _ in enumerate(stream):
        if i == 1:
            break
    assert finished == []
    stream.close()
    assert len(finished) == 1 and stream.impacts is finished[0]
    assert stream.impacts.inputs.tokens_source == "approximation"  # the usage chunk never came
    stream.close()
    assert len(finished) == 1  # once


async def test_early_break_async(server: hf.FakeHub, finished: list[Impacts | None]) -> None:
    stream = await server.async_client(provider="together").chat_completion(MESSAGES, model=hf.HUB_ID, stream=True)
    async for _ in stream:
        break
    await stream.aclose()
    assert len(finished) == 1 and stream.impacts is finished[0]


def test_other_tasks_are_not_annotated(server: hf.FakeHub, finished: list[Impacts | None]) -> None:
    client = server.client(provider="hf-inference")
    scores = client.sentence_similarity("Paris", other_sentences=["France", "Spain"], model=hf.EMBEDDER)
    assert scores == [0.9, 0.1] and finished == []
    client.feature_extraction("Paris", model=hf.EMBEDDER)
    assert finished == []


# -- lifecycle --------------------------------------------------------------------------------------------------


def test_every_target_is_wrapped_and_restored(server: hf.FakeHub) -> None:
    owners = [(t, getattr(importlib.import_module(t.module), t.owner)) for t in _huggingface.TARGETS]
    originals = {t: owner.__dict__[t.method] for t, owner in owners}
    instrument()
    assert all(installed(owner.__dict__[t.method]) for t, owner in owners)
    from huggingface_hub import InferenceClient

    assert not installed(InferenceClient.__dict__["feature_extraction"])
    genai_footprint.shutdown()
    assert all(owner.__dict__[t.method] is originals[t] for t, owner in owners)
    result = server.client(provider="together").chat_completion(MESSAGES, model=hf.HUB_ID)
    assert not hasattr(result, "impacts")


@pytest.mark.parametrize("version", ["2.4.0", "3.0.0"])
def test_untested_version_patches_nothing_with_one_warning(
    version: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    checks.assert_untested_version_skipped(
        monkeypatch, caplog, provider="huggingface", sdk="huggingface_hub", version=version
    )


def test_after_shutdown_the_classes_are_as_before() -> None:
    report = h.finish(
        h.run_script("import json, lifecycle_helpers as h\nprint(json.dumps(h.class_vars_report('huggingface')))")
    )
    assert "Traceback" not in report["_stderr"], report["_stderr"]
    assert report["targets"] == len(_huggingface.TARGETS)
    assert report["not_wrapped"] == [] and report["still_wrapped"] == []
    assert report["unexpected_impacts"] == [] and report["impacts_none"] == []
    assert report["changed"] == {}, report["changed"]
