"""Anthropic instrumentation, end to end: the real ``anthropic`` SDK over an offline ``httpx2.MockTransport`` server.

Each test runs with ``genai_footprint.init(providers=["anthropic"])`` and checks two things: the caller gets
exactly what the SDK gives without us (compared with the same call made with instrumentation off), and the
``impacts`` attached to it hold the right inputs. Every entry point runs sync and async.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import math
import textwrap
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import anthropic
import pydantic
import pytest
from anthropic.lib.streaming import AsyncMessageStream, BetaAsyncMessageStream, BetaMessageStream, MessageStream
from anthropic.types import Message, ParsedMessage
from anthropic.types.beta import BetaMessage
from anthropic.types.beta.parsed_beta_message import ParsedBetaMessage
from anthropic_fakes import (
    REQUEST_ID,
    REQUESTED,
    SERVED,
    TEXT,
    THINKING,
    TOOL_JSON,
    FakeAnthropic,
    message,
    stream_events,
)

import genai_footprint as gf
from genai_footprint import _setup
from genai_footprint._instrument import _anthropic, _tokens
from genai_footprint._instrument._runtime import Runtime
from genai_footprint._instrument._wrappers import installed

MESSAGES = [{"role": "user", "content": "What is the capital of France?"}]
REQUEST: dict[str, Any] = {"model": REQUESTED, "max_tokens": 1024, "messages": MESSAGES}
TOTALS = ("energy", "gwp", "pe", "adpe", "wcf")
MODES = pytest.mark.parametrize("asynchronous", [False, True], ids=["sync", "async"])
HOW = ("text_stream", "iterate", "get_final_message", "until_done")


class City(pydantic.BaseModel):
    city: str
    country: str


# -- fixtures ---------------------------------------------------------------------------------------------


class Footprint:
    """``init`` / ``shutdown`` for one test; ``off()`` runs a block without instrumentation (the baseline)."""

    def init(self) -> None:
        gf.shutdown()
        gf.init(providers=["anthropic"])

    @property
    def runtime(self) -> Runtime:
        runtime = _setup.current_runtime()
        assert runtime is not None
        return runtime

    def listen(self) -> list[tuple[Any, Any, Any]]:
        seen: list[tuple[Any, Any, Any]] = []
        self.runtime.listeners = (lambda event: seen.append((event, event, event.impacts)),)
        return seen

    @contextmanager
    def off(self) -> Iterator[None]:
        gf.shutdown()
        try:
            yield
        finally:
            self.init()


@pytest.fixture(autouse=True)
def footprint(monkeypatch: pytest.MonkeyPatch) -> Iterator[Footprint]:
    # Counting tokens from text must not start a tiktoken download: the documented approximation is used.
    monkeypatch.setattr(_tokens, "_encoders", {})
    monkeypatch.setattr(_tokens, "_load_in_background", lambda model: None)
    fp = Footprint()
    fp.init()
    yield fp
    runtime = _setup.current_runtime()
    if runtime is not None:
        runtime.listeners = ()
    gf.shutdown()


@pytest.fixture
def server() -> FakeAnthropic:
    return FakeAnthropic()


# -- drivers: one entry point, sync or async ----------------------------------------------------------------


def client(server: FakeAnthropic, asynchronous: bool) -> Any:
    return server.async_client() if asynchronous else server.client()


async def call(server: FakeAnthropic, asynchronous: bool, path: str = "messages.create", **kwargs: Any) -> Any:
    """``client.<path>(**REQUEST, **kwargs)``, awaited when async."""
    method: Any = client(server, asynchronous)
    for name in path.split("."):
        method = getattr(method, name)
    result = method(**{**REQUEST, **kwargs})
    return await result if asynchronous else result


async def drain(stream: Any) -> list[Any]:
    if hasattr(stream, "__aiter__"):
        return [item async for item in stream]
    return list(stream)


@dataclass
class Helped:
    stream: Any  # the MessageStream the caller held
    got: Any  # what the consumption gave (text, event types, the final message, None)
    impacts_after: Any  # stream.impacts read right after the consumption, inside the with block
    final: Any  # get_final_message()


async def use_helper(
    server: FakeAnthropic, asynchronous: bool, how: str, *, beta: bool = False, **kwargs: Any
) -> Helped:
    """``messages.stream()`` (or beta), read one way, inside its ``with`` block."""
    resource = client(server, asynchronous)
    resource = resource.beta.messages if beta else resource.messages
    manager = resource.stream(**{**REQUEST, **kwargs})
    if asynchronous:
        async with manager as stream:
            if how == "text_stream":
                got: Any = "".join([text async for text in stream.text_stream])
            elif how == "iterate":
                got = [event.type async for event in stream]
            elif how == "get_final_message":
                got = await stream.get_final_message()
            else:
                got = await stream.until_done()
            after = stream.__dict__.get("impacts", "missing")
            final = await stream.get_final_message()
        return Helped(stream, got, after, final)
    with manager as stream:
        if how == "text_stream":
            got = "".join(stream.text_stream)
        elif how == "iterate":
            got = [event.type for event in stream]
        elif how == "get_final_message":
            got = stream.get_final_message()
        else:
            got = stream.until_done()
        after = stream.__dict__.get("impacts", "missing")
        final = stream.get_final_message()
    return Helped(stream, got, after, final)


def assert_inputs(
    impacts: Any,
    *,
    output_tokens: float,
    stream: bool,
    requested: str | None = REQUESTED,
    served: str = SERVED,
    resolved: str = SERVED,
) -> None:
    assert impacts is not None
    inputs = impacts.inputs
    assert inputs.provider == "anthropic"
    assert inputs.output_tokens == output_tokens
    assert inputs.tokens_source == "usage"
    assert (inputs.model_requested, inputs.model_served, inputs.model_resolved) == (requested, served, resolved)
    assert inputs.zone == "USA"  # the provider's default: nothing in these responses says otherwise
    assert inputs.stream is stream
    assert inputs.latency_s is not None and inputs.latency_s > 0
    assert (inputs.measured_ttft_s is not None) is stream
    if stream:
        assert 0 < inputs.measured_ttft_s <= inputs.latency_s
    assert not impacts.warnings or {w.code for w in impacts.warnings} <= {"model-arch-not-released"}
    # The numbers are those of estimate() with the same inputs.
    expected = gf.estimate("anthropic", served, output_tokens=output_tokens, latency_s=inputs.latency_s)
    for key in TOTALS:
        assert getattr(impacts, key) == getattr(expected, key), key


def assert_same_object(result: Any, baseline: Any, cls: type, *, request_id: str | None = REQUEST_ID) -> None:
    """The SDK's very object: its type, fields, request id, equality and repr, with impacts beside them."""
    assert type(result) is cls
    if request_id is not None:
        assert result._request_id == baseline._request_id == request_id
    assert result.model_dump() == baseline.model_dump()
    assert "impacts" not in result.model_dump()
    assert "impacts" not in result.model_dump_json()
    assert result == baseline
    assert repr(result) == repr(baseline)
    assert "impacts" not in type(result).model_fields
    assert "impacts" in vars(result) and "impacts" not in vars(cls)  # on the instance, never its class


