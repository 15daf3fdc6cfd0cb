"""Mistral instrumentation: the real ``mistralai`` SDK over ``httpx2.MockTransport``, every entry point
(chat, parse, FIM, agents, conversations, Responses, the Azure client) x sync / async x plain / stream."""

from __future__ import annotations

import importlib
import json
from collections.abc import Callable
from functools import partial
from typing import Any

import provider_checks as checks
import pytest
from mistral_fakes import (
    COMPLETION_TOKENS,
    CONVERSATION_ID,
    CONVERSATION_MODEL,
    MODEL,
    SERVED,
    STREAM_TOKENS,
    FakeMistral,
    mistral_client,
    transports,
)

import genai_footprint
from genai_footprint import Impacts, _setup
from genai_footprint._instrument import _mistralai
from genai_footprint._instrument._wrappers import installed

pytest.importorskip("mistralai.client")

MESSAGES = [{"role": "user", "content": "Say hello in French."}]
AGENT_ID = "ag_0677bd8a1c2e7b3f8000c1d2e3f4a5b6"
AGENT_MODEL = "mistral-medium-2505"
FIM_MODEL = "codestral-latest"
FIM_SERVED = "codestral-2508"
CONVERSATION_REQUESTED = "mistral-medium-latest"


offline_counting, finished = checks.provider_fixtures("mistralai")
instrument = partial(checks.listen_for_impacts, "mistralai")  # init(), then the impacts of every finished call


@pytest.fixture
def server() -> FakeMistral:
    return FakeMistral(served={MODEL: SERVED, FIM_MODEL: FIM_SERVED, None: AGENT_MODEL})


@pytest.fixture
def client(server: FakeMistral, finished: list[Impacts | None]) -> Any:
    return mistral_client(server)


# -- the entry points ---------------------------------------------------------------------------------------


class Case:
    """One entry point: where it lives on the client, its methods, its arguments and what it should record."""

    def __init__(
        self,
        resource: Callable[[Any], Any],
        plain: str,
        stream: str,
        kwargs: dict[str, Any],
        *,
        requested: str | None,
        served: str,
        stream_kwargs: dict[str, Any] | None = None,
    ) -> None:
        self.resource = resource
        self.plain = plain
        self.stream = stream
        self.kwargs = kwargs
        self.stream_kwargs = stream_kwargs or {}
        self.requested = requested
        self.served = served

    def method(self, client: Any, *, stream: bool, is_async: bool) -> Callable[..., Any]:
        name = self.stream if stream else self.plain
        return getattr(self.resource(client), f"{name}_async" if is_async else name)

    def arguments(self, *, stream: bool) -> dict[str, Any]:
        return {**self.kwargs, **(self.stream_kwargs if stream else {})}


CASES = {
    "chat": Case(
        lambda c: c.chat, "complete", "stream", {"model": MODEL, "messages": MESSAGES}, requested=MODEL, served=SERVED
    ),
    "fim": Case(
        lambda c: c.fim,
        "complete",
        "stream",
        {"model": FIM_MODEL, "prompt": "def fibonacci(n: int):", "suffix": "print(fibonacci(10))"},
        requested=FIM_MODEL,
        served=FIM_SERVED,
    ),
    "agents": Case(
        lambda c: c.agents,
        "complete",
        "stream",
        {"agent_id": AGENT_ID, "messages": MESSAGES},
        requested=None,
        served=AGENT_MODEL,
    ),
    "conversations.start": Case(
        lambda c: c.beta.conversations,
        "start",
        "start_stream",
        {"inputs": "Say hello in French.", "model": CONVERSATION_REQUESTED},
        requested=CONVERSATION_REQUESTED,
        served=CONVERSATION_MODEL,
    ),
    "conversations.start(agent)": Case(
        lambda c: c.beta.conversations,
        "start",
        "start_stream",
        {"inputs": "Say hello in French.", "agent_id": AGENT_ID},
        requested=None,
        served=CONVERSATION_MODEL,
    ),
    "conversations.append": Case(
        lambda c: c.beta.conversations,
        "append",
        "append_stream",
        {"conversation_id": CONVERSATION_ID, "inputs": "And in Swedish?"},
        requested=None,
        served=CONVERSATION_MODEL,
    ),
    "conversations.restart": Case(
        lambda c: c.beta.conversations,
        "restart",
        "restart_stream",
        {
            "conversation_id": CONVERSATION_ID,
            "inputs": "Again.",
            "from_entry_id": "msg_0677bd8e2a6a7b9d80009ba3e8c0b8a1",
        },
        requested=None,
        served=CONVERSATION_MODEL,
    ),
    "responses": Case(
        lambda c: c.responses,
        "create",
        "create",
        {"model": MODEL, "input": "Say hello in French."},
        stream_kwargs={"stream": True},
        requested=MODEL,
        served=SERVED,
    ),
}


