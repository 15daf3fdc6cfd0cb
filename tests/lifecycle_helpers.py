"""Offline OpenAI fakes for the lifecycle and never-break tests (the real SDK over ``httpx2.MockTransport``),
and ``class_vars_report``: what init(), calls and shutdown() leave on every SDK class they touch.

Importing this module imports neither an SDK nor ``genai_footprint``: subprocess scripts use it to set up
an import ordering before the SDK is loaded.
"""

from __future__ import annotations

import asyncio
import importlib
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


# -- the classes instrumentation touches, and what shutdown() leaves on them ---------------------------------
#
# ``class_vars_report(provider)`` runs in a fresh interpreter (``run_script``), so that the "before" snapshot is
# of classes no earlier init() in the process ever saw. It imports every module the provider's targets name,
# makes real calls over the provider's fake server (plain, stream, raw, stream helper; sync and async) without
# instrumentation to learn every response / stream / item / helper class, snapshots ``dict(vars(cls))`` of all
# of them and of the target owners (and their bases), then init(), the same calls, shutdown(), and compares.

SDK_MODEL = {"openai": "gpt-4o-mini", "anthropic": "claude-haiku-4-5", "mistralai": "mistral-small-latest"}
ASK = [{"role": "user", "content": "What is the capital of France?"}]


class Touched:
    """The classes of what the SDK calls returned (through our proxies) and the instrumented results."""

    def __init__(self) -> None:
        self.classes: list[type] = []
        self.results: list[tuple[str, Any]] = []  # (what, object the caller got): each must carry impacts

    def add(self, obj: Any) -> None:
        cls = type(obj)
        while cls.__module__.startswith("genai_footprint"):  # one of our proxies: the SDK's object is inside
            obj = obj.__wrapped__
            cls = type(obj)
        if cls not in self.classes:
            self.classes.append(cls)

    def result(self, what: str, obj: Any) -> Any:
        self.add(obj)
        self.results.append((what, obj))
        return obj

    def items(self, stream: Any) -> None:
        self.add(stream)
        for item in stream:
            self.add(item)

    async def aitems(self, stream: Any) -> None:
        self.add(stream)
        async for item in stream:
            self.add(item)


def _raw_responses(seen: Touched, completions: Any, chat: dict[str, Any]) -> None:
    """A chat completion through ``with_raw_response`` and ``with_streaming_response`` (OpenAI-shaped SDKs)."""
    raw = completions.with_raw_response.create(**chat)
    seen.add(raw)
    seen.result("chat raw", raw.parse())
    with completions.with_streaming_response.create(**chat) as response:
        seen.add(response)
        seen.result("chat streaming response", response.parse())


def _openai_calls(seen: Touched) -> None:
    import openai_fakes

    server = openai_fakes.FakeOpenAI()
    client, aclient = server.client(), server.async_client()
    chat = {"model": SDK_MODEL["openai"], "messages": ASK}
    seen.result("chat", client.chat.completions.create(**chat))
    seen.result("chat.parse", client.chat.completions.parse(**chat))
    stream = seen.result("chat stream", client.chat.completions.create(**chat, stream=True))
    seen.items(stream)
    _raw_responses(seen, client.chat.completions, chat)
    manager = client.chat.completions.stream(**chat)
    seen.add(manager)
    with manager as helper:
        seen.result("chat helper", helper)
        seen.items(helper)
    seen.result("chat helper final", helper.get_final_completion())
    responses = {"model": openai_fakes.RESPONSES_MODEL, "input": "hi"}
    seen.result("responses", client.responses.create(**responses))
    seen.items(seen.result("responses stream", client.responses.create(**responses, stream=True)))
    with client.responses.stream(**responses) as helper:
        seen.result("responses helper", helper)
        seen.items(helper)
        seen.result("responses helper final", helper.get_final_response())
    legacy = {"model": openai_fakes.LEGACY_MODEL, "prompt": "hi"}
    seen.result("legacy", client.completions.create(**legacy))
    seen.items(seen.result("legacy stream", client.completions.create(**legacy, stream=True)))

    async def asynchronous() -> None:
        seen.result("async chat", await aclient.chat.completions.create(**chat))
        await seen.aitems(seen.result("async chat stream", await aclient.chat.completions.create(**chat, stream=True)))
        raw = await aclient.chat.completions.with_raw_response.create(**chat)
        seen.add(raw)
        seen.result("async chat raw", raw.parse())
        async with aclient.chat.completions.with_streaming_response.create(**chat) as response:
            seen.add(response)
            seen.result("async chat streaming response", await response.parse())
        manager = aclient.chat.completions.stream(**chat)
        seen.add(manager)
        async with manager as helper:
            seen.result("async chat helper", helper)
            await seen.aitems(helper)
        seen.result("async chat helper final", await helper.get_final_completion())
        async with aclient.responses.stream(**responses) as helper:
            seen.result("async responses helper", helper)
            await seen.aitems(helper)

    asyncio.run(asynchronous())