# -- messages.create ---------------------------------------------------------------------------------------


@MODES
async def test_create(server: FakeAnthropic, footprint: Footprint, asynchronous: bool) -> None:
    with footprint.off():
        baseline = await call(server, asynchronous)
    result = await call(server, asynchronous)

    assert_same_object(result, baseline, Message)
    assert_inputs(result.impacts, output_tokens=12, stream=False)


@MODES
async def test_create_tool_use_and_thinking(server: FakeAnthropic, asynchronous: bool) -> None:
    server.messages.append(message(tool=True, thinking=True, output_tokens=87))
    result = await call(server, asynchronous, thinking={"type": "enabled", "budget_tokens": 1024})

    assert [block.type for block in result.content] == ["thinking", "text", "tool_use"]
    assert_inputs(result.impacts, output_tokens=87, stream=False)


@MODES
async def test_create_stream(server: FakeAnthropic, footprint: Footprint, asynchronous: bool) -> None:
    events = stream_events(start_output_tokens=1, cumulative=(5, 42))
    server.events += [events, events]
    with footprint.off():
        baseline = await drain(await call(server, asynchronous, stream=True))
    stream = await call(server, asynchronous, stream=True)

    assert isinstance(stream, anthropic.AsyncStream if asynchronous else anthropic.Stream)
    assert stream.response.headers["request-id"] == REQUEST_ID
    assert stream.impacts is None  # readable before the end
    events = await drain(stream)
    assert [e.model_dump() for e in events] == [e.model_dump() for e in baseline]
    # The last running total of message_delta, not 1 + 5 + 42 nor the message_start value.
    assert_inputs(stream.impacts, output_tokens=42, stream=True)
    assert server.streams[-1].closed


@MODES
async def test_create_stream_as_context_manager(server: FakeAnthropic, asynchronous: bool) -> None:
    stream = await call(server, asynchronous, stream=True, tools=[_WEATHER_TOOL])
    server_stream = server.streams[-1]
    if asynchronous:
        async with stream as s:
            assert s is stream
            events = [e async for e in s]
    else:
        with stream as s:
            assert s is stream
            events = list(s)
    assert events[0].type == "message_start" and events[-1].type == "message_stop"
    assert_inputs(stream.impacts, output_tokens=42, stream=True)
    assert server_stream.closed


@MODES
async def test_stream_of_tool_use_and_thinking(server: FakeAnthropic, asynchronous: bool) -> None:
    server.events.append(stream_events(tool=True, thinking=True, cumulative=(3, 120, 161)))
    stream = await call(server, asynchronous, stream=True, thinking={"type": "enabled", "budget_tokens": 1024})
    events = await drain(stream)

    deltas = {e.delta.type for e in events if e.type == "content_block_delta"}
    assert deltas == {"thinking_delta", "signature_delta", "text_delta", "input_json_delta"}
    assert_inputs(stream.impacts, output_tokens=161, stream=True)


# -- messages.stream() -------------------------------------------------------------------------------------


@MODES
@pytest.mark.parametrize("how", HOW)
async def test_stream_helper(server: FakeAnthropic, footprint: Footprint, asynchronous: bool, how: str) -> None:
    events = stream_events(start_output_tokens=1, cumulative=(5, 42))
    server.events += [events, events]
    with footprint.off():
        baseline = await use_helper(server, asynchronous, how)
    helped = await use_helper(server, asynchronous, how)

    assert type(helped.stream) is (AsyncMessageStream if asynchronous else MessageStream)
    assert baseline.impacts_after == "missing"
    if how == "get_final_message":  # accumulated from events by the SDK: no request id of its own
        assert_same_object(helped.got, baseline.got, ParsedMessage, request_id=None)
    else:
        assert helped.got == baseline.got
    assert helped.final.model_dump() == baseline.final.model_dump() and helped.final == baseline.final
    # As soon as the consumption returns, the MessageStream and its final Message carry the impacts.
    impacts = helped.impacts_after
    assert_inputs(impacts, output_tokens=42, stream=True)
    assert helped.stream.impacts is impacts
    assert helped.final.impacts is impacts
    assert "impacts" not in helped.final.model_dump()
    assert server.streams[-1].closed


@MODES
async def test_stream_helper_is_one_call(server: FakeAnthropic, footprint: Footprint, asynchronous: bool) -> None:
    seen = footprint.listen()
    helped = await use_helper(server, asynchronous, "text_stream", beta=False)
    await use_helper(server, asynchronous, "until_done", beta=True)

    assert [impacts for _, _, impacts in seen] == [helped.stream.impacts, seen[1][2]]
    assert [event.model_served for event, _, _ in seen] == [SERVED, SERVED]
    assert [call.model_requested for call, _, _ in seen] == [REQUESTED, REQUESTED]


@MODES
async def test_stream_helper_with_output_format(server: FakeAnthropic, asynchronous: bool) -> None:
    server.events.append(stream_events(pieces=('{"city": "Paris", ', '"country": "France"}')))
    helped = await use_helper(server, asynchronous, "get_final_message", output_format=City)

    assert helped.final.parsed_output == City(city="Paris", country="France")
    assert_inputs(helped.final.impacts, output_tokens=42, stream=True)


async def test_stream_helpers_run_concurrently(server: FakeAnthropic) -> None:
    # Three helper streams interleaved on one event loop: each gets its own call and tokens.
    server.events.extend(stream_events(cumulative=(n,)) for n in (7, 70, 700))

    async def one() -> Any:
        async with server.async_client().messages.stream(**REQUEST) as stream:
            return await stream.get_final_message()

    finals = await asyncio.gather(one(), one(), one())
    assert sorted(m.impacts.inputs.output_tokens for m in finals) == [7, 70, 700]
    assert all(m.usage.output_tokens == m.impacts.inputs.output_tokens for m in finals)


