"""Instrumentation never breaks the user's call: internal failures, odd payloads, the SDK's own errors, load.

Every test compares an instrumented call with the same call on an uninstrumented client (the real OpenAI
SDK over ``httpx2.MockTransport``): same type, same content, same chunks, same exception.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx2
import lifecycle_helpers as h
import openai
import pytest

import genai_footprint as gf
import genai_footprint._estimate
import genai_footprint._registry
from genai_footprint import _setup
from genai_footprint._export._pipeline import ExportPipeline
from genai_footprint._impacts import Impacts
from genai_footprint._instrument import _openai, _runtime, _tokens

OURS = str(Path(gf.__file__).resolve().parent)
SDK = str(Path(openai.__file__).resolve().parent)


@pytest.fixture(autouse=True)
def _clean(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    gf.shutdown()
    # Counting tokens from text must not start a tiktoken download (nor leave a cached encoder behind).
    monkeypatch.setattr(_tokens, "_encoders", {})
    monkeypatch.setattr(_tokens, "_load_in_background", lambda model: None)
    yield
    runtime = _setup.current_runtime()
    if runtime is not None:
        runtime.listeners = ()
    gf.shutdown()


def _boom(*args: Any, **kwargs: Any) -> Any:
    raise RuntimeError("injected internal failure")


def _estimation_raises(monkeypatch: pytest.MonkeyPatch) -> None:
    # Every estimation entry point the runtime reaches through the module (prepared_for_call is the cached
    # preparation: patched, no cache can skip it).
    for name in ("prepare", "prepared_for_call", "compute"):
        monkeypatch.setattr(genai_footprint._estimate, name, _boom)


def _registry_raises(monkeypatch: pytest.MonkeyPatch) -> None:
    # The registry, under every name the runtime may reach it by.
    for module in (genai_footprint._registry, genai_footprint._estimate):
        monkeypatch.setattr(module, "get_registry", _boom)


def _listener_raises(monkeypatch: pytest.MonkeyPatch) -> None:
    runtime = _setup.current_runtime()
    assert runtime is not None
    runtime.listeners = (_boom,)


class _Exporter:
    def export(self, records: Any) -> None:
        pass


def _export_raises(monkeypatch: pytest.MonkeyPatch) -> None:
    # The export pipeline init() attaches as a listener, failing on the request path (where it queues).
    gf.init(providers=["openai"], exporters=[_Exporter()])
    runtime = _setup.current_runtime()
    assert runtime is not None and runtime.listeners, "init(exporters=...) attaches no listener"
    monkeypatch.setattr(ExportPipeline, "_queue", _boom)


# Each stage of the instrumentation, made to raise; applied after init().
STAGES: dict[str, Callable[[pytest.MonkeyPatch], None]] = {
    "begin": lambda mp: mp.setattr(_openai.ChatCompletions, "begin", _boom),
    "observe": lambda mp: mp.setattr(_openai._Base, "observe", _boom),
    "stream_observer": lambda mp: mp.setattr(_openai.ChatCompletions, "stream_observer", _boom),
    "on_item": lambda mp: mp.setattr(_openai._ChoicesStreamObserver, "on_item", _boom),
    "observer_result": lambda mp: mp.setattr(_openai._ChoicesStreamObserver, "result", _boom),
    "finish": lambda mp: mp.setattr(_runtime.Runtime, "finish", _boom),
    "get_registry": _registry_raises,
    "estimate": _estimation_raises,
    "listener": _listener_raises,
    "export": _export_raises,
}
STREAM_ONLY = {"stream_observer", "on_item", "observer_result"}
CALL_ONLY = {"observe"}
MODES = ["sync", "async", "sync_stream", "async_stream", "sync_helper", "async_helper"]  # helper: .stream()
PLAIN = {"sync", "async"}
CASES = [
    (stage, mode)
    for stage in STAGES
    for mode in MODES
    if not (stage in STREAM_ONLY and mode in PLAIN) and not (stage in CALL_ONLY and mode not in PLAIN)
]


def _run(mode: str, respond: Callable[[dict[str, Any]], Any] | None = None) -> tuple[Any, Any]:
    """One call in ``mode``: (what the SDK call returned, its content as plain data)."""
    asynchronous = mode.startswith("async")
    client = h.client(respond, asynchronous=asynchronous)
    if mode.endswith("helper"):
        return _run_helper(client, asynchronous)
    stream = mode.endswith("stream")
    kwargs: dict[str, Any] = {"model": h.MODEL, "messages": h.MESSAGES}
    if stream:
        kwargs["stream"] = True
    if not asynchronous:
        result = client.chat.completions.create(**kwargs)
        if stream:
            with result:
                return result, [chunk.model_dump() for chunk in result]
        return result, result.model_dump()

    async def go() -> tuple[Any, Any]:
        result = await client.chat.completions.create(**kwargs)
        if stream:
            async with result:
                return result, [chunk.model_dump() async for chunk in result]
        return result, result.model_dump()

    return asyncio.run(go())


def _run_helper(client: Any, asynchronous: bool) -> tuple[Any, Any]:
    """The ``.stream()`` helper: (its ChatCompletionStream, the events and the final completion as plain data)."""
    manager = client.chat.completions.stream(model=h.MODEL, messages=h.MESSAGES)
    if not asynchronous:
        with manager as stream:
            events = [event.model_dump() for event in stream]
        return stream, (events, stream.get_final_completion().model_dump())

    async def go() -> tuple[Any, Any]:
        async with manager as stream:
            events = [event.model_dump() async for event in stream]
        return stream, (events, (await stream.get_final_completion()).model_dump())

    return asyncio.run(go())


def _loud(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "genai_footprint" and r.levelno > logging.DEBUG]


def _internal_errors(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage() for r in caplog.records if r.name == "genai_footprint" and "internal error" in r.getMessage()
    ]


@pytest.mark.parametrize(("stage", "mode"), CASES)
def test_failing_stage_leaves_the_call_untouched(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, stage: str, mode: str
) -> None:
    plain, plain_content = _run(mode)
    gf.init(providers=["openai"])
    STAGES[stage](monkeypatch)
    caplog.set_level(logging.DEBUG, logger="genai_footprint")

    result, content = _run(mode)

    assert isinstance(result, type(plain))
    if "stream" not in mode:
        assert type(result) is type(plain)
    assert content == plain_content, "the user must see exactly the SDK's result (no extra or missing chunk)"
    impacts = getattr(result, "impacts", None)
    assert impacts is None or isinstance(impacts, Impacts)
    assert _loud(caplog) == [], "an internal failure is logged at debug level only"
    assert _internal_errors(caplog), f"the {stage} failure was never reached: the test would prove nothing"


@pytest.mark.parametrize(("stage", "mode"), CASES)
def test_impacts_stays_readable_when_a_stage_fails(monkeypatch: pytest.MonkeyPatch, stage: str, mode: str) -> None:
    """Instrumented results always carry ``impacts`` (None when it could not be computed).

    User code written against the instrumentation reads ``response.impacts``; a missing attribute would turn
    our internal failure into the user's AttributeError.
    """
    gf.init(providers=["openai"])
    STAGES[stage](monkeypatch)
    result, _ = _run(mode)
    assert hasattr(result, "impacts"), f"no impacts attribute after a {stage} failure"
    assert result.impacts is None or isinstance(result.impacts, Impacts)


LONG = "The quick brown fox jumps over the lazy dog. " * 4


def _without(key: str) -> dict[str, Any]:
    body = h.chat_body(content=LONG)
    del body[key]
    return body


ODD_PAYLOADS: dict[str, dict[str, Any]] = {
    "usage_missing": _without("usage"),
    "usage_null": h.chat_body(usage=None, content=LONG),
    "model_missing": _without("model"),
    "model_empty": h.chat_body(model=""),
    "completion_tokens_absent": h.chat_body(usage={"prompt_tokens": 3, "total_tokens": 3}, content=LONG),
    "completion_tokens_null": h.chat_body(
        usage={"prompt_tokens": 3, "completion_tokens": None, "total_tokens": 3}, content=LONG
    ),
    "unknown_model": h.chat_body(model="acme-unreleased-1"),
    "choices_empty": h.chat_body(choices=[]),
    "extra_fields": h.chat_body(system_fingerprint="fp_1", service_tier="default", brand_new_field={"x": 1}),
}


@pytest.mark.parametrize("mode", ["sync", "async"])
@pytest.mark.parametrize("payload", sorted(ODD_PAYLOADS))
def test_odd_payload_is_returned_untouched(caplog: pytest.LogCaptureFixture, payload: str, mode: str) -> None:
    body = ODD_PAYLOADS[payload]
    plain, plain_content = _run(mode, lambda request: body)
    gf.init(providers=["openai"])
    caplog.set_level(logging.DEBUG, logger="genai_footprint")

    result, content = _run(mode, lambda request: body)

    assert type(result) is type(plain) and content == plain_content
    assert hasattr(result, "impacts")
    assert result.impacts is None or isinstance(result.impacts, Impacts)
    assert _internal_errors(caplog) == [], "an odd payload the SDK accepts is not an internal error"
    if payload in ("model_missing", "model_empty", "unknown_model"):
        # The served name is unusable: the requested one (in the registry) is costed instead.
        assert result.impacts is not None and result.impacts.inputs.model_resolved.startswith(h.MODEL)
        assert result.impacts.inputs.output_tokens == 7


@pytest.mark.parametrize("mode", ["sync", "async"])
@pytest.mark.parametrize("payload", ["usage_missing", "usage_null", "completion_tokens_absent"])
def test_response_without_usage_counts_its_text(payload: str, mode: str) -> None:
    """No usage, but the answer's text is right there: impacts must not claim zero output tokens."""
    gf.init(providers=["openai"])
    result, _ = _run(mode, lambda request: ODD_PAYLOADS[payload])
    impacts = result.impacts
    assert impacts is None or impacts.inputs.output_tokens > 0, (
        f"{impacts.inputs.output_tokens} output tokens ({impacts.inputs.tokens_source}) for a "
        f"{len(LONG)}-character answer"
    )


