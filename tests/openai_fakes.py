"""An offline OpenAI server for the instrumentation tests.

Payloads are built from the ``openai`` SDK's own types and dumped to the wire format (``by_alias``,
``exclude_unset``), so they are what the real API sends for the fields we set. The server is an
``httpx2.MockTransport`` handler; streams are served as SSE bytes, one event per transport chunk, through a
byte stream that knows whether it was closed and can fail mid-way like a reset connection.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx2
import openai
from openai.types import Completion, CompletionChoice, CompletionUsage, CreateEmbeddingResponse, Embedding, Model
from openai.types.chat import ChatCompletion, ChatCompletionChunk, ChatCompletionMessage
from openai.types.chat.chat_completion import Choice
from openai.types.chat.chat_completion_chunk import Choice as ChunkChoice
from openai.types.chat.chat_completion_chunk import ChoiceDelta, ChoiceDeltaToolCall, ChoiceDeltaToolCallFunction
from openai.types.chat.chat_completion_message_function_tool_call import (
    ChatCompletionMessageFunctionToolCall,
    Function,
)
from openai.types.completion_usage import CompletionTokensDetails, PromptTokensDetails
from openai.types.create_embedding_response import Usage as EmbeddingUsage
from openai.types.responses import (
    Response,
    ResponseCompletedEvent,
    ResponseContentPartAddedEvent,
    ResponseContentPartDoneEvent,
    ResponseCreatedEvent,
    ResponseIncompleteEvent,
    ResponseInProgressEvent,
    ResponseOutputItemAddedEvent,
    ResponseOutputItemDoneEvent,
    ResponseOutputMessage,
    ResponseOutputText,
    ResponseTextDeltaEvent,
    ResponseTextDoneEvent,
    ResponseUsage,
)
from openai.types.responses.response import IncompleteDetails
from openai.types.responses.response_usage import InputTokensDetails, OutputTokensDetails

REQUESTED = "gpt-4o-mini"
SERVED = "gpt-4o-mini-2024-07-18"
OPENAI_URL = "https://api.openai.com/v1"
LOCAL_URL = "http://127.0.0.1:8000/v1"
EU_URL = "https://eu.api.openai.com/v1"
AZURE_ENDPOINT = "https://x.openai.azure.com"
AZURE_API_VERSION = "2024-10-21"
CREATED = 1_735_689_600


def wire(model: Any) -> dict[str, Any]:
    """A model of the SDK as the API sends it."""
    return model.model_dump(mode="json", by_alias=True, exclude_unset=True)


# -- chat completions -------------------------------------------------------------------------------------


def chat_usage(completion_tokens: int, prompt_tokens: int = 13, reasoning_tokens: int = 0) -> CompletionUsage:
    return CompletionUsage(
        prompt_tokens=prompt_tokens,
        completion_tokens=completion_tokens,
        total_tokens=prompt_tokens + completion_tokens,
        prompt_tokens_details=PromptTokensDetails(cached_tokens=0, audio_tokens=0),
        completion_tokens_details=CompletionTokensDetails(
            reasoning_tokens=reasoning_tokens,
            audio_tokens=0,
            accepted_prediction_tokens=0,
            rejected_prediction_tokens=0,
        ),
    )


def chat_completion(
    *,
    model: str = SERVED,
    texts: tuple[str, ...] = ("Paris is the capital of France.",),
    completion_tokens: int = 9,
    reasoning_tokens: int = 0,
    tool_call: bool = False,
) -> dict[str, Any]:
    """A ``chat.completion``; one choice per text (n=len(texts)), optionally a tool call on the first."""
    choices = []
    for index, text in enumerate(texts):
        tool_calls = None
        if tool_call and index == 0:
            tool_calls = [
                ChatCompletionMessageFunctionToolCall(
                    id="call_abc123",
                    type="function",
                    function=Function(name="get_weather", arguments='{"city": "Paris"}'),
                )
            ]
        message = ChatCompletionMessage(
            role="assistant",
            content=None if tool_calls else text,
            refusal=None,
            annotations=[],
            tool_calls=tool_calls,
        )
        choices.append(
            Choice(
                index=index,
                message=message,
                logprobs=None,
                finish_reason="tool_calls" if tool_calls else "stop",
            )
        )
    completion = ChatCompletion(
        id="chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT",
        object="chat.completion",
        created=CREATED,
        model=model,
        choices=choices,
        usage=chat_usage(completion_tokens, reasoning_tokens=reasoning_tokens),
        service_tier="default",
        system_fingerprint="fp_44709d6fcb",
    )
    return wire(completion)


def _chunk(model: str, choices: list[ChunkChoice], *, with_usage_field: bool, usage: CompletionUsage | None = None):
    chunk = ChatCompletionChunk(
        id="chatcmpl-123",
        object="chat.completion.chunk",
        created=CREATED,
        model=model,
        system_fingerprint="fp_44709d6fcb",
        choices=choices,
        **({"usage": usage} if with_usage_field else {}),
    )
    return wire(chunk)


AZURE_PROMPT_FILTER_CHUNK: dict[str, Any] = {
    # Azure OpenAI's first chunk: no model, no choices, only the prompt's content-filter results.
    "choices": [],
    "created": 0,
    "id": "",
    "model": "",
    "object": "",
    "prompt_filter_results": [
        {
            "prompt_index": 0,
            "content_filter_results": {
                "hate": {"filtered": False, "severity": "safe"},
                "self_harm": {"filtered": False, "severity": "safe"},
                "sexual": {"filtered": False, "severity": "safe"},
                "violence": {"filtered": False, "severity": "safe"},
            },
        }
    ],
}


def chat_chunks(
    *,
    model: str = SERVED,
    pieces: tuple[str, ...] = ("Paris", " is", " the", " capital", "."),
    n: int = 1,
    completion_tokens: int = 11,
    reasoning_tokens: int = 0,
    include_usage: bool = False,
    azure: bool = False,
    tool_call: bool = False,
    usage_on_finish: bool = False,
) -> list[dict[str, Any]]:
    """The chunks of a chat stream, as the API sends them; with ``include_usage`` every chunk has
    ``usage: null`` and a last chunk with no choices carries the usage. ``usage_on_finish``: as some
    OpenAI-compatible servers do, the usage rides on the last chunk with choices (the one with finish_reason)."""
    out: list[dict[str, Any]] = []
    if azure:
        out.append(AZURE_PROMPT_FILTER_CHUNK)

    def add(choices: list[ChunkChoice]) -> None:
        out.append(_chunk(model, choices, with_usage_field=include_usage))

    add([ChunkChoice(index=i, delta=ChoiceDelta(role="assistant", content="", refusal=None)) for i in range(n)])
    if tool_call:
        add(
            [
                ChunkChoice(
                    index=0,
                    delta=ChoiceDelta(
                        tool_calls=[
                            ChoiceDeltaToolCall(
                                index=0,
                                id="call_abc123",
                                type="function",
                                function=ChoiceDeltaToolCallFunction(name="get_weather", arguments=""),
                            )
                        ]
                    ),
                )
            ]
        )
        for part in ('{"city"', ': "Paris"}'):
            add(
                [
                    ChunkChoice(
                        index=0,
                        delta=ChoiceDelta(
                            tool_calls=[
                                ChoiceDeltaToolCall(index=0, function=ChoiceDeltaToolCallFunction(arguments=part))
                            ]
                        ),
                    )
                ]
            )
    else:
        for piece in pieces:
            add([ChunkChoice(index=i, delta=ChoiceDelta(content=piece)) for i in range(n)])
    finish = "tool_calls" if tool_call else "stop"
    last = [ChunkChoice(index=i, delta=ChoiceDelta(), finish_reason=finish) for i in range(n)]
    if usage_on_finish:
        usage = chat_usage(completion_tokens, reasoning_tokens=reasoning_tokens)
        out.append(_chunk(model, last, with_usage_field=True, usage=usage))
        return out
    add(last)
    if include_usage:
        usage = chat_usage(completion_tokens, reasoning_tokens=reasoning_tokens)
        out.append(_chunk(model, [], with_usage_field=True, usage=usage))
    return out


# -- legacy completions -----------------------------------------------------------------------------------


LEGACY_MODEL = "gpt-3.5-turbo-instruct"


def legacy_completion(*, model: str = LEGACY_MODEL, completion_tokens: int = 7) -> dict[str, Any]:
    completion = Completion(
        id="cmpl-uqkvlQyYK7bGYrRHQ0eXlWi7",
        object="text_completion",
        created=CREATED,
        model=model,
        system_fingerprint="fp_44709d6fcb",
        choices=[CompletionChoice(text="\n\nThis is indeed a test", index=0, logprobs=None, finish_reason="length")],
        usage=CompletionUsage(prompt_tokens=5, completion_tokens=completion_tokens, total_tokens=5 + completion_tokens),
    )
    return wire(completion)


def legacy_chunks(
    *,
    model: str = LEGACY_MODEL,
    pieces: tuple[str, ...] = ("\n\n", "This", " is", " a", " test"),
    completion_tokens: int = 5,
    include_usage: bool = False,
) -> list[dict[str, Any]]:
    out = []
    for i, piece in enumerate(pieces):
        finish = "length" if i == len(pieces) - 1 else None
        chunk = Completion(
            id="cmpl-7iA7iJjj8V2zOkCGvWF2hAkDWBQZe",
            object="text_completion",
            created=CREATED,
            model=model,
            # The API streams ``finish_reason: null`` until the last chunk; the SDK type has no None.
            choices=[CompletionChoice.model_construct(text=piece, index=0, logprobs=None, finish_reason=finish)],
        )
        out.append(wire(chunk))
    if include_usage:
        usage = CompletionUsage(
            prompt_tokens=5, completion_tokens=completion_tokens, total_tokens=5 + completion_tokens
        )
        last = Completion(
            id="cmpl-7iA7iJjj8V2zOkCGvWF2hAkDWBQZe",
            object="text_completion",
            created=CREATED,
            model=model,
            choices=[],
            usage=usage,
        )
        out.append(wire(last))
    return out


# -- Responses API ----------------------------------------------------------------------------------------

RESPONSE_ID = "resp_67ccd2bed1ec8190b14f964abc0542670bb6a6b452d3795b"
MESSAGE_ID = "msg_67ccd2bf17f0819081ff3bb2cf6508e60bb6a6b452d3795b"
RESPONSES_MODEL = "gpt-4.1-nano-2025-04-14"


def _response(
    *, model: str, status: str, text: str | None, output_tokens: int | None, reasoning: int, incomplete: bool = False
) -> Response:
    output = []
    if text is not None:
        output.append(
            ResponseOutputMessage(
                id=MESSAGE_ID,
                type="message",
                status="incomplete" if incomplete else "completed",
                role="assistant",
                content=[ResponseOutputText(type="output_text", text=text, annotations=[], logprobs=[])],
            )
        )
    usage = None
    if output_tokens is not None:
        usage = ResponseUsage(
            input_tokens=36,
            input_tokens_details=InputTokensDetails(cached_tokens=0, cache_write_tokens=0),
            output_tokens=output_tokens,
            output_tokens_details=OutputTokensDetails(reasoning_tokens=reasoning),
            total_tokens=36 + output_tokens,
        )
    return Response(
        id=RESPONSE_ID,
        object="response",
        created_at=1741476542,
        status=status,  # type: ignore[arg-type]
        error=None,
        incomplete_details=IncompleteDetails(reason="max_output_tokens") if incomplete else None,
        instructions=None,
        max_output_tokens=None,
        model=model,
        output=output,
        parallel_tool_calls=True,
        previous_response_id=None,
        reasoning={"effort": None, "summary": None},  # type: ignore[arg-type]
        store=True,
        temperature=1.0,
        text={"format": {"type": "text"}},  # type: ignore[arg-type]
        tool_choice="auto",
        tools=[],
        top_p=1.0,
        truncation="disabled",
        usage=usage,
        user=None,
        metadata={},
    )


def response_payload(
    *,
    model: str = RESPONSES_MODEL,
    text: str = '{"city": "Paris", "country": "France"}',
    output_tokens: int = 18,
    reasoning: int = 0,
) -> dict[str, Any]:
    return wire(_response(model=model, status="completed", text=text, output_tokens=output_tokens, reasoning=reasoning))


def response_events(
    *,
    model: str = RESPONSES_MODEL,
    pieces: tuple[str, ...] = ('{"city": ', '"Paris", ', '"country": ', '"France"}'),
    output_tokens: int = 14,
    reasoning: int = 0,
    incomplete: bool = False,
) -> list[dict[str, Any]]:
    """A Responses stream: created, in_progress, the message item and its deltas, then ``response.completed``
    (or ``response.incomplete``, cut at ``max_output_tokens``) carrying the usage."""
    text = "".join(pieces)
    seq = iter(range(1000))
    in_progress = _response(model=model, status="in_progress", text=None, output_tokens=None, reasoning=0)
    empty_message = ResponseOutputMessage(
        id=MESSAGE_ID, type="message", status="in_progress", role="assistant", content=[]
    )
    done_message = ResponseOutputMessage(
        id=MESSAGE_ID,
        type="message",
        status="incomplete" if incomplete else "completed",
        role="assistant",
        content=[ResponseOutputText(type="output_text", text=text, annotations=[], logprobs=[])],
    )
    events: list[Any] = [
        ResponseCreatedEvent(type="response.created", sequence_number=next(seq), response=in_progress),
        ResponseInProgressEvent(type="response.in_progress", sequence_number=next(seq), response=in_progress),
        ResponseOutputItemAddedEvent(
            type="response.output_item.added", sequence_number=next(seq), output_index=0, item=empty_message
        ),
        ResponseContentPartAddedEvent(
            type="response.content_part.added",
            sequence_number=next(seq),
            item_id=MESSAGE_ID,
            output_index=0,
            content_index=0,
            part=ResponseOutputText(type="output_text", text="", annotations=[], logprobs=[]),
        ),
    ]
    for piece in pieces:
        events.append(
            ResponseTextDeltaEvent(
                type="response.output_text.delta",
                sequence_number=next(seq),
                item_id=MESSAGE_ID,
                output_index=0,
                content_index=0,
                delta=piece,
                logprobs=[],
            )
        )
    events += [
        ResponseTextDoneEvent(
            type="response.output_text.done",
            sequence_number=next(seq),
            item_id=MESSAGE_ID,
            output_index=0,
            content_index=0,
            text=text,
            logprobs=[],
        ),
        ResponseContentPartDoneEvent(
            type="response.content_part.done",
            sequence_number=next(seq),
            item_id=MESSAGE_ID,
            output_index=0,
            content_index=0,
            part=ResponseOutputText(type="output_text", text=text, annotations=[], logprobs=[]),
        ),
        ResponseOutputItemDoneEvent(
            type="response.output_item.done", sequence_number=next(seq), output_index=0, item=done_message
        ),
    ]
    final = _response(
        model=model,
        status="incomplete" if incomplete else "completed",
        text=text,
        output_tokens=output_tokens,
        reasoning=reasoning,
        incomplete=incomplete,
    )
    if incomplete:
        events.append(ResponseIncompleteEvent(type="response.incomplete", sequence_number=next(seq), response=final))
    else:
        events.append(ResponseCompletedEvent(type="response.completed", sequence_number=next(seq), response=final))
    return [wire(e) for e in events]


# -- non-generation endpoints -----------------------------------------------------------------------------


def embedding_payload() -> dict[str, Any]:
    return wire(
        CreateEmbeddingResponse(
            object="list",
            model="text-embedding-3-small",
            data=[Embedding(object="embedding", index=0, embedding=[0.0023064255, -0.009327292, 0.015797347])],
            usage=EmbeddingUsage(prompt_tokens=8, total_tokens=8),
        )
    )


def models_payload() -> dict[str, Any]:
    models = [Model(id=SERVED, object="model", created=CREATED, owned_by="system")]
    return {"object": "list", "data": [wire(m) for m in models]}


# -- transport --------------------------------------------------------------------------------------------


def sse_events(items: list[dict[str, Any]], *, named: bool = False, done: bool = True) -> list[bytes]:
    """One SSE event per item (``event:`` lines for the Responses API), then ``[DONE]`` for chat streams."""
    out = []
    for item in items:
        head = f"event: {item['type']}\n".encode() if named else b""
        out.append(head + b"data: " + json.dumps(item).encode() + b"\n\n")
    if done:
        out.append(b"data: [DONE]\n\n")
    return out


class EventStream(httpx2.SyncByteStream, httpx2.AsyncByteStream):
    """SSE bytes served one event per read, as a network would; records how far it was read and closing.

    ``fail_after``: raise ``httpx2.ReadError`` (a connection reset) once that many events were served.
    ``on_event``: called with the index of each event just before it is served.
    """

    def __init__(
        self,
        events: list[bytes],
        *,
        fail_after: int | None = None,
        on_event: Callable[[int], None] | None = None,
    ) -> None:
        self.events = events
        self.fail_after = fail_after
        self.on_event = on_event
        self.served = 0
        self.closed = False

    def _next(self) -> bytes:
        index = self.served
        if self.fail_after is not None and index >= self.fail_after:
            raise httpx2.ReadError("Connection reset by peer")
        if self.on_event is not None:
            self.on_event(index)
        self.served += 1
        return self.events[index]

    # A network body is read once: iterating again (e.g. the SDK draining it after ``[DONE]``) goes on from
    # where the previous reader stopped.

    def __iter__(self) -> Iterator[bytes]:
        while self.served < len(self.events):
            yield self._next()

    async def __aiter__(self) -> AsyncIterator[bytes]:
        while self.served < len(self.events):
            await asyncio.sleep(0)  # a yield point per event, so concurrent streams interleave
            yield self._next()

    def close(self) -> None:
        self.closed = True

    async def aclose(self) -> None:
        self.closed = True


@dataclass
class Seen:
    """One request the server received."""

    method: str
    url: httpx2.URL
    headers: httpx2.Headers
    body: dict[str, Any] | None

    @property
    def path(self) -> str:
        return self.url.path


@dataclass
class FakeOpenAI:
    """The server. Set attributes to change what it answers; ``requests`` lists what it received.

    Chat streams end with a usage chunk only when the request asks for ``stream_options.include_usage``
    (as the real API does). ``tokens_from_messages``: the completion token count is read from the last
    message of the request (``"tokens=N"``), so concurrent calls each get their own.
    """

    model: str = SERVED
    completion_tokens: int = 9
    reasoning_tokens: int = 0
    stream_tokens: int = 11
    pieces: tuple[str, ...] = ("Paris", " is", " the", " capital", ".")
    texts: tuple[str, ...] = ("Paris is the capital of France.",)
    n: int = 1
    tool_call: bool = False
    azure: bool = False
    headers: dict[str, str] = field(default_factory=lambda: {"x-request-id": "req_8f2d5c1a0b9e4f37"})
    status: int = 200
    error_body: dict[str, Any] | None = None
    fail_after: int | None = None
    on_event: Callable[[int], None] | None = None
    tokens_from_messages: bool = False
    chunked_json: bool = False
    usage_on_finish: bool = False
    legacy_model: str = LEGACY_MODEL
    responses_model: str = RESPONSES_MODEL
    response_text: str = '{"city": "Paris", "country": "France"}'
    response_tokens: int = 18
    response_incomplete: bool = False
    requests: list[Seen] = field(default_factory=list)
    streams: list[EventStream] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    # -- what clients talk to

    def transport(self) -> httpx2.MockTransport:
        return httpx2.MockTransport(self.handle)

    def async_transport(self) -> httpx2.MockTransport:
        return httpx2.MockTransport(self.ahandle)

    def client(self, **kwargs: Any) -> openai.OpenAI:
        kwargs.setdefault("base_url", OPENAI_URL)
        return openai.OpenAI(
            api_key="sk-test", max_retries=0, http_client=httpx2.Client(transport=self.transport()), **kwargs
        )

    def async_client(self, **kwargs: Any) -> openai.AsyncOpenAI:
        kwargs.setdefault("base_url", OPENAI_URL)
        return openai.AsyncOpenAI(
            api_key="sk-test", max_retries=0, http_client=httpx2.AsyncClient(transport=self.async_transport()), **kwargs
        )

    def azure_client(self, **kwargs: Any) -> openai.AzureOpenAI:
        return openai.AzureOpenAI(
            azure_endpoint=AZURE_ENDPOINT,
            api_version=AZURE_API_VERSION,
            api_key="azure-test-key",
            max_retries=0,
            http_client=httpx2.Client(transport=self.transport()),
            **kwargs,
        )

    def async_azure_client(self, **kwargs: Any) -> openai.AsyncAzureOpenAI:
        return openai.AsyncAzureOpenAI(
            azure_endpoint=AZURE_ENDPOINT,
            api_version=AZURE_API_VERSION,
            api_key="azure-test-key",
            max_retries=0,
            http_client=httpx2.AsyncClient(transport=self.async_transport()),
            **kwargs,
        )

    # -- the handler

    @property
    def last(self) -> Seen:
        return self.requests[-1]

    async def ahandle(self, request: httpx2.Request) -> httpx2.Response:
        await asyncio.sleep(0)  # a yield point, so concurrent requests interleave
        return self.handle(request)

    def handle(self, request: httpx2.Request) -> httpx2.Response:
        body = json.loads(request.content) if request.content else None
        with self._lock:
            self.requests.append(Seen(request.method, request.url, request.headers, body))
        if self.status != 200:
            error = self.error_body or {
                "error": {"message": "boom", "type": "invalid_request_error", "param": None, "code": None}
            }
            return httpx2.Response(self.status, json=error, headers=self.headers)
        path = request.url.path
        if request.method == "GET" and "/responses/" in path and request.url.params.get("stream") == "true":
            # The stream of a response made earlier, resumed (retrieve(stream=True), stream(response_id=...)).
            return self._responses({"stream": True})
        if path.endswith("/chat/completions"):
            return self._chat(body or {})
        if path.endswith("/completions"):
            return self._legacy(body or {})
        if path.endswith("/responses"):
            return self._responses(body or {})
        if path.endswith("/embeddings"):
            return httpx2.Response(200, json=embedding_payload(), headers=self.headers)
        if path.endswith("/models"):
            return httpx2.Response(200, json=models_payload(), headers=self.headers)
        return httpx2.Response(404, json={"error": {"message": f"no route {path}", "type": "not_found"}})

    def _tokens(self, body: dict[str, Any], default: int) -> int:
        if not self.tokens_from_messages:
            return default
        content = body["messages"][-1]["content"]
        return int(content.split("tokens=", 1)[1])

    def _json(self, payload: dict[str, Any]) -> httpx2.Response:
        """A JSON body; with ``chunked_json`` served through an ``EventStream`` (read when the client reads it)."""
        if not self.chunked_json:
            return httpx2.Response(200, json=payload, headers=self.headers)
        stream = EventStream([json.dumps(payload).encode()], on_event=self.on_event)
        with self._lock:
            self.streams.append(stream)
        return httpx2.Response(200, stream=stream, headers={"content-type": "application/json", **self.headers})

    def _stream(self, items: list[bytes]) -> httpx2.Response:
        stream = EventStream(items, fail_after=self.fail_after, on_event=self.on_event)
        with self._lock:
            self.streams.append(stream)
        headers = {"content-type": "text/event-stream; charset=utf-8", **self.headers}
        return httpx2.Response(200, stream=stream, headers=headers)

    def _chat(self, body: dict[str, Any]) -> httpx2.Response:
        if body.get("stream"):
            usage = bool((body.get("stream_options") or {}).get("include_usage"))
            chunks = chat_chunks(
                model=self.model,
                pieces=self.pieces,
                n=body.get("n") or self.n,
                completion_tokens=self._tokens(body, self.stream_tokens),
                reasoning_tokens=self.reasoning_tokens,
                include_usage=usage,
                azure=self.azure,
                tool_call=self.tool_call,
                usage_on_finish=self.usage_on_finish,
            )
            return self._stream(sse_events(chunks))
        payload = chat_completion(
            model=self.model,
            texts=self.texts * (body.get("n") or 1) if len(self.texts) == 1 else self.texts,
            completion_tokens=self._tokens(body, self.completion_tokens),
            reasoning_tokens=self.reasoning_tokens,
            tool_call=self.tool_call,
        )
        return self._json(payload)

    def _legacy(self, body: dict[str, Any]) -> httpx2.Response:
        if body.get("stream"):
            usage = bool((body.get("stream_options") or {}).get("include_usage"))
            return self._stream(sse_events(legacy_chunks(model=self.legacy_model, include_usage=usage)))
        return self._json(legacy_completion(model=self.legacy_model))

    def _responses(self, body: dict[str, Any]) -> httpx2.Response:
        if body.get("stream"):
            events = response_events(
                model=self.responses_model, output_tokens=self.response_tokens, incomplete=self.response_incomplete
            )
            return self._stream(sse_events(events, named=True, done=False))
        payload = response_payload(
            model=self.responses_model, text=self.response_text, output_tokens=self.response_tokens
        )
        return self._json(payload)
