"""An offline Hugging Face for the tests: the Hub's model API (``inferenceProviderMapping``), the Inference
Providers router and providers' OpenAI-shaped chat completions, and a TGI server's ``text_generation`` (plain,
``details``, SSE streams whose last event carries ``details.generated_tokens``), served to the real
``huggingface_hub`` through its own seam: ``set_client_factory`` / ``set_async_client_factory`` handing out
``httpx2`` clients over a ``MockTransport``. Streams are SSE bytes handed out one event at a time.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx2
import huggingface_hub
from huggingface_hub import AsyncInferenceClient, InferenceClient

HUB_ID = "meta-llama/Llama-3.1-8B-Instruct"
TOGETHER_ID = "meta-llama/Meta-Llama-3.1-8B-Instruct-Turbo"
FIREWORKS_ID = "accounts/fireworks/models/llama-v3p1-8b-instruct"
NOVITA_ID = "meta-llama/llama-3.1-8b-instruct"
EMBEDDER = "sentence-transformers/all-MiniLM-L6-v2"
TGI_URL = "http://127.0.0.1:8080"
HF_TOKEN = "hf_offline_test_token"
PROVIDER_KEY = "provider-key-offline"  # not an hf_ token: the client calls the provider directly
COMPLETION_TOKENS = 17
PROMPT_TOKENS = 41
STREAM_TOKENS = 9
GENERATED_TOKENS = 12
INPUT_LENGTH = 7
PIECES = ("Paris", " is", " the", " capital", ".")

MAPPING = {
    "together": {"status": "live", "providerId": TOGETHER_ID, "task": "conversational"},
    "fireworks-ai": {"status": "live", "providerId": FIREWORKS_ID, "task": "conversational"},
    "novita": {"status": "live", "providerId": NOVITA_ID, "task": "conversational"},
}


def chat_completion(model: str, *, tokens: int | None = COMPLETION_TOKENS, content: str = "Paris.") -> dict[str, Any]:
    """An OpenAI-shaped chat completion as the router and the providers send it (TGI's ``system_fingerprint``)."""
    body: dict[str, Any] = {
        "id": "chatcmpl-8a3c2f",
        "object": "chat.completion",
        "created": 1_730_241_104,
        "model": model,
        "system_fingerprint": "3.3.4-sha-9f38d93",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content},
                "logprobs": None,
                "finish_reason": "stop",
            }
        ],
    }
    if tokens is not None:
        body["usage"] = {
            "prompt_tokens": PROMPT_TOKENS,
            "completion_tokens": tokens,
            "total_tokens": PROMPT_TOKENS + tokens,
            "prompt_tokens_details": {"cached_tokens": 32},
        }
    return body


