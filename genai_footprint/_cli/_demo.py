"""``genai-footprint demo``: a four-step agent across OpenAI, Anthropic and Mistral, and what it cost.

The agent (``_demo_agent``) runs inside ``track("demo-agent")`` with one nested tracker per step, every call
logged by the JSON Lines exporter. By default the providers are a fake (``_demo_fake``) served in-process to the
real SDK clients (no network, no keys, shortened latencies); ``live=True`` calls the real APIs with the keys in
the environment.
"""

from __future__ import annotations

import importlib.util
import os
import shlex
from collections.abc import Mapping
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from genai_footprint._cli._demo_agent import MODELS, QUESTION, Agent, DemoCall, fake_clients, live_clients
from genai_footprint._cli._demo_fake import FakeProviders
from genai_footprint._cli._logs import read_logs
from genai_footprint._cli._text import MAX_WIDTH, PROG, format_count, table, tree_labels
from genai_footprint._criteria import LABELS, NAMES, format_quantity
from genai_footprint._errors import GenAIFootprintError, InvalidInputError

if TYPE_CHECKING:
    from genai_footprint import Impacts

DEMO_SCHEMA = "genai-footprint.demo/1"
TRACKER = "demo-agent"
API_KEYS = ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "MISTRAL_API_KEY")
_SDK_MODULES = (("openai", "openai"), ("anthropic", "anthropic"), ("mistralai", "mistralai.client"))
_SHOWN = ("energy", "gwp", "wcf")  # the criteria of the table; the JSON output has all five

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
    from genai_footprint import init, shutdown, track
    from genai_footprint._setup import current_runtime

    if current_runtime() is not None:
        raise GenAIFootprintError(
            "instrumentation is already on in this process (init() was called); run the demo in a process of its own"
        )
    path = Path(log)
    _clear_log(path)
    init(providers=list(MODELS), exporters={"jsonl": {"path": str(path)}}, strict=True)
    try:
        with ExitStack() as stack:
            clients = live_clients(stack) if live else fake_clients(stack, FakeProviders(paced=paced))
            agent = Agent(clients, live=live)
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
                "impacts": _bounds(call.impacts, NAMES) if call.impacts is not None else None,
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
            "impacts": _bounds(total, NAMES) if total is not None else None,
        },
        "log": {"path": str(result.log), "records": result.records},
    }


def _ranges(impacts: Impacts | None, units: str) -> list[str]:
    """The table's criteria of ``impacts``, each in a readable unit; ``-`` for a call without an estimate."""
    if impacts is None:
        return ["-"] * len(_SHOWN)
    return [format_quantity(c, getattr(impacts, c).min, getattr(impacts, c).max, units) for c in _SHOWN]


# The columns of the table, then those left out first when it would be wider than the screen.
_HEADER = ("Tracker", "Model", "Tokens", *(LABELS[c] for c in _SHOWN), "Latency", "Zone", "Provider")
_DROP = (8, 6, 7, 2, 1)  # provider, latency, zone, tokens and model are also in the lines under the table


def _call_row(label: str, call: DemoCall, units: str) -> list[str]:
    inputs = call.impacts.inputs if call.impacts is not None else None
    return [
        label,
        call.model_requested,
        format_count(inputs.output_tokens) if inputs else "-",
        *_ranges(call.impacts, units),
        f"{inputs.latency_s:.2f} s" if inputs and inputs.latency_s is not None else "-",
        inputs.zone if inputs else "-",
        call.provider,
    ]


def format_demo(result: DemoResult, units: str = "si") -> str:
    """The run as text: the question, the tool call, the answer, the tracker tree with each step's call and the
    total, how each call was made, the log."""
    labels = tree_labels([(TRACKER,), *((TRACKER, call.tracker) for call in result.calls)])
    total = [
        labels[0],
        f"{result.total_calls} calls",
        format_count(_tokens(result.calls)),
        *_ranges(result.total, units),
    ]
    rows = [[*total, "", "", ""]]
    rows += [_call_row(label, call, units) for label, call in zip(labels[1:], result.calls, strict=True)]
    width = max(len(call.tracker) for call in result.calls) + 1
    where = "the real APIs" if result.live else "built-in fake providers: no network, no API keys (--live: real APIs)"
    lines = [
        f"Demo agent on {where}",
        f"Question: {QUESTION}",
        f"Tool:     {result.tool}",
        f"Answer:   {result.answer}",
        "",
        *table(_HEADER, rows, right=(2, 3, 4, 5, 6), drop=_DROP, width=MAX_WIDTH),
        "",
        "Calls:",
        *(f"  {call.tracker + ':':<{width}} {_how(call)}" for call in result.calls),
        f"Impacts are min – max ranges; {TRACKER}'s row is the tracker's sum of every call "
        f"({format_count(_tokens(result.calls))} output tokens).",
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


def _how(call: DemoCall) -> str:
    """``"mistralai mistral-small-latest, streamed, 236 output tokens, 0.06 s, zone SWE"``."""
    inputs = call.impacts.inputs if call.impacts is not None else None
    shape = "streamed" if call.stream else "async" if call.asynchronous else "sync"
    details = [f"{call.provider} {call.model_requested}", shape]
    if inputs is not None:
        details.append(f"{format_count(inputs.output_tokens)} output tokens")
        if inputs.latency_s is not None:
            details.append(f"{inputs.latency_s:.2f} s")
        details.append(f"zone {inputs.zone}")
    return ", ".join(details)
