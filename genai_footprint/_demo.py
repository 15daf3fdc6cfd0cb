"""``genai-footprint demo``: a four-step agent across OpenAI, Anthropic and Mistral, and what it cost.

The agent plans (OpenAI chat), calls a tool (Anthropic messages answering with a ``tool_use`` block; the tool
runs locally), answers (Mistral chat, streamed) and summarises (OpenAI Responses, async), inside
``track("demo-agent")`` with one nested tracker per step, every call logged by the JSON Lines exporter.
By default the providers are a fake served in-process to the real SDK clients through
``httpx2.MockTransport`` (payloads shaped like the public API references, shortened latencies, no network, no
keys); ``live=True`` calls the real APIs with the keys in the environment.
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import os
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from genai_footprint._errors import GenAIFootprintError, InvalidInputError

if TYPE_CHECKING:
    import httpx2

    from genai_footprint._impacts import Impacts

DEMO_SCHEMA = "genai-footprint.demo/1"
TRACKER = "demo-agent"
QUESTION = "A train covers 427 km from Paris to Lyon. How long is the return trip, in miles?"
MODELS = {"openai": "gpt-4o-mini", "anthropic": "claude-haiku-4-5", "mistralai": "mistral-small-latest"}
API_KEYS = ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "MISTRAL_API_KEY")
_SDK_MODULES = (("openai", "openai"), ("anthropic", "anthropic"), ("mistralai", "mistralai.client"))
_SHOWN = ("energy", "gwp", "wcf")  # the criteria of the table; the JSON output has all five


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


def _run_tool(arguments: object) -> str:
    """The tool's answer to a model's call, as text for the next step (an error is an answer too)."""
    if not isinstance(arguments, Mapping):
        return f"error: expected the tool's arguments as an object, got {arguments!r}"
    try:
        result = convert_units(arguments.get("value"), arguments.get("from_unit"), arguments.get("to_unit"))
    except InvalidInputError as exc:
        return f"error: {exc}"
    return f"{arguments['value']:g} {arguments['from_unit']} = {result:g} {arguments['to_unit']}"


# -- the fake provider ----------------------------------------------------------------------------------------

OPENAI_SERVED = "gpt-4o-mini-2024-07-18"
ANTHROPIC_SERVED = "claude-haiku-4-5-20251001"
MISTRAL_SERVED = "mistral-small-latest"  # the chat API answers with the model name it was asked for
_CREATED = 1_763_812_800

# Latencies in seconds, a fraction of what the real APIs take for these token counts, so that the agent's four
# calls take about 1.5 s; the stream waits before its first event, then between two events.
_PLAN_S, _TOOL_S, _SUMMARY_S = 0.35, 0.3, 0.2
_ANSWER_FIRST_S, _ANSWER_GAP_S = 0.15, 0.006

_PLAN = (
    "1. Take the one-way rail distance given in the question: 427 km.\n"
    "2. Double it for the return trip: 854 km.\n"
    "3. Convert 854 km to miles with the convert_units tool.\n"
    "4. Answer with the distance in miles, rounded to one decimal, and give the kilometre figure as well "
    "so the reader can check the conversion."
)
_ANSWER = (
    "The return trip between Paris and Lyon is twice the one-way distance: 2 × 427 km = 854 km. "
    "Converted with the tool, 854 km is 530.65 miles, so the return trip is about 530.7 miles. "
    "For reference, one mile is 1.609344 km; the one-way journey alone is about 265.3 miles. "
    "On a high-speed TGV the 427 km take roughly two hours each way, so the full return trip is about "
    "four hours of travel."
)
_SUMMARY = "The Paris–Lyon return trip by train is 854 km, about 530.7 miles."


def _openai_usage(prompt: int, completion: int) -> dict[str, Any]:
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
        "completion_tokens_details": {
            "reasoning_tokens": 0,
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
        },
    }


def _chat_completion() -> dict[str, Any]:
    return {
        "id": "chatcmpl-CjX4rT9wq2m8ZK7uVbN3pLd0eHf1s",
        "object": "chat.completion",
        "created": _CREATED,
        "model": OPENAI_SERVED,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": _PLAN, "refusal": None, "annotations": []},
                "logprobs": None,
                "finish_reason": "stop",
            }
        ],
        "usage": _openai_usage(64, 142),
        "service_tier": "default",
        "system_fingerprint": "fp_560af6e559",
    }


def _tool_use_message() -> dict[str, Any]:
    return {
        "id": "msg_01Hq7ZkT3vWb5nXy8RcJ2mPa",
        "type": "message",
        "role": "assistant",
        "model": ANTHROPIC_SERVED,
        "content": [
            {
                "type": "tool_use",
                "id": "toolu_01Xb4sVq9LwE2rTz6NkY8dGh",
                "name": "convert_units",
                "input": {"value": 854, "from_unit": "km", "to_unit": "mi"},
            }
        ],
        "stop_reason": "tool_use",
        "stop_sequence": None,
        "usage": {
            "input_tokens": 742,
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 0,
            "output_tokens": 71,
            "service_tier": "standard",
        },
    }


def _mistral_chunks() -> list[dict[str, Any]]:
    """A streamed Mistral chat answer: a role chunk, one chunk per word, a finish chunk carrying the usage."""
    head = {"id": "3f9c1b7e2a8d4c6f9e0b5a7d1c3e8f2a", "object": "chat.completion.chunk", "created": _CREATED}
    head["model"] = MISTRAL_SERVED

    def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        return {**head, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}

    words = _ANSWER.split(" ")
    chunks = [chunk({"role": "assistant", "content": ""})]
    chunks += [chunk({"content": word if i == 0 else " " + word}) for i, word in enumerate(words)]
    last = chunk({"content": ""}, "stop")
    last["usage"] = {"prompt_tokens": 318, "completion_tokens": 236, "total_tokens": 554}
    return [*chunks, last]


def _response() -> dict[str, Any]:
    """An OpenAI Responses API ``response`` object."""
    return {
        "id": "resp_0b8c2e7f4a1d9b3c0068f1a2b3c4d5e6f70819a2b3c4d5e6",
        "object": "response",
        "created_at": _CREATED,
        "status": "completed",
        "error": None,
        "incomplete_details": None,
        "instructions": None,
        "max_output_tokens": 200,
        "model": OPENAI_SERVED,
        "output": [
            {
                "type": "message",
                "id": "msg_0b8c2e7f4a1d9b3c0068f1a2b4e5f6a7b80819c3d4e5f6a7",
                "status": "completed",
                "role": "assistant",
                "content": [{"type": "output_text", "text": _SUMMARY, "annotations": [], "logprobs": []}],
            }
        ],
        "parallel_tool_calls": True,
        "previous_response_id": None,
        "reasoning": {"effort": None, "summary": None},
        "store": True,
        "temperature": 1.0,
        "text": {"format": {"type": "text"}},
        "tool_choice": "auto",
        "tools": [],
        "top_p": 1.0,
        "truncation": "disabled",
        "usage": {
            "input_tokens": 291,
            "input_tokens_details": {"cached_tokens": 0},
            "output_tokens": 48,
            "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": 339,
        },
        "user": None,
        "metadata": {},
    }


class FakeProviders:
    """The OpenAI, Anthropic and Mistral endpoints the demo uses, answering the SDKs as the real APIs do.

    ``paced=False`` answers at once (tests); otherwise each answer waits its share of a realistic, shortened
    latency, a stream between every event.
    """

    def __init__(self, *, paced: bool = True) -> None:
        self.paced = paced

    def _route(self, request: httpx2.Request) -> tuple[float, httpx2.Response]:
        import httpx2

        host, path = request.url.host, request.url.path
        body = json.loads(request.content) if request.content else {}
        if host == "api.openai.com" and path == "/v1/chat/completions" and not body.get("stream"):
            headers = {"x-request-id": "req_5c1e0a9b7d3f4e28a6b0c9d1e2f3a4b5", "openai-processing-ms": "341"}
            return _PLAN_S, httpx2.Response(200, json=_chat_completion(), headers=headers)
        if host == "api.openai.com" and path == "/v1/responses" and not body.get("stream"):
            headers = {"x-request-id": "req_9a8b7c6d5e4f30a1b2c3d4e5f6a7b8c9", "openai-processing-ms": "188"}
            return _SUMMARY_S, httpx2.Response(200, json=_response(), headers=headers)
        if host == "api.anthropic.com" and path == "/v1/messages" and not body.get("stream"):
            headers = {"request-id": "req_011CVx3kQ8mZr4TnP7aLw2Jd"}
            return _TOOL_S, httpx2.Response(200, json=_tool_use_message(), headers=headers)
        if host == "api.mistral.ai" and path == "/v1/chat/completions" and body.get("stream") is True:
            events = [f"data: {json.dumps(c)}\n\n".encode() for c in _mistral_chunks()] + [b"data: [DONE]\n\n"]
            gap = _ANSWER_GAP_S if self.paced else 0.0
            headers = {"content-type": "text/event-stream; charset=utf-8"}
            return _ANSWER_FIRST_S, httpx2.Response(200, content=_paced(events, gap), headers=headers)
        error = {"error": {"message": f"the demo's fake provider does not serve {request.method} {host}{path}"}}
        return 0.0, httpx2.Response(404, json=error)

    def handle(self, request: httpx2.Request) -> httpx2.Response:
        """The sync clients' transport handler."""
        delay, response = self._route(request)
        if self.paced:
            time.sleep(delay)
        return response

    async def ahandle(self, request: httpx2.Request) -> httpx2.Response:
        """The async clients' transport handler."""
        delay, response = self._route(request)
        if self.paced:
            await asyncio.sleep(delay)
        return response

    def http_client(self) -> httpx2.Client:
        import httpx2

        return httpx2.Client(transport=httpx2.MockTransport(self.handle))

    def async_http_client(self) -> httpx2.AsyncClient:
        import httpx2

        return httpx2.AsyncClient(transport=httpx2.MockTransport(self.ahandle))


