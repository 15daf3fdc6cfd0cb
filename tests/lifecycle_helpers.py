"""Offline OpenAI fakes for the lifecycle and never-break tests: the real SDK over ``httpx2.MockTransport``.

Importing this module imports neither ``openai`` nor ``genai_footprint``: subprocess scripts use it to set up
an import ordering before the SDK is loaded.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import textwrap
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

MODEL = "gpt-4o-mini"
SERVED = "gpt-4o-mini-2024-07-18"
TESTS_DIR = Path(__file__).resolve().parent


def chat_body(
    *, completion_tokens: int = 7, content: str = "hi", model: str = SERVED, usage: Any = ..., **overrides: Any
) -> dict[str, Any]:
    """A chat.completion payload; ``usage=None`` sends ``"usage": null``; ``overrides`` drops keys set to ...."""
    body: dict[str, Any] = {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1,
        "model": model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 3, "completion_tokens": completion_tokens, "total_tokens": 3 + completion_tokens}
        if usage is ...
        else usage,
    }
    body.update(overrides)
    return {k: v for k, v in body.items() if v is not ...}


def chat_chunks(request: dict[str, Any], *, completion_tokens: int = 5, words: tuple[str, ...] = ("a", "b", "c")):
    """The chunks of a chat stream for ``request``; a usage chunk only when the request asked for one."""
    base = {"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1, "model": SERVED}
    chunks = [
        {**base, "choices": [{"index": 0, "delta": {"role": "assistant", "content": w}, "finish_reason": None}]}
        for w in words
    ]
    chunks.append({**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
    options = request.get("stream_options") or {}
    if options.get("include_usage"):
        usage = {"prompt_tokens": 3, "completion_tokens": completion_tokens, "total_tokens": 3 + completion_tokens}
        chunks.append({**base, "choices": [], "usage": usage})
    return chunks


def _events(chunks: list[dict[str, Any]]) -> list[bytes]:
    return [f"data: {json.dumps(c)}\n\n".encode() for c in chunks] + [b"data: [DONE]\n\n"]


def _sse_streams() -> tuple[type, type]:
    import httpx2

    class SyncSSE(httpx2.SyncByteStream):
        def __init__(self, events: list[bytes]) -> None:
            self.events = events

        def __iter__(self) -> Iterator[bytes]:
            yield from self.events

    class AsyncSSE(httpx2.AsyncByteStream):
        def __init__(self, events: list[bytes]) -> None:
            self.events = events

        async def __aiter__(self) -> AsyncIterator[bytes]:
            for event in self.events:
                await asyncio.sleep(0)  # let concurrent requests interleave, as on a network
                yield event

    return SyncSSE, AsyncSSE


def chat_handler(respond: Callable[[dict[str, Any]], Any] | None = None, *, asynchronous: bool = False):
    """An httpx2 handler serving chat completions (stream or not).

    ``respond(request_json)`` may return a body dict, an ``httpx2.Response``, or None for the default body.
    """
    import httpx2

    sync_sse, async_sse = _sse_streams()

    def handler(request: Any) -> Any:
        payload = json.loads(request.content)
        answer = respond(payload) if respond is not None else None
        if isinstance(answer, httpx2.Response):
            return answer
        if payload.get("stream"):
            events = _events(answer if answer is not None else chat_chunks(payload))
            stream = async_sse(events) if asynchronous else sync_sse(events)
            return httpx2.Response(200, headers={"content-type": "text/event-stream"}, stream=stream)
        return httpx2.Response(200, json=answer if answer is not None else chat_body())

    async def async_handler(request: Any) -> Any:
        await asyncio.sleep(0)
        return handler(request)

    return async_handler if asynchronous else handler


def client(respond: Callable[[dict[str, Any]], Any] | None = None, *, asynchronous: bool = False) -> Any:
    """A real ``openai.OpenAI`` / ``AsyncOpenAI`` client talking to :func:`chat_handler`; no retries."""
    import httpx2
    import openai

    transport = httpx2.MockTransport(chat_handler(respond, asynchronous=asynchronous))
    if asynchronous:
        return openai.AsyncOpenAI(api_key="sk-test", max_retries=0, http_client=httpx2.AsyncClient(transport=transport))
    return openai.OpenAI(api_key="sk-test", max_retries=0, http_client=httpx2.Client(transport=transport))


MESSAGES = [{"role": "user", "content": "hello"}]


def run_script(code: str) -> subprocess.Popen[str]:
    """Start ``code`` in a fresh interpreter that can import this module (not waited for: see :func:`finish`)."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(TESTS_DIR), os.environ.get("PYTHONPATH", "")])}
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(process: subprocess.Popen[str], timeout: float = 60) -> dict[str, Any]:
    """Wait for a :func:`run_script` process; its last stdout line is a JSON object of results."""
    out, err = process.communicate(timeout=timeout)
    assert process.returncode == 0, f"subprocess failed ({process.returncode}):\n{err}\n{out}"
    lines = [line for line in out.splitlines() if line.strip()]
    assert lines, f"no output; stderr:\n{err}"
    result = json.loads(lines[-1])
    result["_stderr"] = err
    return result
