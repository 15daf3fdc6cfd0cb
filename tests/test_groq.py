"""Groq instrumentation: the real ``groq`` SDK over ``httpx.MockTransport`` (``groq_fakes``) — chat completions
sync, async, streams (usage in ``x_groq.usage`` on the last chunk), raw responses, errors, missing usage, and
the registry rows of the models Groq serves."""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import partial
from typing import Any

import provider_checks as checks
import pytest

groq = pytest.importorskip("groq")

from groq_fakes import (  # noqa: E402  (after the skip: the fakes import the SDK)
    COMPLETION_TOKENS,
    MODEL,
    PIECES,
    REASONING_MODEL,
    STREAM_TOKENS,
    FakeGroq,
    chat_chunks,
)

import genai_footprint  # noqa: E402
from genai_footprint import Impacts  # noqa: E402
from genai_footprint._instrument import _groq  # noqa: E402
from genai_footprint._instrument._wrappers import installed  # noqa: E402

MESSAGES = [{"role": "user", "content": "What is the capital of France?"}]


offline_counting, finished = checks.provider_fixtures("groq")
instrument = partial(checks.listen_for_impacts, "groq")  # init(), then the impacts of every finished call


@pytest.fixture
def server() -> FakeGroq:
    return FakeGroq()


def check(result: Any, *, tokens: float, stream: bool, model: str = MODEL, source: str = "usage") -> Impacts:
    """The impacts on ``result``: its inputs, and figures equal to ``estimate()`` with the same inputs."""
    impacts = result.impacts
    inputs = checks.measured_inputs(impacts, provider="groq", tokens=tokens, stream=stream, source=source)
    assert (inputs.model_requested, inputs.model_served, inputs.model_resolved) == (model, model, model)
    assert inputs.zone == "USA"
    assert (inputs.pue.min, inputs.pue.max) == (1.3, 1.58)
    checks.assert_timed(inputs, stream=stream, ttft_only_on_streams=True)
    checks.assert_as_estimated(impacts, "groq", model, output_tokens=tokens, latency_s=inputs.latency_s)
    return impacts


# -- sync / async x plain / stream ------------------------------------------------------------------------


def test_plain_sync(server: FakeGroq, finished: list[Impacts | None]) -> None:
    result = server.client().chat.completions.create(model=MODEL, messages=MESSAGES)
    check(result, tokens=COMPLETION_TOKENS, stream=False)
    assert finished == [result.impacts]
    assert server.requests[0][0] == "/openai/v1/chat/completions"
    assert result.impacts.inputs.input_tokens == result.usage.prompt_tokens  # recorded as reported


async def test_plain_async(server: FakeGroq, finished: list[Impacts | None]) -> None:
    result = await server.async_client().chat.completions.create(model=MODEL, messages=MESSAGES)
    check(result, tokens=COMPLETION_TOKENS, stream=False)
    assert finished == [result.impacts]


def test_stream_sync(server: FakeGroq, finished: list[Impacts | None]) -> None:
    stream = server.client().chat.completions.create(model=MODEL, messages=MESSAGES, stream=True)
    assert isinstance(stream, groq.Stream)
    assert stream.impacts is None  # readable before the end
    assert finished == []
    chunks = list(stream)
    assert len(chunks) == len(PIECES) + 2
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == "".join(PIECES)
    assert chunks[-1].x_groq.usage.completion_tokens == STREAM_TOKENS  # where Groq puts a stream's usage
    check(stream, tokens=STREAM_TOKENS, stream=True)
    assert stream.impacts.inputs.input_tokens == chunks[-1].x_groq.usage.prompt_tokens
    assert finished == [stream.impacts]  # once per stream, not per chunk
    stream.close()
    assert finished == [stream.impacts]
    assert "stream_options" not in server.requests[0][1]  # nothing added to the caller's request


async def test_stream_async(server: FakeGroq, finished: list[Impacts | None]) -> None:
    stream = await server.async_client().chat.completions.create(model=MODEL, messages=MESSAGES, stream=True)
    assert isinstance(stream, groq.AsyncStream)
    assert stream.impacts is None
    pieces = [chunk.choices[0].delta.content async for chunk in stream]
    assert "".join(p or "" for p in pieces) == "".join(PIECES)
    check(stream, tokens=STREAM_TOKENS, stream=True)
    await stream.close()
    assert finished == [stream.impacts]