def check(result: Any, case: Case, *, tokens: float, stream: bool, source: str = "usage") -> Impacts:
    """The impacts on ``result``: its inputs, and figures equal to ``estimate()`` with the same inputs."""
    impacts = result.impacts
    inputs = checks.measured_inputs(impacts, provider="mistralai", tokens=tokens, stream=stream, source=source)
    if case.requested is not None:
        assert inputs.model_requested == case.requested
    else:  # agents, append / restart name no model; the estimate core may fill in the name it costed
        assert inputs.model_requested in (None, case.served)
    assert inputs.model_served == case.served
    assert inputs.model_resolved == case.served
    assert inputs.zone == "SWE"
    checks.assert_timed(inputs, stream=stream, ttft_only_on_streams=True)
    checks.assert_as_estimated(impacts, "mistralai", case.served, output_tokens=tokens, latency_s=inputs.latency_s)
    return impacts


# -- every entry point x sync / async x plain / stream ------------------------------------------------------


@pytest.mark.parametrize("name", list(CASES))
def test_plain_sync(name: str, client: Any, finished: list[Impacts | None]) -> None:
    case = CASES[name]
    result = case.method(client, stream=False, is_async=False)(**case.arguments(stream=False))
    check(result, case, tokens=COMPLETION_TOKENS, stream=False)
    assert finished == [result.impacts]


@pytest.mark.parametrize("name", list(CASES))
async def test_plain_async(name: str, client: Any, finished: list[Impacts | None]) -> None:
    case = CASES[name]
    result = await case.method(client, stream=False, is_async=True)(**case.arguments(stream=False))
    check(result, case, tokens=COMPLETION_TOKENS, stream=False)
    assert finished == [result.impacts]


@pytest.mark.parametrize("name", list(CASES))
def test_stream_sync(name: str, client: Any, server: FakeMistral, finished: list[Impacts | None]) -> None:
    from mistralai.client.utils.eventstreaming import EventStream

    case = CASES[name]
    stream = case.method(client, stream=True, is_async=False)(**case.arguments(stream=True))
    assert isinstance(stream, EventStream)
    assert stream.impacts is None  # readable before the end
    events = list(stream)
    assert len(events) == len(server.streams[0].events) - (
        1 if events[0].__class__.__name__ == "CompletionEvent" else 0
    )
    check(stream, case, tokens=STREAM_TOKENS, stream=True)
    assert finished == [stream.impacts]  # once per stream, not per chunk
    stream.close()
    assert finished == [stream.impacts]


@pytest.mark.parametrize("name", list(CASES))
async def test_stream_async(name: str, client: Any, finished: list[Impacts | None]) -> None:
    from mistralai.client.utils.eventstreaming import EventStreamAsync

    case = CASES[name]
    stream = await case.method(client, stream=True, is_async=True)(**case.arguments(stream=True))
    assert isinstance(stream, EventStreamAsync)
    count = 0
    async for _ in stream:
        count += 1
    assert count > 2
    check(stream, case, tokens=STREAM_TOKENS, stream=True)
    await stream.close()
    assert finished == [stream.impacts]