@MODES
async def test_stream_helper_built_by_hand_is_still_measured(
    server: FakeAnthropic, footprint: Footprint, asynchronous: bool
) -> None:
    # A manager around any request callable (as tests and wrappers build them): the served model is used.
    heard = footprint.listen()
    c = client(server, asynchronous)
    if asynchronous:
        manager: Any = anthropic.lib.streaming.AsyncMessageStreamManager(
            c.messages.create(**REQUEST, stream=True), output_format=anthropic.NOT_GIVEN
        )
        async with manager as stream:
            await stream.until_done()
    else:
        manager = anthropic.lib.streaming.MessageStreamManager(
            lambda: c.messages.create(**REQUEST, stream=True), output_format=anthropic.NOT_GIVEN
        )
        with manager as stream:
            stream.until_done()
    assert type(stream._raw_stream).__name__.startswith("_Helper")
    # The create() in it measured itself (its requested model known); the MessageStream copies its impacts.
    assert len(heard) == 1 and heard[0][2] is stream.impacts
    assert_inputs(stream.impacts, output_tokens=42, stream=True)


# -- parse, beta, threads ----------------------------------------------------------------------------------


@MODES
async def test_parse(server: FakeAnthropic, footprint: Footprint, asynchronous: bool) -> None:
    server.messages.append(message(text='{"city": "Paris", "country": "France"}'))
    with footprint.off():
        baseline = await call(server, asynchronous, "messages.parse", output_format=City)
    server.messages.append(message(text='{"city": "Paris", "country": "France"}'))
    result = await call(server, asynchronous, "messages.parse", output_format=City)

    assert result.parsed_output == City(city="Paris", country="France")
    assert_same_object(result, baseline, type(baseline))
    assert isinstance(result, ParsedMessage)
    assert_inputs(result.impacts, output_tokens=12, stream=False)


@MODES
async def test_beta_create(server: FakeAnthropic, footprint: Footprint, asynchronous: bool) -> None:
    with footprint.off():
        baseline = await call(server, asynchronous, "beta.messages.create", betas=["context-1m-2025-08-07"])
    result = await call(server, asynchronous, "beta.messages.create", betas=["context-1m-2025-08-07"])

    assert server.last.headers["anthropic-beta"] == "context-1m-2025-08-07"
    assert_same_object(result, baseline, BetaMessage)
    assert_inputs(result.impacts, output_tokens=12, stream=False)


@MODES
async def test_beta_create_stream(server: FakeAnthropic, asynchronous: bool) -> None:
    server.events.append(stream_events(cumulative=(5, 42)))
    stream = await call(server, asynchronous, "beta.messages.create", stream=True)
    await drain(stream)
    assert_inputs(stream.impacts, output_tokens=42, stream=True)


@MODES
@pytest.mark.parametrize("how", HOW)
async def test_beta_stream_helper(server: FakeAnthropic, footprint: Footprint, asynchronous: bool, how: str) -> None:
    events = stream_events(cumulative=(5, 42))
    server.events += [events, events]
    with footprint.off():
        baseline = await use_helper(server, asynchronous, how, beta=True)
    helped = await use_helper(server, asynchronous, how, beta=True)

    assert type(helped.stream) is (BetaAsyncMessageStream if asynchronous else BetaMessageStream)
    if how == "get_final_message":
        assert_same_object(helped.got, baseline.got, type(baseline.got), request_id=None)
    else:
        assert helped.got == baseline.got
    assert_inputs(helped.impacts_after, output_tokens=42, stream=True)
    assert helped.final.impacts is helped.stream.impacts is helped.impacts_after


@MODES
async def test_beta_parse(server: FakeAnthropic, footprint: Footprint, asynchronous: bool) -> None:
    server.messages.append(message(text='{"city": "Paris", "country": "France"}'))
    result = await call(server, asynchronous, "beta.messages.parse", output_format=City)

    assert isinstance(result, ParsedBetaMessage)
    assert result.parsed_output == City(city="Paris", country="France")
    assert_inputs(result.impacts, output_tokens=12, stream=False)


@MODES
async def test_thread_turns(server: FakeAnthropic, footprint: Footprint, asynchronous: bool) -> None:
    seen = footprint.listen()
    thread = client(server, asynchronous).beta.messages.thread(model=REQUESTED, max_tokens=1024)
    turn = {"role": "user", "content": "And of Italy?"}
    if asynchronous:
        parsed = await thread.parse(turn)
        sent = await thread.send(turn)
        async with thread.stream(turn) as stream:
            final = await stream.get_final_message()
    else:
        parsed = thread.parse(turn)
        sent = thread.send(turn)
        with thread.stream(turn) as stream:
            final = stream.get_final_message()

    assert isinstance(parsed, ParsedBetaMessage) and isinstance(sent, BetaMessage)
    assert_inputs(parsed.impacts, output_tokens=12, stream=False)  # parse() rebuilds create()'s reply
    assert_inputs(sent.impacts, output_tokens=12, stream=False)
    assert_inputs(final.impacts, output_tokens=42, stream=True)
    assert len(seen) == 3  # the create() inside each turn passed through


def _weather_tool(asynchronous: bool) -> Any:
    if asynchronous:

        @anthropic.beta_async_tool
        async def get_weather(city: str) -> str:
            """The weather in a city."""
            return f"Sunny in {city}"

        return get_weather

    @anthropic.beta_tool
    def get_weather(city: str) -> str:  # type: ignore[no-redef]
        """The weather in a city."""
        return f"Sunny in {city}"

    return get_weather


_WEATHER_TOOL = {
    "name": "get_weather",
    "description": "The weather in a city.",
    "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
}


