"""Cohere instrumentation: the real ``cohere`` SDK over ``httpx.MockTransport`` (``cohere_fakes``) — v2 and v1
chat, sync, async, streams (generators: the request goes out when iteration starts), errors, missing usage,
embed / rerank / tokenize left alone, and the registry rows of the Command models."""

from __future__ import annotations

import inspect
import logging
import types
from collections.abc import Callable
from functools import partial
from typing import Any

import provider_checks as checks
import pytest

cohere = pytest.importorskip("cohere")

from cohere_fakes import (  # noqa: E402  (after the skip: the SDK must be there)
    COMPLETION_TOKENS,
    MODEL,
    PIECES,
    STREAM_TOKENS,
    TEXT,
    V1_MODEL,
    FakeCohere,
)

import genai_footprint  # noqa: E402
from genai_footprint import Impacts  # noqa: E402
from genai_footprint._instrument import _cohere  # noqa: E402
from genai_footprint._instrument._wrappers import installed  # noqa: E402

MESSAGES = [{"role": "user", "content": "What is the capital of France?"}]
V2 = {"model": MODEL, "messages": MESSAGES}
V1 = {"model": V1_MODEL, "message": "What is the capital of France?"}


offline_counting, finished = checks.provider_fixtures("cohere")
instrument = partial(checks.listen_for_impacts, "cohere")  # init(), then the impacts of every finished call


@pytest.fixture
def server() -> FakeCohere:
    return FakeCohere()


def check(impacts: Any, *, model: str, tokens: float, stream: bool, source: str = "usage") -> Impacts:
    """``impacts`` of a call: its inputs, and figures equal to ``estimate()`` with the same inputs."""
    # output tokens: sent as 31.0 by the SDK, read as the whole number it is
    inputs = checks.measured_inputs(impacts, provider="cohere", tokens=tokens, stream=stream, source=source)
    assert inputs.model_requested == model and inputs.model_resolved == model
    assert inputs.model_served is None  # Cohere's answers name no model
    assert (inputs.zone, inputs.pue.min, inputs.wue.max) == ("USA", 1.09, 0.999)
    checks.assert_timed(inputs, stream=stream)
    checks.assert_as_estimated(impacts, "cohere", model, output_tokens=tokens, latency_s=inputs.latency_s)
    return impacts


# -- v2: sync / async x plain / stream ----------------------------------------------------------------------


def test_v2_chat(server: FakeCohere, finished: list[Impacts | None]) -> None:
    result = server.client_v2().chat(**V2)
    assert result.usage.tokens.output_tokens == 31.0  # the SDK's float
    check(result.impacts, model=MODEL, tokens=COMPLETION_TOKENS, stream=False)
    assert result.impacts.inputs.input_tokens == 71  # usage.tokens.input_tokens, as a whole number
    assert finished == [result.impacts]
    assert server.requests[0][0] == "/v2/chat"


async def test_v2_chat_async(server: FakeCohere, finished: list[Impacts | None]) -> None:
    result = await server.async_client_v2().chat(**V2)
    check(result.impacts, model=MODEL, tokens=COMPLETION_TOKENS, stream=False)
    assert finished == [result.impacts]


def test_v2_chat_stream(server: FakeCohere, finished: list[Impacts | None]) -> None:
    stream = server.client_v2().chat_stream(**V2)
    assert isinstance(stream, types.GeneratorType) and inspect.isgenerator(stream)
    assert stream.impacts is None  # readable before the end
    assert server.requests == []  # as without us: nothing is sent before iteration starts
    events = list(stream)
    assert [e.type for e in events][-1] == "message-end"
    assert "".join(e.delta.message.content.text for e in events if e.type == "content-delta") == "".join(PIECES)
    check(stream.impacts, model=MODEL, tokens=STREAM_TOKENS, stream=True)
    assert stream.impacts.inputs.input_tokens == events[-1].delta.usage.tokens.input_tokens
    assert finished == [stream.impacts]  # once per stream, not per event
    stream.close()
    assert finished == [stream.impacts]


async def test_v2_chat_stream_async(server: FakeCohere, finished: list[Impacts | None]) -> None:
    stream = server.async_client_v2().chat_stream(**V2)  # an async generator: not awaited
    assert isinstance(stream, types.AsyncGeneratorType)
    assert stream.impacts is None
    kinds = [event.type async for event in stream]
    assert kinds[0] == "message-start" and kinds[-1] == "message-end"
    check(stream.impacts, model=MODEL, tokens=STREAM_TOKENS, stream=True)
    await stream.aclose()
    assert finished == [stream.impacts]