def test_init_works_on_mistralai_3() -> None:
    # Regression: 3.x made ``mistralai`` a namespace package (the client lives in ``mistralai.client``).
    import mistralai

    assert getattr(mistralai, "__file__", None) is None
    from mistralai.client import Mistral

    instrument()  # strict: raises if the provider could not be instrumented
    assert "mistralai" in _setup.instrumentor().enabled
    Mistral(api_key="k").chat
    assert "mistralai.client.chat.Chat.complete" in _setup.instrumentor().patched()


def test_every_target_is_wrapped_and_restored(client: Any) -> None:
    # Touch every resource so its module is imported (the SDK loads them lazily).
    for case in CASES.values():
        case.resource(client)
    client.embeddings
    importlib.import_module("mistralai.azure.client.chat")
    for target in _mistralai.TARGETS:
        if target.module.startswith("mistralai.gcp."):
            continue  # needs google-auth; see test_gcp_client
        owner = getattr(importlib.import_module(target.module), target.owner)
        assert installed(owner.__dict__[target.method]), target
    from mistralai.client.embeddings import Embeddings

    assert not installed(Embeddings.__dict__["create"])
    genai_footprint.shutdown()
    for target in _mistralai.TARGETS:
        if target.module.startswith("mistralai.gcp."):
            continue
        owner = getattr(importlib.import_module(target.module), target.owner)
        assert not installed(owner.__dict__[target.method]), target


def test_after_shutdown_calls_pass_through(client: Any) -> None:
    genai_footprint.shutdown()
    result = client.chat.complete(model=MODEL, messages=MESSAGES)
    assert not hasattr(result, "impacts")


# -- the object the caller gets is the SDK's own --------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "kind"),
    [
        (lambda c: c.chat.complete(model=MODEL, messages=MESSAGES), "ChatCompletionResponse"),
        (lambda c: c.fim.complete(model=FIM_MODEL, prompt="def f("), "FIMCompletionResponse"),
        (lambda c: c.agents.complete(agent_id=AGENT_ID, messages=MESSAGES), "ChatCompletionResponse"),
        (lambda c: c.beta.conversations.start(inputs="hi", model=CONVERSATION_REQUESTED), "ConversationResponse"),
        (lambda c: c.responses.create(model=MODEL, input="hi"), "CreateResponseResponse"),
    ],
)
def test_the_very_object(call: Callable[[Any], Any], kind: str, server: FakeMistral) -> None:
    plain = call(mistral_client(server))
    instrument()
    result = call(mistral_client(server))
    assert type(result) is type(plain)
    assert type(result).__name__ == kind
    assert isinstance(result.impacts, Impacts)
    assert result == plain
    assert result.model_dump() == plain.model_dump()
    assert "impacts" not in result.model_dump()
    assert "impacts" not in result.model_dump_json()
    assert repr(result) == repr(plain)
    assert str(result) == str(plain)
    assert "impacts" not in (getattr(result, "__pydantic_extra__", None) or {})
    assert "impacts" in vars(result) and "impacts" not in vars(type(result))  # on the instance, never its class


def test_stream_events_are_the_sdks(server: FakeMistral) -> None:
    plain = list(mistral_client(server).chat.stream(model=MODEL, messages=MESSAGES))
    instrument()
    stream = mistral_client(server).chat.stream(model=MODEL, messages=MESSAGES)
    events = list(stream)
    assert [type(e) for e in events] == [type(e) for e in plain]
    assert [e.model_dump() for e in events] == [e.model_dump() for e in plain]
    assert stream.response.status_code == 200
    assert stream.response.headers["content-type"] == "text/event-stream"


# -- parse ------------------------------------------------------------------------------------------------------


def _answer_json(server: FakeMistral) -> None:
    server.content = json.dumps({"greeting": "Bonjour", "language": "French"})


def _greeting_model() -> Any:
    from pydantic import BaseModel

    class Greeting(BaseModel):
        greeting: str
        language: str

    return Greeting


