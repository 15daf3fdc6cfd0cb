"""LiteLLM instrumentation: the real ``litellm`` over the real ``openai`` SDK on ``httpx2.MockTransport``
(``lifecycle_helpers.client``), and LiteLLM's own ``mock_response`` for the other providers — completion,
acompletion, streams, text_completion, responses, Router; errors, missing usage; counted once when LiteLLM goes
through an SDK we also patch; model strings resolved to the serving provider."""

from __future__ import annotations

import os

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # no cost-map download at import
os.environ.setdefault("HF_HUB_OFFLINE", "1")  # no tokenizer download for Llama models

import asyncio
import gc
from collections.abc import Iterator
from typing import Any

import pytest

litellm = pytest.importorskip("litellm")

import httpx2  # noqa: E402
import lifecycle_helpers as h  # noqa: E402
import provider_checks as checks  # noqa: E402

import genai_footprint  # noqa: E402
from genai_footprint import Impacts, _setup  # noqa: E402
from genai_footprint._events import CallEvent  # noqa: E402
from genai_footprint._instrument import _litellm  # noqa: E402
from genai_footprint._instrument._wrappers import installed  # noqa: E402

MESSAGES = [{"role": "user", "content": "What is the capital of France?"}]
OPENAI = "openai/gpt-4o-mini"


@pytest.fixture(autouse=True)
def _shutdown() -> Iterator[None]:
    yield
    gc.collect()  # a stream left unfinished finishes now, not in a later test
    genai_footprint.shutdown()


def instrument(providers: tuple[str, ...] = ("litellm", "openai")) -> list[CallEvent]:
    """``init()`` with LiteLLM and the OpenAI SDK both patched; returns the events of every finished call."""
    return checks.listen(list(providers))


@pytest.fixture
def events() -> list[CallEvent]:
    return instrument()


def only(events: list[CallEvent], result: Any) -> CallEvent:
    """The one event, whose impacts are the very ones on ``result``."""
    assert len(events) == 1, events
    impacts = result.impacts
    assert isinstance(impacts, Impacts) and events[0].impacts is impacts
    return events[0]


def check_openai(event: CallEvent, *, tokens: int, stream: bool, served: str = h.SERVED) -> None:
    assert (event.provider, event.model_requested, event.model_served) == ("openai", "gpt-4o-mini", served)
    assert event.model_resolved == served and event.output_tokens == tokens and event.stream is stream
    assert event.impacts is not None and event.impacts.inputs is not None
    assert event.impacts.inputs.tokens_source == "usage"


# -- LiteLLM over the OpenAI SDK: counted once --------------------------------------------------------------


def test_completion_over_the_openai_sdk_is_counted_once(events: list[CallEvent]) -> None:
    with genai_footprint.track("litellm") as run:
        response = litellm.completion(model=OPENAI, messages=MESSAGES, client=h.client())
    assert type(response) is litellm.ModelResponse
    event = only(events, response)
    check_openai(event, tokens=7, stream=False)
    assert event.details.input_tokens == 3
    assert run.calls == 1 and run.impacts is not None
    assert run.impacts.energy.min == response.impacts.energy.min


async def test_acompletion_over_the_openai_sdk_is_counted_once(events: list[CallEvent]) -> None:
    with genai_footprint.track("litellm") as run:
        response = await litellm.acompletion(model=OPENAI, messages=MESSAGES, client=h.client(asynchronous=True))
    check_openai(only(events, response), tokens=7, stream=False)
    assert run.calls == 1


def test_stream(events: list[CallEvent]) -> None:
    with genai_footprint.track("litellm") as run:
        stream = litellm.completion(model=OPENAI, messages=MESSAGES, client=h.client(), stream=True)
        assert isinstance(stream, litellm.CustomStreamWrapper) and stream.impacts is None
        chunks = list(stream)
    assert all(type(chunk).__name__ == "ModelResponseStream" for chunk in chunks)
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "abc"
    check_openai(only(events, stream), tokens=5, stream=True, served="gpt-4o-mini")  # LiteLLM renames chunks
    assert run.calls == 1