def test_client_v1_reaches_v2_through_its_v2_attribute(server: FakeCohere, finished: list[Impacts | None]) -> None:
    result = server.client_v1().v2.chat(**V2)
    check(result.impacts, model=MODEL, tokens=COMPLETION_TOKENS, stream=False)
    assert finished == [result.impacts]


# -- v1: sync / async x plain / stream ----------------------------------------------------------------------


def test_v1_chat(server: FakeCohere, finished: list[Impacts | None]) -> None:
    result = server.client_v1().chat(**V1)
    assert type(result).__name__ == "NonStreamedChatResponse"
    check(result.impacts, model=V1_MODEL, tokens=COMPLETION_TOKENS, stream=False)
    assert finished == [result.impacts]
    assert server.requests[0][0] == "/v1/chat"


async def test_v1_chat_async(server: FakeCohere, finished: list[Impacts | None]) -> None:
    result = await server.async_client_v1().chat(**V1)
    check(result.impacts, model=V1_MODEL, tokens=COMPLETION_TOKENS, stream=False)


def test_v1_chat_stream(server: FakeCohere, finished: list[Impacts | None]) -> None:
    stream = server.client_v1().chat_stream(**V1)
    kinds = [event.event_type for event in stream]
    assert kinds[0] == "stream-start" and kinds[-1] == "stream-end"
    check(stream.impacts, model=V1_MODEL, tokens=STREAM_TOKENS, stream=True)
    assert finished == [stream.impacts]


async def test_v1_chat_stream_async(server: FakeCohere, finished: list[Impacts | None]) -> None:
    stream = server.async_client_v1().chat_stream(**V1)
    async for _ in stream:
        pass
    check(stream.impacts, model=V1_MODEL, tokens=STREAM_TOKENS, stream=True)
    assert finished == [stream.impacts]


def test_counted_once_in_a_tracker(server: FakeCohere, finished: list[Impacts | None]) -> None:
    client = server.client_v2()
    with genai_footprint.track("cohere-run") as run:
        client.chat(**V2)
        list(client.chat_stream(**V2))
        server.client_v1().chat(**V1)
    assert run.calls == 3 and len(finished) == 3


# -- tokens: generated, else billed; floats read back as integers ---------------------------------------------


def test_billed_units_when_no_token_counts(finished: list[Impacts | None]) -> None:
    server = FakeCohere(usage="billed")
    result = server.client_v2().chat(**V2)
    assert result.usage.tokens is None
    check(result.impacts, model=MODEL, tokens=30, stream=False)  # BILLED_TOKENS
    stream = server.client_v1().chat_stream(**V1)
    list(stream)
    check(stream.impacts, model=V1_MODEL, tokens=STREAM_TOKENS, stream=True)


def test_a_count_that_is_no_whole_number_is_refused(caplog: pytest.LogCaptureFixture) -> None:
    # Only a whole float is read back as an integer; 12.5 is passed on as sent, and the runtime refuses it.
    class HalfTokens(FakeCohere):
        def _usage(self, tokens: int) -> dict[str, Any] | None:
            return {"tokens": {"input_tokens": 71, "output_tokens": 12.5}}

    finished = instrument()
    with caplog.at_level(logging.WARNING, logger="genai_footprint"):
        result = HalfTokens().client_v2().chat(**V2)
    assert result.usage.tokens.output_tokens == 12.5
    assert result.impacts is None and finished == [None]
    assert "output_tokens=12.5" in caplog.text


# -- early break, close, the stream never read ---------------------------------------------------------------


def test_early_break_then_close(server: FakeCohere, finished: list[Impacts | None]) -> None:
    stream = server.client_v2().chat_stream(**V2)
    for event in stream:
        if event.type == "content-delta":
            break
    impacts = checks.closed_after_a_break(stream, server.streams[0])
    assert impacts.inputs.output_tokens == 2  # "Paris": 5 characters / 4, rounded up
    assert finished == [impacts]


async def test_early_break_then_aclose(server: FakeCohere, finished: list[Impacts | None]) -> None:
    stream = server.async_client_v2().chat_stream(**V2)
    async for event in stream:
        if event.type == "content-delta":
            break
    await stream.aclose()
    assert server.streams[0].closed
    assert "stream-partial" in {w.code for w in stream.impacts.warnings}
    assert finished == [stream.impacts]


