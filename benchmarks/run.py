"""Benchmarks: plain SDK vs instrumented, import / init / estimate costs, and the peer side by side.

Run: .venv/bin/python benchmarks/run.py [--quick] [--update-readme]
Figures are medians over rounds that alternate plain and instrumented runs in the same process.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import subprocess
import sys
import time
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))


def _median_subprocess(code: str, runs: int) -> float:
    """Median wall time (s) of ``python -c code`` printing its own measured duration."""
    values = []
    for _ in range(runs):
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
        values.append(float(out.stdout.strip().splitlines()[-1]))
    return statistics.median(values)


def bench_import(runs: int) -> dict[str, float]:
    bare = "import time,subprocess;t=time.perf_counter();import json;print(time.perf_counter()-t)"
    ours = "import time;t=time.perf_counter();import genai_footprint;print(time.perf_counter()-t)"
    with_pydantic = "import pydantic,time;t=time.perf_counter();import genai_footprint;print(time.perf_counter()-t)"
    return {
        "import_ms": (_median_subprocess(ours, runs) - _median_subprocess(bare, runs)) * 1e3,
        "import_after_pydantic_ms": _median_subprocess(with_pydantic, runs) * 1e3,
    }


def bench_first_estimate(runs: int) -> dict[str, float]:
    # pydantic's own import (BaseModel: ~80 ms, lazily loaded by `import pydantic`) is paid by every SDK
    # anyway; "warm" starts with it loaded, "after_openai" is the usual case of an app that imported its SDK.
    warm = (
        "from pydantic import BaseModel;import time;t=time.perf_counter();import genai_footprint as gf;"
        "gf.estimate('openai','gpt-4o-mini',output_tokens=400,latency_s=2.1);print(time.perf_counter()-t)"
    )
    after_openai = (
        "import openai,time;t=time.perf_counter();import genai_footprint as gf;"
        "gf.estimate('openai','gpt-4o-mini',output_tokens=400,latency_s=2.1);print(time.perf_counter()-t)"
    )
    cold = (
        "import time;t=time.perf_counter();import genai_footprint as gf;"
        "gf.estimate('openai','gpt-4o-mini',output_tokens=400,latency_s=2.1);print(time.perf_counter()-t)"
    )
    return {
        "first_estimate_ms": _median_subprocess(warm, runs) * 1e3,
        "first_estimate_after_openai_ms": _median_subprocess(after_openai, runs) * 1e3,
        "first_estimate_incl_pydantic_import_ms": _median_subprocess(cold, runs) * 1e3,
    }


def bench_estimate(n: int) -> dict[str, float]:
    import genai_footprint as gf

    gf.estimate("openai", "gpt-4o-mini", output_tokens=400, latency_s=2.1)
    rounds = []
    for _ in range(5):
        t = time.perf_counter()
        for i in range(n):
            gf.estimate("openai", "gpt-4o-mini", output_tokens=400 + (i & 7), latency_s=2.1)
        rounds.append((time.perf_counter() - t) / n)
    return {"estimate_us": statistics.median(rounds) * 1e6}


def bench_init(runs: int) -> dict[str, float]:
    code = (
        "import openai,time,genai_footprint as gf;t=time.perf_counter();"
        "gf.init(providers=['openai']);print(time.perf_counter()-t)"
    )
    return {"init_ms": _median_subprocess(code, runs) * 1e3}


def _time_calls(fn: Any, n: int) -> float:
    t = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - t) / n


def bench_openai_calls(calls: int, rounds: int, chunks: int) -> dict[str, float]:
    from fakes import openai_client

    import genai_footprint as gf

    client = openai_client(stream_chunks=chunks)
    messages = [{"role": "user", "content": "hi"}]

    def call() -> Any:
        return client.chat.completions.create(model="gpt-4o-mini", messages=messages)

    def stream() -> None:
        for _ in client.chat.completions.create(model="gpt-4o-mini", messages=messages, stream=True):
            pass

    for _ in range(200):
        call()
    plain_call, instr_call, plain_stream, instr_stream = [], [], [], []
    for _ in range(rounds):
        gf.shutdown()
        plain_call.append(_time_calls(call, calls))
        plain_stream.append(_time_calls(stream, 3))
        gf.init(providers=["openai"])
        instr_call.append(_time_calls(call, calls))
        instr_stream.append(_time_calls(stream, 3))
    gf.shutdown()
    p, i = statistics.median(plain_call), statistics.median(instr_call)
    ps, is_ = statistics.median(plain_stream), statistics.median(instr_stream)
    return {
        "openai_plain_call_us": p * 1e6,
        "openai_instrumented_call_us": i * 1e6,
        "openai_call_overhead_pct": (i - p) / p * 100,
        "openai_stream_chunks": chunks,
        "openai_per_chunk_overhead_us": (is_ - ps) / chunks * 1e6,
    }


PEER_CODE = r"""
import json, statistics, sys, time
sys.path.insert(0, {bench!r})
from fakes import openai_client
client = openai_client(stream_chunks=10)
messages = [{{"role": "user", "content": "hi"}}]
def call():
    return client.chat.completions.create(model="gpt-4o-mini", messages=messages)