def test_parse_keeps_impacts(server: FakeMistral, client: Any, finished: list[Impacts | None]) -> None:
    from mistralai.extra.struct_chat import ParsedChatCompletionResponse

    _answer_json(server)
    greeting = _greeting_model()
    result = client.chat.parse(greeting, model=MODEL, messages=MESSAGES)
    assert isinstance(result, ParsedChatCompletionResponse)
    assert result.choices[0].message.parsed == greeting(greeting="Bonjour", language="French")
    check(result, CASES["chat"], tokens=COMPLETION_TOKENS, stream=False)
    assert finished == [result.impacts]  # the complete() inside parse() does not count again
    assert len(server.requests) == 1
    assert "impacts" not in result.model_dump()


async def test_parse_async_keeps_impacts(server: FakeMistral, client: Any, finished: list[Impacts | None]) -> None:
    _answer_json(server)
    greeting = _greeting_model()
    result = await client.chat.parse_async(greeting, model=MODEL, messages=MESSAGES)
    assert result.choices[0].message.parsed.greeting == "Bonjour"
    check(result, CASES["chat"], tokens=COMPLETION_TOKENS, stream=False)
    assert finished == [result.impacts]


def test_parse_stream(server: FakeMistral, client: Any, finished: list[Impacts | None]) -> None:
    stream = client.chat.parse_stream(_greeting_model(), model=MODEL, messages=MESSAGES)
    list(stream)
    check(stream, CASES["chat"], tokens=STREAM_TOKENS, stream=True)
    assert finished == [stream.impacts]
    assert server.requests[0][1]["response_format"]["type"] == "json_schema"


async def test_parse_stream_async(client: Any, finished: list[Impacts | None]) -> None:
    stream = await client.chat.parse_stream_async(_greeting_model(), model=MODEL, messages=MESSAGES)
    async for _ in stream:
        pass
    check(stream, CASES["chat"], tokens=STREAM_TOKENS, stream=True)
    assert finished == [stream.impacts]


# -- streams: with, close, early break --------------------------------------------------------------------------


def test_stream_with_statement(client: Any, server: FakeMistral, finished: list[Impacts | None]) -> None:
    with client.chat.stream(model=MODEL, messages=MESSAGES) as stream:
        texts = [e.data.choices[0].delta.content for e in stream]
    assert "".join(texts) == "Bonjour le monde !"
    check(stream, CASES["chat"], tokens=STREAM_TOKENS, stream=True)
    assert finished == [stream.impacts]
    assert server.streams[0].closed


async def test_stream_async_with_statement(client: Any, server: FakeMistral, finished: list[Impacts | None]) -> None:
    async with await client.beta.conversations.start_stream_async(inputs="hi", model=CONVERSATION_REQUESTED) as stream:
        async for _ in stream:
            pass
    check(stream, CASES["conversations.start"], tokens=STREAM_TOKENS, stream=True)
    assert finished == [stream.impacts]
    assert server.streams[0].closed


@pytest.mark.parametrize("name", ["chat", "conversations.start", "responses"])
def test_early_break_then_close(name: str, client: Any, server: FakeMistral, finished: list[Impacts | None]) -> None:
    case = CASES[name]
    stream = case.method(client, stream=True, is_async=False)(**case.arguments(stream=True))
    checks.read_then_break(stream, 3)
    impacts = checks.closed_after_a_break(stream, server.streams[0])
    assert 0 < impacts.inputs.output_tokens < STREAM_TOKENS
    assert finished == [impacts]


async def test_early_break_then_close_async(client: Any, server: FakeMistral, finished: list[Impacts | None]) -> None:
    stream = await client.fim.stream_async(model=FIM_MODEL, prompt="def f(")
    async for event in stream:
        if event.data.choices[0].delta.content:
            break
    impacts = await checks.closed_after_an_async_break(stream, server.streams[0])
    assert finished == [impacts]


# -- errors and odd answers --------------------------------------------------------------------------------------