def _anthropic_calls(seen: Touched) -> None:
    import anthropic_fakes

    server = anthropic_fakes.FakeAnthropic()
    client, aclient = server.client(), server.async_client()
    request = {"model": SDK_MODEL["anthropic"], "max_tokens": 64, "messages": ASK}
    for name, messages in (("messages", client.messages), ("beta", client.beta.messages)):
        seen.result(name, messages.create(**request))
        seen.items(seen.result(f"{name} stream", messages.create(**request, stream=True)))
        raw = messages.with_raw_response.create(**request)
        seen.add(raw)
        seen.result(f"{name} raw", raw.parse())
        with messages.with_streaming_response.create(**request) as response:
            seen.add(response)
            seen.result(f"{name} streaming response", response.parse())
        manager = messages.stream(**request)
        seen.add(manager)
        with manager as helper:
            seen.result(f"{name} helper", helper)
            seen.items(helper)
            seen.result(f"{name} helper final", helper.get_final_message())

    async def asynchronous() -> None:
        for name, messages in (("async messages", aclient.messages), ("async beta", aclient.beta.messages)):
            seen.result(name, await messages.create(**request))
            await seen.aitems(seen.result(f"{name} stream", await messages.create(**request, stream=True)))
            raw = await messages.with_raw_response.create(**request)
            seen.add(raw)
            seen.result(f"{name} raw", await raw.parse())
            manager = messages.stream(**request)
            seen.add(manager)
            async with manager as helper:
                seen.result(f"{name} helper", helper)
                await seen.aitems(helper)
                seen.result(f"{name} helper final", await helper.get_final_message())

    asyncio.run(asynchronous())


def _mistral_calls(seen: Touched) -> None:
    import mistral_fakes

    client = mistral_fakes.mistral_client(mistral_fakes.FakeMistral())
    chat = {"model": SDK_MODEL["mistralai"], "messages": ASK}
    conversation = {"inputs": "hi", "model": mistral_fakes.CONVERSATION_MODEL}
    seen.result("chat", client.chat.complete(**chat))
    with client.chat.stream(**chat) as stream:  # mistralai has neither raw responses nor a stream helper
        seen.result("chat stream", stream)
        seen.items(stream)
    seen.result("fim", client.fim.complete(model="codestral-latest", prompt="def f("))
    seen.result("conversation", client.beta.conversations.start(**conversation))
    seen.items(seen.result("conversation stream", client.beta.conversations.start_stream(**conversation)))
    seen.result("responses", client.responses.create(model=SDK_MODEL["mistralai"], input="hi"))

    async def asynchronous() -> None:
        seen.result("async chat", await client.chat.complete_async(**chat))
        await seen.aitems(seen.result("async chat stream", await client.chat.stream_async(**chat)))

    asyncio.run(asynchronous())


SDK_CALLS: dict[str, Callable[[Touched], None]] = {
    "openai": _openai_calls,
    "anthropic": _anthropic_calls,
    "mistralai": _mistral_calls,
}


def _vars_changes(before: dict[str, Any], after: dict[str, Any]) -> dict[str, list[str]]:
    """The keys ``after`` added, dropped, or holds another object under (``is``, not ``==``)."""
    return {
        "added": sorted(set(after) - set(before)),
        "removed": sorted(set(before) - set(after)),
        "replaced": sorted(key for key in set(before) & set(after) if after[key] is not before[key]),
    }


