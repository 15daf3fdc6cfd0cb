"""OpenAI instrumentation, end to end: the real ``openai`` SDK over an offline ``httpx2.MockTransport`` server.

Each test runs with ``genai_footprint.init(providers=["openai"])`` and checks two things: the caller gets
exactly what the SDK gives without us (compared with an uninstrumented call to the same server), and the
``impacts`` attached to it hold the right inputs.
"""

from __future__ import annotations

import asyncio
import gc
import importlib
import inspect
import logging
import math
import threading
import time
import types
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx2
import openai
import pydantic
import pytest
from openai.lib.streaming.chat import (
    AsyncChatCompletionStream,
    AsyncChatCompletionStreamManager,
    ChatCompletionStream,
    ChatCompletionStreamManager,
)
from openai.lib.streaming.responses import AsyncResponseStream, ResponseStream
from openai.types import Completion
from openai.types.chat import ChatCompletion, ChatCompletionChunk, ParsedChatCompletion
from openai.types.responses import ParsedResponse, Response
from openai_fakes import (
    EU_URL,
    LEGACY_MODEL,
    LOCAL_URL,
    REQUESTED,
    RESPONSES_MODEL,
    SERVED,
    FakeOpenAI,
)

import genai_footprint
from genai_footprint._instrument import _helpers, _openai, _runtime, _streams, _tokens, _wrappers
from genai_footprint._instrument._runtime import Runtime
from genai_footprint._instrument._wrappers import installed
from genai_footprint._setup import current_runtime

MESSAGES = [{"role": "user", "content": "What is the capital of France?"}]
REQUEST_ID = "req_8f2d5c1a0b9e4f37"
STREAM_TEXT = "Paris is the capital."  # the server's default stream pieces, joined
TOTALS = ("energy", "gwp", "pe", "adpe", "wcf")


class City(pydantic.BaseModel):
    city: str
    country: str


PARIS = City(city="Paris", country="France")


# -- fixtures ---------------------------------------------------------------------------------------------


class Footprint:
    """``init`` / ``shutdown`` for one test; ``off()`` runs a block without instrumentation (the baseline)."""

    def __init__(self) -> None:
        self.kwargs: dict[str, Any] = {}

    def init(self, **kwargs: Any) -> None:
        genai_footprint.shutdown()
        self.kwargs = kwargs
        genai_footprint.init(providers=["openai"], **kwargs)

    @property
    def runtime(self) -> Runtime:
        runtime = current_runtime()
        assert runtime is not None
        return runtime

    @contextmanager
    def off(self) -> Iterator[None]:
        genai_footprint.shutdown()
        try:
            yield
        finally:
            genai_footprint.init(providers=["openai"], **self.kwargs)


def join_encoding_loaders() -> None:
    """Wait for the background threads that load tiktoken encodings (they write into ``_tokens._encoders``)."""
    for thread in threading.enumerate():
        if thread.name == "genai-footprint-tiktoken":
            thread.join(timeout=10)


@pytest.fixture
def fp(monkeypatch: pytest.MonkeyPatch) -> Iterator[Footprint]:
    # Offline: tiktoken would try to download its encoding; count with the approximation unless a test says.
    join_encoding_loaders()
    monkeypatch.setattr(_tokens, "_loader", lambda model: None)
    monkeypatch.setattr(_tokens, "_encoders", {})
    footprint = Footprint()
    footprint.init()
    yield footprint
    genai_footprint.shutdown()
    join_encoding_loaders()


@pytest.fixture
def server() -> FakeOpenAI:
    return FakeOpenAI()