@pytest.mark.parametrize("mode", ["sync_stream", "async_stream"])
def test_stream_without_usage_and_with_empty_model(mode: str) -> None:
    def respond(request: dict[str, Any]) -> list[dict[str, Any]]:
        chunks = h.chat_chunks(request)
        chunks[0] = {**chunks[0], "model": "", "choices": []}  # Azure-style first chunk
        return [c for c in chunks if c["choices"]]  # and the usage chunk never comes

    _, plain_content = _run(mode, respond)
    gf.init(providers=["openai"])
    result, content = _run(mode, respond)
    assert content == plain_content
    assert result.impacts is None or result.impacts.inputs.output_tokens > 0


# -- the SDK's own errors propagate untouched -------------------------------------------------------------


def _server_error(request: dict[str, Any]) -> httpx2.Response:
    return httpx2.Response(500, json={"error": {"message": "upstream exploded", "type": "server_error"}})


def _capture(mode: str, respond: Callable[[dict[str, Any]], Any] | None, **kwargs: Any) -> dict[str, Any]:
    """Where (call or await) and what the SDK raised."""
    client = h.client(respond, asynchronous=mode == "async")
    arguments = {"model": h.MODEL, "messages": h.MESSAGES, **kwargs}
    arguments = {k: v for k, v in arguments.items() if v is not ...}
    when = "call"
    try:
        result = client.chat.completions.create(**arguments)
        if mode == "async":
            when = "await"
            asyncio.run(_await(result))
    except Exception as error:
        frames = traceback.extract_tb(error.__traceback__)
        return {
            "when": when,
            "error": error,
            "type": type(error),
            "args": error.args,
            "str": str(error),
            "innermost": (frames[-1].filename, frames[-1].name),
            "context": type(error.__context__),
            "cause": type(error.__cause__),
        }
    raise AssertionError("the SDK did not raise")


