"""What the offline HTTP fakes share: SSE encoders, a response body handed out one event at a time through
``httpx.MockTransport`` (the legacy ``httpx``, used by the groq and cohere SDKs) or ``httpx2.MockTransport``, and
a JSON answer from a local ``http.server`` handler."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from http.server import BaseHTTPRequestHandler
from typing import Any

import httpx
import httpx2


def record(request: Any, requests: list[tuple[str, dict[str, Any]]]) -> tuple[str, dict[str, Any]]:
    """The path and JSON body (``{}`` when empty) of ``request``, also appended to ``requests``."""
    path, body = request.url.path, json.loads(request.content) if request.content else {}
    requests.append((path, body))
    return path, body


def sse_data(chunks: list[dict[str, Any]], *, done: bool = True) -> list[bytes]:
    """``data: {...}`` events, then ``data: [DONE]`` (unless ``done=False``)."""
    events = [f"data: {json.dumps(c)}\n\n".encode() for c in chunks]
    if done:
        events.append(b"data: [DONE]\n\n")
    return events


def sse_named(events: list[tuple[str, dict[str, Any]]]) -> list[bytes]:
    """``event: name`` / ``data: {...}`` events."""
    return [f"event: {name}\ndata: {json.dumps(data)}\n\n".encode() for name, data in events]


class _EventFeed:
    """A response body handed out one event at a time, for both the sync and the async client, so an early break
    or a close stops reading as it would on a network. ``sent`` counts the events read, ``closed`` says whether
    the body was closed."""

    def __init__(self, events: list[bytes]) -> None:
        self.events = events
        self.sent = 0
        self.closed = False

    def __iter__(self) -> Iterator[bytes]:
        for event in self.events:
            if self.closed:
                return
            self.sent += 1
            yield event

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for event in self.events:
            if self.closed:
                return
            self.sent += 1
            yield event

    def close(self) -> None:
        self.closed = True

    async def aclose(self) -> None:
        self.closed = True


class HttpxEvents(_EventFeed, httpx.SyncByteStream, httpx.AsyncByteStream):
    """An event-at-a-time body for the legacy ``httpx``."""


class Httpx2Events(_EventFeed, httpx2.SyncByteStream, httpx2.AsyncByteStream):
    """An event-at-a-time body for ``httpx2``."""


def answer_json(handler: BaseHTTPRequestHandler, body: bytes, status: int = 200) -> None:
    """Answers the request ``handler`` is serving with ``body``, a JSON document."""
    handler.send_response(status)
    handler.send_header("content-type", "application/json")
    handler.send_header("content-length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)
