"""OpenAI-compatible hosts through the real ``openai`` SDK (``OpenAI(base_url=...)``) over an offline
``httpx2.MockTransport`` server: the host's provider, zone and stream-usage behaviour, and the maker's row of a
model served by someone else, under every host's spelling."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import httpx2
import openai
import pytest
from openai.resources.responses import Responses as ResponsesResource
from openai.types.responses import ResponseUsage
from openai.types.responses.compacted_response import CompactedResponse
from openai.types.responses.response_usage import InputTokensDetails, OutputTokensDetails
from openai_fakes import FakeOpenAI, wire

import genai_footprint
from genai_footprint._instrument import _tokens
from genai_footprint._registry import Registry, data_dir

MESSAGES = [{"role": "user", "content": "Hello"}]


@pytest.fixture
def fp(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(_tokens, "_loader", lambda model: None)  # offline: count with the approximation
    genai_footprint.shutdown()
    genai_footprint.init(providers=["openai"])
    yield
    genai_footprint.shutdown()


@pytest.fixture(scope="module")
def registry() -> Registry:
    return Registry(data_dir())


# host URL, provider, zone, asks for stream usage, model the server reports, registry row it resolves to
HOSTS = [
    ("https://api.openai.com/v1", "openai", "USA", True, "gpt-4o-mini-2024-07-18", "gpt-4o-mini-2024-07-18"),
    ("https://api.groq.com/openai/v1", "groq", "USA", True, "openai/gpt-oss-120b", "gpt-oss-120b"),
    (
        "https://api.together.xyz/v1",
        "together",
        "USA",
        False,
        "meta-llama/Llama-3.3-70B-Instruct-Turbo",
        "llama-3.3-70b-instruct",
    ),
    (
        "https://api.fireworks.ai/inference/v1",
        "fireworks",
        "USA",
        False,
        "accounts/fireworks/models/llama-v3p1-8b-instruct",
        "llama-3.1-8b-instruct",
    ),
    ("https://api.deepseek.com", "deepseek", "CHN", True, "deepseek-chat", "deepseek-v3.2"),
    (
        "https://openrouter.ai/api/v1",
        "openrouter",
        "WOR",
        False,
        "anthropic/claude-sonnet-4.5",
        "claude-sonnet-4-5-20250929",
    ),
    ("https://api.x.ai/v1", "xai", "USA", False, "grok-1", "grok-1"),
    ("https://api.cerebras.ai/v1", "cerebras", "USA", False, "llama3.3-70b", "llama-3.3-70b-instruct"),
    ("https://api.perplexity.ai", "perplexity", "USA", False, "llama-3.1-8b-instruct", "llama-3.1-8b-instruct"),
    ("https://api.studio.nebius.com/v1", "nebius", "FIN", False, "Qwen/Qwen3-235B-A22B", "qwen3-235b-a22b"),
    ("https://api.scaleway.ai/v1", "scaleway", "FRA", False, "llama-3.3-70b-instruct", "llama-3.3-70b-instruct"),
    ("https://oai.endpoints.kepler.ai.cloud.ovh.net/v1", "ovhcloud", "FRA", False, "Meta-Llama-3_3-70B-Instruct", None),
    ("https://api.mistral.ai/v1", "mistralai", "SWE", False, "mistral-small-latest", "mistral-small-latest"),
    (
        "https://generativelanguage.googleapis.com/v1beta/openai",
        "google",
        "USA",
        False,
        "gemini-2.5-flash",
        "gemini-2.5-flash",
    ),
    ("http://localhost:11434/v1", "local", "WOR", True, "gpt-oss:20b", "gpt-oss-20b"),
    ("http://127.0.0.1:1234/v1", "local", "WOR", False, "qwen3:0.6b", "qwen3-0.6b"),
    ("http://[::1]:8080/v1", "local", "WOR", False, "llama3.1:8b", "llama-3.1-8b-instruct"),
]


@pytest.mark.parametrize(
    ("url", "provider", "zone", "usage", "model", "row"), HOSTS, ids=[h[1] + ":" + h[0] for h in HOSTS]
)
def test_host_provider_zone_and_stream_usage(
    fp: None, url: str, provider: str, zone: str, usage: bool, model: str, row: str | None
) -> None:
    server = FakeOpenAI(model=model)
    client = server.client(base_url=url)
    response = client.chat.completions.create(model=model, messages=MESSAGES)
    stream = client.chat.completions.create(model=model, messages=MESSAGES, stream=True)
    chunks = list(stream)

    assert ("stream_options" in server.last.body) is usage
    assert all(chunk.choices for chunk in chunks)  # the usage chunk we asked for stays hidden
    if row is None:  # OVHcloud's own spelling of Llama: no alias, left unestimated
        assert response.impacts is None
        return
    for impacts in (response.impacts, stream.impacts):
        inputs = impacts.inputs
        assert (inputs.provider, inputs.zone, inputs.model_resolved) == (provider, zone, row)
        assert inputs.pue == Registry(data_dir()).providers[provider].pue_range
    assert stream.impacts.inputs.tokens_source == ("usage" if usage else "approximation")


def test_async_client_of_a_host(fp: None) -> None:
    server = FakeOpenAI(model="deepseek-reasoner")

    async def run() -> Any:
        client = server.async_client(base_url="https://api.deepseek.com/v1")
        stream = await client.chat.completions.create(model="deepseek-reasoner", messages=MESSAGES, stream=True)
        return stream, [chunk async for chunk in stream]

    stream, _ = asyncio.run(run())
    assert server.last.body["stream_options"] == {"include_usage": True}
    inputs = stream.impacts.inputs
    assert (inputs.provider, inputs.zone, inputs.model_resolved) == ("deepseek", "CHN", "deepseek-v3.2")
    assert inputs.quantization_bits == 8
    assert inputs.tokens_source == "usage"


def test_an_unknown_host_keeps_todays_behaviour(fp: None) -> None:
    server = FakeOpenAI()
    client = server.client(base_url="https://llm.internal.example/v1")
    stream = client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, stream=True)
    list(stream)
    assert "stream_options" not in server.last.body
    assert (stream.impacts.inputs.provider, stream.impacts.inputs.zone) == ("openai", "USA")


def test_a_name_naming_no_model_stays_unestimated(fp: None, caplog: pytest.LogCaptureFixture) -> None:
    for name in ("compound-hosts-test",):  # compound-beta: see UNKNOWN (warned once per process, by test_groq)
        server = FakeOpenAI(model=name)
        result = server.client(base_url="https://api.groq.com/openai/v1").chat.completions.create(
            model=name, messages=MESSAGES
        )
        assert result.impacts is None
    assert any("'compound-hosts-test'" in r.getMessage() and "'groq'" in r.getMessage() for r in caplog.records)


def test_local_server_without_configuration_warns(fp: None) -> None:
    server = FakeOpenAI(model="gpt-oss:20b")
    result = server.client(base_url="http://localhost:11434/v1").chat.completions.create(
        model="gpt-oss:20b", messages=MESSAGES
    )
    codes = {w.code for w in result.impacts.warnings}
    assert {"provider-zone-unknown", "provider-site-default"} <= codes
    assert result.impacts.inputs.zone == "WOR"
    assert (result.impacts.inputs.pue.min, result.impacts.inputs.pue.max) == (1.58, 1.58)


# -- the maker's row, whatever the spelling (issue 22, section 4) ----------------------------------------------

SPELLINGS = [
    ("openrouter", "anthropic/claude-sonnet-4.5", "anthropic", "claude-sonnet-4-5-20250929"),
    ("openrouter", "anthropic/claude-3.7-sonnet:thinking", "anthropic", "claude-3-7-sonnet-20250219"),
    ("openrouter", "google/gemini-2.5-flash", "google", "gemini-2.5-flash"),
    ("openrouter", "mistralai/mistral-small", "mistralai", "mistral-small-latest"),
    ("openrouter", "deepseek/deepseek-r1:free", "deepseek", "deepseek-r1"),
    ("openrouter", "openai/gpt-4o-audio-preview", "openai", "gpt-4o-audio-preview"),
    ("openrouter", "claude-sonnet-4-6", "anthropic", "claude-sonnet-4-6"),  # Snowflake Cortex spellings
    ("openrouter", "openai-gpt-4.1", "openai", "gpt-4.1"),
    ("openrouter", "openai.gpt-5.5", "openai", "gpt-5.5"),  # Bedrock's OpenAI-compatible endpoint
    ("openrouter", "openai.gpt-oss-120b", "openai", "gpt-oss-120b"),
    ("openrouter", "openai.gpt-oss-120b-1:0", "openai", "gpt-oss-120b"),
    ("local", "gpt-oss:20b", "openai", "gpt-oss-20b"),  # Ollama tags
    ("local", "qwen3:0.6b", "alibaba", "qwen3-0.6b"),
    ("local", "llama3.1:8b", "meta", "llama-3.1-8b-instruct"),
    ("local", "llama3.3:latest", "meta", "llama-3.3-70b-instruct"),
    ("cerebras", "llama3.3-70b", "meta", "llama-3.3-70b-instruct"),
    ("cerebras", "qwen-3-coder-480b", "alibaba", "qwen3-coder-480b-a35b-instruct"),
    ("cerebras", "zai-glm-4.7", "zai", "glm-4.7"),
    ("together", "meta-llama/Llama-3.3-70B-Instruct-Turbo", "meta", "llama-3.3-70b-instruct"),
    ("together", "meta-llama/llama-4-maverick-17b-128e-instruct", "meta", "llama-4-maverick-17b-128e-instruct"),
    ("together", "deepseek-r1-distill-llama-70b", "deepseek", "deepseek-r1-distill-llama-70b"),
    ("together", "llama-3.3-70b-versatile", "meta", "llama-3.3-70b-instruct"),
    ("together", "mistralai/Mixtral-8x7B-Instruct-v0.1", "mistralai", "open-mixtral-8x7b"),
    ("together", "google/gemma-3-27b-it", "google", "gemma-3-27b-it"),
    ("together", "moonshotai/Kimi-K2-Instruct-0905", "moonshotai", "kimi-k2-instruct"),
    ("fireworks", "accounts/fireworks/models/llama-v3p3-70b-instruct", "meta", "llama-3.3-70b-instruct"),
    ("fireworks", "accounts/fireworks/models/gpt-oss-120b", "openai", "gpt-oss-120b"),
    ("fireworks", "accounts/fireworks/models/deepseek-v3p1", "deepseek", "deepseek-v3.1"),
    ("nebius", "Qwen/Qwen2.5-72B-Instruct", "alibaba", "qwen2.5-72b-instruct"),
    ("deepseek", "deepseek-chat", "deepseek", "deepseek-v3.2"),
    ("deepseek", "deepseek-reasoner", "deepseek", "deepseek-v3.2"),
    ("zai", "glm-4.7", "zai", "glm-4.7"),
    ("zai", "glm-5.2", "zai", "glm-5"),
]


@pytest.mark.parametrize(("host", "spelling", "maker", "name"), SPELLINGS)
def test_a_host_serves_the_makers_row(registry: Registry, host: str, spelling: str, maker: str, name: str) -> None:
    row = registry.resolve(host, spelling)
    assert row is not None, spelling
    assert (row.provider, row.name) == (host, name)  # the host serves it ...
    made = registry.resolve(maker, name)
    assert made is not None and made.provider == maker  # ... the maker's row, with the maker's figures
    assert (row.active_params_b, row.total_params_b) == (made.active_params_b, made.total_params_b)
    assert row.quantization_bits == made.quantization_bits
    assert (row.zone, row.pue, row.wue, row.tps) == (None, None, None, None)


GROQ_OWN = ["llama-3.3-70b-versatile", "meta-llama/llama-4-maverick-17b-128e-instruct", "deepseek-r1-distill-llama-70b"]


@pytest.mark.parametrize("spelling", GROQ_OWN)
def test_groq_spellings_find_groqs_rows_first(registry: Registry, spelling: str) -> None:
    # The call's own provider is tried with the full name first: Groq's rows hold its own spellings.
    row = registry.resolve("groq", spelling)
    assert row is not None and (row.provider, row.name) == ("groq", spelling)


def test_a_prefix_on_a_host_keeps_the_host(registry: Registry) -> None:
    row = registry.resolve("groq", "openai/gpt-oss-120b")
    assert row is not None and (row.provider, row.name) == ("groq", "gpt-oss-120b")
    inputs = genai_footprint.estimate("groq", "openai/gpt-oss-120b", output_tokens=10).inputs
    assert (inputs.provider, inputs.zone, inputs.model_resolved) == ("groq", "USA", "gpt-oss-120b")
    assert (inputs.pue.min, inputs.pue.max) == (1.3, 1.58)
    assert inputs.quantization_bits == 4.25


UNKNOWN = [
    ("groq", "compound-beta"),
    ("groq", "compound-beta-mini"),
    ("local", "deepseek-r1:8b"),  # Ollama's 8B distill: a size no row has
    ("openrouter", "openai/gpt-5-ultra"),
    ("together", "llama-3.3-70b-mega"),
]


@pytest.mark.parametrize(("host", "spelling"), UNKNOWN)
def test_names_that_identify_no_model(registry: Registry, host: str, spelling: str) -> None:
    assert registry.resolve(host, spelling) is None


def test_a_name_two_makers_claim_is_not_guessed(registry: Registry) -> None:
    # Mistral serves GLM-5.2 under its own "glm-5-2"; Z.ai's row has the same spelling as an alias.
    assert registry.resolve("together", "glm-5-2") is None
    assert registry.resolve("together", "zai/glm-5-2") is not None


def test_a_maker_keeps_its_prefix_switch(registry: Registry) -> None:
    row = registry.resolve("anthropic", "openai/gpt-4o")
    assert row is not None and row.provider == "openai"
    assert registry.resolve("openai", "claude-sonnet-4-6") is None  # no search across makers without a prefix


def test_host_table(registry: Registry) -> None:
    assert registry.api_host("eu.api.openai.com") == registry.api_host("api.openai.com")
    assert registry.api_host("example.com") is None
    assert registry.api_host("localhost", 11434).stream_usage is True
    assert registry.api_host("localhost", 8000).stream_usage is False
    assert registry.api_host("evilapi.groq.com.example") is None
    for url, provider, *_ in HOSTS:
        found = registry.api_host(str(httpx2.URL(url).host))
        assert found is not None and found.provider == provider


# -- responses.compact (issue 22, section 3) -----------------------------------------------------------------


def compacted(output_tokens: int) -> dict[str, Any]:
    usage = ResponseUsage(
        input_tokens=900,
        input_tokens_details=InputTokensDetails(cached_tokens=0, cache_write_tokens=0),
        output_tokens=output_tokens,
        output_tokens_details=OutputTokensDetails(reasoning_tokens=0),
        total_tokens=900 + output_tokens,
    )
    return wire(
        CompactedResponse(
            id="resp_cmp_1", created_at=1_735_689_600, object="response.compaction", output=[], usage=usage
        )
    )


def compact_transport(seen: list[httpx2.Request]) -> httpx2.MockTransport:
    def handle(request: httpx2.Request) -> httpx2.Response:
        seen.append(request)
        return httpx2.Response(200, json=compacted(321), headers={"x-request-id": "req_1"})

    return httpx2.MockTransport(handle)


@pytest.mark.skipif(not hasattr(ResponsesResource, "compact"), reason="SDK without compact")
def test_responses_compact_gets_impacts(fp: None) -> None:
    seen: list[httpx2.Request] = []
    client = openai.OpenAI(
        api_key="sk-test", max_retries=0, http_client=httpx2.Client(transport=compact_transport(seen))
    )
    result = client.responses.compact(model="gpt-4o-mini", input="a long conversation")
    assert type(result) is CompactedResponse and seen[0].url.path.endswith("/responses/compact")
    assert result.impacts.inputs.output_tokens == 321
    assert result.impacts.inputs.model_resolved == "gpt-4o-mini"
    assert json.loads(seen[0].content)["model"] == "gpt-4o-mini"

    async def run() -> Any:
        aclient = openai.AsyncOpenAI(
            api_key="sk-test", max_retries=0, http_client=httpx2.AsyncClient(transport=compact_transport(seen))
        )
        return await aclient.responses.compact(model="gpt-4o-mini", input="again")

    assert asyncio.run(run()).impacts.inputs.output_tokens == 321