@MODES
@pytest.mark.parametrize("stream", [False, True], ids=["replies", "streams"])
async def test_tool_runner(server: FakeAnthropic, footprint: Footprint, asynchronous: bool, stream: bool) -> None:
    # One tool call, then a final answer: two turns, each measured once (threads' parse() / stream()).
    server.messages += [message(tool=True, output_tokens=30), message(output_tokens=12)]
    server.events += [stream_events(tool=True, cumulative=(30,)), stream_events(cumulative=(12,))]
    seen = footprint.listen()
    runner = client(server, asynchronous).beta.messages.tool_runner(
        **REQUEST, tools=[_weather_tool(asynchronous)], stream=stream
    )
    tokens = []
    if asynchronous:
        async for item in runner:
            final = await item.get_final_message() if stream else item
            tokens.append(final.impacts.inputs.output_tokens)
    else:
        for item in runner:
            final = item.get_final_message() if stream else item
            tokens.append(final.impacts.inputs.output_tokens)
    assert tokens == [30, 12]
    assert [impacts.inputs.output_tokens for _, _, impacts in seen] == [30, 12]
    assert all(call.model_requested == REQUESTED and call.stream is stream for call, _, _ in seen)


# -- ending early, failing ---------------------------------------------------------------------------------


def assert_partial(impacts: Any, text: str) -> None:
    assert impacts is not None
    assert impacts.inputs.tokens_source == "approximation"
    assert impacts.inputs.output_tokens == math.ceil(len(text) / _tokens.CHARS_PER_TOKEN)
    assert {"stream-partial", "tokens-counted"} <= {w.code for w in impacts.warnings}


@MODES
async def test_create_stream_closed_early(server: FakeAnthropic, asynchronous: bool) -> None:
    stream = await call(server, asynchronous, stream=True)
    seen = []
    if asynchronous:
        async for event in stream:
            seen.append(event.type)
            if event.type == "content_block_delta":
                break
        await stream.close()
    else:
        for event in stream:
            seen.append(event.type)
            if event.type == "content_block_delta":
                break
        stream.close()
    assert seen == ["message_start", "content_block_start", "content_block_delta"]
    assert server.streams[-1].closed
    assert_partial(stream.impacts, TEXT[0])  # no message_delta yet: the text so far, never message_start's 1


@MODES
async def test_stream_helper_left_early(server: FakeAnthropic, asynchronous: bool) -> None:
    manager = client(server, asynchronous).messages.stream(**REQUEST)
    if asynchronous:
        async with manager as stream:
            async for event in stream:
                if event.type == "text":
                    break
    else:
        with manager as stream:
            for event in stream:
                if event.type == "text":
                    break
    assert server.streams[-1].closed
    assert_partial(stream.impacts, TEXT[0])
    assert stream.current_message_snapshot.impacts is stream.impacts


@MODES
@pytest.mark.parametrize("how", ["text_stream", "get_final_message"])
async def test_stream_helper_without_usage_counts_the_text_it_accumulated(
    server: FakeAnthropic, footprint: Footprint, asynchronous: bool, how: str
) -> None:
    # No message_delta: only message_start's initial usage, which is not the output (the helper itself fails
    # on a message_delta without usage, so that is the one way a helper stream ends without it).
    server.events.append(stream_events(cumulative=(), tool=True, thinking=True))
    with footprint.off():
        baseline = await use_helper(server, asynchronous, how)
    server.events.append(stream_events(cumulative=(), tool=True, thinking=True))
    seen = footprint.listen()
    helped = await use_helper(server, asynchronous, how)

    assert helped.got == baseline.got
    # Thinking, text, and the tool input as the helper parsed it (as for a non-stream reply): the text of every
    # delta, read from the helper's message rather than from each delta.
    tool_input = json.dumps(json.loads("".join(TOOL_JSON)))
    text = "".join(THINKING) + "".join(TEXT) + tool_input
    impacts = helped.stream.impacts
    assert impacts.inputs.tokens_source == "approximation"
    assert impacts.inputs.output_tokens == math.ceil(len(text) / _tokens.CHARS_PER_TOKEN)
    assert "tokens-counted" in {w.code for w in impacts.warnings}
    assert [event_impacts for _, _, event_impacts in seen] == [impacts]


@MODES
async def test_stream_helper_takes_the_last_running_total_of_output_tokens(
    server: FakeAnthropic, footprint: Footprint, asynchronous: bool
) -> None:
    # Every message_delta carries a running total of output tokens: the last one is the output, never a sum; the
    # text of the deltas (thinking, text, tool input) is not counted when usage comes.
    server.events.append(stream_events(tool=True, thinking=True, cumulative=(7, 42)))
    with footprint.off():
        baseline = await use_helper(server, asynchronous, "text_stream")
    server.events.append(stream_events(tool=True, thinking=True, cumulative=(7, 42)))
    seen = footprint.listen()
    helped = await use_helper(server, asynchronous, "text_stream")

    assert helped.got == baseline.got == "".join(TEXT)
    assert_inputs(helped.stream.impacts, output_tokens=42, stream=True)
    assert "tokens-counted" not in {w.code for w in helped.stream.impacts.warnings}
    assert [event_impacts for _, _, event_impacts in seen] == [helped.stream.impacts]


def test_helper_stream_collected_mid_way_counts_the_text_read_so_far(
    server: FakeAnthropic, footprint: Footprint
) -> None:
    import gc

    server.events.append(stream_events(cumulative=()))
    seen = footprint.listen()
    stream = server.client().messages.stream(**REQUEST).__enter__()
    texts = []
    for event in stream:
        if event.type == "text":
            texts.append(event.text)
            if len(texts) == 2:
                break
    read = stream.current_message_snapshot.content[0].text
    assert read == "".join(texts) == "".join(TEXT[:2])
    del stream, event
    gc.collect()  # neither read to its end nor closed: the call ends when the helper stream is collected

    assert len(seen) == 1
    impacts = seen[0][2]
    assert impacts.inputs.output_tokens == math.ceil(len(read) / _tokens.CHARS_PER_TOKEN)
    assert {"stream-partial", "tokens-counted"} <= {w.code for w in impacts.warnings}


async def _outcome(coroutine: Any) -> BaseException:
    with pytest.raises(anthropic.APIError) as caught:
        await coroutine
    return caught.value


def assert_same_error(error: BaseException, baseline: BaseException) -> None:
    """The caller sees the SDK's own exception: same type, message, status, body, raised by the same SDK line."""
    assert type(error) is type(baseline)
    assert str(error) == str(baseline)
    assert getattr(error, "status_code", None) == getattr(baseline, "status_code", None)
    assert getattr(error, "body", None) == getattr(baseline, "body", None)
    assert _raised_at(error) == _raised_at(baseline)
    assert "/anthropic/" in _raised_at(error)[0]


