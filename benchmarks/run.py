"""Benchmarks: plain SDK vs instrumented for OpenAI, Anthropic and Mistral, the peer side by side, and the
package's own import / first-estimate / estimate costs. Method: ``benchmarks/README.md``.

Run: python benchmarks/run.py [--quick] [--callgrind] [--update-readme] [--out PATH] [--chunks N] [--jobs N]
"""

from __future__ import annotations

import argparse
import importlib.metadata
import importlib.util
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, replace
from datetime import date
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import stats

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
MEASURE = BENCH / "measure.py"
README = ROOT / "README.md"
OURS, PEER = "genai_footprint", "ecologits"

PROVIDERS = ("openai", "anthropic", "mistralai")
PROVIDER_NAMES = {"openai": "OpenAI", "anthropic": "Anthropic", "mistralai": "Mistral"}
# The entry points measure.py times for each provider, with how the table names them.
CASES: dict[str, dict[str, str]] = {
    "openai": {"call": "`chat.completions.create`", "stream": "`create(stream=True)`"},
    "anthropic": {
        "call": "`messages.create`",
        "stream": "`create(stream=True)`",
        "stream_helper": "`messages.stream()` read through `text_stream`",
    },
    "mistralai": {"call": "`chat.complete`", "stream": "`chat.stream`"},
}
# Instruction counts only, genai_footprint only: the stream case with the SDK's per-chunk work taken out.
REPLAY = "stream_replay"
REPLAY_NOTE = "its chunks replayed, the SDK's reading and parsing taken out"
# Each replayed case, with the case whose label it takes.
REPLAYED = {REPLAY: "stream", "stream_helper_replay": "stream_helper"}
FRESH_KEYS = ("import_ms", "init_ms", "first_call_ms", "first_call_extra_ms")

# Ceilings (the "one simple core" issue): each figure must be at most this (the export worker at least).
# Below a ceiling, readability wins: they are not targets.
CEILING_CALL_US = 30.0  # extra CPU per call over the plain SDK on the mock call
CEILING_CHUNK_US = 3.0  # extra per streamed chunk
CEILING_INIT_MS = 50.0
CEILING_FIRST_ESTIMATE_MS = 50.0  # the first estimate() in an application that imported an SDK
CEILING_EXPORT_RECORDS_S = 10_000.0  # the export worker, at least


@dataclass(frozen=True)
class Sizes:
    """How much to measure. ``runs``: fresh processes per provider and tool (import, init, first call) and per
    package figure; a case gets about ``seconds_per_case`` of rounds, batches of about ``batch_ms``, or
    ``seconds_per_long_case`` when one round is long (a whole stream a side, or the tracker's batches)."""

    runs: int
    seconds_per_case: float
    seconds_per_long_case: float
    batch_ms: float
    min_rounds: int
    max_rounds: int
    chunks: int
    estimate_calls: int
    callgrind_rounds: int
    callgrind_calls: int
    processes: int  # fresh processes the steady cases of genai_footprint are measured in, sharing the seconds
    # At least this many rounds for a non-stream call case, over its processes together: a slow SDK's calls
    # (Mistral's take 5 ms, mostly its settle calls' time) would get too few from the seconds alone.
    call_rounds: int
    tracker_rounds: int  # at least this many rounds of the tracker job (each a batch of 256 calls a side)
    export_records: int  # events in one batch of the export worker's job


FULL = Sizes(
    runs=5,
    seconds_per_case=24.0,
    seconds_per_long_case=40.0,
    batch_ms=10.0,
    min_rounds=8,
    max_rounds=1000,
    chunks=1000,
    estimate_calls=20_000,
    callgrind_rounds=2,
    callgrind_calls=5,
    processes=3,
    call_rounds=600,
    tracker_rounds=150,
    export_records=5000,
)
QUICK = Sizes(
    runs=1,
    seconds_per_case=0.0,
    seconds_per_long_case=0.0,
    batch_ms=0.0,
    min_rounds=2,
    max_rounds=2,
    chunks=1000,
    estimate_calls=200,
    callgrind_rounds=1,
    callgrind_calls=2,
    processes=2,
    call_rounds=0,
    tracker_rounds=0,
    export_records=200,
)