ERROR_CALLS = [
    lambda c: c.chat.complete(model=MODEL, messages=MESSAGES),
    lambda c: c.chat.stream(model=MODEL, messages=MESSAGES),
    lambda c: c.agents.complete(agent_id=AGENT_ID, messages=MESSAGES),
    lambda c: c.beta.conversations.start_stream(inputs="hi", model=CONVERSATION_REQUESTED),
    lambda c: c.responses.create(model=MODEL, input="hi"),
]
ERRORS = [
    (401, {"message": "Unauthorized", "request_id": "7b1c0d5e"}),
    (422, {"detail": [{"loc": ["body", "model"], "msg": "Field required", "type": "missing"}]}),
    (429, {"object": "error", "message": "Requests rate limit exceeded", "type": "rate_limited", "code": "1300"}),
    (500, {"object": "error", "message": "Internal server error", "type": "internal_error"}),
]


def _raised(call: Callable[[], Any]) -> BaseException:
    with pytest.raises(Exception) as info:
        call()
    return info.value


@pytest.mark.parametrize(("status", "body"), ERRORS)
@pytest.mark.parametrize("call", ERROR_CALLS)
def test_http_errors_are_the_sdks(call: Callable[[Any], Any], status: int, body: Any) -> None:
    server = FakeMistral(status=status, error_body=body)
    plain = _raised(lambda: call(mistral_client(server)))
    finished = instrument()
    raised = _raised(lambda: call(mistral_client(server)))
    assert type(raised) is type(plain)
    assert str(raised) == str(plain)
    assert getattr(raised, "status_code", None) == getattr(plain, "status_code", None) == status
    assert finished == []


@pytest.mark.parametrize("method", ["complete_async", "stream_async"])
@pytest.mark.parametrize(("status", "body"), ERRORS)
async def test_http_errors_async(method: str, status: int, body: Any) -> None:
    server = FakeMistral(status=status, error_body=body)
    with pytest.raises(Exception) as plain:
        await getattr(mistral_client(server).chat, method)(model=MODEL, messages=MESSAGES)
    finished = instrument()
    with pytest.raises(Exception) as raised:
        await getattr(mistral_client(server).chat, method)(model=MODEL, messages=MESSAGES)
    assert type(raised.value) is type(plain.value)
    assert str(raised.value) == str(plain.value)
    assert finished == []


@pytest.mark.parametrize("name", ["chat", "agents", "conversations.append", "responses"])
def test_missing_usage_counts_the_text(name: str, finished: list[Impacts | None]) -> None:
    server = FakeMistral(usage=False, served={None: AGENT_MODEL})
    case = CASES[name]
    client = mistral_client(server)
    result = case.method(client, stream=False, is_async=False)(**case.arguments(stream=False))
    impacts = result.impacts
    assert isinstance(impacts, Impacts)
    assert impacts.inputs is not None
    assert impacts.inputs.tokens_source == "approximation"
    assert impacts.inputs.output_tokens == 5  # "Bonjour le monde !": 18 characters / 4, rounded up
    assert "tokens-counted" in {w.code for w in impacts.warnings}


@pytest.mark.parametrize("name", ["chat", "fim", "conversations.restart"])
async def test_missing_usage_in_a_stream(name: str, finished: list[Impacts | None]) -> None:
    server = FakeMistral(usage=False, served={FIM_MODEL: FIM_SERVED})
    case = CASES[name]
    stream = await case.method(mistral_client(server), stream=True, is_async=True)(**case.arguments(stream=True))
    async for _ in stream:
        pass
    impacts = stream.impacts
    assert isinstance(impacts, Impacts)
    assert impacts.inputs is not None
    assert impacts.inputs.tokens_source == "approximation"
    assert impacts.inputs.output_tokens == 5
    assert {w.code for w in impacts.warnings} >= {"tokens-counted"}
    assert "stream-partial" not in {w.code for w in impacts.warnings}


def test_answer_without_usage_object_raises_as_without_us() -> None:
    # usage is required on a chat completion: the SDK refuses the answer; so do we, identically.
    server = FakeMistral(usage=None)
    plain = _raised(lambda: mistral_client(server).chat.complete(model=MODEL, messages=MESSAGES))
    instrument()
    raised = _raised(lambda: mistral_client(server).chat.complete(model=MODEL, messages=MESSAGES))
    assert type(raised) is type(plain)
    assert str(raised) == str(plain)