def class_vars_report(provider: str) -> dict[str, Any]:
    """Run in a fresh interpreter: what init(), calls and shutdown() left on every class they touched."""
    import genai_footprint as gf
    from genai_footprint._instrument import _anthropic, _mistralai, _openai
    from genai_footprint._instrument._wrappers import installed

    specs = {"openai": _openai.SPEC, "anthropic": _anthropic.SPEC, "mistralai": _mistralai.SPEC, **_extra_specs()}
    spec = specs[provider]
    modules, skipped = {}, {}
    for name in dict.fromkeys(target.module for target in spec.targets):
        try:
            modules[name] = importlib.import_module(name)
        except ImportError as error:  # an optional extra (e.g. mistralai[gcp] needs google-auth)
            skipped[name] = repr(error)
    targets = [(t, getattr(modules[t.module], t.owner)) for t in spec.targets if t.module in modules]
    owners = list(dict.fromkeys(owner for _, owner in targets))

    plain = Touched()
    SDK_CALLS[provider](plain)  # uninstrumented: the SDK's own response, stream, item and helper classes
    unexpected = [what for what, obj in plain.results if "impacts" in getattr(obj, "__dict__", {})]
    classes = list(dict.fromkeys(base for cls in [*owners, *plain.classes] for base in cls.__mro__))
    before = {cls: dict(vars(cls)) for cls in classes}

    gf.init(providers=[provider], strict=True)
    not_wrapped = [
        f"{t.module}.{t.owner}.{t.method}" for t, owner in targets if not installed(owner.__dict__[t.method])
    ]
    instrumented = Touched()
    SDK_CALLS[provider](instrumented)
    gf.shutdown()
    still_wrapped = [f"{t.module}.{t.owner}.{t.method}" for t, owner in targets if installed(owner.__dict__[t.method])]

    changed = {}
    for cls in classes:
        changes = _vars_changes(before[cls], dict(vars(cls)))
        if any(changes.values()):
            changed[f"{cls.__module__}.{cls.__qualname__}"] = changes
    return {
        "modules": len(modules) + len(skipped),
        "skipped": skipped,
        "targets": len(targets),
        "owners": len(owners),
        "sdk_classes": len(plain.classes),
        "classes": len(classes),
        "calls": len(plain.results),
        "unexpected_impacts": unexpected,
        "not_wrapped": not_wrapped,
        "still_wrapped": still_wrapped,
        "not_snapshotted": [f"{c.__module__}.{c.__qualname__}" for c in instrumented.classes if c not in before],
        "without_impacts": [what for what, obj in instrumented.results if not hasattr(obj, "impacts")],
        "impacts_none": [what for what, obj in instrumented.results if getattr(obj, "impacts", None) is None],
        "changed": changed,
    }


# -- SDKs added later: their calls, and their specs (read by class_vars_report) -------------------------------


def _groq_calls(seen: Touched) -> None:
    import groq_fakes

    server = groq_fakes.FakeGroq()
    client, aclient = server.client(), server.async_client()
    chat = {"model": groq_fakes.MODEL, "messages": ASK}
    seen.result("chat", client.chat.completions.create(**chat))
    seen.items(seen.result("chat stream", client.chat.completions.create(**chat, stream=True)))
    with client.chat.completions.create(**chat, stream=True) as stream:
        seen.result("chat stream with", stream)
        seen.items(stream)
    _raw_responses(seen, client.chat.completions, chat)
    seen.add(client.embeddings.create(model="nomic-embed-text-v1_5", input="hi"))

    async def asynchronous() -> None:
        seen.result("async chat", await aclient.chat.completions.create(**chat))
        await seen.aitems(seen.result("async chat stream", await aclient.chat.completions.create(**chat, stream=True)))
        raw = await aclient.chat.completions.with_raw_response.create(**chat)
        seen.add(raw)
        seen.result("async chat raw", await raw.parse())

    asyncio.run(asynchronous())


def _cohere_calls(seen: Touched) -> None:
    import cohere_fakes

    server = cohere_fakes.FakeCohere()
    v2 = {"model": cohere_fakes.MODEL, "messages": ASK}
    v1 = {"model": cohere_fakes.V1_MODEL, "message": "What is the capital of France?"}
    for name, client in (("v2", server.client_v2()), ("v1.v2", server.client_v1().v2)):
        seen.result(f"{name} chat", client.chat(**v2))
        seen.items(seen.result(f"{name} chat_stream", client.chat_stream(**v2)))
    client = server.client_v1()
    seen.result("v1 chat", client.chat(**v1))
    seen.items(seen.result("v1 chat_stream", client.chat_stream(**v1)))
    seen.add(server.client_v2().embed(model="embed-v4.0", texts=["hi"], input_type="search_query"))
    seen.add(server.client_v2().rerank(model="rerank-v3.5", query="q", documents=["a", "b"]))

    async def asynchronous() -> None:
        aclient = server.async_client_v2()
        seen.result("async v2 chat", await aclient.chat(**v2))
        await seen.aitems(seen.result("async v2 chat_stream", aclient.chat_stream(**v2)))
        av1 = server.async_client_v1()
        seen.result("async v1 chat", await av1.chat(**v1))
        await seen.aitems(seen.result("async v1 chat_stream", av1.chat_stream(**v1)))

    asyncio.run(asynchronous())


def _extra_specs() -> dict[str, Any]:
    from genai_footprint._instrument import _cohere, _groq

    return {"groq": _groq.SPEC, "cohere": _cohere.SPEC}


SDK_CALLS["groq"] = _groq_calls
SDK_CALLS["cohere"] = _cohere_calls


# -- Google Gemini (google-genai) ------------------------------------------------------------------------------


