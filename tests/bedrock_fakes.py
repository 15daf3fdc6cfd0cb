"""An offline Amazon Bedrock: a local HTTP server on 127.0.0.1 speaking the ``bedrock-runtime`` REST protocol
(JSON, and ``application/vnd.amazon.eventstream`` frames built here to the documented binary format with its
CRCs), for real ``boto3`` clients pointed at it with ``endpoint_url`` and dummy credentials."""

from __future__ import annotations

import base64
import json
import struct
import threading
import uuid
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote

MODEL = "anthropic.claude-sonnet-4-5-20250929-v1:0"
OUTPUT_TOKENS = 11
INPUT_TOKENS = 20
CACHE_READ = 5
CACHE_WRITE = 3
STREAM_WORDS = ("Paris", " is", " the", " capital.")


# -- event stream framing --------------------------------------------------------------------------------


def _header(name: str, value: str) -> bytes:
    raw_name, raw_value = name.encode(), value.encode()
    return bytes([len(raw_name)]) + raw_name + bytes([7]) + struct.pack(">H", len(raw_value)) + raw_value


def frame(event_type: str, payload: dict[str, Any], message_type: str = "event") -> bytes:
    """One event-stream message: prelude (total and headers lengths, CRC32), headers, JSON payload, CRC32."""
    type_header = ":event-type" if message_type == "event" else ":exception-type"
    headers = (
        _header(type_header, event_type)
        + _header(":content-type", "application/json")
        + _header(":message-type", message_type)
    )
    body = json.dumps(payload).encode()
    total = 12 + len(headers) + len(body) + 4
    prelude = struct.pack(">II", total, len(headers))
    message = prelude + struct.pack(">I", zlib.crc32(prelude)) + headers + body
    return message + struct.pack(">I", zlib.crc32(message))


def chunk(body: dict[str, Any]) -> bytes:
    """An ``invoke_model_with_response_stream`` chunk: the model's JSON, base64 in ``bytes``."""
    return frame("chunk", {"bytes": base64.b64encode(json.dumps(body).encode()).decode()})


# -- payloads ---------------------------------------------------------------------------------------------


def converse_usage(output: int = OUTPUT_TOKENS) -> dict[str, int]:
    return {
        "inputTokens": INPUT_TOKENS,
        "outputTokens": output,
        "totalTokens": INPUT_TOKENS + output + CACHE_READ + CACHE_WRITE,
        "cacheReadInputTokens": CACHE_READ,
        "cacheWriteInputTokens": CACHE_WRITE,
    }


def converse_body(usage: bool = True) -> dict[str, Any]:
    body: dict[str, Any] = {
        "output": {"message": {"role": "assistant", "content": [{"text": "Paris is the capital of France."}]}},
        "stopReason": "end_turn",
        "metrics": {"latencyMs": 120},
    }
    if usage:
        body["usage"] = converse_usage()
    return body


def converse_stream_frames(usage: bool = True) -> list[bytes]:
    frames = [frame("messageStart", {"role": "assistant"})]
    frames += [frame("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": w}}) for w in STREAM_WORDS]
    frames += [frame("contentBlockStop", {"contentBlockIndex": 0}), frame("messageStop", {"stopReason": "end_turn"})]
    if usage:
        frames.append(frame("metadata", {"usage": converse_usage(), "metrics": {"latencyMs": 90}}))
    return frames


def anthropic_body() -> dict[str, Any]:
    """An Anthropic Messages body, as ``invoke_model`` returns it for Claude."""
    return {
        "id": "msg_bdrk_1",
        "type": "message",
        "role": "assistant",
        "model": "claude-sonnet-4-5-20250929",
        "content": [{"type": "text", "text": "Paris."}],
        "stop_reason": "end_turn",
        "usage": {"input_tokens": INPUT_TOKENS, "output_tokens": OUTPUT_TOKENS},
    }