# -- package figures (fresh interpreters) ---------------------------------------------------------------


def _interleaved_runs(codes: dict[str, str], runs: int) -> dict[str, float]:
    """Median (s) of each ``python -c code`` (which prints its own measured duration), the codes taking turns."""
    values: dict[str, list[float]] = {name: [] for name in codes}
    for _ in range(runs):
        for name, code in codes.items():
            out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
            values[name].append(float(out.stdout.strip().splitlines()[-1]))
    return {name: statistics.median(v) for name, v in values.items()}


def _timed(setup: str, body: str) -> str:
    return f"{setup}\nimport time\nt = time.perf_counter()\n{body}\nprint(time.perf_counter() - t)"


_PYDANTIC_IN_USE = "from pydantic import BaseModel\nclass AppModel(BaseModel):\n    x: int"


def bench_package(sizes: Sizes) -> dict[str, float]:
    estimate = "gf.estimate('openai', 'gpt-4o-mini', output_tokens=400, latency_s=2.1)"
    times = _interleaved_runs(
        {
            "bare": _timed("", "import json"),
            "import": _timed("", "import genai_footprint"),
            "import_after_pydantic": _timed("import pydantic", "import genai_footprint"),
            # pydantic's BaseModel (~80 ms, loaded lazily by `import pydantic`) and its first model class (~50 ms
            # more: schema machinery, plugin discovery through importlib.metadata) are paid once per process by
            # whichever library builds a model first — every supported SDK does at import. The budgeted figure
            # starts from there; the rows after it show the colder starts.
            "first_estimate": _timed(_PYDANTIC_IN_USE, f"import genai_footprint as gf\n{estimate}"),
            "first_estimate_after_basemodel": _timed(
                "from pydantic import BaseModel", f"import genai_footprint as gf\n{estimate}"
            ),
            "pydantic_first_model": _timed("from pydantic import BaseModel", "class M(BaseModel):\n    x: int"),
            "first_estimate_after_openai": _timed("import openai", f"import genai_footprint as gf\n{estimate}"),
            "first_estimate_incl_pydantic_import": _timed("", f"import genai_footprint as gf\n{estimate}"),
        },
        sizes.runs,
    )
    result = {f"{name}_ms": value * 1e3 for name, value in times.items() if name not in ("bare", "import")}
    result["import_ms"] = (times["import"] - times["bare"]) * 1e3
    result["estimate_us"] = bench_estimate(sizes.estimate_calls)
    return result


def bench_estimate(calls: int) -> float:
    """µs per further ``estimate()``: the median of 5 batches, after a first call that loads the registry."""
    import genai_footprint as gf

    gf.estimate("openai", "gpt-4o-mini", output_tokens=400, latency_s=2.1)
    batches = []
    for _ in range(5):
        start = time.process_time()
        for i in range(calls):
            gf.estimate("openai", "gpt-4o-mini", output_tokens=400 + (i & 7), latency_s=2.1)
        batches.append((time.process_time() - start) / calls)
    return statistics.median(batches) * 1e6


def bench_export_worker(sizes: Sizes) -> dict[str, Any] | str:
    return job({"job": "export_worker", "records": sizes.export_records, "chunks": sizes.chunks})


# -- provider figures (measure.py jobs) -----------------------------------------------------------------


def job(spec: dict[str, Any], wrapper: list[str] | None = None) -> dict[str, Any] | str:
    """Run one measure.py job in a fresh interpreter: its JSON result, or ``"fails: ..."``."""
    command = [*(wrapper or []), sys.executable, str(MEASURE), json.dumps(spec)]
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    proc = subprocess.run(command, capture_output=True, text=True, check=False, env=env)
    if proc.returncode != 0:
        lines = proc.stderr.strip().splitlines()
        return f"fails: {lines[-1][:200] if lines else f'exit status {proc.returncode}'}"
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def _spec(sizes: Sizes, **fields: Any) -> dict[str, Any]:
    return {
        "seconds_per_case": sizes.seconds_per_case,
        "seconds_per_long_case": sizes.seconds_per_long_case,
        "batch_ms": sizes.batch_ms,
        "min_rounds": sizes.min_rounds,
        "call_rounds": sizes.call_rounds,
        "tracker_rounds": sizes.tracker_rounds,
        "max_rounds": sizes.max_rounds,
        "chunks": sizes.chunks,
        **fields,
    }