def test_stream_with_statement(server: FakeGroq, finished: list[Impacts | None]) -> None:
    with server.client().chat.completions.create(model=MODEL, messages=MESSAGES, stream=True) as stream:
        for _ in stream:
            pass
    check(stream, tokens=STREAM_TOKENS, stream=True)
    assert finished == [stream.impacts]
    assert server.streams[0].closed


async def test_async_stream_with_statement(server: FakeGroq, finished: list[Impacts | None]) -> None:
    async with await server.async_client().chat.completions.create(
        model=MODEL, messages=MESSAGES, stream=True
    ) as stream:
        async for _ in stream:
            pass
    check(stream, tokens=STREAM_TOKENS, stream=True)
    assert finished == [stream.impacts]
    assert server.streams[0].closed


def test_stream_usage_also_read_from_usage(server: FakeGroq, finished: list[Impacts | None]) -> None:
    # With stream_options.include_usage (passed through extra_body: the SDK has no parameter for it), Groq also
    # sends the OpenAI-style usage chunk; the last report wins, never a sum.
    observer = _groq.CHAT.stream_observer(None, None)  # type: ignore[arg-type]
    chunks = [groq.types.chat.ChatCompletionChunk.model_validate(c) for c in chat_chunks()]
    chunks[-1].usage = chunks[-1].x_groq.usage
    for chunk in chunks:
        assert observer.on_item(chunk) is True
    result = observer.result()
    assert (result.model, result.output_tokens) == (MODEL, STREAM_TOKENS)
    assert "".join(result.text or ()) == "".join(PIECES)


# -- early break, close -------------------------------------------------------------------------------------


def test_early_break_then_close(server: FakeGroq, finished: list[Impacts | None]) -> None:
    stream = server.client().chat.completions.create(model=MODEL, messages=MESSAGES, stream=True)
    checks.read_then_break(stream, 3)
    impacts = checks.closed_after_a_break(stream, server.streams[0])
    assert 0 < impacts.inputs.output_tokens < STREAM_TOKENS
    assert finished == [impacts]


async def test_early_break_then_close_async(server: FakeGroq, finished: list[Impacts | None]) -> None:
    stream = await server.async_client().chat.completions.create(model=MODEL, messages=MESSAGES, stream=True)
    async for chunk in stream:
        if chunk.choices[0].delta.content:
            break
    impacts = await checks.closed_after_an_async_break(stream, server.streams[0])
    assert finished == [impacts]


# -- the object the caller gets is the SDK's own -------------------------------------------------------------


def test_the_very_object(server: FakeGroq) -> None:
    plain = server.client().chat.completions.create(model=MODEL, messages=MESSAGES)
    instrument()
    result = server.client().chat.completions.create(model=MODEL, messages=MESSAGES)
    assert type(result) is type(plain)
    assert isinstance(result.impacts, Impacts)
    assert result == plain
    assert result.model_dump() == plain.model_dump() and "impacts" not in result.model_dump_json()
    assert repr(result) == repr(plain)
    assert result.to_dict() == plain.to_dict()
    assert set(vars(result)) - set(vars(plain)) == {"impacts"}
    assert not [cls for cls in type(result).__mro__ if "impacts" in vars(cls)]  # on the instance, never its class


def test_stream_chunks_are_the_sdks(server: FakeGroq) -> None:
    plain = list(server.client().chat.completions.create(model=MODEL, messages=MESSAGES, stream=True))
    instrument()
    stream = server.client().chat.completions.create(model=MODEL, messages=MESSAGES, stream=True)
    chunks = list(stream)
    assert [type(c) for c in chunks] == [type(c) for c in plain]
    assert [c.model_dump() for c in chunks] == [c.model_dump() for c in plain]
    assert stream.response.status_code == 200
    assert not any("impacts" in vars(c) for c in chunks)


def test_raw_responses(server: FakeGroq, finished: list[Impacts | None]) -> None:
    client = server.client()
    raw = client.chat.completions.with_raw_response.create(model=MODEL, messages=MESSAGES)
    assert finished == []  # the call ends when the raw response is parsed
    parsed = raw.parse()
    check(parsed, tokens=COMPLETION_TOKENS, stream=False)
    assert raw.parse() is parsed and finished == [parsed.impacts]
    with client.chat.completions.with_streaming_response.create(model=MODEL, messages=MESSAGES) as response:
        streamed = response.parse()
    check(streamed, tokens=COMPLETION_TOKENS, stream=False)
    assert len(finished) == 2


