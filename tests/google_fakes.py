"""Offline Gemini API for the tests: payloads shaped like the REST reference (``generateContent``,
``streamGenerateContent?alt=sse``, ``batchEmbedContents``), served to the real ``google-genai`` SDK through
``httpx2.MockTransport`` (``http_options={"httpx_client": ..., "httpx_async_client": ...}``). Streams are SSE
bytes handed out one event at a time, so an early break stops reading as it would on a network.

Importing this module imports neither the SDK nor ``genai_footprint`` (the lifecycle scripts import it first).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

MODEL = "gemini-2.5-flash"
SERVED = "gemini-2.5-flash"  # the API answers with the model id in ``modelVersion``
CANDIDATES_TOKENS = 21
THOUGHTS_TOKENS = 187
PROMPT_TOKENS = 9
CACHED_TOKENS = 4
WORDS = ("The capital", " of France", " is Paris.")
STREAM_CANDIDATES = (3, 7, 11)  # running totals, one per chunk
STREAM_THOUGHTS = 40


def usage(candidates: int | None = CANDIDATES_TOKENS, thoughts: int | None = THOUGHTS_TOKENS) -> dict[str, Any]:
    """``usageMetadata`` as the API sends it: a count that is zero or absent is left out (proto3 JSON)."""
    block: dict[str, Any] = {"promptTokenCount": PROMPT_TOKENS, "cachedContentTokenCount": CACHED_TOKENS}
    if candidates:
        block["candidatesTokenCount"] = candidates
    if thoughts:
        block["thoughtsTokenCount"] = thoughts
    block["totalTokenCount"] = PROMPT_TOKENS + (candidates or 0) + (thoughts or 0)
    block["promptTokensDetails"] = [{"modality": "TEXT", "tokenCount": PROMPT_TOKENS}]
    return block


def response_body(*, text: str = "".join(WORDS), model: str = SERVED, usage_metadata: Any = ...) -> dict[str, Any]:
    """A ``GenerateContentResponse``; ``usage_metadata=None`` leaves the usage out."""
    body: dict[str, Any] = {
        "candidates": [
            {
                "content": {"parts": [{"text": text}], "role": "model"},
                "finishReason": "STOP",
                "index": 0,
            }
        ],
        "modelVersion": model,
        "responseId": "8DqPaI2ZHfe7nvgP7JOq4Qk",
    }
    block = usage() if usage_metadata is ... else usage_metadata
    if block is not None:
        body["usageMetadata"] = block
    return body


def stream_chunks(*, with_usage: bool = True, model: str = SERVED) -> list[dict[str, Any]]:
    """The chunks of ``streamGenerateContent``: one per word, each with the request's running usage; the last
    carries ``finishReason``."""
    chunks = []
    for index, (word, candidates) in enumerate(zip(WORDS, STREAM_CANDIDATES, strict=True)):
        candidate: dict[str, Any] = {"content": {"parts": [{"text": word}], "role": "model"}, "index": 0}
        if index == len(WORDS) - 1:
            candidate["finishReason"] = "STOP"
        chunk: dict[str, Any] = {"candidates": [candidate], "modelVersion": model, "responseId": "9DqPaK3uN"}
        if with_usage:
            chunk["usageMetadata"] = usage(candidates, STREAM_THOUGHTS)
        chunks.append(chunk)
    return chunks


def error_body(status: int) -> dict[str, Any]:
    names = {400: "INVALID_ARGUMENT", 404: "NOT_FOUND", 429: "RESOURCE_EXHAUSTED", 500: "INTERNAL"}
    return {"error": {"code": status, "message": f"fake error {status}", "status": names.get(status, "UNKNOWN")}}


# -- the server -------------------------------------------------------------------------------------------


def _sse(chunks: list[dict[str, Any]]) -> list[bytes]:
    return [f"data: {json.dumps(chunk)}\r\n\r\n".encode() for chunk in chunks]


@dataclass
class FakeGemini:
    """Serves the Gemini REST API. ``reply(path, body)`` may return a payload dict, a list of stream chunks,
    an ``httpx2.Response``, or None for the default answer. ``served`` counts the events handed out."""

    reply: Callable[[str, dict[str, Any]], Any] | None = None
    requests: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    served: int = 0

    def _events(self, events: list[bytes], asynchronous: bool) -> Any:
        import httpx2

        server = self

        class SyncSSE(httpx2.SyncByteStream):
            def __iter__(self) -> Iterator[bytes]:
                for event in events:
                    server.served += 1
                    yield event

        class AsyncSSE(httpx2.AsyncByteStream):
            async def __aiter__(self) -> AsyncIterator[bytes]:
                for event in events:
                    await asyncio.sleep(0)
                    server.served += 1
                    yield event

        return AsyncSSE() if asynchronous else SyncSSE()

    def handle(self, request: Any, asynchronous: bool = False) -> Any:
        import httpx2

        path = request.url.path
        body = json.loads(request.content) if request.content else {}
        self.requests.append((str(request.url), body))
        answer = self.reply(path, body) if self.reply is not None else None
        if isinstance(answer, httpx2.Response):
            return answer
        if path.endswith(":streamGenerateContent"):
            assert request.url.params.get("alt") == "sse"
            stream = self._events(_sse(answer if answer is not None else stream_chunks()), asynchronous)
            return httpx2.Response(200, headers={"content-type": "text/event-stream"}, stream=stream)
        if path.endswith((":batchEmbedContents", ":embedContent")):
            return httpx2.Response(200, json={"embeddings": [{"values": [0.013, -0.008, 0.021]}]})
        if path.endswith(":countTokens"):
            return httpx2.Response(200, json={"totalTokens": PROMPT_TOKENS})
        return httpx2.Response(200, json=answer if answer is not None else response_body())

    def http_options(self) -> dict[str, Any]:
        import httpx2

        async def handle_async(request: Any) -> Any:
            await asyncio.sleep(0)
            return self.handle(request, asynchronous=True)

        return {
            "httpx_client": httpx2.Client(transport=httpx2.MockTransport(self.handle)),
            "httpx_async_client": httpx2.AsyncClient(transport=httpx2.MockTransport(handle_async)),
            "retry_options": {"attempts": 1},
        }

    def client(self, **kwargs: Any) -> Any:
        """A real ``genai.Client`` on the Gemini Developer API, talking to this server."""
        from google import genai

        return genai.Client(api_key="test-key", http_options=self.http_options(), **kwargs)

    def vertex_client(self, location: str = "europe-west4") -> Any:
        """A real Vertex AI client (``vertexai=True``) with a fixed token: no credentials are looked up."""
        from google import genai
        from google.oauth2.credentials import Credentials

        return genai.Client(
            vertexai=True,
            project="test-project",
            location=location,
            credentials=Credentials(token="test-token"),  # type: ignore[no-untyped-call]
            http_options=self.http_options(),
        )
