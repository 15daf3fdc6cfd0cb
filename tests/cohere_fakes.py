"""An offline Cohere API for the tests: payloads shaped like Cohere's API reference (v2 ``/v2/chat`` with its
``usage.billed_units`` / ``usage.tokens``, its SSE stream ending with ``message-end``; v1 ``/v1/chat`` with
``meta`` and its newline-delimited JSON stream ending with ``stream-end``; embed, rerank and tokenize), served to
the real SDK through ``httpx.MockTransport`` (the cohere SDK uses the legacy ``httpx``). Stream bodies are handed
out one event at a time, so an early break or a close stops reading as it would on a network.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
from fake_http import HttpxEvents, record, sse_named

MODEL = "command-a-03-2025"
V1_MODEL = "command-r-plus-08-2024"
COMPLETION_TOKENS = 31
BILLED_TOKENS = 30  # what Cohere bills may differ from the tokens generated: the generated count wins
STREAM_TOKENS = 9
PIECES = ("Paris", " is", " the", " capital", " of", " France", ".")
TEXT = "Paris is the capital of France."  # 31 characters
REPLY_ID = "c14c80c3-18eb-4519-9460-6c92edd8cfb4"


def usage(output_tokens: int, *, billed: int | None = None, tokens: bool = True) -> dict[str, Any]:
    """A v2 ``usage`` (a v1 ``meta`` has the same two blocks); ``tokens=False`` leaves only the billed units."""
    out: dict[str, Any] = {"billed_units": {"input_tokens": 8, "output_tokens": billed or output_tokens}}
    if tokens:
        out["tokens"] = {"input_tokens": 71, "output_tokens": output_tokens}
    return out


def chat_v2(*, text: str = TEXT, usage_block: dict[str, Any] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": REPLY_ID,
        "finish_reason": "COMPLETE",
        "message": {"role": "assistant", "content": [{"type": "text", "text": text}]},
    }
    if usage_block is not None:
        body["usage"] = usage_block
    return body


def stream_v2(*, pieces: tuple[str, ...] = PIECES, usage_block: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """The events of a v2 chat stream: ``message-start``, the content deltas, ``message-end`` with the usage."""
    events: list[dict[str, Any]] = [
        {
            "id": "29f14a5a-11de-4cae-9800-25e4747408ea",
            "type": "message-start",
            "delta": {
                "message": {"role": "assistant", "content": [], "tool_plan": "", "tool_calls": [], "citations": []}
            },
        },
        {"type": "content-start", "index": 0, "delta": {"message": {"content": {"type": "text", "text": ""}}}},
    ]
    events += [
        {"type": "content-delta", "index": 0, "delta": {"message": {"content": {"text": piece}}}} for piece in pieces
    ]
    events.append({"type": "content-end", "index": 0})
    end: dict[str, Any] = {"type": "message-end", "delta": {"finish_reason": "COMPLETE"}}
    if usage_block is not None:
        end["delta"]["usage"] = usage_block
    events.append(end)
    return events


def chat_v1(*, text: str = TEXT, meta: dict[str, Any] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "response_id": "a7b3c1f0-6e4d-4f0a-9c2b-3d5e7f9a1b2c",
        "text": text,
        "generation_id": "f2c1e0d9-8b7a-4c6d-9e5f-0a1b2c3d4e5f",
        "chat_history": [
            {"role": "USER", "message": "What is the capital of France?"},
            {"role": "CHATBOT", "message": text},
        ],
        "finish_reason": "COMPLETE",
    }
    if meta is not None:
        body["meta"] = {"api_version": {"version": "1"}, **meta}
    return body


def stream_v1(*, pieces: tuple[str, ...] = PIECES, meta: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = [
        {"is_finished": False, "event_type": "stream-start", "generation_id": "f2c1e0d9-8b7a-4c6d-9e5f-0a1b2c3d4e5f"}
    ]
    events += [{"is_finished": False, "event_type": "text-generation", "text": piece} for piece in pieces]
    response = chat_v1(text="".join(pieces), meta=meta)
    events.append({"is_finished": True, "event_type": "stream-end", "finish_reason": "COMPLETE", "response": response})
    return events


EMBED = {
    "id": "da6e531f-0a5e-4f87-9b2c-4a1e2c3d4e5f",
    "embeddings": {"float": [[0.016296387, -0.008354187, -0.04699707]]},
    "texts": ["hello"],
    "meta": {"api_version": {"version": "2"}, "billed_units": {"input_tokens": 1}},
    "response_type": "embeddings_by_type",
}
RERANK = {
    "id": "07734bd2-2473-4f07-94e1-0d9f0e6843cf",
    "results": [{"index": 1, "relevance_score": 0.999071}, {"index": 0, "relevance_score": 0.32713068}],
    "meta": {"api_version": {"version": "2"}, "billed_units": {"search_units": 1}},
}
TOKENIZE = {"tokens": [33555, 1114], "token_strings": ["token", "ize"], "meta": {"api_version": {"version": "1"}}}


class FakeCohere:
    """Answers the SDK's requests like the Cohere API. ``usage``: ``"both"`` (tokens and billed units),
    ``"billed"`` (billed units only) or ``None`` (no usage at all); ``status`` / ``error_body`` make every answer
    an error. ``requests`` lists (path, body) of what it received; ``streams`` the bodies it streamed."""

    def __init__(self, *, usage: str | None = "both", status: int = 200, error_body: Any = None) -> None:
        self.usage = usage
        self.status = status
        self.error_body = error_body
        self.requests: list[tuple[str, dict[str, Any]]] = []
        self.streams: list[HttpxEvents] = []

    def _usage(self, tokens: int) -> dict[str, Any] | None:
        if self.usage is None:
            return None
        return usage(tokens, billed=BILLED_TOKENS if tokens == COMPLETION_TOKENS else None, tokens=self.usage == "both")

    def __call__(self, request: httpx.Request) -> httpx.Response:
        path, body = record(request, self.requests)
        if self.status != 200:
            error = self.error_body or {"id": "5a6b7c8d", "message": "internal server error"}
            return httpx.Response(self.status, json=error)
        fixed = {"/v2/embed": EMBED, "/v1/embed": EMBED, "/v2/rerank": RERANK, "/v1/tokenize": TOKENIZE}
        if path in fixed:
            return httpx.Response(200, json=fixed[path])
        streaming = body.get("stream") is True
        if path == "/v2/chat":
            if streaming:
                events = sse_named([(e["type"], e) for e in stream_v2(usage_block=self._usage(STREAM_TOKENS))])
                return self._stream(events, "text/event-stream")
            return httpx.Response(200, json=chat_v2(usage_block=self._usage(COMPLETION_TOKENS)))
        if path == "/v1/chat":
            if streaming:
                events = [(json.dumps(e) + "\n").encode() for e in stream_v1(meta=self._usage(STREAM_TOKENS))]
                return self._stream(events, "application/stream+json")
            return httpx.Response(200, json=chat_v1(meta=self._usage(COMPLETION_TOKENS)))
        return httpx.Response(404, json={"message": f"no route for {path}"})

    def _stream(self, events: list[bytes], content_type: str) -> httpx.Response:
        stream = HttpxEvents(events)
        self.streams.append(stream)
        return httpx.Response(200, headers={"content-type": content_type}, stream=stream)

    def _httpx(self, asynchronous: bool) -> Any:
        transport = httpx.MockTransport(self)
        return httpx.AsyncClient(transport=transport) if asynchronous else httpx.Client(transport=transport)

    def client_v2(self) -> Any:
        import cohere

        return cohere.ClientV2(api_key="co-test", max_retries=0, httpx_client=self._httpx(False))

    def async_client_v2(self) -> Any:
        import cohere

        return cohere.AsyncClientV2(api_key="co-test", max_retries=0, httpx_client=self._httpx(True))

    def client_v1(self) -> Any:
        import cohere

        return cohere.Client(api_key="co-test", max_retries=0, httpx_client=self._httpx(False))

    def async_client_v1(self) -> Any:
        import cohere

        return cohere.AsyncClient(api_key="co-test", max_retries=0, httpx_client=self._httpx(True))
