"""Offline Mistral API for the tests: payloads shaped like the public API reference, served to the real SDK
through ``httpx2.MockTransport``; streams are SSE bytes handed out one event at a time, so an early break or a
close stops reading as it would on a network.
"""

from __future__ import annotations

import re
from typing import Any

import httpx2
from fake_http import Httpx2Events, record, sse_data, sse_named

MODEL = "mistral-small-latest"
SERVED = "mistral-small-2506"  # a dated name, as the API may answer
CONVERSATION_MODEL = "mistral-medium-2505"
COMPLETION_TOKENS = 34
STREAM_TOKENS = 12
WORDS = ("Bonjour", " le", " monde", " !")
CONVERSATION_ID = "conv_0677bd8c6c2d7e1c8000e6d1a3a8b3f3"
CREATED_AT = "2025-05-27T13:39:26.052Z"


# -- payloads ---------------------------------------------------------------------------------------------


def usage_block(completion_tokens: int, prompt_tokens: int = 16) -> dict[str, Any]:
    return {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
    }


def chat_body(
    *,
    model: str = SERVED,
    completion_tokens: int = COMPLETION_TOKENS,
    content: str = "Bonjour le monde !",
    usage: Any = ...,
) -> dict[str, Any]:
    """A ``chat.completion`` (also the FIM and agents answer); ``usage`` replaces the usage object."""
    return {
        "id": "cmpl-e5cc70bb28c444948073e77776eb30ef",
        "object": "chat.completion",
        "model": model,
        "usage": usage_block(completion_tokens) if usage is ... else usage,
        "created": 1702256327,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content, "tool_calls": None},
                "finish_reason": "stop",
            }
        ],
    }