def test_unknown_model_gives_none(client: Any, server: FakeMistral, caplog: pytest.LogCaptureFixture) -> None:
    server.served = {}
    result = client.chat.complete(model="my-fine-tune-xyz", messages=MESSAGES)
    assert result.impacts is None
    assert "not in the registry" in caplog.text


# -- embeddings stay unannotated ---------------------------------------------------------------------------------


def test_embeddings_are_not_annotated(client: Any, finished: list[Impacts | None]) -> None:
    result = client.embeddings.create(model="mistral-embed", inputs=["Bonjour"])
    assert result.usage.completion_tokens == 0
    assert not hasattr(result, "impacts")
    assert finished == []


async def test_embeddings_async_are_not_annotated(client: Any, finished: list[Impacts | None]) -> None:
    result = await client.embeddings.create_async(model="mistral-embed", inputs=["Bonjour"])
    assert not hasattr(result, "impacts")
    assert finished == []


# -- model names and zones ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("served", ["mistral-small-latest", "mistral-small-2506"])
def test_latest_and_dated_names_resolve(served: str, server: FakeMistral, client: Any) -> None:
    server.served = {MODEL: served}
    result = client.chat.complete(model=MODEL, messages=MESSAGES)
    inputs = result.impacts.inputs
    assert inputs.model_served == served
    assert inputs.model_resolved == served
    assert inputs.zone == "SWE"


def test_zone_override(server: FakeMistral) -> None:
    genai_footprint.init(providers=["mistral"], zone="FRA")
    result = mistral_client(server).chat.complete(model=MODEL, messages=MESSAGES)
    assert result.impacts.inputs.zone == "FRA"


# -- the Azure and Google Cloud clients shipped in the distribution -------------------------------------------


def _azure(server: FakeMistral, url: str = "https://mistral-small-2503.swedencentral.models.ai.azure.com") -> Any:
    from mistralai.azure.client import MistralAzure

    return MistralAzure(api_key="azure-key", server_url=url, **transports(server))


def test_azure_client(finished: list[Impacts | None]) -> None:
    server = FakeMistral(served={"azureai": "mistral-small-2503"})
    client = _azure(server)
    result = client.chat.complete(messages=MESSAGES)
    assert result.impacts.inputs.model_served == "mistral-small-2503"
    assert result.impacts.inputs.model_requested in (None, "mistral-small-2503")  # "azureai" was not passed
    stream = client.chat.stream(messages=MESSAGES)
    list(stream)
    assert stream.impacts.inputs.output_tokens == STREAM_TOKENS
    assert len(finished) == 2
    assert server.requests[0][0] == "/models/chat/completions"


async def test_azure_client_async(finished: list[Impacts | None]) -> None:
    client = _azure(FakeMistral(served={"azureai": "mistral-small-2503"}))
    result = await client.chat.complete_async(messages=MESSAGES)
    assert result.impacts.inputs.output_tokens == COMPLETION_TOKENS
    stream = await client.chat.stream_async(messages=MESSAGES)
    async for _ in stream:
        pass
    assert stream.impacts.inputs.output_tokens == STREAM_TOKENS


def _gcp(server: FakeMistral, region: str = "europe-west4", **kwargs: Any) -> Any:
    pytest.importorskip("google.auth", reason="the GCP client needs the mistralai[gcp] extra (google-auth)")
    from mistralai.gcp.client import MistralGCP

    return MistralGCP(project_id="my-project", region=region, access_token="token", **kwargs, **transports(server))


def test_gcp_client(finished: list[Impacts | None]) -> None:
    server = FakeMistral(served={})
    client = _gcp(server)
    result = client.chat.complete(model="mistral-small-2503", messages=MESSAGES)
    assert result.impacts.inputs.output_tokens == COMPLETION_TOKENS
    assert result.impacts.inputs.model_served == "mistral-small-2503"
    stream = client.fim.stream(model="codestral-2501", prompt="def f(")
    list(stream)
    assert stream.impacts.inputs.output_tokens == STREAM_TOKENS
    assert stream.impacts.inputs.model_served == "codestral-2501"
    assert [path.rsplit(":", 1)[-1] for path, _ in server.requests] == ["rawPredict", "streamRawPredict"]
    for target in _mistralai.TARGETS:
        if target.module.startswith("mistralai.gcp."):
            owner = getattr(importlib.import_module(target.module), target.owner)
            assert installed(owner.__dict__[target.method]), target
    assert len(finished) == 2


