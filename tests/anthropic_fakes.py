"""An offline Anthropic Messages API for the instrumentation tests.

Payloads are built from the ``anthropic`` SDK's own types and dumped to the wire format (``by_alias``,
``exclude_unset``), shaped like the examples of the public API reference: a stream is ``message_start`` (with
``usage.input_tokens`` and ``output_tokens: 1``), ``content_block_start`` / ``_delta`` / ``_stop`` per block, a
``ping``, ``message_delta`` with *cumulative* usage, ``message_stop``. The server is an ``httpx2.MockTransport``
handler; a stream is served as SSE bytes, one event per transport chunk, through a byte stream that counts what
it served and knows whether it was closed.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import anthropic
import httpx2
from anthropic.types import (
    InputJSONDelta,
    Message,
    MessageDeltaUsage,
    RawContentBlockDeltaEvent,
    RawContentBlockStartEvent,
    RawContentBlockStopEvent,
    RawMessageDeltaEvent,
    RawMessageStartEvent,
    RawMessageStopEvent,
    SignatureDelta,
    TextBlock,
    TextDelta,
    ThinkingBlock,
    ThinkingDelta,
    ToolUseBlock,
    Usage,
)
from anthropic.types.messages import MessageBatch, MessageBatchRequestCounts
from anthropic.types.raw_message_delta_event import Delta

REQUESTED = "claude-haiku-4-5"
SERVED = "claude-haiku-4-5-20251001"
BASE_URL = "https://api.anthropic.com"
REQUEST_ID = "req_011CSHoEeqs5C35K2UUqR7Fy"
MESSAGE_ID = "msg_013Zva2CMHLNnXjNJJKqJ2EF"
TOOL_ID = "toolu_01A09q90qw90lq917835lq9"
TEXT = ("Paris", " is the", " capital", " of France.")
TOOL_JSON = ('{"city": "Pa', 'ris", "unit"', ': "celsius"}')
THINKING = ("The user asks", " about France's capital.")
SIGNATURE = "EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxBdjrkzLoky3dl1pkiMOYds"


def wire(model: Any) -> dict[str, Any]:
    """A model of the SDK as the API sends it."""
    return model.model_dump(mode="json", by_alias=True, exclude_unset=True)


def usage(output_tokens: int, *, input_tokens: int = 25, inference_geo: str | None = None) -> Usage:
    extra = {} if inference_geo is None else {"inference_geo": inference_geo}
    return Usage(
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        cache_creation_input_tokens=0,
        cache_read_input_tokens=0,
        service_tier="standard",
        **extra,
    )


def message(
    *,
    model: str = SERVED,
    text: str = "".join(TEXT),
    output_tokens: int = 12,
    tool: bool = False,
    thinking: bool = False,
    inference_geo: str | None = None,
    with_usage: bool = True,
) -> dict[str, Any]:
    """A complete ``Message``: optionally a thinking block first, then text, then a tool call."""
    content: list[Any] = []
    if thinking:
        content.append(ThinkingBlock(type="thinking", thinking="".join(THINKING), signature=SIGNATURE))
    content.append(TextBlock(type="text", text=text))
    if tool:
        content.append(
            ToolUseBlock(type="tool_use", id=TOOL_ID, name="get_weather", input={"city": "Paris", "unit": "celsius"})
        )
    body = wire(
        Message(
            id=MESSAGE_ID,
            type="message",
            role="assistant",
            model=model,
            content=content,
            stop_reason="tool_use" if tool else "end_turn",
            stop_sequence=None,
            usage=usage(output_tokens, inference_geo=inference_geo),
        )
    )
    if not with_usage:
        del body["usage"]
    return body


Event = tuple[str, dict[str, Any]]


def _event(model: Any) -> Event:
    data = wire(model)
    return data["type"], data


def stream_events(
    *,
    model: str = SERVED,
    pieces: tuple[str, ...] = TEXT,
    cumulative: tuple[int, ...] = (42,),
    start_output_tokens: int = 1,
    tool: bool = False,
    thinking: bool = False,
    inference_geo: str | None = None,
    with_usage: bool = True,
) -> list[Event]:
    """The events of a Messages stream. ``cumulative``: the ``usage.output_tokens`` of each ``message_delta``
    (a running total, as the API sends it); ``with_usage=False`` drops usage from every event."""
    start_message = Message(
        id=MESSAGE_ID,
        type="message",
        role="assistant",
        model=model,
        content=[],
        stop_reason=None,
        stop_sequence=None,
        usage=usage(start_output_tokens, inference_geo=inference_geo),
    )
    events: list[Event] = [_event(RawMessageStartEvent(type="message_start", message=start_message))]
    if not with_usage:
        del events[0][1]["message"]["usage"]
    index = 0
    if thinking:
        events.append(
            _event(
                RawContentBlockStartEvent(
                    type="content_block_start",
                    index=index,
                    content_block=ThinkingBlock(type="thinking", thinking="", signature=""),
                )
            )
        )
        for piece in THINKING:
            events.append(
                _event(
                    RawContentBlockDeltaEvent(
                        type="content_block_delta",
                        index=index,
                        delta=ThinkingDelta(type="thinking_delta", thinking=piece),
                    )
                )
            )
        events.append(
            _event(
                RawContentBlockDeltaEvent(
                    type="content_block_delta",
                    index=index,
                    delta=SignatureDelta(type="signature_delta", signature=SIGNATURE),
                )
            )
        )
        events.append(_event(RawContentBlockStopEvent(type="content_block_stop", index=index)))
        index += 1
    events.append(
        _event(
            RawContentBlockStartEvent(
                type="content_block_start", index=index, content_block=TextBlock(type="text", text="")
            )
        )
    )
    events.append(("ping", {"type": "ping"}))
    for piece in pieces:
        events.append(
            _event(
                RawContentBlockDeltaEvent(
                    type="content_block_delta", index=index, delta=TextDelta(type="text_delta", text=piece)
                )
            )
        )
    events.append(_event(RawContentBlockStopEvent(type="content_block_stop", index=index)))
    if tool:
        index += 1
        events.append(
            _event(
                RawContentBlockStartEvent(
                    type="content_block_start",
                    index=index,
                    content_block=ToolUseBlock(type="tool_use", id=TOOL_ID, name="get_weather", input={}),
                )
            )
        )
        for piece in TOOL_JSON:
            events.append(
                _event(
                    RawContentBlockDeltaEvent(
                        type="content_block_delta",
                        index=index,
                        delta=InputJSONDelta(type="input_json_delta", partial_json=piece),
                    )
                )
            )
        events.append(_event(RawContentBlockStopEvent(type="content_block_stop", index=index)))
    for i, total in enumerate(cumulative):
        last = i == len(cumulative) - 1
        delta = Delta(stop_reason=("tool_use" if tool else "end_turn") if last else None, stop_sequence=None)
        event = _event(
            RawMessageDeltaEvent(
                type="message_delta", delta=delta, usage=MessageDeltaUsage(output_tokens=total, input_tokens=25)
            )
        )
        if not with_usage:
            del event[1]["usage"]
        events.append(event)
    events.append(_event(RawMessageStopEvent(type="message_stop")))
    return events


BATCH: dict[str, Any] = wire(
    MessageBatch(
        id="msgbatch_013Zva2CMHLNnXjNJJKqJ2EF",
        type="message_batch",
        processing_status="in_progress",
        request_counts=MessageBatchRequestCounts(processing=1, succeeded=0, errored=0, canceled=0, expired=0),
        created_at=datetime(2026, 11, 22, 12, 0, tzinfo=UTC),
        expires_at=datetime(2026, 11, 23, 12, 0, tzinfo=UTC),
        results_url=None,
    )
)

OVERLOADED_EVENT: Event = ("error", {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}})


def sse(events: list[Event]) -> list[bytes]:
    return [f"event: {name}\ndata: {json.dumps(data)}\n\n".encode() for name, data in events]


# -- the server -------------------------------------------------------------------------------------------


class SSEStream(httpx2.SyncByteStream):
    """One SSE event per chunk; ``served`` counts the chunks read, ``closed`` says whether the body was closed."""

    def __init__(self, chunks: list[bytes]) -> None:
        self.chunks = chunks
        self.served = 0
        self.closed = False

    def __iter__(self) -> Iterator[bytes]:
        for chunk in self.chunks:
            self.served += 1
            yield chunk

    def close(self) -> None:
        self.closed = True


class AsyncSSEStream(httpx2.AsyncByteStream):
    def __init__(self, chunks: list[bytes]) -> None:
        self.chunks = chunks
        self.served = 0
        self.closed = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for chunk in self.chunks:
            await asyncio.sleep(0)  # let other tasks run between events, as on a network
            self.served += 1
            yield chunk

    async def aclose(self) -> None:
        self.closed = True


@dataclass
class Seen:
    """A request the server received."""

    path: str
    query: str
    headers: dict[str, str]
    body: dict[str, Any]


@dataclass
class FakeAnthropic:
    """``messages`` / ``events``: what the next /v1/messages call answers (non-stream / stream); ``status``: an
    HTTP error to answer instead; ``error_after``: serve an ``event: error`` after that many stream events."""

    messages: list[dict[str, Any]] = field(default_factory=list)
    events: list[list[Event]] = field(default_factory=list)
    status: int | None = None
    error_after: int | None = None
    requests: list[Seen] = field(default_factory=list)
    streams: list[SSEStream | AsyncSSEStream] = field(default_factory=list)

    @property
    def last(self) -> Seen:
        return self.requests[-1]

    def handler(self, request: httpx2.Request) -> httpx2.Response:
        body = json.loads(request.content) if request.content else {}
        self.requests.append(Seen(request.url.path, str(request.url.query, "ascii"), dict(request.headers), body))
        headers = {"request-id": REQUEST_ID, "anthropic-organization-id": "org-test"}
        if self.status is not None:
            error = {"type": "error", "error": {"type": _ERROR_TYPES[self.status], "message": "try again later"}}
            return httpx2.Response(self.status, json=error, headers=headers)
        if request.url.path.endswith("/count_tokens"):
            return httpx2.Response(200, json={"input_tokens": 14}, headers=headers)
        if request.url.path.endswith("/batches"):
            return httpx2.Response(200, json=BATCH, headers=headers)
        if body.get("stream"):
            events = self.events.pop(0) if self.events else stream_events()
            if self.error_after is not None:
                events = [*events[: self.error_after], OVERLOADED_EVENT]
            chunks = sse(events)
            asynchronous = request.extensions.get("genai_footprint_async", False)
            stream: SSEStream | AsyncSSEStream = AsyncSSEStream(chunks) if asynchronous else SSEStream(chunks)
            self.streams.append(stream)
            return httpx2.Response(
                200, stream=stream, headers={**headers, "content-type": "text/event-stream; charset=utf-8"}
            )
        payload = self.messages.pop(0) if self.messages else message()
        return httpx2.Response(200, json=payload, headers=headers)

    # -- clients ----------------------------------------------------------------------------------------

    def http_client(self) -> httpx2.Client:
        return httpx2.Client(transport=httpx2.MockTransport(self.handler))

    def async_http_client(self) -> httpx2.AsyncClient:
        return httpx2.AsyncClient(transport=_AsyncTransport(self.handler))

    def client(self, **kwargs: Any) -> anthropic.Anthropic:
        return anthropic.Anthropic(
            api_key="sk-ant-test", base_url=BASE_URL, http_client=self.http_client(), max_retries=0, **kwargs
        )

    def async_client(self, **kwargs: Any) -> anthropic.AsyncAnthropic:
        return anthropic.AsyncAnthropic(
            api_key="sk-ant-test", base_url=BASE_URL, http_client=self.async_http_client(), max_retries=0, **kwargs
        )


class _AsyncTransport(httpx2.MockTransport):
    """The mock transport for an async client: marks the request so the server answers with an async body."""

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        request.extensions = {**request.extensions, "genai_footprint_async": True}
        return await super().handle_async_request(request)


_ERROR_TYPES = {
    400: "invalid_request_error",
    429: "rate_limit_error",
    500: "api_error",
    529: "overloaded_error",
}
