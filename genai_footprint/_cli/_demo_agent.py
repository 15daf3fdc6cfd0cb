"""The demo's agent: plan (OpenAI chat), tool call (Anthropic messages answering with a ``tool_use`` block; the
tool runs locally), answer (Mistral chat, streamed) and summary (OpenAI Responses, async), each step in its own
tracker, on the fake providers or the real APIs.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from genai_footprint._cli._text import one_line
from genai_footprint._errors import GenAIFootprintError, InvalidInputError

if TYPE_CHECKING:
    from genai_footprint import Impacts
    from genai_footprint._cli._demo_fake import FakeProviders

QUESTION = "A train covers 427 km from Paris to Lyon. How long is the return trip, in miles?"
MODELS = {"openai": "gpt-4o-mini", "anthropic": "claude-haiku-4-5", "mistralai": "mistral-small-latest"}

# -- the tool -----------------------------------------------------------------------------------------------

_METRES = {"m": 1.0, "km": 1000.0, "mi": 1609.344, "ft": 0.3048}

TOOL = {
    "name": "convert_units",
    "description": "Convert a length between units (m, km, mi, ft).",
    "input_schema": {
        "type": "object",
        "properties": {
            "value": {"type": "number", "description": "the length to convert"},
            "from_unit": {"type": "string", "enum": sorted(_METRES)},
            "to_unit": {"type": "string", "enum": sorted(_METRES)},
        },
        "required": ["value", "from_unit", "to_unit"],
    },
}


def convert_units(value: object, from_unit: object, to_unit: object) -> float:
    """``value`` in ``from_unit`` expressed in ``to_unit`` (m, km, mi, ft), rounded to 2 decimals.

    The arguments come from a model's tool call, so each is checked (``InvalidInputError`` naming it).
    """
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InvalidInputError("value", f"expected a number, got {value!r}")
    metres = []
    for argument, unit in (("from_unit", from_unit), ("to_unit", to_unit)):
        if not isinstance(unit, str) or unit not in _METRES:
            raise InvalidInputError(argument, f"unknown unit {unit!r}; expected one of {', '.join(sorted(_METRES))}")
        metres.append(_METRES[unit])
    return round(value * metres[0] / metres[1], 2)


def run_tool(arguments: object) -> str:
    """The tool's answer to a model's call, as text for the next step (an error is an answer too)."""
    if not isinstance(arguments, Mapping):
        return f"error: expected the tool's arguments as an object, got {arguments!r}"
    try:
        result = convert_units(arguments.get("value"), arguments.get("from_unit"), arguments.get("to_unit"))
    except InvalidInputError as exc:
        return f"error: {exc}"
    return f"{arguments['value']:g} {arguments['from_unit']} = {result:g} {arguments['to_unit']}"


# -- the agent ------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Clients:
    """The SDK clients the agent calls."""

    openai: Any
    anthropic: Any
    mistral: Any
    async_openai: Callable[[], Any]  # built inside the event loop that uses it


def fake_clients(stack: ExitStack, fake: FakeProviders) -> Clients:
    """Clients of the real SDKs talking to ``fake``, the sync ones closed when ``stack`` closes."""
    import anthropic
    import openai
    from mistralai.client import Mistral

    # Base URLs are given so that *_BASE_URL variables cannot send the fake's clients elsewhere.
    openai_client = stack.enter_context(
        openai.OpenAI(
            api_key="fake", base_url="https://api.openai.com/v1", http_client=fake.http_client(), max_retries=0
        )
    )
    anthropic_client = stack.enter_context(
        anthropic.Anthropic(
            api_key="fake", base_url="https://api.anthropic.com", http_client=fake.http_client(), max_retries=0
        )
    )
    # The Mistral SDK leaves the HTTP clients it is given open: the sync one is closed here; the async one is
    # never used (given only so the SDK does not build a real one) and holds no connection.
    mistral = Mistral(
        api_key="fake",
        server_url="https://api.mistral.ai",
        client=stack.enter_context(fake.http_client()),
        async_client=fake.async_http_client(),
    )

    def async_openai() -> Any:
        return openai.AsyncOpenAI(
            api_key="fake",
            base_url="https://api.openai.com/v1",
            http_client=fake.async_http_client(),
            max_retries=0,
        )

    return Clients(openai_client, anthropic_client, mistral, async_openai)


def live_clients(stack: ExitStack) -> Clients:
    """Clients of the real APIs, keys from the environment; each closed when ``stack`` closes."""
    import anthropic
    import openai
    from mistralai.client import Mistral

    openai_client = stack.enter_context(openai.OpenAI())
    anthropic_client = stack.enter_context(anthropic.Anthropic())
    mistral = stack.enter_context(Mistral(api_key=os.environ["MISTRAL_API_KEY"]))
    return Clients(openai_client, anthropic_client, mistral, openai.AsyncOpenAI)


@dataclass(frozen=True, slots=True)
class DemoCall:
    """One call of the agent: which step made it, how, and the impacts the SDK's answer carried."""

    step: str
    tracker: str
    provider: str
    model_requested: str
    stream: bool
    asynchronous: bool
    impacts: Impacts | None  # None when the model is not in the registry