async def _await(awaitable: Any) -> Any:
    return await awaitable


ERRORS = {
    "http_500": (_server_error, {}),
    "http_500_stream": (_server_error, {"stream": True}),
    "missing_messages": (None, {"messages": ...}),
    "missing_messages_stream": (None, {"messages": ..., "stream": True}),
    "unexpected_argument": (None, {"no_such_argument": 1}),
}


@pytest.mark.parametrize("mode", ["sync", "async"])
@pytest.mark.parametrize("case", sorted(ERRORS))
def test_sdk_errors_propagate_unchanged(case: str, mode: str) -> None:
    respond, kwargs = ERRORS[case]
    plain = _capture(mode, respond, **kwargs)
    gf.init(providers=["openai"])
    ours = _capture(mode, respond, **kwargs)

    assert ours["when"] == plain["when"], "raised at call time vs await time must not change"
    for key in ("type", "args", "str", "innermost", "context", "cause"):
        assert ours[key] == plain[key], key
    assert ours["innermost"][0].startswith(SDK) and not ours["innermost"][0].startswith(OURS)
    if isinstance(plain["error"], openai.APIStatusError):
        assert ours["error"].status_code == plain["error"].status_code == 500
        assert ours["error"].body == plain["error"].body


def test_async_argument_errors_raise_at_call_time() -> None:
    """The SDK checks required arguments synchronously, even on async clients: so must the wrapper."""
    gf.init(providers=["openai"])
    client = h.client(asynchronous=True)
    with pytest.raises(TypeError, match="Missing required argument"):
        client.chat.completions.create(model=h.MODEL)