@pytest.fixture(params=["sync", "async"])
def mode(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def completes(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Every ``Runtime.finish`` call (one per computed impacts), as ``(call, observation, impacts)``."""
    seen: list[Any] = []
    original = Runtime.finish

    def counting(self: Runtime, call: Any, observation: Any, *args: Any, **kwargs: Any) -> Any:
        impacts = original(self, call, observation, *args, **kwargs)
        seen.append((call, observation, impacts))
        return impacts

    monkeypatch.setattr(Runtime, "finish", counting)
    return seen


@pytest.fixture
def fresh_registry(monkeypatch: pytest.MonkeyPatch) -> None:
    """A registry of its own for tests that register models (restored afterwards)."""
    from genai_footprint import _registry

    monkeypatch.setattr(_registry, "_registry", None)


# -- helpers ----------------------------------------------------------------------------------------------


def client_for(server: FakeOpenAI, mode: str, **kwargs: Any) -> Any:
    return server.client(**kwargs) if mode == "sync" else server.async_client(**kwargs)


def azure_for(server: FakeOpenAI, mode: str) -> Any:
    return server.azure_client() if mode == "sync" else server.async_azure_client()


async def resolve(value: Any) -> Any:
    return await value if inspect.isawaitable(value) else value


async def drain(stream: Any) -> list[Any]:
    if isinstance(stream, openai.AsyncStream):
        return [item async for item in stream]
    return list(stream)


async def take(stream: Any, count: int) -> list[Any]:
    """The first ``count`` items, then stop iterating (an early ``break``)."""
    items: list[Any] = []
    if isinstance(stream, openai.AsyncStream):
        async for item in stream:
            items.append(item)
            if len(items) == count:
                break
    else:
        for item in stream:
            items.append(item)
            if len(items) == count:
                break
    return items


async def close(stream: Any) -> None:
    await resolve(stream.close())


def dumps(items: list[Any]) -> list[dict[str, Any]]:
    return [item.model_dump() for item in items]


def codes(impacts: Any) -> set[str]:
    return {w.code for w in impacts.warnings}


def assert_estimate_matches(impacts: Any, model: str, output_tokens: int) -> None:
    """The attached numbers are what the public ``estimate()`` gives for the same recorded inputs."""
    expected = genai_footprint.estimate(
        "openai", model, output_tokens=output_tokens, latency_s=impacts.inputs.latency_s
    )
    for key in TOTALS:
        assert getattr(impacts, key) == getattr(expected, key), key
    assert impacts.usage == expected.usage
    assert impacts.embodied == expected.embodied


def assert_same_object(instrumented: Any, baseline: Any, cls: type) -> None:
    """The very object the SDK returns: same type, fields, dump, ``==``, ``repr`` and request id."""
    assert type(instrumented) is cls
    assert type(baseline) is cls
    assert "impacts" not in instrumented.model_dump()
    assert "impacts" not in instrumented.to_dict()
    assert instrumented.model_dump() == baseline.model_dump()
    assert instrumented.to_json() == baseline.to_json()
    assert instrumented == baseline
    assert repr(instrumented) == repr(baseline)
    assert instrumented._request_id == baseline._request_id == REQUEST_ID
    assert not hasattr(baseline, "impacts")
    assert "impacts" in vars(instrumented) and "impacts" not in vars(cls)  # on the instance, never its class


# -- 1. chat.completions.create ---------------------------------------------------------------------------


async def test_chat_create_returns_the_sdk_object_with_impacts(fp: Footprint, server: FakeOpenAI, mode: str) -> None:
    server.completion_tokens = 1536  # a reasoning model: most completion tokens are hidden reasoning
    server.reasoning_tokens = 1472
    with fp.off():
        baseline = await resolve(client_for(server, mode).chat.completions.create(model=REQUESTED, messages=MESSAGES))

    r = await resolve(client_for(server, mode).chat.completions.create(model=REQUESTED, messages=MESSAGES))

    assert_same_object(r, baseline, ChatCompletion)
    inputs = r.impacts.inputs
    assert inputs.output_tokens == r.usage.completion_tokens == 1536  # reasoning tokens included
    assert inputs.tokens_source == "usage"
    assert (inputs.model_requested, inputs.model_served, inputs.model_resolved) == (REQUESTED, SERVED, SERVED)
    assert inputs.stream is False
    assert inputs.measured_ttft_s is None
    assert inputs.latency_s is not None and inputs.latency_s > 0
    assert inputs.provider == "openai"
    assert r.impacts.energy.max > 0
    assert_estimate_matches(r.impacts, r.model, r.usage.completion_tokens)


async def test_chat_create_with_two_choices_and_a_tool_call(fp: Footprint, server: FakeOpenAI, mode: str) -> None:
    server.texts = ("Let me check the weather.", "It is sunny in Paris.")
    server.tool_call = True
    server.completion_tokens = 57
    with fp.off():
        baseline = await resolve(
            client_for(server, mode).chat.completions.create(model=REQUESTED, messages=MESSAGES, n=2)
        )

    r = await resolve(client_for(server, mode).chat.completions.create(model=REQUESTED, messages=MESSAGES, n=2))

    assert_same_object(r, baseline, ChatCompletion)
    assert len(r.choices) == 2 and r.choices[0].message.tool_calls
    assert r.impacts.inputs.output_tokens == 57
    assert_estimate_matches(r.impacts, SERVED, 57)


# -- 2. chat streams --------------------------------------------------------------------------------------


async def test_chat_stream_asks_for_usage_and_hides_the_usage_chunk(
    fp: Footprint, server: FakeOpenAI, mode: str
) -> None:
    server.stream_tokens = 23
    with fp.off():
        baseline = await drain(
            await resolve(
                client_for(server, mode).chat.completions.create(model=REQUESTED, messages=MESSAGES, stream=True)
            )
        )
    assert "stream_options" not in server.last.body

    s = await resolve(client_for(server, mode).chat.completions.create(model=REQUESTED, messages=MESSAGES, stream=True))
    assert isinstance(s, openai.Stream if mode == "sync" else openai.AsyncStream)
    chunks = await drain(s)

    assert server.last.body["stream_options"] == {"include_usage": True}
    assert server.streams[-1].served == len(server.streams[-1].events)  # the usage chunk was sent ...
    assert len(chunks) == len(baseline)  # ... and not delivered
    assert dumps(chunks) == dumps(baseline)
    assert chunks == baseline
    assert all(type(c) is ChatCompletionChunk and c.usage is None for c in chunks)
    inputs = s.impacts.inputs
    assert inputs.output_tokens == 23
    assert inputs.tokens_source == "usage"
    assert inputs.stream is True
    assert inputs.model_served == SERVED
    assert 0 < inputs.measured_ttft_s <= inputs.latency_s
    assert "tokens-counted" not in codes(s.impacts)


async def test_chat_stream_caller_usage_chunk_is_delivered(fp: Footprint, server: FakeOpenAI, mode: str) -> None:
    server.stream_tokens = 31
    options = {"include_usage": True}
    with fp.off():
        baseline = await drain(
            await resolve(
                client_for(server, mode).chat.completions.create(
                    model=REQUESTED, messages=MESSAGES, stream=True, stream_options=options
                )
            )
        )

    s = await resolve(
        client_for(server, mode).chat.completions.create(
            model=REQUESTED, messages=MESSAGES, stream=True, stream_options=options
        )
    )
    chunks = await drain(s)

    assert server.last.body["stream_options"] == {"include_usage": True}
    assert dumps(chunks) == dumps(baseline)
    assert chunks[-1].choices == [] and chunks[-1].usage.completion_tokens == 31
    assert s.impacts.inputs.output_tokens == 31


async def test_chat_stream_usage_on_the_last_chunk_with_choices(fp: Footprint, server: FakeOpenAI, mode: str) -> None:
    # Some OpenAI-compatible servers send no usage-only chunk: the usage rides on the chunk with finish_reason.
    server.stream_tokens = 29
    server.usage_on_finish = True
    client = client_for(server, mode, base_url=LOCAL_URL)
    with fp.off():
        baseline = await drain(
            await resolve(client.chat.completions.create(model=REQUESTED, messages=MESSAGES, stream=True))
        )
    s = await resolve(client.chat.completions.create(model=REQUESTED, messages=MESSAGES, stream=True))
    chunks = await drain(s)

    assert "stream_options" not in server.last.body
    assert dumps(chunks) == dumps(baseline)
    assert chunks[-1].choices and chunks[-1].usage.completion_tokens == 29
    assert s.impacts.inputs.output_tokens == 29
    assert s.impacts.inputs.tokens_source == "usage"
    assert "tokens-counted" not in codes(s.impacts)


@pytest.mark.parametrize(
    ("options", "sent"),
    [
        ({"include_obfuscation": False}, {"include_obfuscation": False, "include_usage": True}),
        ({"include_usage": False}, {"include_usage": False}),  # the caller said no: respected
    ],
)
async def test_chat_stream_keeps_the_callers_stream_options(
    fp: Footprint, server: FakeOpenAI, mode: str, options: dict[str, Any], sent: dict[str, Any]
) -> None:
    s = await resolve(
        client_for(server, mode).chat.completions.create(
            model=REQUESTED, messages=MESSAGES, stream=True, stream_options=dict(options)
        )
    )
    chunks = await drain(s)

    assert server.last.body["stream_options"] == sent
    assert all(c.choices for c in chunks)
    if sent.get("include_usage"):
        assert s.impacts.inputs.tokens_source == "usage"
    else:
        assert s.impacts.inputs.tokens_source == "approximation"
        assert s.impacts.inputs.output_tokens == math.ceil(len(STREAM_TEXT) / 4)


async def test_stream_usage_not_requested_counts_the_text(fp: Footprint, server: FakeOpenAI, mode: str) -> None:
    fp.init(request_stream_usage=False)

    s = await resolve(client_for(server, mode).chat.completions.create(model=REQUESTED, messages=MESSAGES, stream=True))
    chunks = await drain(s)

    assert "stream_options" not in server.last.body
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == STREAM_TEXT
    inputs = s.impacts.inputs
    assert inputs.tokens_source == "approximation"  # tiktoken cannot load its encoding offline
    assert inputs.output_tokens == math.ceil(len(STREAM_TEXT) / 4)
    assert "tokens-counted" in codes(s.impacts)
    assert "stream-partial" not in codes(s.impacts)


async def test_stream_without_usage_counts_tool_call_arguments_of_every_choice(
    fp: Footprint, server: FakeOpenAI, mode: str
) -> None:
    fp.init(request_stream_usage=False)
    server.tool_call = True

    s = await resolve(client_for(server, mode).chat.completions.create(model=REQUESTED, messages=MESSAGES, stream=True))
    await drain(s)
    assert s.impacts.inputs.output_tokens == math.ceil(len('{"city": "Paris"}') / 4)

    server.tool_call = False
    s = await resolve(
        client_for(server, mode).chat.completions.create(model=REQUESTED, messages=MESSAGES, stream=True, n=2)
    )
    chunks = await drain(s)
    assert [c.index for c in chunks[1].choices] == [0, 1]
    assert s.impacts.inputs.output_tokens == math.ceil(2 * len(STREAM_TEXT) / 4)


def byte_level_encoding() -> Any:
    """A real ``tiktoken.Encoding`` built locally: one token per UTF-8 byte (no download needed)."""
    tiktoken = pytest.importorskip("tiktoken")
    return tiktoken.Encoding(
        name="test-bytes",
        pat_str=r"\s+|\S+",
        mergeable_ranks={bytes([i]): i for i in range(256)},
        special_tokens={},
    )


async def test_stream_text_counted_with_tiktoken_once_loaded(
    fp: Footprint, server: FakeOpenAI, mode: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import tiktoken

    encoding = byte_level_encoding()
    asked: list[str] = []

    def encoding_for_model(model: str) -> Any:
        asked.append(model)
        return encoding

    monkeypatch.setattr(tiktoken, "encoding_for_model", encoding_for_model)
    monkeypatch.setattr(_tokens, "_loader", _tokens._load_tiktoken)  # the real loader, over the local encoding
    fp.init(request_stream_usage=False)
    client = client_for(server, mode)

    first = await resolve(client.chat.completions.create(model=REQUESTED, messages=MESSAGES, stream=True))
    await drain(first)
    # The first count never waits for the encoding: approximated while it loads in the background.
    assert first.impacts.inputs.tokens_source == "approximation"
    join_encoding_loaders()
    assert asked == [SERVED]

    second = await resolve(client.chat.completions.create(model=REQUESTED, messages=MESSAGES, stream=True))
    await drain(second)
    assert second.impacts.inputs.tokens_source == "tiktoken"
    assert second.impacts.inputs.output_tokens == len(STREAM_TEXT.encode()) == len(encoding.encode(STREAM_TEXT))


async def test_custom_base_url_gets_no_stream_options(fp: Footprint, server: FakeOpenAI, mode: str) -> None:
    client = client_for(server, mode, base_url=LOCAL_URL)

    s = await resolve(client.chat.completions.create(model=REQUESTED, messages=MESSAGES, stream=True))
    await drain(s)

    assert str(server.last.url).startswith(LOCAL_URL)
    assert "stream_options" not in server.last.body
    assert s.impacts.inputs.tokens_source == "approximation"
    assert s.impacts.inputs.model_resolved == SERVED


async def test_stream_context_manager_response_and_close(
    fp: Footprint, server: FakeOpenAI, mode: str, completes: list[Any]
) -> None:
    client = client_for(server, mode)
    if mode == "sync":
        with client.chat.completions.create(model=REQUESTED, messages=MESSAGES, stream=True) as s:
            assert s.response.status_code == 200
            chunks = list(s)
    else:
        async with await client.chat.completions.create(model=REQUESTED, messages=MESSAGES, stream=True) as s:
            assert s.response.status_code == 200
            chunks = [c async for c in s]

    assert isinstance(s.response, httpx2.Response)
    assert s.response.headers["x-request-id"] == REQUEST_ID
    assert s.response.is_closed
    assert server.streams[-1].closed
    assert len(chunks) == 7
    assert s.impacts.inputs.output_tokens == server.stream_tokens
    assert "stream-partial" not in codes(s.impacts)
    await close(s)  # closing again: nothing recomputed
    assert len(completes) == 1


async def test_stream_impacts_set_once_at_the_end(
    fp: Footprint, server: FakeOpenAI, mode: str, completes: list[Any]
) -> None:
    s = await resolve(client_for(server, mode).chat.completions.create(model=REQUESTED, messages=MESSAGES, stream=True))
    assert s.impacts is None
    iterator = s if mode == "sync" else s.__aiter__()
    first = next(iterator) if mode == "sync" else await iterator.__anext__()
    assert first.choices[0].delta.role == "assistant"
    assert s.impacts is None
    assert completes == []

    rest = await drain(s)
    assert len(rest) == 6
    impacts = s.impacts
    assert impacts is not None and impacts is s.__wrapped__.impacts
    assert len(completes) == 1

    await close(s)
    wrapped = s.__wrapped__
    del s
    gc.collect()
    assert wrapped.impacts is impacts
    assert len(completes) == 1


@pytest.mark.parametrize("how", ["close", "with"])
async def test_stream_early_break_gives_partial_impacts(
    fp: Footprint, server: FakeOpenAI, mode: str, completes: list[Any], how: str
) -> None:
    client = client_for(server, mode)
    s = await resolve(client.chat.completions.create(model=REQUESTED, messages=MESSAGES, stream=True))
    if how == "close":
        chunks = await take(s, 3)
        await close(s)
    elif mode == "sync":
        with s:
            chunks = await take(s, 3)
    else:
        async with s:
            chunks = await take(s, 3)

    assert [c.choices[0].delta.content for c in chunks] == ["", "Paris", " is"]
    assert server.streams[-1].closed
    assert server.streams[-1].served < len(server.streams[-1].events)
    impacts = s.impacts
    assert {"stream-partial", "tokens-counted"} <= codes(impacts)
    assert impacts.inputs.output_tokens == math.ceil(len("Paris is") / 4)
    assert len(completes) == 1
    await close(s)
    assert len(completes) == 1


async def test_async_stream_aclose_after_early_break(fp: Footprint, server: FakeOpenAI, completes: list[Any]) -> None:
    s = await server.async_client().chat.completions.create(model=REQUESTED, messages=MESSAGES, stream=True)
    await take(s, 2)
    await s.aclose()

    assert server.streams[-1].closed
    assert "stream-partial" in codes(s.impacts)
    assert len(completes) == 1


async def test_stream_early_break_then_garbage_collected(
    fp: Footprint, server: FakeOpenAI, mode: str, completes: list[Any]
) -> None:
    heard: list[Any] = []
    fp.runtime.listeners = (lambda event: heard.append(event.impacts),)
    s = await resolve(client_for(server, mode).chat.completions.create(model=REQUESTED, messages=MESSAGES, stream=True))
    await take(s, 2)
    wrapped = s.__wrapped__
    assert wrapped.impacts is None and heard == []
    del s
    gc.collect()

    assert wrapped.impacts is not None
    assert heard == [wrapped.impacts]
    assert "stream-partial" in codes(wrapped.impacts)
    assert wrapped.impacts.inputs.output_tokens == math.ceil(len("Paris") / 4)
    assert len(completes) == 1


class Clock:
    """``perf_counter`` as seen by the instrumentation: the real one plus an offset a test moves forward.

    ``Call.start`` reads the real clock (its default factory is bound when ``_spec`` is imported); the offset
    starts at 0, so a call that starts before the test moves the clock is measured from the same origin."""

    def __init__(self) -> None:
        self._real = time.perf_counter
        self.offset = 0.0

    def perf_counter(self) -> float:
        return self._real() + self.offset

    def advance_on(self, index: int, seconds: float) -> Any:
        def on_event(i: int) -> None:
            if i == index:
                self.offset += seconds

        return on_event


# Every module that reads the clock while a call runs: a plain call's end and a raw response's parse()
# (_wrappers), a stream's first item and end (_streams), a helper request's start (_helpers) and the event
# timestamp (_runtime, which also reads the wall clock).
CLOCK_READERS = (_wrappers, _streams, _helpers, _runtime)


@pytest.fixture
def clock(fp: Footprint, monkeypatch: pytest.MonkeyPatch) -> Clock:
    clock = Clock()
    moved = types.SimpleNamespace(perf_counter=clock.perf_counter, time=time.time)
    for module in CLOCK_READERS:
        monkeypatch.setattr(module, "time", moved)
    return clock


async def test_stream_latency_runs_to_the_last_chunk(clock: Clock, server: FakeOpenAI, mode: str) -> None:
    # 100 s pass (on the runtime's clock) between the first content chunk and the last event.
    server.on_event = clock.advance_on(6, 100.0)
    s = await resolve(client_for(server, mode).chat.completions.create(model=REQUESTED, messages=MESSAGES, stream=True))
    await drain(s)

    inputs = s.impacts.inputs
    assert inputs.latency_s >= 100
    assert inputs.measured_ttft_s < 100


# -- 3. chat.completions.parse and the .stream() helper ---------------------------------------------------


async def test_chat_parse_with_a_pydantic_response_format(
    fp: Footprint, server: FakeOpenAI, mode: str, completes: list[Any]
) -> None:
    server.texts = (PARIS.model_dump_json(),)
    server.completion_tokens = 12
    with fp.off():
        baseline = await resolve(
            client_for(server, mode).chat.completions.parse(model=REQUESTED, messages=MESSAGES, response_format=City)
        )

    r = await resolve(
        client_for(server, mode).chat.completions.parse(model=REQUESTED, messages=MESSAGES, response_format=City)
    )

    assert type(r) is type(baseline)
    assert isinstance(r, ParsedChatCompletion)
    assert r.choices[0].message.parsed == PARIS
    # (warnings=False: the SDK's own ParsedChatCompletion warns when dumping ``parsed``, with or without us)
    assert r.model_dump(warnings=False) == baseline.model_dump(warnings=False)
    assert r == baseline
    assert repr(r) == repr(baseline)
    assert r._request_id == REQUEST_ID
    assert server.last.body["response_format"]["type"] == "json_schema"
    assert r.impacts.inputs.output_tokens == 12
    assert r.impacts.inputs.stream is False
    assert len(completes) == 1


async def read_helper(manager: Any, mode: str) -> tuple[list[str], Any]:
    """Enter a ``.stream()`` helper's manager and read every event: (event types, the helper stream)."""
    if mode == "sync":
        with manager as st:
            return [e.type for e in st], st
    async with manager as st:
        return [e.type async for e in st], st


async def test_chat_stream_helper_works_on_top_of_us(
    fp: Footprint, server: FakeOpenAI, mode: str, completes: list[Any]
) -> None:
    server.pieces = ('{"city": ', '"Paris", ', '"country": "France"}')
    server.stream_tokens = 15

    async def run() -> tuple[list[str], Any, Any]:
        client = client_for(server, mode)
        manager = client.chat.completions.stream(model=REQUESTED, messages=MESSAGES, response_format=City)
        events, st = await read_helper(manager, mode)
        return events, await resolve(st.get_final_completion()), st

    with fp.off():
        base_events, base_final, _ = await run()
    events, final, st = await run()

    assert events == base_events
    assert {"chunk", "content.delta", "content.done"} <= set(events)
    assert final.choices[0].message.parsed == PARIS
    assert final.model_dump(warnings=False) == base_final.model_dump(warnings=False)
    assert final.usage is None  # as without us: the usage chunk we asked for is not shown to the helper
    assert server.last.body["stream_options"] == {"include_usage": True}
    impacts = st._raw_stream.impacts
    assert impacts.inputs.output_tokens == 15
    assert impacts.inputs.tokens_source == "usage"
    assert len(completes) == 1


# -- 4. Responses API -------------------------------------------------------------------------------------


async def test_responses_create(fp: Footprint, server: FakeOpenAI, mode: str) -> None:
    server.response_tokens = 321
    with fp.off():
        baseline = await resolve(client_for(server, mode).responses.create(model="gpt-4.1-nano", input="Where?"))

    r = await resolve(client_for(server, mode).responses.create(model="gpt-4.1-nano", input="Where?"))

    assert_same_object(r, baseline, Response)
    assert r.output_text == baseline.output_text
    inputs = r.impacts.inputs
    assert inputs.output_tokens == r.usage.output_tokens == 321
    assert (inputs.model_requested, inputs.model_served) == ("gpt-4.1-nano", RESPONSES_MODEL)
    assert inputs.stream is False
    assert_estimate_matches(r.impacts, RESPONSES_MODEL, 321)


async def test_responses_create_stream(fp: Footprint, server: FakeOpenAI, mode: str, completes: list[Any]) -> None:
    server.response_tokens = 44
    with fp.off():
        baseline = await drain(
            await resolve(client_for(server, mode).responses.create(model="gpt-4.1-nano", input="Where?", stream=True))
        )

    s = await resolve(client_for(server, mode).responses.create(model="gpt-4.1-nano", input="Where?", stream=True))
    assert isinstance(s, openai.Stream if mode == "sync" else openai.AsyncStream)
    assert s.impacts is None
    events = await drain(s)

    assert dumps(events) == dumps(baseline)
    assert events[-1].type == "response.completed"
    inputs = s.impacts.inputs
    assert inputs.output_tokens == 44  # from response.completed, not counted from the text
    assert inputs.tokens_source == "usage"
    assert inputs.model_served == RESPONSES_MODEL
    assert inputs.stream is True and inputs.measured_ttft_s is not None
    assert "stream_options" not in server.last.body
    assert len(completes) == 1


async def test_responses_stream_incomplete_takes_usage_from_the_terminal_event(
    fp: Footprint, server: FakeOpenAI, mode: str
) -> None:
    server.response_incomplete = True  # cut at max_output_tokens: the usage is on response.incomplete
    server.response_tokens = 16
    s = await resolve(
        client_for(server, mode).responses.create(
            model="gpt-4.1-nano", input="Where?", stream=True, max_output_tokens=16
        )
    )
    events = await drain(s)

    assert events[-1].type == "response.incomplete"
    assert events[-1].response.incomplete_details.reason == "max_output_tokens"
    assert s.impacts.inputs.output_tokens == 16
    assert s.impacts.inputs.tokens_source == "usage"
    assert "stream-partial" not in codes(s.impacts)


async def test_responses_stream_early_break_counts_the_text(
    fp: Footprint, server: FakeOpenAI, mode: str, completes: list[Any]
) -> None:
    s = await resolve(client_for(server, mode).responses.create(model="gpt-4.1-nano", input="Where?", stream=True))
    events = await take(s, 6)  # created, in_progress, item added, part added, two text deltas
    await close(s)

    assert [e.type for e in events][-2:] == ["response.output_text.delta"] * 2
    assert server.streams[-1].closed
    assert {"stream-partial", "tokens-counted"} <= codes(s.impacts)
    assert s.impacts.inputs.output_tokens == math.ceil(len('{"city": "Paris", ') / 4)
    assert s.impacts.inputs.model_served == RESPONSES_MODEL  # from response.created
    assert len(completes) == 1


async def test_responses_parse(fp: Footprint, server: FakeOpenAI, mode: str) -> None:
    server.response_tokens = 17
    r = await resolve(client_for(server, mode).responses.parse(model="gpt-4.1-nano", input="Where?", text_format=City))

    assert isinstance(r, ParsedResponse)
    assert r.output_parsed == PARIS
    assert "impacts" not in r.model_dump()
    assert r._request_id == REQUEST_ID
    assert r.impacts.inputs.output_tokens == 17


async def test_responses_stream_helper(fp: Footprint, server: FakeOpenAI, mode: str, completes: list[Any]) -> None:
    server.response_tokens = 14

    async def run() -> tuple[list[str], Any, Any]:
        manager = client_for(server, mode).responses.stream(model="gpt-4.1-nano", input="Where?", text_format=City)
        events, st = await read_helper(manager, mode)
        return events, await resolve(st.get_final_response()), st

    with fp.off():
        base_events, base_final, _ = await run()
    events, final, st = await run()

    assert events == base_events and events[-1] == "response.completed"
    assert final.output_parsed == PARIS
    assert final.model_dump() == base_final.model_dump()
    assert st._raw_stream.impacts.inputs.output_tokens == 14
    assert len(completes) == 1


@pytest.mark.parametrize("stream", [False, True])
async def test_beta_responses_create(fp: Footprint, server: FakeOpenAI, mode: str, stream: bool) -> None:
    server.response_tokens = 14
    result = await resolve(
        client_for(server, mode).beta.responses.create(model="gpt-4.1-nano", input="Where?", stream=stream)
    )
    if stream:
        events = await drain(result)
        assert events[-1].type == "response.completed"
    else:
        assert "impacts" not in result.model_dump()
    assert "beta=true" in str(server.last.url)
    assert result.impacts.inputs.output_tokens == 14
    assert result.impacts.inputs.model_served == RESPONSES_MODEL


# -- 5. legacy completions --------------------------------------------------------------------------------


async def test_legacy_completions_create(fp: Footprint, server: FakeOpenAI, mode: str) -> None:
    with fp.off():
        baseline = await resolve(client_for(server, mode).completions.create(model=LEGACY_MODEL, prompt="Say this"))
    r = await resolve(client_for(server, mode).completions.create(model=LEGACY_MODEL, prompt="Say this"))

    assert_same_object(r, baseline, Completion)
    assert r.impacts.inputs.output_tokens == r.usage.completion_tokens == 7
    assert r.impacts.inputs.model_resolved == LEGACY_MODEL
    assert_estimate_matches(r.impacts, LEGACY_MODEL, 7)


async def test_legacy_completions_stream(fp: Footprint, server: FakeOpenAI, mode: str) -> None:
    with fp.off():
        baseline = await drain(
            await resolve(client_for(server, mode).completions.create(model=LEGACY_MODEL, prompt="Say", stream=True))
        )
    s = await resolve(client_for(server, mode).completions.create(model=LEGACY_MODEL, prompt="Say", stream=True))
    chunks = await drain(s)

    assert server.last.body["stream_options"] == {"include_usage": True}
    assert dumps(chunks) == dumps(baseline)
    assert all(type(c) is Completion and c.choices for c in chunks)
    assert s.impacts.inputs.output_tokens == 5
    assert s.impacts.inputs.tokens_source == "usage"


async def test_legacy_completions_stream_counts_text_without_usage(
    fp: Footprint, server: FakeOpenAI, mode: str
) -> None:
    fp.init(request_stream_usage=False)
    s = await resolve(client_for(server, mode).completions.create(model=LEGACY_MODEL, prompt="Say", stream=True))
    chunks = await drain(s)

    text = "".join(c.choices[0].text for c in chunks)
    assert text == "\n\nThis is a test"
    assert s.impacts.inputs.output_tokens == math.ceil(len(text) / 4)
    assert s.impacts.inputs.tokens_source == "approximation"


# -- 6. Azure OpenAI and data-residency hosts -------------------------------------------------------------


async def test_azure_stream_delivers_the_empty_first_chunk(fp: Footprint, server: FakeOpenAI, mode: str) -> None:
    server.azure = True
    server.headers["x-ms-region"] = "Sweden Central"
    server.stream_tokens = 19
    with fp.off():
        baseline = await drain(
            await resolve(
                azure_for(server, mode).chat.completions.create(model="prod-chat", messages=MESSAGES, stream=True)
            )
        )

    s = await resolve(
        azure_for(server, mode).chat.completions.create(model="prod-chat", messages=MESSAGES, stream=True)
    )
    chunks = await drain(s)

    assert "/openai/deployments/prod-chat/chat/completions" in str(server.last.url)
    assert server.last.body["stream_options"] == {"include_usage": True}
    assert dumps(chunks) == dumps(baseline)
    assert chunks[0].model == "" and chunks[0].choices == []
    assert chunks[0].model_extra["prompt_filter_results"][0]["prompt_index"] == 0
    inputs = s.impacts.inputs
    assert inputs.model_requested == "prod-chat"  # a deployment name: unknown to the registry
    assert inputs.model_served == SERVED  # taken from the chunks after the first
    assert inputs.model_resolved == SERVED
    assert inputs.output_tokens == 19
    assert inputs.zone == "SWE"


async def test_azure_non_stream_region_and_model(fp: Footprint, server: FakeOpenAI, mode: str) -> None:
    server.model = "gpt-35-turbo"
    server.headers["x-ms-region"] = "Sweden Central"
    r = await resolve(azure_for(server, mode).chat.completions.create(model="gpt-35-turbo", messages=MESSAGES))

    assert type(r) is ChatCompletion and r._request_id == REQUEST_ID
    inputs = r.impacts.inputs
    assert inputs.zone == "SWE"
    assert inputs.model_served == "gpt-35-turbo"
    assert inputs.model_resolved == "gpt-3.5-turbo"
    assert inputs.output_tokens == 9


@pytest.mark.parametrize("path", ["with_raw_response", "with_streaming_response"])
@pytest.mark.parametrize("stream", [False, True])
async def test_azure_region_through_raw_responses(
    fp: Footprint, server: FakeOpenAI, mode: str, path: str, stream: bool
) -> None:
    server.azure = True
    server.headers["x-ms-region"] = "France Central"
    resource = azure_for(server, mode).chat.completions
    kwargs: dict[str, Any] = {"model": "prod-chat", "messages": MESSAGES, "stream": stream}
    if path == "with_raw_response":
        result = (await resolve(resource.with_raw_response.create(**kwargs))).parse()
        if stream:
            await drain(result)
    elif mode == "sync":
        with resource.with_streaming_response.create(**kwargs) as response:
            result = response.parse()
            if stream:
                await drain(result)
    else:
        async with resource.with_streaming_response.create(**kwargs) as response:
            result = await response.parse()
            if stream:
                await drain(result)

    assert result.impacts.inputs.zone == "FRA"
    assert result.impacts.inputs.model_served == SERVED


async def test_data_residency_host_zone(fp: Footprint, server: FakeOpenAI, mode: str) -> None:
    client = client_for(server, mode, base_url=EU_URL)
    r = await resolve(client.chat.completions.create(model=REQUESTED, messages=MESSAGES))
    s = await resolve(client.chat.completions.create(model=REQUESTED, messages=MESSAGES, stream=True))
    await drain(s)

    assert server.last.url.host == "eu.api.openai.com"
    assert server.last.body["stream_options"] == {"include_usage": True}
    assert r.impacts.inputs.zone == "EEE"
    assert s.impacts.inputs.zone == "EEE"
    assert s.impacts.inputs.tokens_source == "usage"


async def test_reassigned_base_url_is_seen_by_the_next_call(fp: Footprint, server: FakeOpenAI, mode: str) -> None:
    # What we know of a client's host is kept per client: assigning a new base URL must invalidate it.
    client = client_for(server, mode, base_url=EU_URL)
    eu = await resolve(client.chat.completions.create(model=REQUESTED, messages=MESSAGES))
    client.base_url = LOCAL_URL
    local = await resolve(client.chat.completions.create(model=REQUESTED, messages=MESSAGES, stream=True))
    await drain(local)

    assert eu.impacts.inputs.zone == "EEE"
    assert server.last.url.host == "127.0.0.1"
    assert "stream_options" not in server.last.body  # a compatible server: no usage asked for on its behalf
    assert local.impacts.inputs.zone != "EEE"


async def test_init_zone_overrides_every_hint(fp: Footprint, server: FakeOpenAI, mode: str) -> None:
    fp.init(zone="fra")
    server.headers["x-ms-region"] = "Sweden Central"
    azure = await resolve(azure_for(server, mode).chat.completions.create(model=REQUESTED, messages=MESSAGES))
    azure_stream = await resolve(
        azure_for(server, mode).chat.completions.create(model=REQUESTED, messages=MESSAGES, stream=True)
    )
    await drain(azure_stream)
    eu = await resolve(
        client_for(server, mode, base_url=EU_URL).chat.completions.create(model=REQUESTED, messages=MESSAGES)
    )

    assert azure.impacts.inputs.zone == "FRA"
    assert azure_stream.impacts.inputs.zone == "FRA"
    assert eu.impacts.inputs.zone == "FRA"


# -- 7. with_raw_response / with_streaming_response -------------------------------------------------------


async def test_with_raw_response(fp: Footprint, server: FakeOpenAI, mode: str, completes: list[Any]) -> None:
    client = client_for(server, mode)
    raw = await resolve(client.chat.completions.with_raw_response.create(model=REQUESTED, messages=MESSAGES))
    assert raw.headers["x-request-id"] == REQUEST_ID
    assert completes == []  # nothing to annotate until parse()

    r = raw.parse()  # sync even on the async client (LegacyAPIResponse)
    assert type(r) is ChatCompletion
    assert r._request_id == REQUEST_ID
    assert r.impacts.inputs.output_tokens == 9
    assert "impacts" not in r.model_dump()
    assert raw.parse() is r
    assert len(completes) == 1


async def test_with_raw_response_stream(fp: Footprint, server: FakeOpenAI, mode: str, completes: list[Any]) -> None:
    client = client_for(server, mode)
    raw = await resolve(
        client.chat.completions.with_raw_response.create(model=REQUESTED, messages=MESSAGES, stream=True)
    )
    s = raw.parse()
    assert isinstance(s, openai.Stream if mode == "sync" else openai.AsyncStream)
    assert raw.parse() is s
    chunks = await drain(s)

    assert all(c.choices for c in chunks)  # the usage chunk we asked for stays hidden
    assert s.impacts.inputs.output_tokens == server.stream_tokens
    assert raw.parse() is s
    assert len(completes) == 1


@pytest.mark.parametrize("stream", [False, True])
async def test_with_streaming_response(
    fp: Footprint, server: FakeOpenAI, mode: str, stream: bool, completes: list[Any]
) -> None:
    client = client_for(server, mode)
    manager = client.chat.completions.with_streaming_response.create(model=REQUESTED, messages=MESSAGES, stream=stream)
    if mode == "sync":
        with manager as response:
            assert response.headers["x-request-id"] == REQUEST_ID
            parsed = response.parse()
            again = response.parse()
            items = list(parsed) if stream else None
    else:
        async with manager as response:
            assert response.headers["x-request-id"] == REQUEST_ID
            parsed = await response.parse()
            again = await response.parse()
            items = [c async for c in parsed] if stream else None

    assert again is parsed
    if stream:
        assert isinstance(parsed, openai.Stream if mode == "sync" else openai.AsyncStream)
        assert items and all(c.choices for c in items)
        assert parsed.impacts.inputs.output_tokens == server.stream_tokens
    else:
        assert type(parsed) is ChatCompletion
        assert parsed._request_id == REQUEST_ID
        assert parsed.impacts.inputs.output_tokens == 9
    assert len(completes) == 1


@pytest.mark.parametrize("path", ["with_raw_response", "with_streaming_response"])
async def test_raw_response_wrappers_made_before_a_reinit_are_instrumented(
    fp: Footprint, server: FakeOpenAI, mode: str, path: str
) -> None:
    # The SDK caches ``with_raw_response`` / ``with_streaming_response`` per resource, holding the bound
    # ``create`` of the moment: after shutdown() and init() again, calls through them must carry impacts.
    client = client_for(server, mode)
    resource = client.chat.completions
    kwargs: dict[str, Any] = {"model": REQUESTED, "messages": MESSAGES}

    async def call() -> Any:
        if path == "with_raw_response":
            return (await resolve(resource.with_raw_response.create(**kwargs))).parse()
        if mode == "sync":
            with resource.with_streaming_response.create(**kwargs) as response:
                return response.parse()
        async with resource.with_streaming_response.create(**kwargs) as response:
            return await response.parse()

    assert (await call()).impacts.inputs.output_tokens == 9
    fp.init()  # shutdown(), then init() again

    assert hasattr(await resolve(resource.create(**kwargs)), "impacts")  # the plain path is instrumented again
    assert hasattr(await call(), "impacts")


@pytest.mark.parametrize("path", ["create", "with_raw_response", "with_streaming_response"])
async def test_latency_includes_reading_the_body(clock: Clock, server: FakeOpenAI, mode: str, path: str) -> None:
    # The JSON body takes 100 s to arrive (on the runtime's clock): the call's latency must include it.
    server.chunked_json = True
    server.on_event = clock.advance_on(0, 100.0)
    client = client_for(server, mode)
    kwargs: dict[str, Any] = {"model": REQUESTED, "messages": MESSAGES}
    if path == "create":
        r = await resolve(client.chat.completions.create(**kwargs))
    elif path == "with_raw_response":
        r = (await resolve(client.chat.completions.with_raw_response.create(**kwargs))).parse()
    elif mode == "sync":
        with client.chat.completions.with_streaming_response.create(**kwargs) as response:
            r = response.parse()
    else:
        async with client.chat.completions.with_streaming_response.create(**kwargs) as response:
            r = await response.parse()

    assert server.streams[-1].served == 1
    assert r.impacts.inputs.latency_s >= 100


# -- 8. errors --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "error"),
    [(400, openai.BadRequestError), (429, openai.RateLimitError), (500, openai.InternalServerError)],
)
@pytest.mark.parametrize("stream", [False, True])
async def test_http_errors_are_the_sdks(
    fp: Footprint, server: FakeOpenAI, mode: str, status: int, error: type, stream: bool, completes: list[Any]
) -> None:
    server.status = status
    server.error_body = {
        "error": {"message": f"error {status}: try again", "type": "requests", "param": None, "code": f"e{status}"}
    }

    async def call() -> BaseException:
        client = client_for(server, mode)
        with pytest.raises(openai.APIStatusError) as info:
            await resolve(client.chat.completions.create(model=REQUESTED, messages=MESSAGES, stream=stream))
        return info.value

    with fp.off():
        baseline = await call()
    exc = await call()

    assert type(exc) is type(baseline) is error
    assert str(exc) == str(baseline)
    assert exc.status_code == status
    assert exc.body == baseline.body
    assert exc.request_id == baseline.request_id == REQUEST_ID
    assert completes == []


async def test_connection_reset_mid_stream(fp: Footprint, server: FakeOpenAI, mode: str, completes: list[Any]) -> None:
    server.fail_after = 2

    async def run() -> tuple[list[Any], BaseException, Any]:
        s = await resolve(
            client_for(server, mode).chat.completions.create(model=REQUESTED, messages=MESSAGES, stream=True)
        )
        received: list[Any] = []
        with pytest.raises(Exception) as info:
            if mode == "sync":
                for chunk in s:
                    received.append(chunk)
            else:
                async for chunk in s:
                    received.append(chunk)
        return received, info.value, s

    with fp.off():
        base_received, base_exc, _ = await run()
    received, exc, s = await run()

    assert type(exc) is type(base_exc) is openai.APIConnectionError
    assert str(exc) == str(base_exc)
    assert dumps(received) == dumps(base_received) and len(received) == 2
    assert "stream-partial" in codes(s.impacts)
    assert len(completes) == 1


# -- 9. non-generation endpoints --------------------------------------------------------------------------


async def test_non_generation_endpoints_are_not_annotated(
    fp: Footprint, server: FakeOpenAI, mode: str, completes: list[Any]
) -> None:
    client = client_for(server, mode)
    embedding = await resolve(client.embeddings.create(model="text-embedding-3-small", input="hello"))
    raw_embedding = (
        await resolve(client.embeddings.with_raw_response.create(model="text-embedding-3-small", input="hello"))
    ).parse()
    models = await resolve(client.models.list())
    if mode == "sync":
        model_ids = [m.id for m in models]
    else:
        model_ids = [m.id async for m in models]

    assert embedding.usage.prompt_tokens == 8
    for obj in (embedding, raw_embedding, models, models.data[0]):
        assert not hasattr(obj, "impacts")
        assert "impacts" not in type(obj).__dict__
    assert model_ids == [SERVED]
    assert completes == []


# -- 10. unknown and registered models --------------------------------------------------------------------


async def test_unknown_model_warns_once_per_name(
    fp: Footprint, server: FakeOpenAI, caplog: pytest.LogCaptureFixture, fresh_registry: None
) -> None:
    caplog.set_level(logging.WARNING, logger="genai_footprint")
    server.model = "my-local-llm"
    sync_client = server.client(base_url=LOCAL_URL)
    async_client = server.async_client(base_url=LOCAL_URL)

    results = [
        sync_client.chat.completions.create(model="my-local-llm", messages=MESSAGES),
        sync_client.chat.completions.create(model="my-local-llm", messages=MESSAGES),
        await async_client.chat.completions.create(model="my-local-llm", messages=MESSAGES),
    ]
    stream = sync_client.chat.completions.create(model="my-local-llm", messages=MESSAGES, stream=True)
    list(stream)
    server.model = "other-llm"
    other = [sync_client.chat.completions.create(model="other-llm", messages=MESSAGES) for _ in range(2)]

    assert all(r.impacts is None for r in (*results, *other))
    assert hasattr(stream, "impacts") and stream.impacts is None

    def warnings_about(name: str) -> list[str]:
        return [
            rec.getMessage()
            for rec in caplog.records
            if rec.levelno == logging.WARNING and repr(name) in rec.getMessage()
        ]

    for name in ("my-local-llm", "other-llm"):
        messages = warnings_about(name)
        assert len(messages) == 1, messages
        assert "register_model" in messages[0]


async def test_registered_local_model_gets_impacts(
    fp: Footprint, server: FakeOpenAI, mode: str, fresh_registry: None
) -> None:
    server.model = "my-local-llm"
    client = client_for(server, mode, base_url=LOCAL_URL)
    before = await resolve(client.chat.completions.create(model="my-local-llm", messages=MESSAGES))
    assert before.impacts is None

    genai_footprint.register_model("openai", "my-local-llm", active_params=8)
    r = await resolve(client.chat.completions.create(model="my-local-llm", messages=MESSAGES))
    s = await resolve(client.chat.completions.create(model="my-local-llm", messages=MESSAGES, stream=True))
    await drain(s)

    assert r.impacts.inputs.model_resolved == "my-local-llm"
    assert r.impacts.inputs.active_params.min == r.impacts.inputs.active_params.max == 8
    assert r.impacts.inputs.output_tokens == 9
    assert "stream_options" not in server.last.body
    assert s.impacts.inputs.model_resolved == "my-local-llm"
    assert s.impacts.inputs.tokens_source == "approximation"


# -- 11. concurrency --------------------------------------------------------------------------------------


async def test_concurrent_async_calls_keep_their_own_tokens(fp: Footprint, server: FakeOpenAI) -> None:
    server.tokens_from_messages = True
    client = server.async_client()

    async def one(n: int) -> tuple[int, Any]:
        messages = [{"role": "user", "content": f"tokens={n}"}]
        return n, await client.chat.completions.create(model=REQUESTED, messages=messages)

    results = await asyncio.gather(*(one(3 + 7 * i) for i in range(200)))

    assert len({n for n, _ in results}) == 200
    for n, r in results:
        assert r.usage.completion_tokens == n
        assert r.impacts.inputs.output_tokens == n


async def test_concurrent_async_streams_keep_their_own_tokens(fp: Footprint, server: FakeOpenAI) -> None:
    server.tokens_from_messages = True
    client = server.async_client()

    async def one(n: int) -> tuple[int, Any, list[Any]]:
        messages = [{"role": "user", "content": f"tokens={n}"}]
        s = await client.chat.completions.create(model=REQUESTED, messages=messages, stream=True)
        return n, s, [c async for c in s]

    results = await asyncio.gather(*(one(5 + 3 * i) for i in range(100)))

    for n, s, chunks in results:
        assert len(chunks) == 7 and all(c.choices for c in chunks)
        assert s.impacts.inputs.output_tokens == n


# -- 12. the .stream() helpers carry the impacts ----------------------------------------------------------

HELPER_ENDS = ["iterate", "until_done", "final", "exit_early", "close_early"]


@dataclass
class Helped:
    stream: Any  # the ChatCompletionStream / ResponseStream the caller held
    before: Any  # stream.impacts right after entering, nothing read yet
    inside: Any  # stream.impacts right after the consumption, still inside the with block
    final: Any  # get_final_...() (None when the stream was left early)
    events: list[str]


def final_of(stream: Any) -> Any:
    """The helper stream's ``get_final_completion`` or ``get_final_response``."""
    return getattr(stream, "get_final_completion", None) or stream.get_final_response


async def use_helper(manager: Any, mode: str, end: str) -> Helped:
    """Enter the manager and read its helper stream one way (``HELPER_ENDS``); leaving early takes two events."""
    events: list[str] = []
    final = None

    async def consume(st: Any) -> None:
        nonlocal final
        if end == "iterate":
            if mode == "sync":
                events.extend(e.type for e in st)
            else:
                events.extend([e.type async for e in st])
        elif end == "until_done":
            await resolve(st.until_done())
        elif end == "final":
            final = await resolve(final_of(st)())
        else:
            iterator = st if mode == "sync" else st.__aiter__()
            for _ in range(2):
                events.append((next(iterator) if mode == "sync" else await iterator.__anext__()).type)
            if end == "close_early":
                await resolve(st.close())

    if mode == "sync":
        with manager as st:
            before = st.impacts
            await consume(st)
            inside = st.impacts
    else:
        async with manager as st:
            before = st.impacts
            await consume(st)
            inside = st.impacts
    if final is None and not end.endswith("_early"):
        final = await resolve(final_of(st)())
    return Helped(st, before, inside, final, events)


def listen(fp: Footprint) -> list[Any]:
    heard: list[Any] = []
    fp.runtime.listeners = (lambda event: heard.append(event.impacts),)
    return heard


def assert_helper_impacts(helped: Helped, end: str, heard: list[Any], output_tokens: int) -> Any:
    """What every helper gives: None before the end, then the raw stream's impacts, estimated once."""
    st = helped.stream
    assert helped.before is None  # readable before the end, as on our stream proxies
    impacts = st.impacts
    assert impacts is not None
    assert impacts is st._raw_stream.impacts  # the very Impacts of the underlying stream
    assert heard == [impacts], "one estimate per helper call"
    assert impacts.inputs.stream is True
    if end == "exit_early":
        assert helped.inside is None  # the stream ends when the with block closes it
    else:
        assert helped.inside is impacts  # known as soon as the reading (or close()) returns
    if end.endswith("_early"):
        assert {"stream-partial", "tokens-counted"} <= codes(impacts)
    else:
        assert impacts.inputs.output_tokens == output_tokens
        assert impacts.inputs.tokens_source == "usage"
        assert helped.final.impacts is impacts
        assert "impacts" not in helped.final.model_dump(warnings=False)
    return impacts


@pytest.mark.parametrize("end", HELPER_ENDS)
async def test_chat_stream_helper_carries_the_impacts(fp: Footprint, server: FakeOpenAI, mode: str, end: str) -> None:
    server.stream_tokens = 23
    heard = listen(fp)
    manager = client_for(server, mode).chat.completions.stream(model=REQUESTED, messages=MESSAGES)
    helped = await use_helper(manager, mode, end)

    assert type(helped.stream) is (ChatCompletionStream if mode == "sync" else AsyncChatCompletionStream)
    impacts = assert_helper_impacts(helped, end, heard, 23)
    assert (impacts.inputs.model_requested, impacts.inputs.model_served) == (REQUESTED, SERVED)
    assert server.last.body["stream_options"] == {"include_usage": True}
    assert server.streams[-1].closed
    if not end.endswith("_early"):
        again = await resolve(helped.stream.get_final_completion())
        assert again is not helped.final  # the SDK builds a new ParsedChatCompletion on each call ...
        assert isinstance(again, ParsedChatCompletion) and again.impacts is impacts  # ... each carries them
        assert again.usage is None  # the usage chunk we asked for stays hidden from the helper


@pytest.mark.parametrize("end", HELPER_ENDS)
async def test_responses_stream_helper_carries_the_impacts(
    fp: Footprint, server: FakeOpenAI, mode: str, end: str
) -> None:
    server.response_tokens = 31
    heard = listen(fp)
    manager = client_for(server, mode).responses.stream(model="gpt-4.1-nano", input="Where?", text_format=City)
    helped = await use_helper(manager, mode, end)

    assert type(helped.stream) is (ResponseStream if mode == "sync" else AsyncResponseStream)
    impacts = assert_helper_impacts(helped, end, heard, 31)
    assert (impacts.inputs.model_requested, impacts.inputs.model_served) == ("gpt-4.1-nano", RESPONSES_MODEL)
    assert server.streams[-1].closed
    if not end.endswith("_early"):
        assert helped.final.output_parsed == PARIS
        assert (await resolve(helped.stream.get_final_response())).impacts is impacts


async def test_stream_helpers_are_one_call_each_in_a_tracker(
    fp: Footprint, server: FakeOpenAI, mode: str, completes: list[Any]
) -> None:
    client = client_for(server, mode)
    with genai_footprint.track("helpers") as run:
        chat = await use_helper(client.chat.completions.stream(model=REQUESTED, messages=MESSAGES), mode, "final")
        responses = await use_helper(client.responses.stream(model="gpt-4.1-nano", input="Where?"), mode, "iterate")

    assert run.calls == 2 and run.unestimated_calls == 0
    assert len(completes) == 2
    assert run.impacts.energy.max == pytest.approx(chat.stream.impacts.energy.max + responses.stream.impacts.energy.max)


async def test_azure_stream_helper_reads_the_serving_region(fp: Footprint, server: FakeOpenAI, mode: str) -> None:
    server.azure = True
    server.headers["x-ms-region"] = "Sweden Central"
    manager = azure_for(server, mode).chat.completions.stream(model="prod-chat", messages=MESSAGES)
    helped = await use_helper(manager, mode, "final")

    inputs = helped.final.impacts.inputs
    assert (inputs.zone, inputs.model_requested, inputs.model_resolved) == ("SWE", "prod-chat", SERVED)
    assert server.last.body["stream_options"] == {"include_usage": True}


async def test_async_helper_latency_starts_when_the_manager_is_entered(clock: Clock, server: FakeOpenAI) -> None:
    # The async helper makes its create() awaitable in stream(); the request is sent on entering the manager.
    manager = server.async_client().chat.completions.stream(model=REQUESTED, messages=MESSAGES)
    clock.offset += 100.0
    helped = await use_helper(manager, "async", "final")

    assert helped.final.impacts.inputs.latency_s < 100


async def test_responses_stream_resumed_by_id_is_not_counted_again(
    fp: Footprint, server: FakeOpenAI, mode: str, completes: list[Any]
) -> None:
    # The response was made (and measured) by an earlier call; resuming its stream is not a new generation.
    manager = client_for(server, mode).responses.stream(response_id="resp_67ccd2bed1ec8190", starting_after=2)
    helped = await use_helper(manager, mode, "final")

    assert server.last.method == "GET" and server.last.path.endswith("/responses/resp_67ccd2bed1ec8190")
    assert helped.final.status == "completed"
    assert helped.before is None and helped.stream.impacts is None and helped.final.impacts is None
    assert completes == []


async def test_stream_helper_built_by_hand_is_measured_once(
    fp: Footprint, server: FakeOpenAI, mode: str, completes: list[Any]
) -> None:
    # A manager around an instrumented create() (the async one is an awaitable made before entering): that
    # create() measures the call, the helper stream copies its impacts.
    client = client_for(server, mode)
    heard = listen(fp)
    kwargs: dict[str, Any] = {"model": REQUESTED, "messages": MESSAGES, "stream": True}
    if mode == "sync":
        manager: Any = ChatCompletionStreamManager(
            lambda: client.chat.completions.create(**kwargs), response_format=openai.omit, input_tools=openai.omit
        )
    else:
        manager = AsyncChatCompletionStreamManager(
            client.chat.completions.create(**kwargs), response_format=openai.omit, input_tools=openai.omit
        )
    helped = await use_helper(manager, mode, "final")

    assert_helper_impacts(helped, "final", heard, server.stream_tokens)
    assert len(completes) == 1
    assert helped.stream.impacts.inputs.model_requested == REQUESTED


async def test_stream_helper_closed_twice_or_collected_is_counted_once(
    fp: Footprint, server: FakeOpenAI, mode: str, completes: list[Any]
) -> None:
    heard = listen(fp)
    client = client_for(server, mode)
    helped = await use_helper(client.chat.completions.stream(model=REQUESTED, messages=MESSAGES), mode, "close_early")
    await resolve(helped.stream.close())
    assert len(heard) == 1

    # Never closed nor read to the end: the call ends when the helper stream is collected.
    manager = client.chat.completions.stream(model=REQUESTED, messages=MESSAGES)
    st = manager.__enter__() if mode == "sync" else await manager.__aenter__()
    raw = st._raw_stream.__wrapped__
    del st, manager
    gc.collect()
    assert raw.impacts is heard[1] and "stream-partial" in codes(raw.impacts)
    assert len(heard) == len(completes) == 2


async def test_shutdown_restores_the_stream_helpers(fp: Footprint, server: FakeOpenAI, mode: str) -> None:
    genai_footprint.shutdown()
    for target in _openai.HELPER_TARGETS:
        owner = getattr(importlib.import_module(target.module), target.owner)
        assert not installed(owner.__dict__[target.method]), target

    manager = client_for(server, mode).chat.completions.stream(model=REQUESTED, messages=MESSAGES)
    if mode == "sync":
        with manager as st:
            final = st.get_final_completion()
    else:
        async with manager as st:
            final = await st.get_final_completion()
    assert not hasattr(st, "impacts") and not hasattr(final, "impacts")
    assert type(st._raw_stream) in (openai.Stream, openai.AsyncStream)
    assert "stream_options" not in server.last.body


# -- shutdown ---------------------------------------------------------------------------------------------


async def test_shutdown_restores_the_sdk(fp: Footprint, server: FakeOpenAI, mode: str) -> None:
    from openai.resources.chat.completions import completions as chat_module

    client = client_for(server, mode)
    assert hasattr(await resolve(client.chat.completions.create(model=REQUESTED, messages=MESSAGES)), "impacts")
    genai_footprint.shutdown()

    r = await resolve(client_for(server, mode).chat.completions.create(model=REQUESTED, messages=MESSAGES))
    s = await resolve(client_for(server, mode).chat.completions.create(model=REQUESTED, messages=MESSAGES, stream=True))
    await drain(s)

    assert not hasattr(r, "impacts")
    assert type(s) in (openai.Stream, openai.AsyncStream)
    assert "stream_options" not in server.last.body
    for method in ("create", "parse"):
        assert not installed(chat_module.Completions.__dict__[method])
        assert not installed(chat_module.AsyncCompletions.__dict__[method])