def anthropic_stream_chunks(metrics: bool = True) -> list[dict[str, Any]]:
    start = {"type": "message_start", "message": {**anthropic_body(), "content": [], "usage": {"output_tokens": 1}}}
    chunks: list[dict[str, Any]] = [start]
    chunks += [
        {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": w}} for w in STREAM_WORDS
    ]
    chunks.append({"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": 9}})
    last: dict[str, Any] = {"type": "message_stop"}
    if metrics:
        last["amazon-bedrock-invocationMetrics"] = {
            "inputTokenCount": INPUT_TOKENS,
            "outputTokenCount": OUTPUT_TOKENS,
            "invocationLatency": 300,
            "firstByteLatency": 100,
        }
    return [*chunks, last]


# -- the server -------------------------------------------------------------------------------------------


class FakeBedrock:
    """Answers ``/model/{modelId}/{converse,converse-stream,invoke,invoke-with-response-stream}``.

    Knobs: ``usage`` (False: no usage anywhere, no token headers), ``error`` (an HTTP status to answer with),
    ``invoke_body`` (the body of ``invoke_model``), ``stream_chunks`` (the JSON chunks of its stream)."""

    def __init__(self) -> None:
        self.usage = True
        self.error: int | None = None
        self.invoke_body: dict[str, Any] = anthropic_body()
        self.stream_chunks: list[dict[str, Any]] | None = None
        self.requests: list[tuple[str, str]] = []  # (model id, action)
        self.count = 0
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                self.rfile.read(length)
                _, _, model, action = self.path.split("?")[0].split("/", 3)
                fake.requests.append((unquote(model), action))
                fake.answer(self, action)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def answer(self, handler: BaseHTTPRequestHandler, action: str) -> None:
        self.count += 1
        request_id = str(uuid.uuid4())  # as AWS: unique across servers and tests
        if self.error is not None:
            payload = json.dumps({"message": "The provided model identifier is invalid."}).encode()
            self._send(handler, self.error, payload, "application/json", request_id, validation_error=True)
            return
        if action == "converse":
            self._send(handler, 200, json.dumps(converse_body(self.usage)).encode(), "application/json", request_id)
        elif action == "converse-stream":
            frames = b"".join(converse_stream_frames(self.usage))
            self._send(handler, 200, frames, "application/vnd.amazon.eventstream", request_id)
        elif action == "invoke":
            headers = (
                {"X-Amzn-Bedrock-Output-Token-Count": str(OUTPUT_TOKENS), "X-Amzn-Bedrock-Input-Token-Count": "20"}
                if self.usage
                else {}
            )
            body = json.dumps(self.invoke_body).encode()
            self._send(handler, 200, body, "application/json", request_id, extra=headers)
        else:
            chunks = self.stream_chunks if self.stream_chunks is not None else anthropic_stream_chunks(self.usage)
            frames = b"".join(chunk(c) for c in chunks)
            self._send(handler, 200, frames, "application/vnd.amazon.eventstream", request_id)

    @staticmethod
    def _send(
        handler: BaseHTTPRequestHandler,
        status: int,
        body: bytes,
        content_type: str,
        request_id: str,
        extra: dict[str, str] | None = None,
        validation_error: bool = False,
    ) -> None:
        handler.send_response(status)
        handler.send_header("Content-Type", content_type)
        handler.send_header("Content-Length", str(len(body)))
        handler.send_header("x-amzn-RequestId", request_id)
        if validation_error:
            handler.send_header("x-amzn-ErrorType", "ValidationException:http://internal.amazon.com/coral/")
        for name, value in (extra or {}).items():
            handler.send_header(name, value)
        handler.end_headers()
        handler.wfile.write(body)

    def client(self, region: str = "eu-west-3") -> Any:
        """A real ``bedrock-runtime`` client of this server, in ``region``, with dummy credentials, no retries."""
        import boto3
        from botocore.config import Config

        return boto3.client(
            "bedrock-runtime",
            region_name=region,
            endpoint_url=self.url,
            aws_access_key_id="x",
            aws_secret_access_key="y",
            config=Config(retries={"max_attempts": 1}),
        )