def _paced(events: list[bytes], gap: float) -> Iterator[bytes]:
    """A response body served one SSE event at a time, ``gap`` seconds apart, as over a network."""
    for event in events:
        if gap:
            time.sleep(gap)
        yield event


# -- the agent ------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Clients:
    openai: Any
    anthropic: Any
    mistral: Any
    async_openai: Callable[[], Any]  # built inside the event loop that uses it


def _fake_clients(stack: ExitStack, fake: FakeProviders) -> _Clients:
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

    return _Clients(openai_client, anthropic_client, mistral, async_openai)


def _live_clients(stack: ExitStack) -> _Clients:
    import anthropic
    import openai
    from mistralai.client import Mistral

    openai_client = stack.enter_context(openai.OpenAI())
    anthropic_client = stack.enter_context(anthropic.Anthropic())
    mistral = stack.enter_context(Mistral(api_key=os.environ["MISTRAL_API_KEY"]))
    return _Clients(openai_client, anthropic_client, mistral, openai.AsyncOpenAI)


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


class _Agent:
    """Plan, tool call, answer (streamed), summary (async): each step in its own tracker."""

    def __init__(self, clients: _Clients, *, live: bool) -> None:
        self.clients = clients
        self.live = live
        self.calls: list[DemoCall] = []

    @contextmanager
    def _step(self, step: str, provider: str) -> Iterator[None]:
        from genai_footprint._track import track

        try:
            with track(_tracker(step)):
                yield
        except Exception as exc:
            if not self.live:
                raise  # the fake provider failing is a bug, not a user error: keep the traceback
            message = " ".join(str(exc).split()) or type(exc).__name__
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
            result = _run_tool(use.input)
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
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