def _raised_at(error: BaseException) -> tuple[str, str]:
    tb = error.__traceback__
    assert tb is not None
    while tb.tb_next is not None:
        tb = tb.tb_next
    return tb.tb_frame.f_code.co_filename, tb.tb_frame.f_code.co_name


@MODES
@pytest.mark.parametrize("entry", ["create", "helper"])
async def test_error_event_mid_stream(
    server: FakeAnthropic, footprint: Footprint, asynchronous: bool, entry: str
) -> None:
    server.error_after = 4  # message_start, content_block_start, ping, one text delta, then event: error

    async def run() -> None:
        if entry == "create":
            await drain(await call(server, asynchronous, stream=True))
        else:
            await use_helper(server, asynchronous, "get_final_message")

    with footprint.off():
        baseline = await _outcome(run())
    seen = footprint.listen()
    error = await _outcome(run())

    assert_same_error(error, baseline)
    assert "overloaded_error" in str(error)
    assert len(seen) == 1
    assert_partial(seen[0][2], TEXT[0])


@MODES
@pytest.mark.parametrize("status", [529, 500])
@pytest.mark.parametrize("entry", ["create", "create_stream", "helper", "parse", "beta_create"])
async def test_http_error(
    server: FakeAnthropic, footprint: Footprint, asynchronous: bool, status: int, entry: str
) -> None:
    server.status = status

    async def run() -> None:
        if entry == "create":
            await call(server, asynchronous)
        elif entry == "create_stream":
            await call(server, asynchronous, stream=True)
        elif entry == "helper":
            await use_helper(server, asynchronous, "text_stream")
        elif entry == "parse":
            await call(server, asynchronous, "messages.parse")
        else:
            await call(server, asynchronous, "beta.messages.create")

    with footprint.off():
        baseline = await _outcome(run())
    seen = footprint.listen()
    error = await _outcome(run())

    assert_same_error(error, baseline)
    assert type(error) is (anthropic.OverloadedError if status == 529 else anthropic.InternalServerError)
    assert seen == []  # nothing was generated


@MODES
async def test_missing_usage(server: FakeAnthropic, asynchronous: bool) -> None:
    server.messages.append(message(with_usage=False))
    result = await call(server, asynchronous)
    server.events.append(stream_events(with_usage=False, tool=True, thinking=True))
    stream = await call(server, asynchronous, stream=True)
    await drain(stream)

    assert result.impacts.inputs.tokens_source == "approximation"
    assert result.impacts.inputs.output_tokens == math.ceil(len("".join(TEXT)) / 4)
    assert "tokens-counted" in {w.code for w in result.impacts.warnings}
    # Streamed text of every kind of block: thinking, text and tool input.
    streamed = "".join(THINKING) + "".join(TEXT) + "".join(TOOL_JSON)
    assert stream.impacts.inputs.output_tokens == math.ceil(len(streamed) / 4)
    assert "stream-partial" not in {w.code for w in stream.impacts.warnings}


@MODES
async def test_stream_without_usage_counts_each_delta_by_its_type(server: FakeAnthropic, asynchronous: bool) -> None:
    # Thinking and text deltas are generated text; a thinking block's signature_delta is not. Every stream counts
    # alike, the first of the process as the later ones.
    counted = []
    for _ in range(2):
        server.events.append(stream_events(with_usage=False, thinking=True))
        stream = await call(server, asynchronous, stream=True)
        events = await drain(stream)
        assert "signature_delta" in {getattr(getattr(e, "delta", None), "type", None) for e in events}
        counted.append(stream.impacts.inputs.output_tokens)

    generated = "".join(THINKING) + "".join(TEXT)
    assert counted == [math.ceil(len(generated) / _tokens.CHARS_PER_TOKEN)] * 2
    assert stream.impacts.inputs.tokens_source == "approximation"


# -- not generations -----------------------------------------------------------------------------------------


@MODES
async def test_count_tokens_and_batches_are_not_annotated(
    server: FakeAnthropic, footprint: Footprint, asynchronous: bool
) -> None:
    seen = footprint.listen()
    c = client(server, asynchronous)
    batch_request = {"custom_id": "q1", "params": REQUEST}
    results = [
        c.messages.count_tokens(model=REQUESTED, messages=MESSAGES),
        c.beta.messages.count_tokens(model=REQUESTED, messages=MESSAGES),
        c.messages.batches.create(requests=[batch_request]),
        c.beta.messages.batches.create(requests=[batch_request]),
    ]
    if asynchronous:
        results = [await r for r in results]
    assert [type(r).__name__ for r in results] == [
        "MessageTokensCount",
        "BetaMessageTokensCount",
        "MessageBatch",
        "BetaMessageBatch",
    ]
    assert results[0].input_tokens == 14 and results[2].processing_status == "in_progress"
    assert not [r for r in results if hasattr(r, "impacts")]
    assert seen == []
    patched = _setup.instrumentor().patched()
    assert not [p for p in patched if "count_tokens" in p or "atches" in p]


# -- raw responses -----------------------------------------------------------------------------------------


@MODES
async def test_with_raw_response(server: FakeAnthropic, asynchronous: bool) -> None:
    c = client(server, asynchronous)
    raw = c.messages.with_raw_response.create(**REQUEST)
    raw = await raw if asynchronous else raw
    assert raw.headers["request-id"] == REQUEST_ID
    parsed = await raw.parse() if asynchronous else raw.parse()
    assert type(parsed) is Message
    assert_inputs(parsed.impacts, output_tokens=12, stream=False)
    again = await raw.parse() if asynchronous else raw.parse()
    assert again is parsed

    raw = c.messages.with_raw_response.create(**REQUEST, stream=True)
    raw = await raw if asynchronous else raw
    stream = await raw.parse() if asynchronous else raw.parse()
    await drain(stream)
    assert_inputs(stream.impacts, output_tokens=42, stream=True)


@MODES
async def test_with_streaming_response(server: FakeAnthropic, asynchronous: bool) -> None:
    c = client(server, asynchronous)
    if asynchronous:
        async with c.messages.with_streaming_response.create(**REQUEST) as response:
            parsed = await response.parse()
        async with c.beta.messages.with_streaming_response.create(**REQUEST, stream=True) as response:
            stream = await response.parse()
            await drain(stream)
    else:
        with c.messages.with_streaming_response.create(**REQUEST) as response:
            parsed = response.parse()
        with c.beta.messages.with_streaming_response.create(**REQUEST, stream=True) as response:
            stream = response.parse()
            await drain(stream)
    assert type(parsed) is Message
    assert_inputs(parsed.impacts, output_tokens=12, stream=False)
    assert_inputs(stream.impacts, output_tokens=42, stream=True)


