"""Input, cached, cache-write and reasoning tokens: read from every provider's usage (plain and streamed), in
the provider's own wire shapes, checked, and carried to ``impacts.inputs``, trackers and exported records."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import anthropic
import httpx2
import openai
import pytest

import genai_footprint as gf
from genai_footprint import _setup
from genai_footprint._events import CallEvent, TokenDetails
from genai_footprint._export._record import to_record

MESSAGES = [{"role": "user", "content": "Summarise the attached report."}]


@pytest.fixture
def events() -> Iterator[list[CallEvent]]:
    gf.init(providers=["openai", "anthropic", "mistralai"], zone="FRA")
    runtime = _setup.current_runtime()
    assert runtime is not None
    seen: list[CallEvent] = []
    runtime.listeners = (seen.append,)
    try:
        yield seen
    finally:
        gf.shutdown()


def _json_client(payload: dict[str, Any]) -> httpx2.Client:
    return httpx2.Client(transport=httpx2.MockTransport(lambda request: httpx2.Response(200, json=payload)))


def _sse_client(chunks: list[dict[str, Any]], *, named: bool = False) -> httpx2.Client:
    def body() -> bytes:
        lines = []
        for chunk in chunks:
            head = f"event: {chunk['type']}\n" if named else ""
            lines.append(f"{head}data: {json.dumps(chunk)}\n\n")
        if not named:
            lines.append("data: [DONE]\n\n")
        return "".join(lines).encode()

    def handle(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(200, content=body(), headers={"content-type": "text/event-stream"})

    return httpx2.Client(transport=httpx2.MockTransport(handle))


def _details(response: Any) -> TokenDetails:
    inputs = response.impacts.inputs
    return TokenDetails(
        input_tokens=inputs.input_tokens,
        cached_input_tokens=inputs.cached_input_tokens,
        cache_write_input_tokens=inputs.cache_write_input_tokens,
        reasoning_tokens=inputs.reasoning_tokens,
    )


# -- OpenAI ---------------------------------------------------------------------------------------------------

OPENAI_USAGE = {
    "prompt_tokens": 2006,
    "completion_tokens": 300,
    "total_tokens": 2306,
    "prompt_tokens_details": {"cached_tokens": 1920, "audio_tokens": 0},
    "completion_tokens_details": {"reasoning_tokens": 192, "audio_tokens": 0},
}
CHAT = {
    "id": "chatcmpl-9x",
    "object": "chat.completion",
    "created": 1765000000,
    "model": "o4-mini-2025-04-16",
    "choices": [
        {"index": 0, "message": {"role": "assistant", "content": "Done."}, "finish_reason": "stop", "logprobs": None}
    ],
    "usage": OPENAI_USAGE,
}


def _openai(http_client: httpx2.Client) -> openai.OpenAI:
    return openai.OpenAI(
        api_key="sk-test", base_url="https://api.openai.com/v1", http_client=http_client, max_retries=0
    )


def test_openai_chat_reports_cached_and_reasoning_tokens(events: list[CallEvent]) -> None:
    response = _openai(_json_client(CHAT)).chat.completions.create(model="o4-mini", messages=MESSAGES)  # type: ignore[arg-type]
    assert _details(response) == TokenDetails(input_tokens=2006, cached_input_tokens=1920, reasoning_tokens=192)
    assert response.impacts.inputs.output_tokens == 300
    (event,) = events
    record = to_record(event)
    assert (record["input_tokens"], record["cached_input_tokens"], record["reasoning_tokens"]) == (2006, 1920, 192)
    assert record["cache_write_input_tokens"] is None  # OpenAI reports none: None, never 0
    assert record["inputs"]["input_tokens"] == 2006


def test_openai_chat_stream_reads_the_usage_chunk(events: list[CallEvent]) -> None:
    base = {"id": "chatcmpl-9y", "object": "chat.completion.chunk", "created": 1765000000, "model": "gpt-4o-mini"}
    chunks = [
        {**base, "choices": [{"index": 0, "delta": {"role": "assistant", "content": "Hi"}, "finish_reason": None}]},
        {**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]},
        {**base, "choices": [], "usage": {**OPENAI_USAGE, "completion_tokens_details": None}},
    ]
    stream = _openai(_sse_client(chunks)).chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, stream=True)  # type: ignore[arg-type]
    assert [c.choices[0].delta.content for c in stream] == ["Hi", None]  # the usage chunk we asked for is hidden
    assert _details(stream) == TokenDetails(input_tokens=2006, cached_input_tokens=1920)


def test_openai_responses_reports_input_details(events: list[CallEvent]) -> None:
    payload = {
        "id": "resp_1",
        "object": "response",
        "created_at": 1765000000,
        "status": "completed",
        "model": "gpt-5-mini-2025-08-07",
        "output": [
            {
                "type": "message",
                "id": "msg_1",
                "status": "completed",
                "role": "assistant",
                "content": [{"type": "output_text", "text": "Done.", "annotations": []}],
            }
        ],
        "parallel_tool_calls": True,
        "tool_choice": "auto",
        "tools": [],
        "usage": {
            "input_tokens": 5000,
            "input_tokens_details": {"cached_tokens": 4096},
            "output_tokens": 120,
            "output_tokens_details": {"reasoning_tokens": 64},
            "total_tokens": 5120,
        },
    }
    response = _openai(_json_client(payload)).responses.create(model="gpt-5-mini", input="Summarise.")
    assert _details(response) == TokenDetails(input_tokens=5000, cached_input_tokens=4096, reasoning_tokens=64)


def test_a_compatible_server_without_details_leaves_them_none(events: list[CallEvent]) -> None:
    usage = {"prompt_tokens": 40, "completion_tokens": 300, "total_tokens": 340}
    response = _openai(_json_client({**CHAT, "usage": usage})).chat.completions.create(
        model="o4-mini",
        messages=MESSAGES,  # type: ignore[arg-type]
    )
    assert _details(response) == TokenDetails(input_tokens=40)


@pytest.mark.parametrize(
    ("usage", "named"),
    [
        ({**OPENAI_USAGE, "prompt_tokens_details": {"cached_tokens": 5000}}, "cached and cache-written input tokens"),
        ({**OPENAI_USAGE, "prompt_tokens": 12.5}, "input_tokens=12.5"),
        ({**OPENAI_USAGE, "completion_tokens_details": {"reasoning_tokens": 400}}, "reasoning_tokens=400"),
    ],
    ids=["cached above input", "fractional input", "reasoning above output"],
)
def test_inconsistent_counts_give_no_number(
    events: list[CallEvent], caplog: pytest.LogCaptureFixture, usage: dict[str, Any], named: str
) -> None:
    with caplog.at_level(logging.WARNING, logger="genai_footprint"):
        response = _openai(_json_client({**CHAT, "usage": usage})).chat.completions.create(
            model="o4-mini",
            messages=MESSAGES,  # type: ignore[arg-type]
        )
    assert response.impacts is None
    assert named in caplog.text and "impacts=None" in caplog.text
    (event,) = events
    assert event.impacts is None and event.details == TokenDetails()


# -- Anthropic --------------------------------------------------------------------------------------------------

ANTHROPIC_USAGE = {
    "input_tokens": 50,
    "cache_creation_input_tokens": 1000,
    "cache_read_input_tokens": 3000,
    "output_tokens": 200,
}
ANTHROPIC_DETAILS = TokenDetails(input_tokens=4050, cached_input_tokens=3000, cache_write_input_tokens=1000)


def _anthropic(http_client: httpx2.Client) -> anthropic.Anthropic:
    return anthropic.Anthropic(api_key="sk-ant-test", http_client=http_client, max_retries=0)


def test_anthropic_input_adds_the_cache_reads_and_writes(events: list[CallEvent]) -> None:
    message = {
        "id": "msg_01",
        "type": "message",
        "role": "assistant",
        "model": "claude-sonnet-4-5-20250929",
        "content": [{"type": "text", "text": "Done."}],
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": ANTHROPIC_USAGE,
    }
    response = _anthropic(_json_client(message)).messages.create(
        model="claude-sonnet-4-5",
        max_tokens=1024,
        messages=MESSAGES,  # type: ignore[arg-type]
    )
    assert _details(response) == ANTHROPIC_DETAILS


@pytest.mark.parametrize("delta_repeats_input", [False, True])
def test_anthropic_stream_reads_message_start_and_delta(events: list[CallEvent], delta_repeats_input: bool) -> None:
    start_usage = {**ANTHROPIC_USAGE, "output_tokens": 1}
    delta_usage: dict[str, Any] = {"output_tokens": 200}
    if delta_repeats_input:  # the API now repeats the cumulative input counts on message_delta
        delta_usage |= {k: v for k, v in ANTHROPIC_USAGE.items() if k != "output_tokens"}
    message = {
        "id": "msg_02",
        "type": "message",
        "role": "assistant",
        "model": "claude-sonnet-4-5-20250929",
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
        "usage": start_usage,
    }
    chunks = [
        {"type": "message_start", "message": message},
        {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
        {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Done."}},
        {"type": "content_block_stop", "index": 0},
        {"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": None}, "usage": delta_usage},
        {"type": "message_stop"},
    ]
    stream = _anthropic(_sse_client(chunks, named=True)).messages.create(
        model="claude-sonnet-4-5",
        max_tokens=1024,
        messages=MESSAGES,  # type: ignore[arg-type]
        stream=True,
    )
    assert len(list(stream)) == len(chunks)
    assert _details(stream) == ANTHROPIC_DETAILS
    assert stream.impacts.inputs.output_tokens == 200


# -- Mistral ----------------------------------------------------------------------------------------------------


def test_mistral_chat_reads_prompt_token_details(events: list[CallEvent]) -> None:
    from mistralai.client import Mistral

    body = {
        "id": "cmpl-1",
        "object": "chat.completion",
        "created": 1765000000,
        "model": "mistral-small-2506",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "Fait."}, "finish_reason": "stop"}],
        "usage": {
            "prompt_tokens": 1200,
            "completion_tokens": 40,
            "total_tokens": 1240,
            "prompt_tokens_details": {"cached_tokens": 1024},
        },
    }
    client = Mistral(api_key="test-key", client=_json_client(body))
    response = client.chat.complete(model="mistral-small-latest", messages=MESSAGES)  # type: ignore[arg-type]
    assert _details(response) == TokenDetails(input_tokens=1200, cached_input_tokens=1024)


def test_mistral_prompt_tokens_it_did_not_send_stay_none(events: list[CallEvent]) -> None:
    from mistralai.client import Mistral

    body = {
        "id": "cmpl-2",
        "object": "chat.completion",
        "created": 1765000000,
        "model": "mistral-small-2506",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "Fait."}, "finish_reason": "stop"}],
        "usage": {"completion_tokens": 40},  # the SDK's model would default prompt_tokens to 0
    }
    client = Mistral(api_key="test-key", client=_json_client(body))
    response = client.chat.complete(model="mistral-small-latest", messages=MESSAGES)  # type: ignore[arg-type]
    assert _details(response) == TokenDetails()


# -- trackers ---------------------------------------------------------------------------------------------------


def test_a_tracker_adds_up_the_counts_per_model(events: list[CallEvent]) -> None:
    client = _openai(_json_client(CHAT))
    with gf.track("agent") as run:
        for _ in range(3):
            client.chat.completions.create(model="o4-mini", messages=MESSAGES)  # type: ignore[arg-type]
    (key,) = run.tokens_by_model
    totals = run.tokens_by_model[key]
    assert key.startswith("openai/")
    assert (totals.calls, totals.output_tokens, totals.input_tokens) == (3, 900, 6018)
    assert (totals.cached_input_tokens, totals.reasoning_tokens, totals.cache_write_input_tokens) == (5760, 576, None)
