"""Offline provider endpoints for the benchmarks: the real SDKs over ``httpx2.MockTransport``.

Payloads are shaped like the public API references (the same shapes the test fakes build from the SDKs' own
types); every body is serialised once, up front, so the server costs as little as possible per request and the
measured time is the SDK's (and the instrumentation's). A stream is served one SSE event per transport chunk,
``chunks`` content events long.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import httpx2

Handler = Callable[[httpx2.Request], httpx2.Response]

OPENAI_MODEL = "gpt-4o-mini"
ANTHROPIC_MODEL = "claude-haiku-4-5"
MISTRAL_MODEL = "mistral-small-latest"


class _Events(httpx2.SyncByteStream):
    """A response body handed out one SSE event at a time."""

    def __init__(self, events: list[bytes]) -> None:
        self.events = events

    def __iter__(self) -> Iterator[bytes]:
        yield from self.events


def _data(payload: dict[str, Any]) -> bytes:
    return b"data: " + json.dumps(payload).encode() + b"\n\n"


def _named(name: str, payload: dict[str, Any]) -> bytes:
    return f"event: {name}\ndata: {json.dumps(payload)}\n\n".encode()


def _json_response(body: bytes, headers: dict[str, str] | None = None) -> httpx2.Response:
    return httpx2.Response(200, content=body, headers={"content-type": "application/json", **(headers or {})})


def _sse_response(events: list[bytes], headers: dict[str, str] | None = None) -> httpx2.Response:
    return httpx2.Response(
        200, stream=_Events(events), headers={"content-type": "text/event-stream", **(headers or {})}
    )


def _http_client(handler: Handler) -> httpx2.Client:
    return httpx2.Client(transport=httpx2.MockTransport(handler))


# -- OpenAI chat completions ------------------------------------------------------------------------------

_OPENAI_SERVED = "gpt-4o-mini-2024-07-18"
_OPENAI_CHAT = {
    "id": "chatcmpl-bench",
    "object": "chat.completion",
    "created": 1_763_000_000,
    "model": _OPENAI_SERVED,
    "choices": [
        {
            "index": 0,
            "message": {"role": "assistant", "content": "A short answer for the benchmark.", "refusal": None},
            "finish_reason": "stop",
            "logprobs": None,
        }
    ],
    "usage": {
        "prompt_tokens": 12,
        "completion_tokens": 9,
        "total_tokens": 21,
        "completion_tokens_details": {"reasoning_tokens": 0},
    },
}


def _openai_chunk(content: str | None, usage: dict[str, Any] | None = None) -> bytes:
    chunk: dict[str, Any] = {
        "id": "chatcmpl-bench",
        "object": "chat.completion.chunk",
        "created": 1_763_000_000,
        "model": _OPENAI_SERVED,
        "choices": [] if content is None else [{"index": 0, "delta": {"content": content}, "finish_reason": None}],
    }
    if usage is not None:
        chunk["usage"] = usage
    return _data(chunk)


def openai_client(chunks: int = 1000) -> Any:
    """An ``openai.OpenAI`` client whose chat streams are ``chunks`` content chunks long.

    As the real API, a stream carries a usage chunk only when ``stream_options.include_usage`` asks for it.
    """
    import openai

    body = json.dumps(_OPENAI_CHAT).encode()
    content = [_openai_chunk("tok ") for _ in range(chunks)]
    usage = _openai_chunk(None, {"prompt_tokens": 3, "completion_tokens": chunks, "total_tokens": chunks + 3})
    done = b"data: [DONE]\n\n"

    def handler(request: httpx2.Request) -> httpx2.Response:
        payload = json.loads(request.content)
        if not payload.get("stream"):
            return _json_response(body)
        with_usage = (payload.get("stream_options") or {}).get("include_usage")
        return _sse_response([*content, usage, done] if with_usage else [*content, done])

    return openai.OpenAI(api_key="bench", http_client=_http_client(handler), max_retries=0)


# -- Anthropic Messages -----------------------------------------------------------------------------------

_ANTHROPIC_SERVED = "claude-haiku-4-5-20251001"
_ANTHROPIC_ID = "msg_013Zva2CMHLNnXjNJJKqJ2EF"
_ANTHROPIC_HEADERS = {"request-id": "req_011CSHoEeqs5C35K2UUqR7Fy"}


def _anthropic_usage(output_tokens: int) -> dict[str, Any]:
    return {
        "input_tokens": 25,
        "output_tokens": output_tokens,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 0,
        "service_tier": "standard",
    }


_ANTHROPIC_MESSAGE = {
    "id": _ANTHROPIC_ID,
    "type": "message",
    "role": "assistant",
    "model": _ANTHROPIC_SERVED,
    "content": [{"type": "text", "text": "Paris is the capital of France."}],
    "stop_reason": "end_turn",
    "stop_sequence": None,
    "usage": _anthropic_usage(12),
}


def _anthropic_events(chunks: int) -> list[bytes]:
    """``message_start``, one text block of ``chunks`` deltas with a ``ping``, ``message_delta`` (usage),
    ``message_stop`` — the event sequence of the API reference."""
    start = {**_ANTHROPIC_MESSAGE, "content": [], "stop_reason": None, "usage": _anthropic_usage(1)}
    delta = {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "tok "}}
    return [
        _named("message_start", {"type": "message_start", "message": start}),
        _named(
            "content_block_start",
            {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
        ),
        _named("ping", {"type": "ping"}),
        *(_named("content_block_delta", delta) for _ in range(chunks)),
        _named("content_block_stop", {"type": "content_block_stop", "index": 0}),
        _named(
            "message_delta",
            {
                "type": "message_delta",
                "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                "usage": {"input_tokens": 25, "output_tokens": chunks},
            },
        ),
        _named("message_stop", {"type": "message_stop"}),
    ]


def anthropic_client(chunks: int = 1000) -> Any:
    """An ``anthropic.Anthropic`` client whose message streams are ``chunks`` text deltas long."""
    import anthropic

    body = json.dumps(_ANTHROPIC_MESSAGE).encode()
    events = _anthropic_events(chunks)

    def handler(request: httpx2.Request) -> httpx2.Response:
        if json.loads(request.content).get("stream"):
            return _sse_response(events, _ANTHROPIC_HEADERS)
        return _json_response(body, _ANTHROPIC_HEADERS)

    return anthropic.Anthropic(
        api_key="bench", base_url="https://api.anthropic.com", http_client=_http_client(handler), max_retries=0
    )


# -- Mistral chat -----------------------------------------------------------------------------------------

_MISTRAL_SERVED = "mistral-small-2506"
_MISTRAL_ID = "cmpl-e5cc70bb28c444948073e77776eb30ef"
_MISTRAL_CHAT = {
    "id": _MISTRAL_ID,
    "object": "chat.completion",
    "model": _MISTRAL_SERVED,
    "usage": {"prompt_tokens": 16, "completion_tokens": 34, "total_tokens": 50},
    "created": 1_702_256_327,
    "choices": [
        {
            "index": 0,
            "message": {"role": "assistant", "content": "Bonjour le monde !", "tool_calls": None},
            "finish_reason": "stop",
        }
    ],
}


def _mistral_events(chunks: int) -> list[bytes]:
    """A role chunk, ``chunks`` content chunks, a finish chunk carrying usage, then ``[DONE]``."""
    base = {"id": _MISTRAL_ID, "object": "chat.completion.chunk", "created": 1_702_256_327, "model": _MISTRAL_SERVED}

    def chunk(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> bytes:
        return _data({**base, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}], **extra})

    usage = {"prompt_tokens": 16, "completion_tokens": chunks, "total_tokens": 16 + chunks}
    return [
        chunk({"role": "assistant", "content": ""}),
        *(chunk({"content": "tok "}) for _ in range(chunks)),
        chunk({"content": ""}, "stop", usage=usage),
        b"data: [DONE]\n\n",
    ]


def mistral_client(chunks: int = 1000) -> Any:
    """A ``mistralai`` client whose chat streams are ``chunks`` content chunks long (no retries configured)."""
    from mistralai.client import Mistral

    body = json.dumps(_MISTRAL_CHAT).encode()
    events = _mistral_events(chunks)

    def handler(request: httpx2.Request) -> httpx2.Response:
        if json.loads(request.content).get("stream") is True:
            return _sse_response(events)
        return _json_response(body)

    return Mistral(api_key="bench", client=_http_client(handler))