def _google_calls(seen: Touched) -> None:
    import google_fakes

    server = google_fakes.FakeGemini()
    client = server.client()
    model = google_fakes.MODEL
    seen.result("generate_content", client.models.generate_content(model=model, contents="hi"))
    stream = seen.result("stream", client.models.generate_content_stream(model=model, contents="hi"))
    seen.items(stream)
    chat = client.chats.create(model=model)
    seen.result("chat", chat.send_message("hi"))
    seen.result("chat stream, last chunk", list(chat.send_message_stream("hi"))[-1])
    seen.result("vertex", server.vertex_client().models.generate_content(model=model, contents="hi"))
    seen.add(client.models.embed_content(model="gemini-embedding-001", contents="hi"))

    async def asynchronous() -> None:
        seen.result("async", await client.aio.models.generate_content(model=model, contents="hi"))
        stream = seen.result(
            "async stream", await client.aio.models.generate_content_stream(model=model, contents="hi")
        )
        await seen.aitems(stream)
        seen.result("async chat", await client.aio.chats.create(model=model).send_message("hi"))

    asyncio.run(asynchronous())


_specs_without_google = _extra_specs


def _extra_specs() -> dict[str, Any]:  # the table above, and Google's spec
    from genai_footprint._instrument import _google

    return {**_specs_without_google(), "google": _google.SPEC}


SDK_CALLS["google"] = _google_calls


# -- Amazon Bedrock (boto3 bedrock-runtime): the response is a dict; its stream and body carry impacts ----------


def _bedrock_calls(seen: Touched) -> None:
    import bedrock_fakes

    server = bedrock_fakes.FakeBedrock()
    client = server.client()
    messages = [{"role": "user", "content": [{"text": "hi"}]}]
    model = bedrock_fakes.MODEL
    seen.add(client.converse(modelId=model, messages=messages))  # a dict: its impacts are kept by request id
    response = client.converse_stream(modelId=model, messages=messages)
    seen.add(response)
    seen.items(seen.result("converse_stream", response["stream"]))
    response = client.invoke_model(modelId=model, body=b"{}")
    seen.result("invoke_model body", response["body"]).read()
    response = client.invoke_model_with_response_stream(modelId=model, body=b"{}")
    seen.items(seen.result("invoke_model_with_response_stream", response["body"]))
    server.usage = False  # no token-count header: the body is read through our reader
    seen.result("invoke_model body, no header", client.invoke_model(modelId=model, body=b"{}")["body"]).read()
    server.invoke_body = {"embedding": [0.1, 0.2], "inputTextTokenCount": 2}
    seen.add(client.invoke_model(modelId="amazon.titan-embed-text-v2:0", body=b"{}")["body"])
    server.close()


_specs_without_bedrock = _extra_specs


def _extra_specs() -> dict[str, Any]:  # the tables above, and Bedrock's spec
    from genai_footprint._instrument import _bedrock

    return {**_specs_without_bedrock(), "bedrock": _bedrock.SPEC}


SDK_CALLS["bedrock"] = _bedrock_calls


# -- Hugging Face (huggingface_hub): streams are generators, text_generation may return a str ------------------


def _huggingface_calls(seen: Touched) -> None:
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
    import huggingface_fakes as hf

    server = hf.FakeHub()
    server.install()
    client, aclient = server.client(provider="together"), server.async_client(provider="together")
    tgi = server.client(provider="hf-inference")
    seen.result("chat", client.chat_completion(ASK, model=hf.HUB_ID))
    seen.result("chat.completions.create", client.chat.completions.create(model=hf.HUB_ID, messages=ASK))
    stream = client.chat_completion(ASK, model=hf.HUB_ID, stream=True)
    seen.items(stream)
    seen.result("chat stream", stream)
    seen.result("text_generation details", tgi.text_generation("hi", model=hf.HUB_ID, details=True))
    stream = tgi.text_generation("hi", model=hf.HUB_ID, details=True, stream=True)
    seen.items(stream)
    seen.result("text_generation stream", stream)
    seen.add(tgi.text_generation("hi", model=hf.HUB_ID))
    seen.add(tgi.sentence_similarity("hi", other_sentences=["a", "b"], model=hf.EMBEDDER))

    async def asynchronous() -> None:
        seen.result("async chat", await aclient.chat_completion(ASK, model=hf.HUB_ID))
        stream = await aclient.chat_completion(ASK, model=hf.HUB_ID, stream=True)
        await seen.aitems(stream)
        seen.result("async chat stream", stream)

    asyncio.run(asynchronous())
    server.uninstall()


_specs_without_huggingface = _extra_specs


def _extra_specs() -> dict[str, Any]:  # the tables above, and Hugging Face's spec
    from genai_footprint._instrument import _huggingface

    return {**_specs_without_huggingface(), "huggingface": _huggingface.SPEC}


SDK_CALLS["huggingface"] = _huggingface_calls