async def test_gcp_client_async(finished: list[Impacts | None]) -> None:
    client = _gcp(FakeMistral(served={}))
    result = await client.fim.complete_async(model="codestral-2501", prompt="def f(")
    assert result.impacts.inputs.output_tokens == COMPLETION_TOKENS
    stream = await client.chat.stream_async(model="mistral-small-2503", messages=MESSAGES)
    async for _ in stream:
        pass
    assert stream.impacts.inputs.output_tokens == STREAM_TOKENS


# -- serving regions: the cloud clients' zone is that of the region they call ----------------------------------


@pytest.mark.parametrize(
    ("url", "zone"),
    [
        ("https://mistral-large-2411-abc.francecentral.models.ai.azure.com", "FRA"),
        ("https://mistral-large-2411-abc.eastus2.models.ai.azure.com", "USA"),
        ("https://mistral-large-2411-abc.japaneast.models.ai.azure.com", "JPN"),
        ("https://my-resource.services.ai.azure.com", "SWE"),  # no region in the host: Mistral's default
        ("https://mistral-large-2411-abc.marsnorth.models.ai.azure.com", "SWE"),  # unknown region: the default
    ],
)
async def test_azure_zone_from_the_endpoint_host(url: str, zone: str, finished: list[Impacts | None]) -> None:
    client = _azure(FakeMistral(served={"azureai": "mistral-small-2503"}), url)
    plain = client.chat.complete(messages=MESSAGES)
    stream = await client.chat.stream_async(messages=MESSAGES)
    async for _ in stream:
        pass
    assert [plain.impacts.inputs.zone, stream.impacts.inputs.zone] == [zone, zone]
    assert plain.impacts.inputs.output_tokens == COMPLETION_TOKENS


def test_azure_per_call_server_url(finished: list[Impacts | None]) -> None:
    client = _azure(FakeMistral(served={"azureai": "mistral-small-2503"}))
    moved = client.chat.complete(messages=MESSAGES, server_url="https://m.germanywestcentral.models.ai.azure.com")
    again = client.chat.complete(messages=MESSAGES)
    assert [moved.impacts.inputs.zone, again.impacts.inputs.zone] == ["DEU", "SWE"]


def test_azure_stream_region_header(finished: list[Impacts | None]) -> None:
    # A stream keeps its HTTP response: Azure's x-ms-region header names the serving region and wins over the host.
    server = FakeMistral(served={"azureai": "mistral-small-2503"})
    server.headers = {"x-ms-region": "France Central"}
    stream = _azure(server).chat.stream(messages=MESSAGES)
    list(stream)
    assert stream.impacts.inputs.zone == "FRA"
    plain = mistral_client(server).chat.stream(model=MODEL, messages=MESSAGES)  # Mistral's own API: header ignored
    list(plain)
    assert plain.impacts.inputs.zone == "SWE"


@pytest.mark.parametrize(
    ("region", "zone"),
    [("europe-west9", "FRA"), ("us-east5", "USA"), ("asia-northeast1", "JPN"), ("moon-central1", "SWE")],
)
def test_gcp_zone_from_the_client_region(region: str, zone: str, finished: list[Impacts | None]) -> None:
    server = FakeMistral(served={})
    client = _gcp(server, region)
    chat = client.chat.complete(model="mistral-small-2503", messages=MESSAGES)
    fim = client.fim.stream(model="codestral-2501", prompt="def f(")
    list(fim)
    assert [chat.impacts.inputs.zone, fim.impacts.inputs.zone] == [zone, zone]
    assert f"/locations/{region}/" in server.requests[0][0]


