"""The demo's fake OpenAI, Anthropic and Mistral: the endpoints the agent calls, served in-process to the real
SDK clients through ``httpx2.MockTransport``, answering with payloads shaped like the public API references.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import httpx2

OPENAI_SERVED = "gpt-4o-mini-2024-07-18"
ANTHROPIC_SERVED = "claude-haiku-4-5-20251001"
MISTRAL_SERVED = "mistral-small-latest"  # the chat API answers with the model name it was asked for
_CREATED = 1_763_812_800

# Latencies in seconds, a fraction of what the real APIs take for these token counts, so that the agent's four
# calls take about 1.5 s; the stream waits before its first event, then between two events.
_PLAN_S, _TOOL_S, _SUMMARY_S = 0.35, 0.3, 0.2
_ANSWER_FIRST_S, _ANSWER_GAP_S = 0.15, 0.006

_PLAN = (
    "1. Take the one-way rail distance given in the question: 427 km.\n"
    "2. Double it for the return trip: 854 km.\n"
    "3. Convert 854 km to miles with the convert_units tool.\n"
    "4. Answer with the distance in miles, rounded to one decimal, and give the kilometre figure as well "
    "so the reader can check the conversion."
)
_ANSWER = (
    "The return trip between Paris and Lyon is twice the one-way distance: 2 × 427 km = 854 km. "
    "Converted with the tool, 854 km is 530.65 miles, so the return trip is about 530.7 miles. "
    "For reference, one mile is 1.609344 km; the one-way journey alone is about 265.3 miles. "
    "On a high-speed TGV the 427 km take roughly two hours each way, so the full return trip is about "
    "four hours of travel."
)
_SUMMARY = "The Paris–Lyon return trip by train is 854 km, about 530.7 miles."


def _openai_usage(prompt: int, completion: int) -> dict[str, Any]:
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
        "completion_tokens_details": {
            "reasoning_tokens": 0,
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
        },
    }


def _chat_completion() -> dict[str, Any]:
    return {
        "id": "chatcmpl-CjX4rT9wq2m8ZK7uVbN3pLd0eHf1s",
        "object": "chat.completion",
        "created": _CREATED,
        "model": OPENAI_SERVED,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": _PLAN, "refusal": None, "annotations": []},
                "logprobs": None,
                "finish_reason": "stop",
            }
        ],
        "usage": _openai_usage(64, 142),
        "service_tier": "default",
        "system_fingerprint": "fp_560af6e559",
    }


def _tool_use_message() -> dict[str, Any]:
    return {
        "id": "msg_01Hq7ZkT3vWb5nXy8RcJ2mPa",
        "type": "message",
        "role": "assistant",
        "model": ANTHROPIC_SERVED,
        "content": [
            {
                "type": "tool_use",
                "id": "toolu_01Xb4sVq9LwE2rTz6NkY8dGh",
                "name": "convert_units",
                "input": {"value": 854, "from_unit": "km", "to_unit": "mi"},
            }
        ],
        "stop_reason": "tool_use",
        "stop_sequence": None,
        "usage": {
            "input_tokens": 742,
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 0,
            "output_tokens": 71,
            "service_tier": "standard",
        },
    }


def _mistral_chunks() -> list[dict[str, Any]]:
    """A streamed Mistral chat answer: a role chunk, one chunk per word, a finish chunk carrying the usage."""
    head = {"id": "3f9c1b7e2a8d4c6f9e0b5a7d1c3e8f2a", "object": "chat.completion.chunk", "created": _CREATED}
    head["model"] = MISTRAL_SERVED

    def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        return {**head, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}

    words = _ANSWER.split(" ")
    chunks = [chunk({"role": "assistant", "content": ""})]
    chunks += [chunk({"content": word if i == 0 else " " + word}) for i, word in enumerate(words)]
    last = chunk({"content": ""}, "stop")
    last["usage"] = {"prompt_tokens": 318, "completion_tokens": 236, "total_tokens": 554}
    return [*chunks, last]


def _response() -> dict[str, Any]:
    """An OpenAI Responses API ``response`` object."""
    return {
        "id": "resp_0b8c2e7f4a1d9b3c0068f1a2b3c4d5e6f70819a2b3c4d5e6",
        "object": "response",
        "created_at": _CREATED,
        "status": "completed",
        "error": None,
        "incomplete_details": None,
        "instructions": None,
        "max_output_tokens": 200,
        "model": OPENAI_SERVED,
        "output": [
            {
                "type": "message",
                "id": "msg_0b8c2e7f4a1d9b3c0068f1a2b4e5f6a7b80819c3d4e5f6a7",
                "status": "completed",
                "role": "assistant",
                "content": [{"type": "output_text", "text": _SUMMARY, "annotations": [], "logprobs": []}],
            }
        ],
        "parallel_tool_calls": True,
        "previous_response_id": None,
        "reasoning": {"effort": None, "summary": None},
        "store": True,
        "temperature": 1.0,
        "text": {"format": {"type": "text"}},
        "tool_choice": "auto",
        "tools": [],
        "top_p": 1.0,
        "truncation": "disabled",
        "usage": {
            "input_tokens": 291,
            "input_tokens_details": {"cached_tokens": 0},
            "output_tokens": 48,
            "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": 339,
        },
        "user": None,
        "metadata": {},
    }


class FakeProviders:
    """The OpenAI, Anthropic and Mistral endpoints the demo uses, answering the SDKs as the real APIs do.

    ``paced=False`` answers at once (tests); otherwise each answer waits its share of a realistic, shortened
    latency, a stream between every event.
    """

    def __init__(self, *, paced: bool = True) -> None:
        self.paced = paced

    def _route(self, request: httpx2.Request) -> tuple[float, httpx2.Response]:
        import httpx2

        host, path = request.url.host, request.url.path
        body = json.loads(request.content) if request.content else {}
        if host == "api.openai.com" and path == "/v1/chat/completions" and not body.get("stream"):
            headers = {"x-request-id": "req_5c1e0a9b7d3f4e28a6b0c9d1e2f3a4b5", "openai-processing-ms": "341"}
            return _PLAN_S, httpx2.Response(200, json=_chat_completion(), headers=headers)
        if host == "api.openai.com" and path == "/v1/responses" and not body.get("stream"):
            headers = {"x-request-id": "req_9a8b7c6d5e4f30a1b2c3d4e5f6a7b8c9", "openai-processing-ms": "188"}
            return _SUMMARY_S, httpx2.Response(200, json=_response(), headers=headers)
        if host == "api.anthropic.com" and path == "/v1/messages" and not body.get("stream"):
            headers = {"request-id": "req_011CVx3kQ8mZr4TnP7aLw2Jd"}
            return _TOOL_S, httpx2.Response(200, json=_tool_use_message(), headers=headers)
        if host == "api.mistral.ai" and path == "/v1/chat/completions" and body.get("stream") is True:
            events = [f"data: {json.dumps(c)}\n\n".encode() for c in _mistral_chunks()] + [b"data: [DONE]\n\n"]
            gap = _ANSWER_GAP_S if self.paced else 0.0
            headers = {"content-type": "text/event-stream; charset=utf-8"}
            return _ANSWER_FIRST_S, httpx2.Response(200, content=_paced(events, gap), headers=headers)
        error = {"error": {"message": f"the demo's fake provider does not serve {request.method} {host}{path}"}}
        return 0.0, httpx2.Response(404, json=error)

    def handle(self, request: httpx2.Request) -> httpx2.Response:
        """The sync clients' transport handler."""
        delay, response = self._route(request)
        if self.paced:
            time.sleep(delay)
        return response

    async def ahandle(self, request: httpx2.Request) -> httpx2.Response:
        """The async clients' transport handler."""
        delay, response = self._route(request)
        if self.paced:
            await asyncio.sleep(delay)
        return response

    def http_client(self) -> httpx2.Client:
        import httpx2

        return httpx2.Client(transport=httpx2.MockTransport(self.handle))

    def async_http_client(self) -> httpx2.AsyncClient:
        import httpx2

        return httpx2.AsyncClient(transport=httpx2.MockTransport(self.ahandle))


def _paced(events: list[bytes], gap: float) -> Iterator[bytes]:
    """A response body served one SSE event at a time, ``gap`` seconds apart, as over a network."""
    for event in events:
        if gap:
            time.sleep(gap)
        yield event