class Agent:
    """Plan, tool call, answer (streamed), summary (async): each step in its own tracker."""

    def __init__(self, clients: Clients, *, live: bool) -> None:
        self.clients = clients
        self.live = live
        self.calls: list[DemoCall] = []

    @contextmanager
    def _step(self, step: str, provider: str) -> Iterator[None]:
        from genai_footprint import track

        try:
            with track(_tracker(step)):
                yield
        except Exception as exc:
            if not self.live:
                raise  # the fake provider failing is a bug, not a user error: keep the traceback
            message = one_line(str(exc)) or type(exc).__name__
            raise GenAIFootprintError(f"--live: the {step} step's {provider} call failed: {message}") from exc

    def _record(self, step: str, provider: str, answer: object, *, stream: bool = False, aio: bool = False) -> None:
        impacts = getattr(answer, "impacts", None)
        self.calls.append(DemoCall(step, _tracker(step), provider, MODELS[provider], stream, aio, impacts))

    def run(self) -> tuple[str, str]:
        """Run the four steps; returns (the tool call and its result, the one-line summary)."""
        clients = self.clients
        with self._step("plan", "openai"):
            completion = clients.openai.chat.completions.create(
                model=MODELS["openai"],
                max_completion_tokens=300,
                messages=[
                    {"role": "system", "content": "Write a numbered plan of at most four short steps; do not answer."},
                    {"role": "user", "content": QUESTION},
                ],
            )
            self._record("plan", "openai", completion)
            plan = completion.choices[0].message.content or ""

        with self._step("tool call", "anthropic"):
            message = clients.anthropic.messages.create(
                model=MODELS["anthropic"],
                max_tokens=300,
                tools=[TOOL],
                tool_choice={"type": "tool", "name": TOOL["name"]},
                messages=[{"role": "user", "content": f"{QUESTION}\n\nPlan:\n{plan}\n\nDo the conversion."}],
            )
            self._record("tool call", "anthropic", message)
            use = next((block for block in message.content if block.type == "tool_use"), None)
        if use is None:
            tool = f"{TOOL['name']} was not called"
            result = "error: the model did not call the tool"
        else:
            result = run_tool(use.input)
            shown = ", ".join(f"{k}={v!r}" for k, v in use.input.items()) if isinstance(use.input, Mapping) else ""
            tool = _one_line(f"{use.name}({shown}) → {result} (run locally)")

        with self._step("answer", "mistralai"):
            stream = clients.mistral.chat.stream(
                model=MODELS["mistralai"],
                max_tokens=400,
                messages=[
                    {"role": "system", "content": "Answer in one short paragraph, using the tool's result."},
                    {"role": "user", "content": f"{QUESTION}\n\nPlan:\n{plan}\n\nTool result: {result}"},
                ],
            )
            with stream:
                answer = "".join(_delta_text(event) for event in stream)
            self._record("answer", "mistralai", stream, stream=True)

        with self._step("summary", "openai"):
            response = asyncio.run(self._summarise(answer))
            self._record("summary", "openai", response, aio=True)
        return tool, _one_line(response.output_text or answer)

    async def _summarise(self, answer: str) -> Any:
        async with self.clients.async_openai() as client:
            return await client.responses.create(
                model=MODELS["openai"],
                instructions="Summarise this answer in one sentence.",
                input=answer,
                max_output_tokens=200,
            )


def _tracker(step: str) -> str:
    """The name of a step's tracker, nested in ``demo-agent``: ``"tool call"`` → ``"step-tool-call"``."""
    return "step-" + step.replace(" ", "-")


def _delta_text(event: Any) -> str:
    """The text a Mistral chat stream event adds (its content is a string or a list of chunks)."""
    choices = getattr(event.data, "choices", None) or ()
    content = choices[0].delta.content if choices else None
    if isinstance(content, str):
        return content
    return "".join(getattr(chunk, "text", "") or "" for chunk in content or ())


def _one_line(text: str, limit: int = 120) -> str:
    text = one_line(text)
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"