async def test_raw_responses_async(server: FakeGroq, finished: list[Impacts | None]) -> None:
    raw = await server.async_client().chat.completions.with_raw_response.create(model=MODEL, messages=MESSAGES)
    parsed = await raw.parse()
    check(parsed, tokens=COMPLETION_TOKENS, stream=False)
    assert finished == [parsed.impacts]


def test_counted_once_in_a_tracker(server: FakeGroq, finished: list[Impacts | None]) -> None:
    client = server.client()
    with genai_footprint.track("groq-run") as run:
        client.chat.completions.create(model=MODEL, messages=MESSAGES)
        client.chat.completions.with_raw_response.create(model=MODEL, messages=MESSAGES).parse()
        list(client.chat.completions.create(model=MODEL, messages=MESSAGES, stream=True))
    assert run.calls == 3 and len(finished) == 3
    assert run.impacts is not None


# -- errors and odd answers -----------------------------------------------------------------------------------


ERRORS = [
    (400, {"error": {"message": "`messages` is required", "type": "invalid_request_error"}}),
    (401, {"error": {"message": "Invalid API Key", "type": "invalid_request_error", "code": "invalid_api_key"}}),
    (429, {"error": {"message": "Rate limit reached for model", "type": "tokens", "code": "rate_limit_exceeded"}}),
    (503, {"error": {"message": "Service Unavailable", "type": "internal_server_error"}}),
]


def _raised(call: Callable[[], Any]) -> BaseException:
    with pytest.raises(Exception) as info:
        call()
    return info.value


@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize(("status", "body"), ERRORS)
def test_http_errors_are_the_sdks(status: int, body: Any, stream: bool) -> None:
    server = FakeGroq(status=status, error_body=body)
    plain = _raised(lambda: server.client().chat.completions.create(model=MODEL, messages=MESSAGES, stream=stream))
    finished = instrument()
    raised = _raised(lambda: server.client().chat.completions.create(model=MODEL, messages=MESSAGES, stream=stream))
    assert isinstance(raised, groq.APIStatusError)
    assert type(raised) is type(plain)
    assert str(raised) == str(plain) and raised.body == plain.body
    assert raised.status_code == plain.status_code == status
    assert finished == []


@pytest.mark.parametrize(("status", "body"), ERRORS[:2])
async def test_http_errors_async(status: int, body: Any) -> None:
    server = FakeGroq(status=status, error_body=body)
    with pytest.raises(groq.APIStatusError) as plain:
        await server.async_client().chat.completions.create(model=MODEL, messages=MESSAGES)
    finished = instrument()
    with pytest.raises(groq.APIStatusError) as raised:
        await server.async_client().chat.completions.create(model=MODEL, messages=MESSAGES, stream=True)
    assert type(raised.value) is type(plain.value) and str(raised.value) == str(plain.value)
    assert finished == []


def test_missing_usage_counts_the_text(finished: list[Impacts | None]) -> None:
    result = FakeGroq(tokens=False).client().chat.completions.create(model=MODEL, messages=MESSAGES)
    assert result.usage is None
    impacts = result.impacts
    assert isinstance(impacts, Impacts) and impacts.inputs is not None
    assert impacts.inputs.tokens_source == "approximation"
    assert impacts.inputs.output_tokens == 8  # "Paris is the capital of France.": 31 characters / 4, rounded up
    assert "tokens-counted" in {w.code for w in impacts.warnings}


async def test_missing_usage_in_a_stream(finished: list[Impacts | None]) -> None:
    stream = (
        await FakeGroq(tokens=False).async_client().chat.completions.create(model=MODEL, messages=MESSAGES, stream=True)
    )
    async for _ in stream:
        pass
    impacts = stream.impacts
    assert isinstance(impacts, Impacts) and impacts.inputs is not None
    assert impacts.inputs.tokens_source == "approximation"
    assert impacts.inputs.output_tokens == 8
    codes = {w.code for w in impacts.warnings}
    assert "tokens-counted" in codes and "stream-partial" not in codes


def test_reasoning_text_is_counted_when_no_usage_comes(finished: list[Impacts | None]) -> None:
    # reasoning_format="parsed": the reasoning arrives in message.reasoning; it is generated text too.
    server = FakeGroq(tokens=False)
    payload = server.client().chat.completions.create(model=REASONING_MODEL, messages=MESSAGES).model_dump()
    payload["choices"][0]["message"]["reasoning"] = "The user asks a geography question."  # 36 characters
    response = groq.types.chat.ChatCompletion.model_validate(payload)
    observation = _groq.CHAT.observe(None, response)  # type: ignore[arg-type]
    assert observation.output_tokens is None
    assert observation.text == ["Paris is the capital of France.", "The user asks a geography question."]