def test_gcp_zone_with_a_custom_server_url(finished: list[Impacts | None]) -> None:
    # The region in the request path decides where Vertex AI serves, whatever host the requests go through.
    client = _gcp(FakeMistral(served={}), "europe-west9", server_url="https://vertex-proxy.example.com")
    result = client.chat.complete(model="mistral-small-2503", messages=MESSAGES)
    assert result.impacts.inputs.zone == "FRA"


def test_gcp_zone_from_the_regional_host(finished: list[Impacts | None]) -> None:
    # Should the client stop holding its region where we read it, its default regional host still tells.
    client = _gcp(FakeMistral(served={}), "asia-northeast1")
    del client._region
    result = client.chat.complete(model="mistral-small-2503", messages=MESSAGES)
    assert result.impacts.inputs.zone == "JPN"


def test_init_zone_wins_over_the_cloud_region(server: FakeMistral) -> None:
    genai_footprint.init(providers=["mistralai"], zone="DEU")
    azure = _azure(FakeMistral(served={"azureai": "mistral-small-2503"}), "https://m.francecentral.models.ai.azure.com")
    gcp = _gcp(FakeMistral(served={}), "europe-west9")
    results = [azure.chat.complete(messages=MESSAGES), gcp.chat.complete(model="mistral-small-2503", messages=MESSAGES)]
    assert [r.impacts.inputs.zone for r in results] == ["DEU", "DEU"]


def test_a_failing_server_read_loses_only_the_hint(
    monkeypatch: pytest.MonkeyPatch, finished: list[Impacts | None]
) -> None:
    client = _azure(
        FakeMistral(served={"azureai": "mistral-small-2503"}), "https://m.francecentral.models.ai.azure.com"
    )

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("boom")

    monkeypatch.setattr(_mistralai, "_zone_of", broken)
    result = client.chat.complete(messages=MESSAGES)
    assert result.impacts.inputs.zone == "SWE"
    assert result.impacts.inputs.output_tokens == COMPLETION_TOKENS


def test_chunk_observer_reads_odd_chunks_once_each() -> None:
    # Chunks of odd shapes (a delta without tool_calls, an event without data): each chunk's text is counted
    # once, in order, and the usage it reports is kept.
    from types import SimpleNamespace as NS

    observer = _mistralai._CompletionStreamObserver(None)
    plain = NS(data=NS(model="m", choices=[NS(delta=NS(content="ab", tool_calls=None))], usage=None))
    # Second choice's delta has no tool_calls attribute at all: the flat reading stops after "cd".
    odd = NS(
        data=NS(
            model="m",
            choices=[NS(delta=NS(content="cd", tool_calls=None)), NS(delta=NS(content="ef"))],
            usage=NS(completion_tokens=7, model_fields_set={"completion_tokens"}),
        )
    )
    no_data = NS()
    for event in (plain, odd, no_data):
        assert observer.on_item(event) is True

    result = observer.result()
    assert result.text == ["ab", "cd", "ef"]
    assert (result.model, result.output_tokens) == ("m", 7)


def test_chunk_observer_keeps_the_last_usage_reported() -> None:
    # Usage reports count in the order they came, whatever the chunks' shape: the last one wins, none is lost
    # or summed.
    from types import SimpleNamespace as NS

    def usage(tokens: int) -> Any:
        return NS(completion_tokens=tokens, model_fields_set={"completion_tokens"})

    def chat(tokens: int | None) -> Any:
        delta = NS(content="x", tool_calls=None)
        return NS(data=NS(model="m", choices=[NS(delta=delta)], usage=None if tokens is None else usage(tokens)))

    def odd(tokens: int | None) -> Any:  # a delta without tool_calls
        return NS(data=NS(model="m", choices=[NS(delta=NS(content="y"))], usage=tokens and usage(tokens)))

    for events, tokens in (
        ([chat(None), chat(5)], 5),
        ([chat(5), odd(None)], 5),
        ([chat(5), odd(7)], 7),
        ([chat(5), odd(7), chat(9)], 9),
        ([chat(None), chat(None)], None),
    ):
        observer = _mistralai._CompletionStreamObserver(None)
        for event in events:
            observer.on_item(event)
        assert observer.result().output_tokens == tokens, events