def timed(n):
    t = time.perf_counter()
    for _ in range(n):
        call()
    return (time.perf_counter() - t) / n
for _ in range(200):
    call()
plain = statistics.median(timed({calls}) for _ in range(3))
result = {{"peer_plain_call_us": plain * 1e6}}
try:
    from ecologits import EcoLogits
    EcoLogits.init(providers=["openai"])
    r = call()
    result["peer_has_impacts"] = getattr(r, "impacts", None) is not None
    result["peer_returns_same_type"] = type(r).__name__ == "ChatCompletion"
    peer = statistics.median(timed({calls}) for _ in range(3))
    result["peer_instrumented_call_us"] = peer * 1e6
    result["peer_call_overhead_pct"] = (peer - plain) / plain * 100
except Exception as exc:
    result["peer_error"] = f"{{type(exc).__name__}}: {{exc}}"[:300]
print(json.dumps(result))
"""


def bench_peer(calls: int) -> dict[str, Any]:
    try:
        import ecologits  # noqa: F401
    except ImportError:
        return {"peer": "not installed"}
    code = PEER_CODE.format(bench=str(Path(__file__).resolve().parent), calls=calls)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    if out.returncode != 0:
        return {"peer_error": out.stderr.strip().splitlines()[-1][:300] if out.stderr else "failed"}
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import os

    return f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, {platform.system()}"


def render(results: dict[str, Any]) -> str:
    r = results
    lines = [
        f"Measured {r['date']} on {r['machine']} (`benchmarks/run.py`; medians).",
        "",
        "| what | figure | budget |",
        "|---|---|---|",
        f"| `import genai_footprint` over a bare interpreter | {r['import_ms']:.1f} ms | ≤ 30 ms |",
        f"| first `estimate()`, registry load included (pydantic's BaseModel already imported) | "
        f"{r['first_estimate_ms']:.1f} ms | ≤ 50 ms |",
        f"| first `estimate()` in an app that imported `openai` | {r['first_estimate_after_openai_ms']:.1f} ms | — |",
        f"| first `estimate()` in a bare interpreter, pydantic import included | "
        f"{r['first_estimate_incl_pydantic_import_ms']:.1f} ms | — |",
        f"| each further `estimate()` | {r['estimate_us']:.1f} µs | ≤ 20 µs |",
        f"| `init(providers=['openai'])` | {r['init_ms']:.1f} ms | ≤ 30 ms |",
        f"| OpenAI chat call, plain SDK over a mock transport | {r['openai_plain_call_us']:.0f} µs | — |",
        f"| OpenAI chat call, instrumented | {r['openai_instrumented_call_us']:.0f} µs "
        f"(+{r['openai_call_overhead_pct']:.1f} %) | ≤ 3 % |",
        f"| OpenAI stream, extra time per chunk ({r['openai_stream_chunks']} chunks) | "
        f"{r['openai_per_chunk_overhead_us']:.2f} µs | ≤ 1 µs |",
    ]
    if "peer_call_overhead_pct" in r:
        lines.append(
            f"| EcoLogits 0.11.3 on the same call (side by side) | {r['peer_instrumented_call_us']:.0f} µs "
            f"(+{r['peer_call_overhead_pct']:.1f} %) | — |"
        )
    elif "peer_error" in r:
        lines.append(f"| EcoLogits 0.11.3 on the same call | fails: `{r['peer_error'][:120]}` | — |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer rounds (a smoke run)")
    parser.add_argument("--update-readme", action="store_true", help="write the figures into README.md")
    args = parser.parse_args()
    runs, calls, rounds = (3, 200, 3) if args.quick else (15, 2000, 7)
    results: dict[str, Any] = {"date": date.today().isoformat(), "machine": machine()}
    results |= bench_import(runs)
    results |= bench_first_estimate(runs)
    results |= bench_estimate(2000 if args.quick else 20000)
    results |= bench_init(runs)
    results |= bench_openai_calls(calls, rounds, chunks=1000)
    results |= bench_peer(calls)
    out_dir = ROOT / "benchmarks" / "results"
    out_dir.mkdir(exist_ok=True)
    (out_dir / "latest.json").write_text(json.dumps(results, indent=2) + "\n")
    table = render(results)
    print(table)
    if args.update_readme:
        readme = ROOT / "README.md"
        text = readme.read_text()
        start, end = "<!-- BENCHMARKS:START -->", "<!-- BENCHMARKS:END -->"
        head, rest = text.split(start, 1)
        _, tail = rest.split(end, 1)
        readme.write_text(f"{head}{start}\n{table}\n{end}{tail}")


if __name__ == "__main__":
    main()