# -- running it -----------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DemoResult:
    """What one run of the demo did and cost; ``total`` is the ``demo-agent`` tracker's ``run.impacts``."""

    live: bool
    calls: tuple[DemoCall, ...]
    total: Impacts | None
    total_calls: int
    tool: str
    answer: str
    log: Path
    records: int  # lines in the log once the exporters were flushed


def check_sdks() -> None:
    """Raise a one-line error naming the provider SDKs that are not installed."""
    missing = []
    for name, module in _SDK_MODULES:
        try:
            found = importlib.util.find_spec(module) is not None
        except ImportError:  # a dotted name whose parent package is missing
            found = False
        if not found:
            missing.append(name)
    if missing:
        raise GenAIFootprintError(
            f"the demo needs the openai, anthropic and mistralai SDKs; not installed: {', '.join(missing)} "
            "(pip install 'genai-footprint[all]')"
        )


def check_keys(environ: Mapping[str, str] = os.environ) -> None:
    """Raise a one-line error naming the API key variables ``--live`` needs that are unset or empty."""
    missing = [name for name in API_KEYS if not environ.get(name)]
    if missing:
        names = ", ".join(missing)
        raise InvalidInputError("--live", f"missing {names}: set the API keys in the environment to call the real APIs")


def _clear_log(path: Path) -> None:
    """Remove the log of a previous demo run, so the new log holds this run's calls alone.

    Anything else at ``path`` (a directory, a file that is not a demo log) is left alone and refused.
    """
    from genai_footprint._report import read_logs

    if not path.exists():
        return
    if not path.is_file():
        raise InvalidInputError("--log", f"{path} is a directory or a special file, not a log file")
    refusal = f"{path} exists and is not a log of this demo; choose another path or remove it"
    try:
        log = read_logs([path])
    except InvalidInputError:
        raise InvalidInputError("--log", refusal) from None
    if not all(call.trackers[:1] == (TRACKER,) for call in log.calls):
        raise InvalidInputError("--log", refusal)
    path.unlink()