async def test_async_stream(events: list[CallEvent]) -> None:
    stream = await litellm.acompletion(model=OPENAI, messages=MESSAGES, client=h.client(asynchronous=True), stream=True)
    assert isinstance(stream, litellm.CustomStreamWrapper)
    chunks = [chunk async for chunk in stream]
    assert len(chunks) >= 4
    check_openai(only(events, stream), tokens=5, stream=True, served="gpt-4o-mini")


def test_stream_with_statement_and_early_break(events: list[CallEvent]) -> None:
    with litellm.completion(model=OPENAI, messages=MESSAGES, client=h.client(), stream=True) as stream:
        for _ in stream:
            break
    event = only(events, stream)
    assert event.stream and event.output_tokens is not None  # counted from the text received


async def test_async_stream_early_break_then_aclose(events: list[CallEvent]) -> None:
    stream = await litellm.acompletion(model=OPENAI, messages=MESSAGES, client=h.client(asynchronous=True), stream=True)
    async for _ in stream:
        break
    await stream.aclose()
    only(events, stream)


def test_stream_closed_early(events: list[CallEvent]) -> None:
    stream = litellm.completion(model=OPENAI, messages=MESSAGES, client=h.client(), stream=True)
    next(stream)
    stream.close()
    only(events, stream)


# -- nesting in general: an instrumented SDK call made inside a LiteLLM call ------------------------------------


class _OverOpenAI(litellm.CustomLLM):
    """A LiteLLM custom provider that answers through the OpenAI SDK's ``chat.completions.create`` (patched)."""

    def completion(self, *args: Any, **kwargs: Any) -> Any:
        inner = h.client().chat.completions.create(model=h.MODEL, messages=MESSAGES)
        assert not hasattr(inner, "impacts"), "the inner SDK call passed through"
        return litellm.ModelResponse(
            model=inner.model, choices=[{"message": {"content": "hi"}}], usage=inner.usage.model_dump()
        )

    async def acompletion(self, *args: Any, **kwargs: Any) -> Any:
        inner = await h.client(asynchronous=True).chat.completions.create(model=h.MODEL, messages=MESSAGES)
        assert not hasattr(inner, "impacts"), "the inner SDK call passed through"
        return litellm.ModelResponse(
            model=inner.model, choices=[{"message": {"content": "hi"}}], usage=inner.usage.model_dump()
        )