def chat_chunks(
    *, model: str = SERVED, completion_tokens: int = STREAM_TOKENS, usage: bool = True
) -> list[dict[str, Any]]:
    """``chat.completion.chunk`` objects: a role chunk, one per word, then a finish chunk that carries usage."""
    base = {"id": "cmpl-5f2b0a8e1d0c4a0e9c1f", "object": "chat.completion.chunk", "created": 1702256327, "model": model}
    chunks = [{**base, "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}]}]
    chunks += [{**base, "choices": [{"index": 0, "delta": {"content": w}, "finish_reason": None}]} for w in WORDS]
    last: dict[str, Any] = {**base, "choices": [{"index": 0, "delta": {"content": ""}, "finish_reason": "stop"}]}
    if usage:
        last["usage"] = usage_block(completion_tokens)
    chunks.append(last)
    return chunks


def message_entry(*, model: str = CONVERSATION_MODEL, content: str = "Bonjour le monde !") -> dict[str, Any]:
    return {
        "object": "entry",
        "type": "message.output",
        "created_at": CREATED_AT,
        "completed_at": "2025-05-27T13:39:27.112Z",
        "id": "msg_0677bd8e2a6a7b9d80009ba3e8c0b8a1",
        "agent_id": None,
        "model": model,
        "role": "assistant",
        "content": content,
    }


def conversation_body(
    *, model: str = CONVERSATION_MODEL, completion_tokens: int = COMPLETION_TOKENS, usage: Any = ...
) -> dict[str, Any]:
    """A ``conversation.response``: the model only appears on the output entries."""
    return {
        "object": "conversation.response",
        "conversation_id": CONVERSATION_ID,
        "outputs": [message_entry(model=model)],
        "usage": {**usage_block(completion_tokens), "connector_tokens": None, "connectors": None}
        if usage is ...
        else usage,
    }


def conversation_events(
    *, model: str = CONVERSATION_MODEL, completion_tokens: int = STREAM_TOKENS, usage: bool = True
) -> list[tuple[str, dict[str, Any]]]:
    """``(event, data)`` pairs of a streamed conversation turn; usage on ``conversation.response.done``."""
    events: list[tuple[str, dict[str, Any]]] = [
        (
            "conversation.response.started",
            {"type": "conversation.response.started", "conversation_id": CONVERSATION_ID, "created_at": CREATED_AT},
        )
    ]
    for i, word in enumerate(WORDS):
        events.append(
            (
                "message.output.delta",
                {
                    "type": "message.output.delta",
                    "output_index": 0,
                    "id": "msg_0677bd8e2a6a7b9d80009ba3e8c0b8a1",
                    "content_index": i,
                    "model": model,
                    "agent_id": None,
                    "role": "assistant",
                    "content": word,
                    "created_at": CREATED_AT,
                },
            )
        )
    done: dict[str, Any] = {"type": "conversation.response.done", "created_at": CREATED_AT}
    done["usage"] = {**usage_block(completion_tokens), "connector_tokens": None, "connectors": None} if usage else {}
    events.append(("conversation.response.done", done))
    return events


def response_object(*, model: str = SERVED, output_tokens: int | None = COMPLETION_TOKENS, status: str = "completed"):
    """A Responses API ``response`` object."""
    body: dict[str, Any] = {
        "id": "resp_67ccd2bed1ec8190b14f964abc054267",
        "object": "response",
        "created_at": 1741476542,
        "status": status,
        "model": model,
        "output": [
            {
                "type": "message",
                "id": "msg_67ccd2bf17f0819081ff3bb2cf6508e6",
                "status": "completed",
                "role": "assistant",
                "content": [{"type": "output_text", "text": "Bonjour le monde !", "annotations": []}],
            }
        ]
        if status == "completed"
        else [],
        "parallel_tool_calls": True,
        "tool_choice": "auto",
        "tools": [],
        "usage": None,
    }
    if output_tokens is not None:
        body["usage"] = {
            "input_tokens": 16,
            "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
            "output_tokens": output_tokens,
            "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": 16 + output_tokens,
        }
    return body


def response_events(*, model: str = SERVED, output_tokens: int = STREAM_TOKENS) -> list[tuple[str, dict[str, Any]]]:
    """``(event, data)`` pairs of a streamed Responses API call; usage on ``response.completed``."""
    created = response_object(model=model, output_tokens=None, status="in_progress")
    events: list[tuple[str, dict[str, Any]]] = [
        ("response.created", {"type": "response.created", "sequence_number": 0, "response": created})
    ]
    for i, word in enumerate(WORDS, start=1):
        events.append(
            (
                "response.output_text.delta",
                {
                    "type": "response.output_text.delta",
                    "sequence_number": i,
                    "item_id": "msg_67ccd2bf17f0819081ff3bb2cf6508e6",
                    "output_index": 0,
                    "content_index": 0,
                    "delta": word,
                    "logprobs": [],
                },
            )
        )
    done = response_object(model=model, output_tokens=output_tokens)
    events.append(
        ("response.completed", {"type": "response.completed", "sequence_number": len(WORDS) + 1, "response": done})
    )
    return events


def embeddings_body() -> dict[str, Any]:
    return {
        "id": "embd-aad6fc62b17349b192ef09225058bc45",
        "object": "list",
        "data": [{"object": "embedding", "embedding": [0.1, -0.2, 0.3], "index": 0}],
        "model": "mistral-embed",
        "usage": {"prompt_tokens": 9, "completion_tokens": 0, "total_tokens": 9},
    }


# -- the fake API -----------------------------------------------------------------------------------------

_COMPLETION_PATHS = frozenset(
    {"/v1/chat/completions", "/v1/fim/completions", "/v1/agents/completions", "/models/chat/completions"}
)
_CONVERSATION_PATH = re.compile(r"^/v1/conversations(?:/(?P<id>[^/]+)(?P<restart>/restart)?)?$")


class FakeMistral:
    """Answers the SDK's requests like the Mistral API.

    ``served`` maps a requested model (None: no model, e.g. an agent) to the name the API answers with; others
    are echoed. ``usage=False`` answers without token counts, ``usage=None`` drops the usage object entirely.
    ``status`` / ``error_body`` make every answer an error.
    """

    def __init__(
        self,
        *,
        served: dict[str | None, str] | None = None,
        usage: bool | None = True,
        status: int = 200,
        error_body: Any = None,
    ) -> None:
        self.served: dict[str | None, str] = {MODEL: SERVED} if served is None else served
        self.usage = usage
        self.status = status
        self.error_body = error_body
        self.content = "Bonjour le monde !"
        self.headers: dict[str, str] = {}
        self.requests: list[tuple[str, dict[str, Any]]] = []
        self.streams: list[Httpx2Events] = []

    def __call__(self, request: httpx2.Request) -> httpx2.Response:
        path, body = record(request, self.requests)
        if self.status != 200:
            error = self.error_body if self.error_body is not None else {"object": "error", "message": "boom"}
            return httpx2.Response(self.status, json=error, headers=self.headers)
        requested = body.get("model")
        model = self.served.get(requested, requested or "")
        streaming = body.get("stream") is True
        no_counts = {"prompt_tokens": 16}
        if path in _COMPLETION_PATHS or path.endswith("awPredict"):
            if streaming:
                return self._stream(sse_data(chat_chunks(model=model, usage=bool(self.usage))))
            answer = chat_body(model=model, content=self.content, usage=... if self.usage else no_counts)
            if self.usage is None:
                del answer["usage"]
            return self._json(answer)
        if _CONVERSATION_PATH.match(path):
            if streaming:
                return self._stream(sse_named(conversation_events(usage=bool(self.usage))))
            return self._json(conversation_body(usage=... if self.usage else no_counts))
        if path == "/v1/responses":
            if streaming:
                return self._stream(sse_named(response_events(model=model)))
            return self._json(response_object(model=model, output_tokens=COMPLETION_TOKENS if self.usage else None))
        if path == "/v1/embeddings":
            return self._json(embeddings_body())
        return httpx2.Response(404, json={"detail": "Not Found"})

    def _json(self, payload: dict[str, Any]) -> httpx2.Response:
        return httpx2.Response(200, json=payload, headers=self.headers)

    def _stream(self, events: list[bytes]) -> httpx2.Response:
        stream = Httpx2Events(events)
        self.streams.append(stream)
        return httpx2.Response(200, headers={"content-type": "text/event-stream", **self.headers}, stream=stream)


def transports(server: FakeMistral) -> dict[str, Any]:
    """``client=`` / ``async_client=`` for a Mistral SDK client talking to ``server``."""
    return {
        "client": httpx2.Client(transport=httpx2.MockTransport(server)),
        "async_client": httpx2.AsyncClient(transport=httpx2.MockTransport(server)),
    }


def mistral_client(server: FakeMistral) -> Any:
    from mistralai.client import Mistral

    # No retry_config: the SDK then never retries (its methods retry only when one is configured).
    return Mistral(api_key="test-key", **transports(server))