def test_a_stream_closed_before_it_is_read_sends_nothing_and_is_not_estimated(
    server: FakeCohere, finished: list[Impacts | None]
) -> None:
    stream = server.client_v2().chat_stream(**V2)
    stream.close()
    assert server.requests == []
    assert stream.impacts is None and finished == []


# -- the object the caller gets is the SDK's own -------------------------------------------------------------


@pytest.mark.parametrize(
    "call", [lambda s: s.client_v2().chat(**V2), lambda s: s.client_v1().chat(**V1)], ids=["v2", "v1"]
)
def test_the_very_object(call: Callable[[FakeCohere], Any], server: FakeCohere) -> None:
    plain = call(server)
    instrument()
    result = call(server)
    assert type(result) is type(plain)
    assert isinstance(result.impacts, Impacts)
    assert result == plain and result.model_dump() == plain.model_dump()
    assert "impacts" not in result.model_dump_json() and repr(result) == repr(plain)
    assert set(vars(result)) - set(vars(plain)) == {"impacts"}
    assert not [cls for cls in type(result).__mro__ if "impacts" in vars(cls)]  # on the instance, never its class


def test_stream_events_are_the_sdks(server: FakeCohere) -> None:
    plain = list(server.client_v2().chat_stream(**V2))
    instrument()
    events = list(server.client_v2().chat_stream(**V2))
    assert [type(e) for e in events] == [type(e) for e in plain]
    assert [e.model_dump() for e in events] == [e.model_dump() for e in plain]


# -- errors and odd answers -----------------------------------------------------------------------------------

ERRORS = [
    (400, {"id": "0b9a6c1d", "message": "invalid request: model 'command-x' not found"}),
    (401, {"id": "1c2d3e4f", "message": "invalid api token"}),
    (429, {"id": "2d3e4f5a", "message": "You are using a Trial key, which is limited to 10 API calls / minute."}),
    (500, {"id": "3e4f5a6b", "message": "internal server error, this has been reported to our developers"}),
]
CALLS = {
    "v2 chat": lambda s: s.client_v2().chat(**V2),
    "v2 chat_stream": lambda s: list(s.client_v2().chat_stream(**V2)),
    "v1 chat": lambda s: s.client_v1().chat(**V1),
    "v1 chat_stream": lambda s: list(s.client_v1().chat_stream(**V1)),
}


def _raised(call: Callable[[], Any]) -> BaseException:
    with pytest.raises(Exception) as info:
        call()
    return info.value


@pytest.mark.parametrize("name", sorted(CALLS))
@pytest.mark.parametrize(("status", "body"), ERRORS)
def test_http_errors_are_the_sdks(name: str, status: int, body: Any) -> None:
    server = FakeCohere(status=status, error_body=body)
    plain = _raised(lambda: CALLS[name](server))
    finished = instrument()
    raised = _raised(lambda: CALLS[name](server))
    assert isinstance(raised, cohere.core.ApiError)
    assert type(raised) is type(plain)
    assert raised.status_code == plain.status_code == status and raised.body == plain.body == body
    assert finished == []  # a call that got no answer is not estimated


@pytest.mark.parametrize(("status", "body"), ERRORS[:2])
async def test_http_errors_async(status: int, body: Any) -> None:
    server = FakeCohere(status=status, error_body=body)
    with pytest.raises(cohere.core.ApiError) as plain:
        [e async for e in server.async_client_v2().chat_stream(**V2)]
    finished = instrument()
    with pytest.raises(cohere.core.ApiError) as raised:
        [e async for e in server.async_client_v2().chat_stream(**V2)]
    with pytest.raises(cohere.core.ApiError):
        await server.async_client_v2().chat(**V2)
    assert type(raised.value) is type(plain.value) and raised.value.body == plain.value.body
    assert finished == []


@pytest.mark.parametrize("call", [lambda s: s.client_v2().chat(**V2), lambda s: s.client_v1().chat(**V1)])
def test_missing_usage_counts_the_text(call: Callable[[FakeCohere], Any], finished: list[Impacts | None]) -> None:
    result = call(FakeCohere(usage=None))
    impacts = result.impacts
    assert isinstance(impacts, Impacts) and impacts.inputs is not None
    assert impacts.inputs.tokens_source == "approximation"
    assert impacts.inputs.output_tokens == 8  # TEXT: 31 characters / 4, rounded up
    assert "tokens-counted" in {w.code for w in impacts.warnings}


