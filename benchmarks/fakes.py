"""Offline provider endpoints for the benchmarks: the real SDKs over httpx2.MockTransport."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx2

CHAT_BODY = {
    "id": "chatcmpl-bench",
    "object": "chat.completion",
    "created": 1_763_000_000,
    "model": "gpt-4o-mini-2024-07-18",
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


def _chunk(content: str | None, usage: dict[str, Any] | None = None) -> bytes:
    chunk: dict[str, Any] = {
        "id": "chatcmpl-bench",
        "object": "chat.completion.chunk",
        "created": 1_763_000_000,
        "model": "gpt-4o-mini-2024-07-18",
        "choices": [] if content is None else [{"index": 0, "delta": {"content": content}, "finish_reason": None}],
    }
    if usage is not None:
        chunk["usage"] = usage
    return b"data: " + json.dumps(chunk).encode() + b"\n\n"


class _Events(httpx2.SyncByteStream):
    def __init__(self, events: list[bytes]) -> None:
        self.events = events

    def __iter__(self) -> Iterator[bytes]:
        yield from self.events


def openai_client(stream_chunks: int = 1000) -> Any:
    import openai

    body = json.dumps(CHAT_BODY).encode()
    chunks = [_chunk("tok ") for _ in range(stream_chunks)]
    usage = _chunk(None, {"prompt_tokens": 3, "completion_tokens": stream_chunks, "total_tokens": stream_chunks + 3})

    def handler(request: httpx2.Request) -> httpx2.Response:
        payload = json.loads(request.content)
        if payload.get("stream"):
            events = list(chunks)
            if (payload.get("stream_options") or {}).get("include_usage"):
                events.append(usage)
            events.append(b"data: [DONE]\n\n")
            return httpx2.Response(200, stream=_Events(events), headers={"content-type": "text/event-stream"})
        return httpx2.Response(200, content=body, headers={"content-type": "application/json"})

    return openai.OpenAI(
        api_key="bench", http_client=httpx2.Client(transport=httpx2.MockTransport(handler)), max_retries=0
    )