@pytest.fixture
def over_openai(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(litellm, "custom_provider_map", [{"provider": "viaopenai", "custom_handler": _OverOpenAI()}])
    litellm.utils.custom_llm_setup()


@pytest.mark.usefixtures("over_openai")
def test_an_sdk_call_inside_a_litellm_call_is_not_counted_again(events: list[CallEvent]) -> None:
    plain = h.client().chat.completions.create(model=h.MODEL, messages=MESSAGES)
    assert plain.impacts is not None and len(events) == 1  # the SDK alone is measured
    with genai_footprint.track("nested") as run:
        response = litellm.completion(model="viaopenai/gpt-4o-mini", messages=MESSAGES)
    assert len(events) == 2 and run.calls == 1
    assert events[1].impacts is response.impacts and events[1].output_tokens == 7


@pytest.mark.usefixtures("over_openai")
async def test_an_async_sdk_call_inside_a_litellm_call_is_not_counted_again(events: list[CallEvent]) -> None:
    with genai_footprint.track("nested") as run:
        response = await litellm.acompletion(model="viaopenai/gpt-4o-mini", messages=MESSAGES)
    assert len(events) == 1 and run.calls == 1
    assert events[0].impacts is response.impacts and events[0].output_tokens == 7


async def test_concurrent_calls_are_each_counted_once(events: list[CallEvent]) -> None:
    client = h.client(asynchronous=True)
    results = await asyncio.gather(
        *(litellm.acompletion(model=OPENAI, messages=MESSAGES, client=client) for _ in range(3))
    )
    assert len(events) == 3
    assert {id(e.impacts) for e in events} == {id(r.impacts) for r in results}


# -- the other entry points ----------------------------------------------------------------------------------


def test_text_completion(events: list[CallEvent]) -> None:
    response = litellm.text_completion(model="openai/gpt-3.5-turbo-instruct", prompt="Say hi", mock_response="hi")
    event = only(events, response)
    assert (event.provider, event.model_requested, event.output_tokens) == ("openai", "gpt-3.5-turbo-instruct", 20)


async def test_atext_completion(events: list[CallEvent]) -> None:
    response = await litellm.atext_completion(
        model="openai/gpt-3.5-turbo-instruct", prompt="Say hi", mock_response="hi"
    )
    only(events, response)


def test_text_completion_stream(events: list[CallEvent]) -> None:
    stream = litellm.text_completion(
        model="openai/gpt-3.5-turbo-instruct", prompt="Say hi", mock_response="hi there", stream=True
    )
    list(stream)
    event = only(events, stream)
    assert event.stream and event.output_tokens is not None


def test_responses(events: list[CallEvent]) -> None:
    response = litellm.responses(model=OPENAI, input="Say hi", mock_response="hi")
    event = only(events, response)
    assert (event.provider, event.model_requested) == ("openai", "gpt-4o-mini")
    assert event.output_tokens == response.usage.output_tokens
    assert event.details.input_tokens == response.usage.input_tokens


async def test_aresponses(events: list[CallEvent]) -> None:
    response = await litellm.aresponses(model=OPENAI, input="Say hi", mock_response="hi")
    only(events, response)


def test_router_completion(events: list[CallEvent]) -> None:
    router = litellm.Router(model_list=[{"model_name": "fast", "litellm_params": {"model": OPENAI}}])
    with genai_footprint.track("router") as run:
        response = router.completion(model="fast", messages=MESSAGES, mock_response="hello")
    event = only(events, response)
    assert (event.provider, event.model_requested, event.output_tokens) == ("openai", "gpt-4o-mini", 20)
    assert run.calls == 1


async def test_router_acompletion(events: list[CallEvent]) -> None:
    router = litellm.Router(model_list=[{"model_name": "fast", "litellm_params": {"model": OPENAI}}])
    response = await router.acompletion(model="fast", messages=MESSAGES, mock_response="hello")
    event = only(events, response)
    assert (event.provider, event.model_requested) == ("openai", "gpt-4o-mini")


# -- errors, odd answers ------------------------------------------------------------------------------------


def _error(status: int) -> Any:
    body = {"error": {"message": f"failed with {status}", "type": "invalid_request_error"}}
    return lambda request: httpx2.Response(status, json=body)


def _raised(call: Any) -> BaseException:
    with pytest.raises(Exception) as info:
        call()
    return info.value


@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize("status", [401, 500])
def test_http_errors_reach_the_caller_unchanged(status: int, stream: bool) -> None:
    def call() -> Any:
        return litellm.completion(
            model=OPENAI, messages=MESSAGES, client=h.client(_error(status)), stream=stream, num_retries=0
        )

    plain = _raised(call)
    events = instrument()
    raised = _raised(call)
    assert type(raised) is type(plain) and str(raised) == str(plain)
    assert getattr(raised, "status_code", None) == getattr(plain, "status_code", None) == status
    assert events == []


async def test_http_error_async() -> None:
    events = instrument()
    with pytest.raises(litellm.exceptions.AuthenticationError):
        await litellm.acompletion(
            model=OPENAI, messages=MESSAGES, client=h.client(_error(401), asynchronous=True), num_retries=0
        )
    assert events == []


def test_missing_usage(events: list[CallEvent]) -> None:
    client = h.client(lambda request: h.chat_body(usage=None, content="Paris is the capital."))
    response = litellm.completion(model=OPENAI, messages=MESSAGES, client=client)
    event = only(events, response)
    assert response.usage.completion_tokens == 0, "LiteLLM's stand-in for the missing usage"
    assert event.impacts is not None and event.impacts.inputs is not None
    assert event.impacts.inputs.tokens_source != "usage" and event.output_tokens is not None and event.output_tokens > 0


def test_completion_asked_for_a_coroutine_is_passed_through(events: list[CallEvent]) -> None:
    coroutine = litellm.completion(model=OPENAI, messages=MESSAGES, mock_response="hi", acompletion=True)
    response = asyncio.run(coroutine)
    assert response.choices[0].message.content == "hi"


# -- model strings ------------------------------------------------------------------------------------------


MODELS = [
    ("anthropic/claude-sonnet-4-5", {}, "anthropic", "claude-sonnet-4-5-20250929", None),
    ("vertex_ai/gemini-2.5-pro", {}, "google", "gemini-2.5-pro", None),
    ("gemini/gemini-2.5-flash", {}, "google", "gemini-2.5-flash", None),
    ("groq/llama-3.3-70b-versatile", {}, "groq", "llama-3.3-70b-versatile", None),
    ("mistral/mistral-large-latest", {}, "mistralai", None, None),
    ("gpt-4o", {}, "openai", "gpt-4o", None),
    (
        "bedrock/us.anthropic.claude-sonnet-4-5-20250929-v1:0",
        {"aws_region_name": "eu-west-3"},
        "anthropic",
        "claude-sonnet-4-5-20250929",
        "FRA",
    ),
]


@pytest.mark.parametrize(("model", "extra", "provider", "resolved", "zone"), MODELS)
def test_model_strings_resolve_to_the_serving_provider(
    events: list[CallEvent], model: str, extra: dict[str, Any], provider: str, resolved: str | None, zone: str | None
) -> None:
    response = litellm.completion(model=model, messages=MESSAGES, mock_response="Paris.", **extra)
    event = only(events, response)
    assert event.provider == provider
    if resolved is not None:
        assert event.model_resolved == resolved
    if zone is not None:
        assert event.zone == zone


def test_a_provider_the_registry_does_not_know_is_unestimated(
    events: list[CallEvent], caplog: pytest.LogCaptureFixture
) -> None:
    response = litellm.completion(model="together_ai/acme/unknown-7b", messages=MESSAGES, mock_response="Paris.")
    assert response.impacts is None and len(events) == 1
    assert events[0].model_requested == "acme/unknown-7b" and events[0].provider.startswith("together")
    assert any("not in the registry" in r.getMessage() for r in caplog.records)


def test_a_local_server_is_the_registrys_local_provider(events: list[CallEvent]) -> None:
    litellm.completion(model="ollama/llama3.1:8b", messages=MESSAGES, mock_response="Paris.")
    assert (events[0].provider, events[0].model_requested) == ("local", "llama3.1:8b")  # "ollama": an alias


def test_split_model_without_litellm_routing() -> None:
    assert _litellm.split_model("acme/some-model", {}) == ("acme", "some-model")


# -- lifecycle -----------------------------------------------------------------------------------------------


def test_module_functions_are_wrapped_and_restored() -> None:
    names = [target.method for target in _litellm.TARGETS]
    originals = {name: vars(litellm)[name] for name in names}
    imported_before = litellm.completion
    instrument(("litellm",))
    assert all(installed(vars(litellm)[name]) for name in names)
    assert sorted(_setup.instrumentor().patched()) == sorted(f"litellm.{name}" for name in names)
    before = imported_before(model=OPENAI, messages=MESSAGES, mock_response="hi")
    assert not hasattr(before, "impacts"), "a name imported before init() is the original"
    genai_footprint.shutdown()
    assert {name: vars(litellm)[name] for name in names} == originals
    assert not hasattr(litellm.completion(model=OPENAI, messages=MESSAGES, mock_response="hi"), "impacts")
