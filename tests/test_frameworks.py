"""Agent frameworks call the SDKs we patch: a short agent run (an LLM step asking for a tool, the tool, an LLM
step answering) is counted exactly once per LLM call, lands in an enclosing ``track()``, and gives the
framework's own result unchanged. Every framework talks, through its own ``base_url``, to one offline API on
127.0.0.1 (``ScriptedAPI``) answering as OpenAI's chat completions, Anthropic's messages and Gemini's
generateContent do: a tool call first, then, once the tool's result is sent back, the final answer.

LlamaIndex is left out: llama-index-llms-openai requires openai<3 (docs/frameworks.md).
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import provider_checks as checks
import pytest
from fake_http import answer_json

import genai_footprint
from genai_footprint import Impacts
from genai_footprint._instrument import _tokens

# Frameworks are imported inside the tests: no telemetry leaves the machine.
for _name, _value in {
    "LANGSMITH_TRACING": "false",
    "LANGCHAIN_TRACING_V2": "false",
    "OPENAI_AGENTS_DISABLE_TRACING": "1",
    "LOGFIRE_IGNORE_NO_CONFIG": "1",
}.items():
    os.environ.setdefault(_name, _value)

FIRST_TOKENS = 12  # the step asking for the tool
FINAL_TOKENS = 9  # the step answering
ANSWER = "It is sunny in Paris, 21 °C."
CITY = "Paris"


def get_weather(city: str) -> str:
    """The weather in a city."""
    return f"sunny, 21 °C in {city}"


# -- one offline API, three shapes ----------------------------------------------------------------------------


def _openai_answer(body: dict[str, Any]) -> dict[str, Any]:
    done = any(m.get("role") == "tool" for m in body.get("messages", []))
    message: dict[str, Any] = {"role": "assistant", "content": ANSWER if done else None}
    if not done:
        arguments = json.dumps({"city": CITY})
        message["tool_calls"] = [
            {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": arguments}}
        ]
    tokens = FINAL_TOKENS if done else FIRST_TOKENS
    return {
        "id": f"chatcmpl-{tokens}",
        "object": "chat.completion",
        "created": 1_730_000_000,
        "model": "gpt-4o-mini-2024-07-18",
        "choices": [{"index": 0, "message": message, "finish_reason": "stop" if done else "tool_calls"}],
        "usage": {"prompt_tokens": 50, "completion_tokens": tokens, "total_tokens": 50 + tokens},
    }


def _anthropic_answer(body: dict[str, Any]) -> dict[str, Any]:
    blocks = [b for m in body.get("messages", []) if isinstance(m.get("content"), list) for b in m["content"]]
    done = any(b.get("type") == "tool_result" for b in blocks)
    tokens = FINAL_TOKENS if done else FIRST_TOKENS
    content = (
        [{"type": "text", "text": ANSWER}]
        if done
        else [{"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": CITY}}]
    )
    return {
        "id": f"msg_{tokens}",
        "type": "message",
        "role": "assistant",
        "model": "claude-haiku-4-5-20251001",
        "content": content,
        "stop_reason": "end_turn" if done else "tool_use",
        "stop_sequence": None,
        "usage": {"input_tokens": 50, "output_tokens": tokens},
    }


def _gemini_answer(body: dict[str, Any]) -> dict[str, Any]:
    parts = [p for c in body.get("contents", []) for p in c.get("parts", [])]
    done = any("functionResponse" in p or "function_response" in p for p in parts)
    tokens = FINAL_TOKENS if done else FIRST_TOKENS
    part = {"text": ANSWER} if done else {"functionCall": {"name": "get_weather", "args": {"city": CITY}}}
    return {
        "candidates": [{"content": {"role": "model", "parts": [part]}, "finishReason": "STOP", "index": 0}],
        "usageMetadata": {"promptTokenCount": 50, "candidatesTokenCount": tokens, "totalTokenCount": 50 + tokens},
        "modelVersion": "gemini-2.5-flash",
        "responseId": f"resp-{tokens}",
    }


class ScriptedAPI:
    """A local HTTP server answering each API's generation route; ``paths`` records every request's path."""

    def __init__(self) -> None:
        self.paths: list[str] = []
        api = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers.get("content-length") or 0)) or b"{}")
                api.paths.append(self.path)
                path = self.path.split("?")[0]
                if path.endswith("/chat/completions"):
                    answer = _openai_answer(body)
                elif path.endswith("/messages"):
                    answer = _anthropic_answer(body)
                elif path.endswith(":generateContent"):
                    answer = _gemini_answer(body)
                else:
                    self.send_error(404)
                    return
                answer_json(self, json.dumps(answer).encode())

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def api() -> Iterator[ScriptedAPI]:
    server = ScriptedAPI()
    yield server
    server.close()


@pytest.fixture(autouse=True)
def _offline(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(_tokens, "_loader", lambda model: None)
    yield
    genai_footprint.shutdown()


def counted_once(api: ScriptedAPI, run_agent: Callable[[], Any], provider: str) -> None:
    """The run without instrumentation, then instrumented inside ``track()``: same result, one event per LLM
    request the server saw, two LLM steps in the tracker, each with the output tokens the API reported."""
    start = len(api.paths)
    plain = run_agent()
    assert len(api.paths) - start == 2  # two LLM steps, the tool in between
    events = checks.listen([provider])
    start = len(api.paths)
    with genai_footprint.track("agent") as run:
        result = run_agent()
    assert result == plain
    assert len(api.paths) - start == 2
    assert len(events) == 2 and run.calls == 2, (len(events), run.calls)
    assert [event.output_tokens for event in events] == [FIRST_TOKENS, FINAL_TOKENS]
    assert all(isinstance(event.impacts, Impacts) for event in events)
    assert all(event.trackers == ("agent",) for event in events)
    assert run.impacts is not None


# -- LangChain ------------------------------------------------------------------------------------------------


def _langchain_run(llm: Any) -> Any:
    from langchain_core.messages import HumanMessage, ToolMessage

    model = llm.bind_tools([get_weather])
    messages: list[Any] = [HumanMessage(f"What is the weather in {CITY}?")]
    first = model.invoke(messages)
    messages.append(first)
    for tool_call in first.tool_calls:
        messages.append(ToolMessage(get_weather(**tool_call["args"]), tool_call_id=tool_call["id"]))
    final = model.invoke(messages)
    # Tool-call ids are random where the API sends none (Gemini): compared without them.
    calls = [[(c["name"], c["args"]) for c in getattr(m, "tool_calls", ())] for m in [*messages, final]]
    return [(type(m).__name__, m.content) for m in [*messages, final]], calls


def test_langchain_openai(api: ScriptedAPI) -> None:
    pytest.importorskip("langchain_openai")
    from langchain_openai import ChatOpenAI

    def run_agent() -> Any:
        llm = ChatOpenAI(model="gpt-4o-mini", base_url=f"{api.url}/v1", api_key="sk-test", max_retries=0)
        return _langchain_run(llm)

    counted_once(api, run_agent, "openai")


def test_langchain_anthropic(api: ScriptedAPI) -> None:
    pytest.importorskip("langchain_anthropic")
    from langchain_anthropic import ChatAnthropic

    def run_agent() -> Any:
        llm = ChatAnthropic(model="claude-haiku-4-5", base_url=api.url, api_key="sk-ant-test", max_retries=0)
        return _langchain_run(llm)

    counted_once(api, run_agent, "anthropic")


def test_langchain_google_genai(api: ScriptedAPI) -> None:
    pytest.importorskip("langchain_google_genai")
    from langchain_google_genai import ChatGoogleGenerativeAI

    def run_agent() -> Any:
        llm = ChatGoogleGenerativeAI(
            model="gemini-2.5-flash", google_api_key="test-key", base_url=api.url, max_retries=0
        )
        return _langchain_run(llm)

    counted_once(api, run_agent, "google")


# -- pydantic-ai ----------------------------------------------------------------------------------------------


def test_pydantic_ai(api: ScriptedAPI) -> None:
    pytest.importorskip("pydantic_ai")
    from pydantic_ai import Agent
    from pydantic_ai.models.openai import OpenAIChatModel
    from pydantic_ai.providers.openai import OpenAIProvider

    def run_agent() -> Any:
        provider = OpenAIProvider(base_url=f"{api.url}/v1", api_key="sk-test")
        agent = Agent(OpenAIChatModel("gpt-4o-mini", provider=provider), tools=[get_weather])
        result = agent.run_sync(f"What is the weather in {CITY}?")
        usage = result.usage
        return result.output, usage.requests, usage.output_tokens, len(result.all_messages())

    counted_once(api, run_agent, "openai")


# -- OpenAI Agents SDK ----------------------------------------------------------------------------------------


def test_openai_agents(api: ScriptedAPI) -> None:
    pytest.importorskip("agents")
    import asyncio

    import openai
    from agents import Agent, OpenAIChatCompletionsModel, Runner, function_tool, set_tracing_disabled

    set_tracing_disabled(True)

    def run_agent() -> Any:
        client = openai.AsyncOpenAI(base_url=f"{api.url}/v1", api_key="sk-test", max_retries=0)
        model = OpenAIChatCompletionsModel(model="gpt-4o-mini", openai_client=client)
        agent = Agent(name="weather", instructions="Answer briefly.", model=model, tools=[function_tool(get_weather)])
        result = asyncio.run(Runner.run(agent, f"What is the weather in {CITY}?"))
        return result.final_output, [type(item).__name__ for item in result.new_items]

    counted_once(api, run_agent, "openai")
