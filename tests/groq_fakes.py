"""An offline Groq API for the tests: payloads built from the ``groq`` SDK's own types, shaped like Groq's API
reference (``usage`` with its timings, ``x_groq`` with the request id, usage on the last stream chunk in
``x_groq.usage``), served to the real SDK through ``httpx.MockTransport`` (the groq SDK uses the legacy
``httpx``, not ``httpx2``). Streams are SSE bytes handed out one event at a time, so an early break or a close
stops reading as it would on a network.
"""

from __future__ import annotations

from typing import Any

import httpx
from fake_http import HttpxEvents, record, sse_data
from groq.types import CompletionUsage
from groq.types.chat import ChatCompletion, ChatCompletionChunk, ChatCompletionMessage
from groq.types.chat.chat_completion import Choice
from groq.types.chat.chat_completion_chunk import Choice as ChunkChoice
from groq.types.chat.chat_completion_chunk import ChoiceDelta, XGroq
from groq.types.completion_usage import CompletionTokensDetails

MODEL = "llama-3.3-70b-versatile"
REASONING_MODEL = "openai/gpt-oss-120b"
COMPLETION_TOKENS = 23
STREAM_TOKENS = 11
PIECES = ("Paris", " is", " the", " capital", " of", " France", ".")
CREATED = 1_730_241_104
REQUEST_ID = "req_01jbd6g2qdfw2adyrt2az8hz4w"


def wire(model: Any) -> dict[str, Any]:
    """A model of the SDK as the API sends it."""
    return model.model_dump(mode="json", by_alias=True, exclude_unset=True)


def usage(completion_tokens: int, *, prompt_tokens: int = 18, reasoning_tokens: int | None = None) -> CompletionUsage:
    return CompletionUsage(
        queue_time=0.037493756,
        prompt_tokens=prompt_tokens,
        prompt_time=0.000680594,
        completion_tokens=completion_tokens,
        completion_time=0.463333333,
        total_tokens=prompt_tokens + completion_tokens,
        total_time=0.464013927,
        **(
            {"completion_tokens_details": CompletionTokensDetails(reasoning_tokens=reasoning_tokens)}
            if reasoning_tokens is not None
            else {}
        ),
    )


def chat_completion(
    *, model: str = MODEL, content: str = "Paris is the capital of France.", tokens: int | None = COMPLETION_TOKENS
) -> dict[str, Any]:
    """A ``chat.completion``; ``tokens=None``: no usage object at all (as some error paths answer)."""
    completion = ChatCompletion(
        id="chatcmpl-f51b2cd2-bef7-417e-964e-a08f0b513c22",
        object="chat.completion",
        created=CREATED,
        model=model,
        choices=[
            Choice(
                index=0,
                message=ChatCompletionMessage(role="assistant", content=content),
                logprobs=None,
                finish_reason="stop",
            )
        ],
        system_fingerprint="fp_179b0f92c9",
        x_groq={"id": REQUEST_ID},
        **({"usage": usage(tokens)} if tokens is not None else {}),
    )
    return wire(completion)


def chat_chunks(
    *, model: str = MODEL, pieces: tuple[str, ...] = PIECES, tokens: int | None = STREAM_TOKENS
) -> list[dict[str, Any]]:
    """A chat stream as Groq sends it: ``x_groq.id`` on the first chunk, one chunk per piece, then a finish chunk
    with an empty delta whose ``x_groq`` carries the usage (``tokens=None``: a stream that reports none)."""
    base = {"id": "chatcmpl-9a3f8ed2-6a0b-4b42-9c0f-0d7e3c1b2a55", "object": "chat.completion.chunk"}
    base |= {"created": CREATED, "model": model, "system_fingerprint": "fp_179b0f92c9"}

    def chunk(delta: ChoiceDelta, finish: Any = None, x_groq: XGroq | None = None) -> dict[str, Any]:
        choice = ChunkChoice(index=0, delta=delta, logprobs=None, finish_reason=finish)
        extra = {"x_groq": x_groq} if x_groq is not None else {}
        return wire(ChatCompletionChunk(**base, choices=[choice], **extra))

    chunks = [chunk(ChoiceDelta(role="assistant", content=""), x_groq=XGroq(id=REQUEST_ID))]
    chunks += [chunk(ChoiceDelta(content=piece)) for piece in pieces]
    last = XGroq(id=REQUEST_ID, usage=usage(tokens)) if tokens is not None else XGroq(id=REQUEST_ID)
    chunks.append(chunk(ChoiceDelta(), "stop", last))
    return chunks


def embeddings_body() -> dict[str, Any]:
    return {
        "object": "list",
        "data": [{"object": "embedding", "embedding": [0.1, -0.2, 0.3], "index": 0}],
        "model": "nomic-embed-text-v1_5",
        "usage": {"prompt_tokens": 4, "total_tokens": 4},
    }


class FakeGroq:
    """Answers the SDK's requests like the Groq API. ``served`` maps a requested model to the name answered
    with (others are echoed); ``tokens=None`` answers without usage; ``status`` / ``error_body`` make every
    answer an error. ``requests`` lists (path, body) of what it received; ``streams`` the bodies it streamed."""

    def __init__(
        self, *, served: dict[str, str] | None = None, tokens: bool = True, status: int = 200, error_body: Any = None
    ) -> None:
        self.served = served or {}
        self.tokens = tokens
        self.status = status
        self.error_body = error_body
        self.requests: list[tuple[str, dict[str, Any]]] = []
        self.streams: list[HttpxEvents] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        path, body = record(request, self.requests)
        if self.status != 200:
            error = self.error_body or {"error": {"message": "boom", "type": "internal_server_error"}}
            return httpx.Response(self.status, json=error)
        if path == "/openai/v1/embeddings":
            return httpx.Response(200, json=embeddings_body())
        if path != "/openai/v1/chat/completions":
            unknown = {"error": {"message": "Unknown request URL", "type": "invalid_request_error"}}
            return httpx.Response(404, json=unknown)
        model = self.served.get(body.get("model"), body.get("model"))
        if body.get("stream") is True:
            stream = HttpxEvents(sse_data(chat_chunks(model=model, tokens=STREAM_TOKENS if self.tokens else None)))
            self.streams.append(stream)
            return httpx.Response(200, headers={"content-type": "text/event-stream"}, stream=stream)
        return httpx.Response(200, json=chat_completion(model=model, tokens=COMPLETION_TOKENS if self.tokens else None))

    def client(self, **kwargs: Any) -> Any:
        import groq

        transport = httpx.MockTransport(self)
        return groq.Groq(api_key="gsk-test", max_retries=0, http_client=httpx.Client(transport=transport), **kwargs)

    def async_client(self, **kwargs: Any) -> Any:
        import groq

        transport = httpx.MockTransport(self)
        client = httpx.AsyncClient(transport=transport)
        return groq.AsyncGroq(api_key="gsk-test", max_retries=0, http_client=client, **kwargs)