async def test_missing_usage_in_a_stream(finished: list[Impacts | None]) -> None:
    stream = FakeCohere(usage=None).async_client_v2().chat_stream(**V2)
    async for _ in stream:
        pass
    impacts = stream.impacts
    assert impacts.inputs.tokens_source == "approximation" and impacts.inputs.output_tokens == 8
    codes = {w.code for w in impacts.warnings}
    assert "tokens-counted" in codes and "stream-partial" not in codes


def test_tool_calls_and_thinking_are_counted_text() -> None:
    texts: list[str] = []
    message = {
        "role": "assistant",
        "content": [{"type": "thinking", "thinking": "Look it up."}, {"type": "text", "text": TEXT}],
        "tool_plan": "I will call the tool.",
        "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "f", "arguments": '{"city": "Paris"}'}}],
    }
    response = cohere.V2ChatResponse.model_validate({"id": "x", "finish_reason": "TOOL_CALL", "message": message})
    texts = _cohere.CHAT_V2.observe(None, response).text or []  # type: ignore[arg-type]
    assert texts == ["Look it up.", TEXT, "I will call the tool.", '{"city": "Paris"}']


# -- embed, rerank, tokenize stay unannotated -----------------------------------------------------------------


def test_embed_rerank_tokenize_are_not_annotated(server: FakeCohere, finished: list[Impacts | None]) -> None:
    client = server.client_v2()
    results = [
        client.embed(model="embed-v4.0", texts=["hello"], input_type="search_query", embedding_types=["float"]),
        client.rerank(model="rerank-v3.5", query="capital of France", documents=["Berlin", "Paris"]),
        client.tokenize(text="tokenize", model=MODEL, offline=False),
        server.client_v1().embed(model="embed-english-v3.0", texts=["hello"], input_type="search_query"),
    ]
    assert [hasattr(r, "impacts") for r in results] == [False] * 4
    assert finished == []


# -- model names ----------------------------------------------------------------------------------------------

COMMAND_MODELS = [
    ("command-a-03-2025", "command-a-03-2025", 111),
    ("command-r", "command-r-03-2024", 35),
    ("command-r-08-2024", "command-r-08-2024", 32.3),
    ("command-r-plus", "command-r-plus-04-2024", 104),
    ("command-r-plus-08-2024", "command-r-plus-08-2024", 104),
    ("command-r7b-12-2024", "command-r7b-12-2024", 8.03),
]


@pytest.mark.parametrize(("model", "resolved", "params"), COMMAND_MODELS)
def test_command_models_resolve(model: str, resolved: str, params: float, server: FakeCohere) -> None:
    instrument()
    result = server.client_v2().chat(model=model, messages=MESSAGES)
    inputs = result.impacts.inputs
    assert (inputs.model_requested, inputs.model_resolved) == (model, resolved)
    assert (inputs.active_params.min, inputs.total_params.max) == (params, params)


def test_an_unknown_model_and_a_v1_call_naming_none_are_unestimated(
    server: FakeCohere, caplog: pytest.LogCaptureFixture
) -> None:
    finished = instrument()
    with caplog.at_level(logging.WARNING, logger="genai_footprint"):
        unknown = server.client_v2().chat(model="command-nightly", messages=MESSAGES)
        unnamed = server.client_v1().chat(message="hi")  # the API picks its default model, and names none
    assert unknown.impacts is None and unnamed.impacts is None and finished == [None, None]
    assert "'command-nightly'" in caplog.text and "not in the registry" in caplog.text


# -- patching lifecycle and version gate -------------------------------------------------------------------------


def test_every_target_is_wrapped_and_restored(server: FakeCohere) -> None:
    originals = checks.methods_of(_cohere.TARGETS)
    instrument()
    for target, method in checks.methods_of(_cohere.TARGETS).items():
        assert installed(method), target
    from cohere.v2.client import V2Client

    assert not installed(V2Client.__dict__["embed"]) and not installed(V2Client.__dict__["rerank"])
    assert inspect.isgeneratorfunction(V2Client.chat_stream)  # wrapt keeps what the method is
    genai_footprint.shutdown()
    for target, method in checks.methods_of(_cohere.TARGETS).items():
        assert method is originals[target], target
    stream = server.client_v2().chat_stream(**V2)
    assert type(stream) is types.GeneratorType and not hasattr(stream, "impacts")


@pytest.mark.parametrize("version", ["7.2.0", "8.0.0"])
def test_untested_version_patches_nothing_with_one_warning(
    version: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    checks.assert_untested_version_skipped(monkeypatch, caplog, provider="cohere", sdk="cohere", version=version)