def chat_chunks(model: str, *, usage: bool = True) -> list[dict[str, Any]]:
    """A chat stream: a chunk per piece, a finish chunk, and the usage on a last chunk without choices."""
    base = {"id": "chatcmpl-8a3c2f", "object": "chat.completion.chunk", "created": 1_730_241_104, "model": model}
    base["system_fingerprint"] = "3.3.4-sha-9f38d93"
    chunks = [
        {**base, "choices": [{"index": 0, "delta": {"role": "assistant", "content": p}, "finish_reason": None}]}
        for p in PIECES
    ]
    chunks.append({**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
    if usage:
        counts = {"prompt_tokens": PROMPT_TOKENS, "completion_tokens": STREAM_TOKENS}
        chunks.append({**base, "choices": [], "usage": {**counts, "total_tokens": PROMPT_TOKENS + STREAM_TOKENS}})
    return chunks


def generation(*, details: bool) -> Any:
    """TGI ``/generate`` (as HF Inference answers ``text-generation``): a list of one generation."""
    out: dict[str, Any] = {"generated_text": "".join(PIECES)}
    if details:
        tokens = [{"id": 100 + i, "text": p, "logprob": -0.1, "special": False} for i, p in enumerate(PIECES)]
        out["details"] = {
            "finish_reason": "length",
            "generated_tokens": GENERATED_TOKENS,
            "seed": None,
            "prefill": [],
            "tokens": tokens,
        }
    return [out]


def generation_events(*, details: bool) -> list[dict[str, Any]]:
    """TGI ``/generate_stream``: one event per token; the last has ``generated_text`` (and ``details`` if asked)."""
    events: list[dict[str, Any]] = []
    for i, piece in enumerate(PIECES):
        token = {"id": 100 + i, "text": piece, "logprob": -0.1, "special": False}
        events.append({"index": i + 1, "token": token, "generated_text": None, "details": None})
    events[-1]["generated_text"] = "".join(PIECES)
    if details:
        events[-1]["details"] = {
            "finish_reason": "length",
            "generated_tokens": GENERATED_TOKENS,
            "input_length": INPUT_LENGTH,
            "seed": None,
        }
    return events


def _sse(events: list[dict[str, Any]], done: bool) -> list[bytes]:
    lines = [f"data: {json.dumps(e)}\n\n".encode() for e in events]
    return [*lines, b"data: [DONE]\n\n"] if done else lines


class _SyncSSE(httpx2.SyncByteStream):
    def __init__(self, events: list[bytes], owner: FakeHub) -> None:
        self.events, self.owner, self.closed = events, owner, False
        owner.streams.append(self)

    def __iter__(self) -> Iterator[bytes]:
        yield from self.events

    def close(self) -> None:
        self.closed = True


class _AsyncSSE(httpx2.AsyncByteStream):
    def __init__(self, events: list[bytes], owner: FakeHub) -> None:
        self.events, self.owner, self.closed = events, owner, False
        owner.streams.append(self)

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for event in self.events:
            yield event

    async def aclose(self) -> None:
        self.closed = True


class FakeHub:
    """The Hub, the router, Together, Fireworks and Novita and a TGI server, in one ``MockTransport`` handler.

    ``tokens=False``: no usage and no details; ``status``: every inference request fails with it."""

    def __init__(self, *, tokens: bool = True, status: int = 200, error_body: Any = None) -> None:
        self.tokens = tokens
        self.status = status
        self.error_body = error_body if error_body is not None else {"error": "Model is overloaded"}
        self.requests: list[tuple[str, str, dict[str, Any]]] = []  # (host, path, JSON body)
        self.streams: list[Any] = []

    def install(self) -> None:
        """Make ``huggingface_hub`` send every request here (its documented client-factory seam)."""
        huggingface_hub.close_session()
        huggingface_hub.set_client_factory(lambda: httpx2.Client(transport=httpx2.MockTransport(self.handle)))
        huggingface_hub.set_async_client_factory(
            lambda: httpx2.AsyncClient(transport=httpx2.MockTransport(self.handle_async))
        )

    @staticmethod
    def uninstall() -> None:
        huggingface_hub.close_session()
        huggingface_hub.set_client_factory(huggingface_hub.utils._http.default_client_factory)
        huggingface_hub.set_async_client_factory(huggingface_hub.utils._http.default_async_client_factory)

    def client(self, **kwargs: Any) -> InferenceClient:
        kwargs.setdefault("api_key", HF_TOKEN)
        return InferenceClient(**kwargs)

    def async_client(self, **kwargs: Any) -> AsyncInferenceClient:
        kwargs.setdefault("api_key", HF_TOKEN)
        return AsyncInferenceClient(**kwargs)

    # -- the handler ------------------------------------------------------------------------------------------

    def handle(self, request: httpx2.Request) -> httpx2.Response:
        return self._respond(request, asynchronous=False)

    async def handle_async(self, request: httpx2.Request) -> httpx2.Response:
        return self._respond(request, asynchronous=True)

    def _respond(self, request: httpx2.Request, *, asynchronous: bool) -> httpx2.Response:
        path = request.url.path
        if request.method == "GET" and path.startswith("/api/models/"):
            return httpx2.Response(200, json=self._model_info(path.removeprefix("/api/models/")))
        body = json.loads(request.content or b"{}")
        self.requests.append((request.url.host, path, body))
        if self.status != 200:
            return httpx2.Response(self.status, json=self.error_body)
        if path.endswith(("/pipeline/feature-extraction", "/pipeline/sentence-similarity")):
            return httpx2.Response(200, json=[[0.1, 0.2, 0.3]] if "feature" in path else [0.9, 0.1])
        if path.endswith("/chat/completions"):
            model = body.get("model", "tgi").split(":")[0]
            if body.get("stream"):
                return self._stream(_sse(chat_chunks(model, usage=self.tokens), done=True), asynchronous)
            return httpx2.Response(200, json=chat_completion(model, tokens=COMPLETION_TOKENS if self.tokens else None))
        parameters = body.get("parameters") or {}
        details = bool(parameters.get("details")) and self.tokens
        if body.get("stream"):
            return self._stream(_sse(generation_events(details=details), done=False), asynchronous)
        return httpx2.Response(200, json=generation(details=details))

    def _stream(self, events: list[bytes], asynchronous: bool) -> httpx2.Response:
        stream = _AsyncSSE(events, self) if asynchronous else _SyncSSE(events, self)
        return httpx2.Response(200, headers={"content-type": "text/event-stream"}, stream=stream)

    @staticmethod
    def _model_info(repo: str) -> dict[str, Any]:
        """``GET /api/models/{id}`` with ``expand=inferenceProviderMapping`` (and the pipeline tag HF Inference
        checks)."""
        if repo == EMBEDDER:
            return {"id": repo, "pipeline_tag": "sentence-similarity", "tags": ["feature-extraction"]}
        return {"id": repo, "pipeline_tag": "text-generation", "tags": [], "inferenceProviderMapping": MAPPING}