# -- models and zones --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("requested", "served", "resolved"),
    [
        ("claude-haiku-4-5", "claude-haiku-4-5-20251001", "claude-haiku-4-5-20251001"),
        ("claude-opus-4-5-20251101", "claude-opus-4-5-20251101", "claude-opus-4-5-20251101"),
        ("claude-opus-4-1", "claude-opus-4-1-20250805", "claude-opus-4-1-20250805"),
    ],
)
@MODES
async def test_model_names_resolve(
    server: FakeAnthropic, asynchronous: bool, requested: str, served: str, resolved: str
) -> None:
    server.messages.append(message(model=served))
    server.events.append(stream_events(model=served))
    result = await call(server, asynchronous, model=requested)
    helped = await use_helper(server, asynchronous, "until_done", model=requested)

    names = {"requested": requested, "served": served, "resolved": resolved}
    assert_inputs(result.impacts, output_tokens=12, stream=False, **names)
    assert_inputs(helped.stream.impacts, output_tokens=42, stream=True, **names)


@MODES
@pytest.mark.parametrize(("geo", "zone"), [("us", "USA"), ("global", None), (None, None)])
async def test_inference_geo(
    server: FakeAnthropic,
    footprint: Footprint,
    asynchronous: bool,
    geo: str | None,
    zone: str | None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen = footprint.listen()
    hints: list[str | None] = []
    runtime = footprint.runtime
    finish = runtime.finish

    def spy(call: Any, observation: Any, *args: Any, **kwargs: Any) -> Any:
        hints.append(observation.zone_hint)
        return finish(call, observation, *args, **kwargs)

    monkeypatch.setattr(runtime, "finish", spy)
    server.messages.append(message(inference_geo=geo))
    server.events.append(stream_events(inference_geo=geo))
    await call(server, asynchronous)
    await drain(await call(server, asynchronous, stream=True))

    assert hints == [zone, zone]
    assert [impacts.inputs.zone for _, _, impacts in seen] == ["USA", "USA"]


# -- clouds ------------------------------------------------------------------------------------------------


def test_bedrock_and_vertex_share_the_messages_classes() -> None:
    bedrock = anthropic.AnthropicBedrock(aws_region="us-east-1", aws_access_key="a", aws_secret_key="b")
    vertex = anthropic.AnthropicVertex(region="us-east5", project_id="p", access_token="t")
    for cloud in (bedrock, vertex):
        assert type(cloud.messages) is anthropic.resources.messages.Messages
        assert type(cloud.messages).__dict__["create"] is anthropic.resources.messages.Messages.__dict__["create"]
        # Their beta resources are classes of their own, holding copies of the beta functions: targets too.
        beta = type(cloud.beta.messages)
        assert beta is not anthropic.resources.beta.messages.Messages
        for method in ("create", "parse", "stream"):
            assert installed(beta.__dict__[method]), (beta, method)
    async_bedrock = anthropic.AsyncAnthropicBedrock(aws_region="us-east-1", aws_access_key="a", aws_secret_key="b")
    assert type(async_bedrock.messages) is anthropic.resources.messages.AsyncMessages


@MODES
async def test_vertex_end_to_end(server: FakeAnthropic, asynchronous: bool) -> None:
    model = "claude-haiku-4-5@20251001"
    kwargs: dict[str, Any] = {"region": "us-east5", "project_id": "p", "access_token": "t", "max_retries": 0}
    if asynchronous:
        vertex: Any = anthropic.AsyncAnthropicVertex(**kwargs, http_client=server.async_http_client())
    else:
        vertex = anthropic.AnthropicVertex(**kwargs, http_client=server.http_client())
    server.messages += [message(model=model), message(model=model)]
    request = {**REQUEST, "model": model}
    plain = vertex.messages.create(**request)
    beta = vertex.beta.messages.create(**request)
    if asynchronous:
        plain, beta = await plain, await beta
        async with vertex.beta.messages.stream(**request) as stream:
            final = await stream.get_final_message()
    else:
        with vertex.beta.messages.stream(**request) as stream:
            final = stream.get_final_message()

    assert server.last.path.endswith(f"/models/{model}:streamRawPredict")
    names = {"requested": model, "served": model, "resolved": SERVED}
    assert_inputs(plain.impacts, output_tokens=12, stream=False, **names)
    assert_inputs(beta.impacts, output_tokens=12, stream=False, **names)
    assert_inputs(final.impacts, output_tokens=42, stream=True, requested=model)


# Bedrock and Vertex serve a call in the client's cloud region: its zone is recorded, unless the reply names one.
BEDROCK_ID = "anthropic.claude-haiku-4-5-20251001-v1:0"
PROFILE_ARN = "arn:aws:bedrock:eu-west-3:123456789012:inference-profile/eu." + BEDROCK_ID


def _bedrock(server: FakeAnthropic, asynchronous: bool, region: str, mantle: bool = False) -> Any:
    # A Bedrock API key (bearer token) instead of AWS credentials: no request signing, nothing needs boto3.
    kwargs: dict[str, Any] = {"aws_region": region, "api_key": "bedrock-key", "max_retries": 0}
    if mantle:
        cls: Any = anthropic.AsyncAnthropicBedrockMantle if asynchronous else anthropic.AnthropicBedrockMantle
    else:
        cls = anthropic.AsyncAnthropicBedrock if asynchronous else anthropic.AnthropicBedrock
    return cls(**kwargs, http_client=server.async_http_client() if asynchronous else server.http_client())


def _vertex(server: FakeAnthropic, asynchronous: bool, region: str) -> Any:
    kwargs: dict[str, Any] = {"region": region, "project_id": "p", "access_token": "t", "max_retries": 0}
    if asynchronous:
        return anthropic.AsyncAnthropicVertex(**kwargs, http_client=server.async_http_client())
    return anthropic.AnthropicVertex(**kwargs, http_client=server.http_client())


async def _create(cloud: Any, asynchronous: bool, model: str, **kwargs: Any) -> Any:
    result = cloud.messages.create(**{**REQUEST, "model": model, **kwargs})
    return await result if asynchronous else result


@MODES
@pytest.mark.parametrize(
    ("region", "model", "zone"),
    [
        ("eu-west-3", BEDROCK_ID, "FRA"),
        ("ap-northeast-1", BEDROCK_ID, "JPN"),
        ("us-west-2", BEDROCK_ID, "USA"),
        # A cross-Region inference profile may run anywhere in its geography: its prefix decides, not the client.
        ("ap-northeast-1", "jp." + BEDROCK_ID, "JPN"),
        ("eu-west-3", "eu." + BEDROCK_ID, "USA"),  # several countries: no hint, the provider's default
        ("eu-west-3", "global." + BEDROCK_ID, "USA"),
        ("eu-west-3", PROFILE_ARN, "USA"),
        ("mars-north-1", BEDROCK_ID, "USA"),  # unknown to the registry: the default, and the call goes through
    ],
)
async def test_bedrock_zone_from_the_client_region(
    server: FakeAnthropic, asynchronous: bool, region: str, model: str, zone: str
) -> None:
    result = await _create(_bedrock(server, asynchronous, region), asynchronous, model)
    assert server.last.path.endswith("/invoke")  # the Bedrock route: the SDK's own request
    assert result.impacts.inputs.zone == zone
    assert result.impacts.inputs.model_requested == model
    assert result.impacts.inputs.model_resolved == SERVED


@MODES
async def test_bedrock_mantle_zone(server: FakeAnthropic, asynchronous: bool) -> None:
    result = await _create(_bedrock(server, asynchronous, "eu-central-1", mantle=True), asynchronous, BEDROCK_ID)
    assert result.impacts.inputs.zone == "DEU"


@MODES
@pytest.mark.parametrize(
    ("region", "zone"),
    [
        ("europe-west1", "BEL"),
        ("asia-northeast1", "JPN"),
        ("us", "USA"),  # the US multi-region endpoint
        ("eu", "USA"),  # several countries: no hint
        ("global", "USA"),
        ("moon-central1", "USA"),  # unknown: the provider's default
    ],
)
async def test_vertex_zone_from_the_client_region(
    server: FakeAnthropic, asynchronous: bool, region: str, zone: str
) -> None:
    vertex = _vertex(server, asynchronous, region)
    model = "claude-haiku-4-5@20251001"
    plain = await _create(vertex, asynchronous, model)
    streamed = await _create(vertex, asynchronous, model, stream=True)
    await drain(streamed)
    if asynchronous:
        async with vertex.messages.stream(**{**REQUEST, "model": model}) as helper:
            final = await helper.get_final_message()
    else:
        with vertex.messages.stream(**{**REQUEST, "model": model}) as helper:
            final = helper.get_final_message()
    assert server.last.path.endswith(":streamRawPredict")
    assert [r.impacts.inputs.zone for r in (plain, streamed, helper, final)] == [zone] * 4


async def test_vertex_zone_follows_the_client(server: FakeAnthropic) -> None:
    vertex = _vertex(server, False, "europe-west1")
    moved = vertex.with_options(region="europe-west9")
    model = "claude-haiku-4-5@20251001"
    results = [await _create(client, False, model) for client in (vertex, moved, vertex)]
    assert [r.impacts.inputs.zone for r in results] == ["BEL", "FRA", "BEL"]


async def test_the_reply_geo_wins_over_the_client_region(server: FakeAnthropic) -> None:
    server.messages.append(message(inference_geo="us"))
    result = await _create(_bedrock(server, False, "eu-west-3"), False, BEDROCK_ID)
    assert result.impacts.inputs.zone == "USA"


async def test_init_zone_wins_over_the_client_region(server: FakeAnthropic) -> None:
    gf.shutdown()
    gf.init(providers=["anthropic"], zone="SWE")
    bedrock = await _create(_bedrock(server, False, "eu-west-3"), False, BEDROCK_ID)
    vertex = await _create(_vertex(server, False, "europe-west1"), False, "claude-haiku-4-5@20251001")
    assert [bedrock.impacts.inputs.zone, vertex.impacts.inputs.zone] == ["SWE", "SWE"]


def test_a_failing_region_read_loses_only_the_hint(server: FakeAnthropic) -> None:
    class Broken(anthropic.AnthropicBedrock):
        broken = False

        @property
        def aws_region(self) -> str:
            if self.broken:
                raise RuntimeError("boom")
            return self._region

        @aws_region.setter
        def aws_region(self, value: str) -> None:
            self._region = value

    client = Broken(aws_region="eu-west-3", api_key="k", max_retries=0, http_client=server.http_client())
    client.broken = True
    result = client.messages.create(**{**REQUEST, "model": BEDROCK_ID})
    assert result.impacts.inputs.zone == "USA"
    assert result.impacts.inputs.output_tokens == 12


# -- lifecycle -----------------------------------------------------------------------------------------------


def _owner(target: Any) -> Any:
    return getattr(importlib.import_module(target.module), target.owner)


def test_every_target_exists_and_is_wrapped_once() -> None:
    targets = list(_anthropic.SPEC.targets)
    for target in targets:
        value = _owner(target).__dict__[target.method]
        assert installed(value), target
        assert not installed(value.__wrapped__), (target, "wrapped twice")
    expected = sorted(f"{_owner(t).__module__}.{_owner(t).__qualname__}.{t.method}" for t in _anthropic.SPEC.targets)
    assert _setup.instrumentor().patched() == expected


@MODES
async def test_shutdown_stops_annotating(server: FakeAnthropic, asynchronous: bool) -> None:
    gf.shutdown()
    for target in _anthropic.SPEC.targets:  # the stream-helper seams too: shutdown restores every one
        assert not installed(_owner(target).__dict__[target.method]), target
    result = await call(server, asynchronous)
    helped = await use_helper(server, asynchronous, "get_final_message")
    stream = await call(server, asynchronous, stream=True)
    await drain(stream)

    assert not hasattr(result, "impacts")
    assert not hasattr(helped.stream, "impacts") and not hasattr(helped.final, "impacts")
    assert type(helped.stream._raw_stream) is (anthropic.AsyncStream if asynchronous else anthropic.Stream)
    assert not hasattr(stream, "impacts")


async def test_init_again_is_idempotent(server: FakeAnthropic) -> None:
    gf.init(providers=["anthropic"])
    gf.init(providers=["anthropic"])
    helped = await use_helper(server, False, "text_stream")
    result = await call(server, False)
    assert_inputs(helped.stream.impacts, output_tokens=42, stream=True)
    assert_inputs(result.impacts, output_tokens=12, stream=False)


# -- never break the caller ----------------------------------------------------------------------------------


def _boom(*args: Any, **kwargs: Any) -> Any:
    raise RuntimeError("injected internal failure")


@MODES
@pytest.mark.parametrize("failure", ["begin", "stream_observer", "on_item", "estimate"])
async def test_stream_helper_survives_internal_failures(
    server: FakeAnthropic, footprint: Footprint, monkeypatch: pytest.MonkeyPatch, asynchronous: bool, failure: str
) -> None:
    with footprint.off():
        baseline = await use_helper(server, asynchronous, "iterate")
    if failure == "begin":
        monkeypatch.setattr(_anthropic.StreamHelperEndpoint, "begin", _boom)
    elif failure == "stream_observer":
        monkeypatch.setattr(_anthropic.MessagesEndpoint, "stream_observer", _boom)
        monkeypatch.setattr(_anthropic.MessagesEndpoint, "helper_observer", _boom)
    elif failure == "on_item":
        monkeypatch.setattr(_anthropic._EventsObserver, "on_item", _boom)
    else:
        import genai_footprint._estimate

        monkeypatch.setattr(genai_footprint._estimate, "compute", _boom)
    helped = await use_helper(server, asynchronous, "iterate")

    assert helped.got == baseline.got
    assert helped.final.model_dump() == baseline.final.model_dump()
    if failure == "on_item":  # no usage seen: the text the helper accumulated is counted (the stream ended)
        impacts = helped.stream.impacts
        assert impacts.inputs.tokens_source == "approximation"
        assert impacts.inputs.output_tokens == math.ceil(len("".join(TEXT)) / _tokens.CHARS_PER_TOKEN)
        assert {w.code for w in impacts.warnings} >= {"tokens-counted"} and "stream-partial" not in {
            w.code for w in impacts.warnings
        }
    else:
        assert helped.stream.impacts is None  # readable, never an AttributeError


async def test_unread_helper_stream_is_finished_once_collected(server: FakeAnthropic, footprint: Footprint) -> None:
    import gc

    seen = footprint.listen()
    manager = server.client().messages.stream(**REQUEST)
    stream = manager.__enter__()  # entered and dropped without reading or closing
    next(iter(stream))
    del manager, stream
    gc.collect()
    assert len(seen) == 1
    assert seen[0][2].inputs.tokens_source == "approximation"


@MODES
async def test_track_counts_helper_streams(server: FakeAnthropic, asynchronous: bool) -> None:
    with gf.track("agent") as run:
        helped = await use_helper(server, asynchronous, "text_stream")
        result = await call(server, asynchronous)
    assert run.calls == 2
    assert run.impacts is not None
    summed = helped.stream.impacts.energy + result.impacts.energy
    # A tracker sums the tokens and generation times of a model's calls, then takes the bounds of the sums: the
    # same total up to floating-point rounding.
    assert math.isclose(run.impacts.energy.min, summed.min, rel_tol=1e-13)
    assert math.isclose(run.impacts.energy.max, summed.max, rel_tol=1e-13)
    assert run.impacts.energy.unit == summed.unit


# -- import orderings (fresh interpreters) -------------------------------------------------------------------

_SCRIPT_PRELUDE = """
import json, sys
import genai_footprint as gf

def use():
    from anthropic_fakes import REQUESTED, FakeAnthropic
    client = FakeAnthropic().client()
    request = {"model": REQUESTED, "max_tokens": 64, "messages": [{"role": "user", "content": "hi"}]}
    with client.messages.stream(**request) as stream:
        final = stream.get_final_message()
    created = client.messages.create(**request)
    return [getattr(o, "impacts", "missing") for o in (stream, final, created)]

def tokens(found):
    return [i if isinstance(i, str) else i.inputs.output_tokens for i in found]
"""

_ORDERINGS = {
    "init_then_import": """
        gf.init(providers=["anthropic"])
        assert "anthropic" not in sys.modules, "init() must not import the SDK"
        first = tokens(use())
        gf.shutdown()
        off = tokens(use())
        gf.init(providers=["anthropic"])
        again = tokens(use())
        # Vertex's beta class copied the first-party functions when anthropic was imported, after init():
        # it holds our wrapper inside its own. Still one call each.
        import anthropic
        from anthropic_fakes import REQUESTED, FakeAnthropic
        from genai_footprint import _setup

        calls = []
        _setup.current_runtime().listeners = (lambda event: calls.append(event.impacts),)
        server = FakeAnthropic()
        vertex = anthropic.AnthropicVertex(
            region="us-east5", project_id="p", access_token="t", http_client=server.http_client(), max_retries=0
        )
        request = {"model": REQUESTED, "max_tokens": 64, "messages": [{"role": "user", "content": "hi"}]}
        vertex.beta.messages.create(**request)
        with vertex.beta.messages.stream(**request) as stream:
            stream.until_done()
        vertex_calls = tokens(calls)
        print(json.dumps({"first": first, "off": off, "again": again, "vertex": vertex_calls}))
    """,
    "import_then_init": """
        import anthropic
        import anthropic.lib.streaming
        gf.init(providers=["anthropic"])
        print(json.dumps({"first": tokens(use())}))
    """,
    "other_provider_only": """
        gf.init(providers=["openai"])
        print(json.dumps({"first": tokens(use())}))
    """,
}


@pytest.fixture(scope="module")
def orderings() -> Iterator[dict[str, Any]]:
    import lifecycle_helpers

    started = {
        name: lifecycle_helpers.run_script(_SCRIPT_PRELUDE + textwrap.dedent(code)) for name, code in _ORDERINGS.items()
    }
    yield {name: lifecycle_helpers.finish(process) for name, process in started.items()}


def test_import_orderings(orderings: dict[str, Any]) -> None:
    measured = [42, 42, 12]
    assert orderings["init_then_import"]["first"] == measured
    assert orderings["init_then_import"]["off"] == ["missing"] * 3
    assert orderings["init_then_import"]["again"] == measured
    assert orderings["init_then_import"]["vertex"] == [12, 42]
    assert orderings["import_then_init"]["first"] == measured
    assert orderings["other_provider_only"]["first"] == ["missing"] * 3
    assert not [r for r in orderings.values() if "Traceback" in r["_stderr"]]