def _count_records(path: Path) -> int:
    try:
        with path.open(encoding="utf-8") as file:
            return sum(1 for line in file if line.strip())
    except FileNotFoundError:
        return 0


def run_demo(log: str | os.PathLike[str], *, live: bool = False, paced: bool = True) -> DemoResult:
    """Run the agent with instrumentation on, logging every call to ``log`` (replaced if a previous demo's).

    ``live``: the real APIs (needs ``OPENAI_API_KEY``, ``ANTHROPIC_API_KEY``, ``MISTRAL_API_KEY``), else the
    fake providers, answering at once when ``paced`` is False. Instrumentation is switched off again before
    returning, whatever happens; the process must not have it on already.
    """
    check_sdks()
    if live:
        check_keys()
    from genai_footprint._instrument._lifecycle import current_runtime, init, shutdown
    from genai_footprint._track import track

    if current_runtime() is not None:
        raise GenAIFootprintError(
            "instrumentation is already on in this process (init() was called); run the demo in a process of its own"
        )
    path = Path(log)
    _clear_log(path)
    init(providers=list(MODELS), exporters={"jsonl": {"path": str(path)}}, strict=True)
    try:
        with ExitStack() as stack:
            clients = _live_clients(stack) if live else _fake_clients(stack, FakeProviders(paced=paced))
            agent = _Agent(clients, live=live)
            with track(TRACKER) as run:
                tool, answer = agent.run()
    finally:
        shutdown()  # restores the SDKs and flushes the log
    return DemoResult(live, tuple(agent.calls), run.impacts, run.calls, tool, answer, path, _count_records(path))


# -- output ---------------------------------------------------------------------------------------------------


def _bounds(impacts: Impacts, criteria: tuple[str, ...]) -> dict[str, dict[str, float | str]]:
    out: dict[str, dict[str, float | str]] = {}
    for criterion in criteria:
        r = getattr(impacts, criterion)
        out[criterion] = {"min": r.min, "max": r.max, "unit": r.unit}
    return out