# -- concurrency --------------------------------------------------------------------------------------------


def _tokens_for(request: dict[str, Any]) -> int:
    return int(request["messages"][0]["content"].removeprefix("request-")) + 1


def _keyed(request: dict[str, Any]) -> Any:
    tokens = _tokens_for(request)
    if request.get("stream"):
        return h.chat_chunks(request, completion_tokens=tokens)
    return h.chat_body(completion_tokens=tokens)


def _messages(n: int) -> list[dict[str, str]]:
    return [{"role": "user", "content": f"request-{n}"}]


async def test_concurrent_async_calls_each_get_their_own_impacts() -> None:
    gf.init(providers=["openai"])
    seen: list[float] = []
    runtime = _setup.current_runtime()
    assert runtime is not None
    runtime.listeners = (lambda event: seen.append(event.output_tokens),)
    client = h.client(_keyed, asynchronous=True)

    async def one(n: int) -> float:
        if n % 2:
            stream = await client.chat.completions.create(model=h.MODEL, messages=_messages(n), stream=True)
            chunks = [chunk async for chunk in stream]
            assert all(chunk.choices for chunk in chunks)
            return stream.impacts.inputs.output_tokens
        result = await client.chat.completions.create(model=h.MODEL, messages=_messages(n))
        return result.impacts.inputs.output_tokens

    got = await asyncio.gather(*(one(n) for n in range(200)))
    assert got == [float(n + 1) for n in range(200)]
    assert sorted(seen) == [float(n + 1) for n in range(200)], "one listener call per request"


def test_threads_each_get_their_own_impacts() -> None:
    gf.init(providers=["openai"])
    client = h.client(_keyed)
    results: dict[int, float] = {}
    errors: list[BaseException] = []
    start = threading.Barrier(8)

    def worker(thread: int) -> None:
        try:
            start.wait()
            for i in range(25):
                n = thread * 25 + i
                if i % 5 == 0:
                    stream = client.chat.completions.create(model=h.MODEL, messages=_messages(n), stream=True)
                    list(stream)
                    results[n] = stream.impacts.inputs.output_tokens
                else:
                    result = client.chat.completions.create(model=h.MODEL, messages=_messages(n))
                    results[n] = result.impacts.inputs.output_tokens
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=worker, args=(t,)) for t in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert results == {n: float(n + 1) for n in range(200)}