# -- embeddings stay unannotated ----------------------------------------------------------------------------


def test_embeddings_are_not_annotated(server: FakeGroq, finished: list[Impacts | None]) -> None:
    result = server.client().embeddings.create(model="nomic-embed-text-v1_5", input="Paris")
    assert not hasattr(result, "impacts")
    assert finished == []


# -- model names: Groq's own spellings --------------------------------------------------------------------------

GROQ_MODELS = [
    ("llama-3.3-70b-versatile", "llama-3.3-70b-versatile", 70.6, 70.6),
    ("llama-3.1-8b-instant", "llama-3.1-8b-instant", 8.03, 8.03),
    ("meta-llama/llama-4-maverick-17b-128e-instruct", "meta-llama/llama-4-maverick-17b-128e-instruct", 17, 400),
    ("meta-llama/llama-4-scout-17b-16e-instruct", "meta-llama/llama-4-scout-17b-16e-instruct", 17, 109),
    ("deepseek-r1-distill-llama-70b", "deepseek-r1-distill-llama-70b", 70.6, 70.6),
    ("qwen/qwen3-32b", "qwen/qwen3-32b", 32.8, 32.8),
    ("moonshotai/kimi-k2-instruct", "moonshotai/kimi-k2-instruct", 32, 1000),
    ("moonshotai/kimi-k2-instruct-0905", "moonshotai/kimi-k2-instruct", 32, 1000),
    # gpt-oss: the row of OpenAI's published sizes, reached through the "openai/" prefix (not duplicated).
    ("openai/gpt-oss-120b", "gpt-oss-120b", 5.1, 117),
    ("openai/gpt-oss-20b", "gpt-oss-20b", 3.6, 21),
]


@pytest.mark.parametrize(("model", "resolved", "active", "total"), GROQ_MODELS)
def test_groq_model_names_resolve(model: str, resolved: str, active: float, total: float, server: FakeGroq) -> None:
    instrument()
    result = server.client().chat.completions.create(model=model, messages=MESSAGES)
    inputs = result.impacts.inputs
    assert (inputs.model_served, inputs.model_resolved) == (model, resolved)
    assert (inputs.active_params.min, inputs.active_params.max) == (active, active)
    assert (inputs.total_params.min, inputs.total_params.max) == (total, total)


def test_a_name_naming_no_model_is_unestimated(server: FakeGroq, caplog: pytest.LogCaptureFixture) -> None:
    finished = instrument()
    with caplog.at_level(logging.WARNING, logger="genai_footprint"):
        result = server.client().chat.completions.create(model="compound-beta", messages=MESSAGES)
        again = server.client().chat.completions.create(model="compound-beta", messages=MESSAGES)
    assert result.impacts is None and again.impacts is None
    assert finished == [None, None]
    warnings = [r.getMessage() for r in caplog.records if "not in the registry" in r.getMessage()]
    assert len(warnings) == 1 and "'compound-beta'" in warnings[0] and "'groq'" in warnings[0]


def test_zone_override(server: FakeGroq) -> None:
    instrument(zone="FIN")
    result = server.client().chat.completions.create(model=MODEL, messages=MESSAGES)
    assert result.impacts.inputs.zone == "FIN"


# -- patching lifecycle and version gate -------------------------------------------------------------------------


def test_every_target_is_wrapped_and_restored(server: FakeGroq) -> None:
    server.client().chat.completions  # the SDK loads its resources lazily
    originals = checks.methods_of(_groq.TARGETS)
    instrument()
    for target, method in checks.methods_of(_groq.TARGETS).items():
        assert installed(method), target
    from groq.resources.embeddings import Embeddings

    assert not installed(Embeddings.__dict__["create"])
    genai_footprint.shutdown()
    for target, method in checks.methods_of(_groq.TARGETS).items():
        assert method is originals[target], target
    result = server.client().chat.completions.create(model=MODEL, messages=MESSAGES)
    assert not hasattr(result, "impacts")


@pytest.mark.parametrize("version", ["1.6.0", "2.0.0"])
def test_untested_version_patches_nothing_with_one_warning(
    version: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    checks.assert_untested_version_skipped(monkeypatch, caplog, provider="groq", sdk="groq", version=version)
    with pytest.raises(genai_footprint.InstrumentationError):
        genai_footprint.init(providers=["groq"], strict=True)