def bench_provider(provider: str, tools: list[str], sizes: Sizes) -> dict[str, Any]:
    """Per tool: medians of import / init / first call over ``runs`` fresh processes, and the steady cases.

    genai_footprint's steady cases run in ``sizes.processes`` processes, sharing the time of one, and their
    rounds are put together: what a process adds can move by a microsecond a chunk with where its objects and
    code happen to lie in memory, the same on both sides of its rounds, so one process alone is one sample of
    that. The peer's figures are far from any budget and are measured in one process."""
    steady: dict[str, list[dict[str, Any] | str]] = {}
    for tool in tools:
        count = sizes.processes if tool == OURS else 1
        share = replace(
            sizes,
            seconds_per_case=sizes.seconds_per_case / count,
            seconds_per_long_case=sizes.seconds_per_long_case / count,
            call_rounds=-(-sizes.call_rounds // count),
        )
        steady[tool] = [job(_spec(share, job="steady", tool=tool, provider=provider)) for _ in range(count)]
    fresh: dict[str, list[dict[str, Any] | str]] = {tool: list(steady[tool]) for tool in tools}
    for _ in range(sizes.runs - min(len(runs) for runs in steady.values())):
        for tool in tools:  # taking turns, so a busy spell of the machine hits both tools
            if len(fresh[tool]) < sizes.runs:
                fresh[tool].append(job(_spec(sizes, job="fresh", tool=tool, provider=provider)))
    out: dict[str, Any] = {}
    for tool in tools:
        failed = next((run for run in steady[tool] if isinstance(run, str)), None)
        if failed is not None:
            out[tool] = dict.fromkeys(FRESH_KEYS, failed) | {"cases": dict.fromkeys(CASES[provider], failed)}
            continue
        figures: dict[str, Any] = {"runs": len(fresh[tool])}
        for key in FRESH_KEYS:
            values = [run[key] if isinstance(run, dict) else run for run in fresh[tool]]
            numbers = [v for v in values if isinstance(v, int | float)]
            figures[key] = statistics.median(numbers) if numbers else values[0]
        out[tool] = figures | {"cases": _pooled_cases([run for run in steady[tool] if isinstance(run, dict)])}
    return out


def _pooled_cases(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Each case's rounds from every process together; a case that failed in any process is that failure."""
    cases: dict[str, Any] = {}
    for name in runs[0]["cases"]:
        parts = [run["cases"][name] for run in runs]
        failed = next((part for part in parts if isinstance(part, str)), None)
        cases[name] = failed if failed is not None else stats.pooled(parts)
    return cases


def bench_tracker(sizes: Sizes) -> dict[str, Any] | str:
    result = job(_spec(sizes, job="tracker"))
    if isinstance(result, dict):
        for arm in ("instrumented", "tracked", "tracked_request_path"):
            del result[arm]["samples"]
    return result


# -- instruction counts -----------------------------------------------------------------------------------

_MARKS_SOURCE = """
#include <valgrind/callgrind.h>
void bench_zero(void) { CALLGRIND_ZERO_STATS; }
void bench_dump(const char *label) { CALLGRIND_DUMP_STATS_AT(label); }
"""


def _build_marks(directory: Path) -> Path | str:
    """A tiny library whose two functions are callgrind client requests: its path, or why it could not be built."""
    compiler = shutil.which("cc") or shutil.which("gcc")
    if compiler is None:
        return "no C compiler"
    source, library = directory / "marks.c", directory / "marks.so"
    source.write_text(_MARKS_SOURCE)
    proc = subprocess.run(
        [compiler, "-shared", "-fPIC", "-O1", "-o", str(library), str(source)],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        return f"cannot build the callgrind marks ({proc.stderr.strip().splitlines()[-1:]})"
    return library


def _dumps(out_file: Path) -> dict[tuple[str, int], list[tuple[int, int]]]:
    """{(case, on): [(instructions, reps), ...]} from the dump files callgrind wrote at each ``bench_dump``."""
    batches: dict[tuple[str, int], list[tuple[int, int]]] = {}
    dumps = sorted(out_file.parent.glob(out_file.name + ".*"), key=lambda path: int(path.suffix[1:]))
    for path in dumps:  # in the order written: the n-th batch of a case and side is from round n
        text = path.read_text()
        label = re.search(r"^desc: Trigger: Client Request: (.+)$", text, re.MULTILINE)
        total = re.search(r"^summary: (\d+)", text, re.MULTILINE)
        if label is None or total is None:
            continue
        case, on, reps = label.group(1).split("|")
        batches.setdefault((case, int(on)), []).append((int(total.group(1)), int(reps)))
    return batches


def bench_callgrind(tools: list[str], sizes: Sizes) -> dict[str, Any]:
    """Instructions per call (and per chunk) plain vs instrumented, one callgrind run per provider and tool."""
    if shutil.which("valgrind") is None:
        return {"skipped": "valgrind not found"}
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        marks = _build_marks(Path(tmp))
        if isinstance(marks, str):
            return {"skipped": marks}
        runs = [(provider, tool) for provider in PROVIDERS for tool in tools]
        # Instruction counts do not depend on what else runs: use every core.
        with ThreadPoolExecutor(os.cpu_count()) as pool:
            counted = pool.map(lambda run: _callgrind_run(Path(tmp), marks, run[0], run[1], sizes), runs)
            for (provider, tool), figures in zip(runs, counted, strict=True):
                results.setdefault(provider, {})[tool] = figures
    return results


def _callgrind_run(tmp: Path, marks: Path, provider: str, tool: str, sizes: Sizes) -> dict[str, Any]:
    out_file = tmp / f"{provider}-{tool}" / "callgrind.out"
    out_file.parent.mkdir()
    spec = _spec(
        sizes,
        job="callgrind",
        tool=tool,
        provider=provider,
        marks_library=str(marks),
        rounds=sizes.callgrind_rounds,
        calls=sizes.callgrind_calls,
        streams=1,
    )
    outcome = job(spec, ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out_file}"])
    return _instructions(outcome, _dumps(out_file), provider)


def _instructions(
    outcome: dict[str, Any] | str, batches: dict[tuple[str, int], list[tuple[int, int]]], provider: str
) -> dict[str, Any]:
    if isinstance(outcome, str):
        return dict.fromkeys(CASES[provider], outcome)
    results: dict[str, Any] = {}
    for case, status in outcome.items():
        if isinstance(status, str) or not batches.get((case, 0)) or not batches.get((case, 1)):
            results[case] = status if isinstance(status, str) else "fails: no callgrind dump"
            continue
        plain_rounds = [total / reps for total, reps in batches[(case, 0)]]
        instrumented_rounds = [total / reps for total, reps in batches[(case, 1)]]
        extra_rounds = [i - p for p, i in zip(plain_rounds, instrumented_rounds, strict=True)]
        plain, instrumented = statistics.median(plain_rounds), statistics.median(instrumented_rounds)
        figures = {
            "annotated": status["annotated"],
            "rounds": len(extra_rounds),
            "plain_instructions": plain,
            "instrumented_instructions": instrumented,
            "extra_instructions": instrumented - plain,
            "extra_instructions_min": min(extra_rounds),
            "extra_instructions_max": max(extra_rounds),
            "ratio": instrumented / plain,
        }
        figures["chunks"] = status["chunks"]
        if status["chunks"]:
            figures["extra_instructions_per_chunk"] = (instrumented - plain) / status["chunks"]
            figures["plain_instructions_per_chunk"] = plain / status["chunks"]
        results[case] = figures
    return results


# -- report -----------------------------------------------------------------------------------------------


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, {platform.system()}"


def peer_version() -> str | None:
    if importlib.util.find_spec(PEER) is None:
        return None
    return importlib.metadata.version(PEER)


def _check(value: Any, budget: float) -> str:
    """`` ✓`` within the budget, `` ✗`` over it (a once-only figure: a median of fresh processes)."""
    if not isinstance(value, int | float):
        return ""
    return " ✓" if value <= budget else " ✗"


def _process_medians(figures: dict[str, Any], name: str, unit: str) -> tuple[float, float] | None:
    """The lowest and highest of the processes' own medians, in the unit of ``{name}{unit}`` (None: one process)."""
    if figures.get("processes", 1) < 2:
        return None
    low, high = figures["extra_process_min_us"], figures["extra_process_max_us"]
    if name == "extra_per_chunk":
        return low / figures["chunks"], high / figures["chunks"]
    if unit == "_pct":
        return low / figures["plain_us"] * 100, high / figures["plain_us"] * 100
    return low, high


def _verdict(figures: Any, name: str, unit: str, budget: float) -> str:
    """For a median of per-round differences (``{name}{unit}``, its 95 % confidence interval ``{name}_ci{unit}``):
    `` ✓`` when the interval's upper end and every process's own median are within the budget, `` ✗`` when the
    interval's lower end is over it, `` ?`` otherwise (the budget inside the interval, a process over it, or too
    few rounds for an interval). The rounds' interquartile range shows how much one round varies; the interval
    says where the median is, which is what a budget on the extra cost of a call or a chunk is about."""
    if not isinstance(figures, dict):
        return ""
    ci = figures.get(f"{name}_ci{unit}")
    if ci is None:
        return " ?"
    processes = _process_medians(figures, name, unit)
    if ci[1] <= budget and (processes is None or processes[1] <= budget):
        return " ✓"
    return " ✗" if ci[0] > budget else " ?"


def _ci(figures: dict[str, Any], key: str, digits: int, unit: str) -> str:
    ci = figures.get(key)
    return "" if ci is None else f", median within {ci[0]:.{digits}f}–{ci[1]:.{digits}f}{unit}"


def _ms(value: Any) -> str:
    return f"{value:.1f} ms" if isinstance(value, int | float) else str(value)


def _us(value: float) -> str:
    return f"{value:.2f} µs" if abs(value) < 10 else f"{value:.0f} µs"


def _count(value: float, sign: bool = True) -> str:
    """An instruction count: ``+115 k``, ``-0.8 M``."""
    for scale, suffix in ((1e6, " M"), (1e3, " k")):
        if abs(value) >= scale:
            return f"{value / scale:{'+' if sign else ''}.3g}{suffix}"
    return f"{value:{'+' if sign else ''}.0f}"


def _extra(figures: Any, per_chunk: bool) -> str:
    """``+45 µs, +7.7 % [6.9–8.4 %]``, or the per-chunk ``+0.92 µs [0.80–1.01]``, or why there is no figure."""
    if not isinstance(figures, dict):
        return str(figures)
    note = "" if figures["annotated"] else " (no impacts on the result)"
    spread = _process_medians(figures, "extra_per_chunk" if per_chunk else "extra", "_us")
    if spread is not None:  # how far apart the processes' own medians were
        digits = 2 if per_chunk else 0
        note += f"; {figures['processes']} processes: {spread[0]:+.{digits}f} to {spread[1]:+.{digits}f} µs"
    if per_chunk:
        median, q1, q3 = (figures[f"extra_per_chunk{k}_us"] for k in ("", "_q1", "_q3"))
        ci = _ci(figures, "extra_per_chunk_ci_us", 2, " µs")
        return f"{median:+.2f} µs [{q1:.2f}–{q3:.2f}]{ci}{note}"
    return (
        f"{figures['extra_us']:+.0f} µs, {figures['extra_pct']:+.1f} % "
        f"[{figures['extra_q1_pct']:.1f}–{figures['extra_q3_pct']:.1f} %]{_ci(figures, 'extra_ci_pct', 1, ' %')}{note}"
    )


def _cg_extra(figures: Any, per_chunk: bool) -> str:
    """``+115 k [112 k – 118 k] ×1.023``: the extra count, its range over the rounds, instrumented / plain."""
    if not isinstance(figures, dict):
        return str(figures)
    scale = figures["chunks"] if per_chunk else 1
    low, high = figures["extra_instructions_min"] / scale, figures["extra_instructions_max"] / scale
    extra = figures["extra_instructions"] / scale
    return f"{_count(extra)} [{_count(low)} – {_count(high)}] ×{figures['ratio']:.3f}"


def render(results: dict[str, Any]) -> str:
    package = results["package"]
    worker = results.get("export_worker", "not measured")  # absent from the results of runs before 18
    peer = results["peer"]
    peer_name = f"EcoLogits {peer}" if peer else None
    lines = [
        f"Measured {results['date']} on {results['machine']} (load average {results['load_average']:.1f} at "
        "start) by `benchmarks/run.py`; method in `benchmarks/README.md`. Extra time: median over short rounds "
        "that alternate plain and instrumented calls on the same client, in process CPU time, the rounds' "
        "interquartile range in brackets, the 95 % confidence interval of the median (order statistics), then "
        "the lowest and highest median of the processes whose rounds were put together. ✓: the interval's upper "
        "end and every process's median within the budget; ✗: the interval's lower end over it; ?: neither."
        + (f" {peer_name} (the peer) is measured the same way, in processes of its own." if peer_name else ""),
        "",
        "| what | figure | ceiling |",
        "|---|---|---|",
        f"| `import genai_footprint` over a bare interpreter | {_ms(package['import_ms'])} | — |",
        f"| first `estimate()` in an app that imported `openai` (registry load included) | "
        f"{_ms(package['first_estimate_after_openai_ms'])} | "
        f"≤ 50 ms{_check(package['first_estimate_after_openai_ms'], CEILING_FIRST_ESTIMATE_MS)} |",
        f"| first `estimate()` with pydantic in use (a model class already built) | "
        f"{_ms(package['first_estimate_ms'])} | — |",
        f"| first `estimate()` with only pydantic's BaseModel imported (pydantic's first model class included) | "
        f"{_ms(package['first_estimate_after_basemodel_ms'])} | — |",
        f"| pydantic alone: its first model class, BaseModel already imported | "
        f"{_ms(package['pydantic_first_model_ms'])} | — |",
        f"| first `estimate()` in a bare interpreter, pydantic import included | "
        f"{_ms(package['first_estimate_incl_pydantic_import_ms'])} | — |",
        f"| each further `estimate()` | {package['estimate_us']:.1f} µs | — |",
        f"| export worker, records a second (JSONL) | {_rate(worker)} | "
        f"≥ {CEILING_EXPORT_RECORDS_S:,.0f}/s{_check_rate(worker)} |",
        "",
        f"| provider: what | plain SDK | genai_footprint |{f' {peer_name} |' if peer_name else ''} ceiling |",
        f"|---|---|---|{'---|' if peer_name else ''}---|",
    ]

    def row(label: str, plain: str, ours: str, theirs: str, budget: str) -> None:
        lines.append(f"| {label} | {plain} | {ours} |{f' {theirs} |' if peer_name else ''} {budget} |")

    chunks = results["settings"]["chunks"]
    for provider in PROVIDERS:
        name = PROVIDER_NAMES[provider]
        ours = results["providers"][provider][OURS]
        theirs = results["providers"][provider].get(PEER, {})
        for case, label in CASES[provider].items():
            mine, other = ours["cases"][case], theirs.get("cases", {}).get(case, "")
            stream = case != "call"
            plain = ""
            if isinstance(mine, dict):
                plain = _us(mine["plain_per_chunk_us"]) + " a chunk" if stream else _us(mine["plain_us"])
            if stream:
                budget = f"≤ 3 µs{_verdict(mine, 'extra_per_chunk', '_us', CEILING_CHUNK_US)}"
                what = f"{name}: {label} ({chunks} chunks), extra per chunk"
            else:
                budget = f"≤ 30 µs{_verdict(mine, 'extra', '_us', CEILING_CALL_US)}"
                what = f"{name}: {label}, extra per call"
            row(what, plain, _extra(mine, stream), _extra(other, stream), budget)
        row(
            f"{name}: `init()`",
            "—",
            _ms(ours["init_ms"]),
            _ms(theirs.get("init_ms", "")),
            f"≤ 50 ms{_check(ours['init_ms'], CEILING_INIT_MS)}",
        )
        row(
            f"{name}: first instrumented call, extra over a plain call (registry load)",
            "—",
            _ms(ours["first_call_extra_ms"]),
            _ms(theirs.get("first_call_extra_ms", "")),
            "—",
        )
    tracked = results["tracker"]
    if isinstance(tracked, dict):
        label = "OpenAI: `chat.completions.create` inside `track()`, with the export pipeline (JSONL) attached"
        row(
            f"{label}: extra CPU per call, the export worker's included",
            _us(tracked["tracked"]["plain_us"]),
            _extra(tracked["tracked"], False),
            "—",
            "—",
        )
        row(
            f"{label}: extra on the calling thread only (the request path)",
            _us(tracked["tracked_request_path"]["plain_us"]),
            _extra(tracked["tracked_request_path"], False),
            "—",
            f"≤ 30 µs{_verdict(tracked['tracked_request_path'], 'extra', '_us', CEILING_CALL_US)}",
        )
    else:
        row("OpenAI: call inside `track()` with an exporter", "—", str(tracked), "—", "—")
    counts = results.get("callgrind")
    if counts and "skipped" not in counts:
        lines += [
            "",
            "Instructions (`--callgrind`: counted by valgrind, the same on a busy or a quiet machine): extra per "
            "call or per chunk, its range over the rounds in brackets, and instrumented / plain.",
            "",
            f"| provider: what | plain SDK | genai_footprint |{f' {peer_name} |' if peer_name else ''}",
            f"|---|---|---|{'---|' if peer_name else ''}",
        ]
        for provider in PROVIDERS:
            labels = dict(CASES[provider])
            for replay, base in REPLAYED.items():
                if replay in counts[provider][OURS]:
                    labels[replay] = f"{CASES[provider][base]}, {REPLAY_NOTE}"
            for case, label in labels.items():
                mine = counts[provider][OURS][case]
                other = counts[provider].get(PEER, {}).get(case, "" if case not in REPLAYED else "—")
                stream = case != "call"
                plain = ""
                if isinstance(mine, dict):
                    plain = (
                        _count(mine["plain_instructions_per_chunk"], sign=False) + " a chunk"
                        if stream
                        else _count(mine["plain_instructions"], sign=False)
                    )
                what = f"{PROVIDER_NAMES[provider]}: {label}{', per chunk' if stream else ''}"
                peer_cell = f" {_cg_extra(other, stream)} |" if peer_name else ""
                lines.append(f"| {what} | {plain} | {_cg_extra(mine, stream)} |{peer_cell}")
    elif counts:
        lines += ["", f"Instruction counts: skipped ({counts['skipped']})."]
    return "\n".join(lines)


def _rate(result: dict[str, Any] | str) -> str:
    return result if isinstance(result, str) else f"{result['records_per_s']:,.0f}/s"


def _check_rate(result: dict[str, Any] | str) -> str:
    if isinstance(result, str):
        return ""
    return " ✓" if result["records_per_s"] >= CEILING_EXPORT_RECORDS_S else " ✗"


def _worst(results: dict[str, Any], stream: bool) -> tuple[str, str]:
    """The highest median extra per call (or per chunk) over the providers' cases, with its verdict, and where."""
    name, ceiling = ("extra_per_chunk", CEILING_CHUNK_US) if stream else ("extra", CEILING_CALL_US)
    found: list[tuple[float, str, str]] = []
    for provider in PROVIDERS:
        for case in CASES[provider]:
            figures = results["providers"][provider][OURS]["cases"][case]
            if (case != "call") != stream or not isinstance(figures, dict):
                continue
            label = f"{PROVIDER_NAMES[provider]} {CASES[provider][case]}"
            found.append((figures[f"{name}_us"], label, _verdict(figures, name, "_us", ceiling)))
    if not found:
        return "not measured", ""
    value, label, verdict = max(found)
    return f"{value:+.2f} µs ({label}, the highest of {len(found)} cases)", verdict


def render_short(results: dict[str, Any]) -> str:
    """The README's table: each ceiling beside the current figure."""
    package = results["package"]
    call, call_verdict = _worst(results, stream=False)
    chunk, chunk_verdict = _worst(results, stream=True)
    inits = [results["providers"][p][OURS]["init_ms"] for p in PROVIDERS]
    measured = [value for value in inits if isinstance(value, int | float)]
    init = max(measured) if measured else None
    first = package["first_estimate_after_openai_ms"]
    return "\n".join(
        [
            f"Measured {results['date']} on {results['machine']} by `python benchmarks/run.py --update-readme` "
            "(the full table and the method: `benchmarks/README.md`).",
            "",
            "| what | ceiling | current figure |",
            "|---|---|---|",
            f"| extra CPU per call over the plain SDK (mock call) | ≤ {CEILING_CALL_US:.0f} µs | "
            f"{call}{call_verdict} |",
            f"| extra per streamed chunk | ≤ {CEILING_CHUNK_US:.0f} µs | {chunk}{chunk_verdict} |",
            f"| `init()` (the slowest provider) | ≤ {CEILING_INIT_MS:.0f} ms | "
            f"{_ms(init) if init is not None else 'not measured'}{_check(init, CEILING_INIT_MS)} |",
            f"| first `estimate()` after an SDK import | ≤ {CEILING_FIRST_ESTIMATE_MS:.0f} ms | "
            f"{_ms(first)}{_check(first, CEILING_FIRST_ESTIMATE_MS)} |",
            f"| export worker | ≥ {CEILING_EXPORT_RECORDS_S:,.0f} records/s | "
            f"{_rate(results['export_worker'])}{_check_rate(results['export_worker'])} |",
        ]
    )


def update_readme(table: str) -> None:
    text = README.read_text()
    start, end = "<!-- BENCHMARKS:START -->", "<!-- BENCHMARKS:END -->"
    head, rest = text.split(start, 1)
    _, tail = rest.split(end, 1)
    README.write_text(f"{head}{start}\n{table}\n{end}{tail}")


def compile_bytecode() -> str:
    """Write the package's bytecode, as ``pip install`` does for the wheel (and for the peer and the SDKs).

    Fresh-interpreter figures (import, init, first estimate, first call) would otherwise include compiling
    our sources in every process where bytecode is not written back (an editable install with
    ``PYTHONDONTWRITEBYTECODE`` set, as on the benchmark machine) — a cost users of the wheel never pay.
    """
    import compileall

    ok = compileall.compile_dir(str(ROOT / "genai_footprint"), quiet=1)
    return "compiled before measuring (as pip does on install)" if ok else "could not be compiled"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="the smallest sizes (a smoke run; figures are noise)")
    parser.add_argument("--callgrind", action="store_true", help="also count instructions with valgrind (slow)")
    parser.add_argument("--chunks", type=int, help="content chunks per stream (default 1000)")
    parser.add_argument("--out", type=Path, default=BENCH / "results" / "latest.json", help="where to write JSON")
    parser.add_argument(
        "--jobs",
        type=int,
        default=1,
        help="measurement processes at a time (above 1 they disturb each other's figures)",
    )
    parser.add_argument("--update-readme", action="store_true", help="write the table into README.md")
    args = parser.parse_args()
    sizes = QUICK if args.quick else FULL
    if args.chunks is not None:
        sizes = replace(sizes, chunks=args.chunks)
    compiled = compile_bytecode()
    peer = peer_version()
    tools = [OURS, PEER] if peer else [OURS]
    results: dict[str, Any] = {
        "date": date.today().isoformat(),
        "machine": machine(),
        "load_average": os.getloadavg()[0],
        "settings": asdict(sizes) | {"clock": "process_time", "jobs": args.jobs, "bytecode": compiled},
        "peer": peer,
    }
    with ThreadPoolExecutor(args.jobs) as pool:  # one worker: each measurement alone, in this order
        package = pool.submit(bench_package, sizes)
        providers = {provider: pool.submit(bench_provider, provider, tools, sizes) for provider in PROVIDERS}
        tracker = pool.submit(bench_tracker, sizes)
        export_worker = pool.submit(bench_export_worker, sizes)
        results["package"] = package.result()
        results["providers"] = {provider: future.result() for provider, future in providers.items()}
        results["tracker"] = tracker.result()
        results["export_worker"] = export_worker.result()
    if args.callgrind:
        results["callgrind"] = bench_callgrind(tools, sizes)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    table = render(results)
    args.out.with_suffix(".md").write_text(table + "\n")
    short = render_short(results)
    print(table, short, sep="\n\n")
    if args.update_readme:
        update_readme(short)


if __name__ == "__main__":
    main()