def _tokens(calls: tuple[DemoCall, ...]) -> float:
    return sum(c.impacts.inputs.output_tokens for c in calls if c.impacts is not None and c.impacts.inputs)


def demo_json(result: DemoResult) -> dict[str, Any]:
    """The run as plain JSON types: each call and the total, every criterion in the record's units."""
    from genai_footprint._export._record import CRITERIA

    calls = []
    for call in result.calls:
        inputs = call.impacts.inputs if call.impacts is not None else None
        calls.append(
            {
                "step": call.step,
                "tracker": call.tracker,
                "provider": call.provider,
                "model_requested": call.model_requested,
                "model_served": inputs.model_served if inputs else None,
                "model_resolved": inputs.model_resolved if inputs else None,
                "zone": inputs.zone if inputs else None,
                "output_tokens": inputs.output_tokens if inputs else None,
                "latency_s": inputs.latency_s if inputs else None,
                "stream": call.stream,
                "async": call.asynchronous,
                "impacts": _bounds(call.impacts, CRITERIA) if call.impacts is not None else None,
            }
        )
    total = result.total
    return {
        "schema": DEMO_SCHEMA,
        "mode": "live" if result.live else "fake",
        "question": QUESTION,
        "tool": result.tool,
        "answer": result.answer,
        "calls": calls,
        "total": {
            "tracker": TRACKER,
            "calls": result.total_calls,
            "estimated_calls": total.calls if total is not None else 0,
            "output_tokens": _tokens(result.calls),
            "impacts": _bounds(total, CRITERIA) if total is not None else None,
        },
        "log": {"path": str(result.log), "records": result.records},
    }


def format_demo(result: DemoResult) -> str:
    """The run as text: the question, the tool call, the answer, one row per call, the total, the log."""
    import shlex

    from genai_footprint._cli import PROG, _table
    from genai_footprint._report import LABELS, format_count, format_quantity

    def ranges(impacts: Impacts | None) -> list[str]:
        if impacts is None:
            return ["-"] * len(_SHOWN)
        return [format_quantity(c, getattr(impacts, c).min, getattr(impacts, c).max) for c in _SHOWN]

    rows = []
    for number, call in enumerate(result.calls, start=1):
        how = " (stream)" if call.stream else " (async)" if call.asynchronous else ""
        inputs = call.impacts.inputs if call.impacts is not None else None
        rows.append(
            [
                f"{number} {call.step}{how}",
                call.provider,
                inputs.model_resolved or call.model_requested if inputs else call.model_requested,
                format_count(inputs.output_tokens) if inputs else "-",
                f"{inputs.latency_s:.2f} s" if inputs and inputs.latency_s is not None else "-",
                *ranges(call.impacts),
                inputs.zone if inputs else "-",
            ]
        )
    tokens = format_count(_tokens(result.calls))
    rows.append([f"Total ({TRACKER})", f"{result.total_calls} calls", "", tokens, "", *ranges(result.total), ""])
    header = ["Step", "Provider", "Model", "Output tokens", "Latency", *(LABELS[c] for c in _SHOWN), "Zone"]
    where = "the real APIs" if result.live else "built-in fake providers: no network, no API keys (--live: real APIs)"
    lines = [
        f"Demo agent on {where}",
        f"Question: {QUESTION}",
        f"Tool:     {result.tool}",
        f"Answer:   {result.answer}",
        "",
        *_table(header, rows, right=(3, 4, 5, 6, 7)),
        "",
        "Impacts are min – max ranges; the total is the tracker's sum of every call.",
    ]
    if not result.live:
        lines += [
            "The fake providers answer much faster than the real APIs; latency caps the time-based part of an",
            "estimate, so for the same tokens a live run shows higher figures.",
        ]
    if any(call.impacts is None for call in result.calls):
        lines.append("-: the model is not in the registry, so the call has no estimate.")
    log = shlex.quote(str(result.log))
    lines.append(f"Log: {result.log} ({result.records} records) — see `{PROG} report {log}`")
    return "\n".join(lines)
