"""Two closer looks at what instrumentation costs per streamed chunk, where ``run.py``'s A/B of whole streams is
too noisy to tell (Mistral's chunks take some 0.4 ms of the SDK's own work; the budget is 1 µs).

``python benchmarks/chunks.py [--rounds N] [--chunks N] [--replay-chunks N] [--json] [provider ...]``

- **observer, in situ**: real streams, as in ``run.py``. The stream observer's ``on_item`` is wrapped in a pair
  of ``perf_counter_ns`` reads, in turns with a do-nothing ``on_item`` wrapped the same way; the difference of
  the two per-chunk means is the time of the observer's own work on each chunk, with the caches as the SDK's
  work leaves them (the timer's and the wrapper's cost cancel out). It leaves out the proxy's generator and its
  call to the observer, and any slowdown our code causes the SDK's: a floor of what a chunk costs us.
- **replayed**: the SDK's stream hands out chunks parsed beforehand (``measure.replay_cases``, the streams
  ``run.py --callgrind`` counts), so its per-chunk work is taken out; plain and instrumented streams alternate.
  This is the whole of our per-chunk code, proxy included, with none of the SDK's work between chunks: its
  caches are not those of a real stream, in either direction (our code stays warmer; the chunks, parsed long
  before, are colder).

Each figure is the median of per-round differences with its 95 % confidence interval (``stats.median_ci``).
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import measure
import stats

PROVIDERS = ("openai", "anthropic", "mistralai")
SETTLE_STREAMS = 2  # untimed streams after each switch


def _stream_case(provider: str, chunks: int) -> measure.Case:
    return next(case for case in measure.cases(provider, chunks) if case.name == "stream")


def observer_in_situ(provider: str, rounds: int, chunks: int) -> dict[str, Any]:
    """The observer's own time per chunk, in real streams (see the module's docstring)."""
    tool = measure.Ours(provider)
    tool.load()
    tool.start()
    case = _stream_case(provider, chunks)
    proxy = case.run()[0]
    observer_class = type(proxy._self_observer)  # the class the instrumentation observes this stream with
    real = observer_class.on_item
    totals = [0, 0]  # nanoseconds, calls
    clock = time.perf_counter_ns

    def timed(on_item: Callable[[Any, Any], bool]) -> Callable[[Any, Any], bool]:
        def wrapper(observer: Any, item: Any) -> bool:
            start = clock()
            keep = on_item(observer, item)
            totals[0] += clock() - start
            totals[1] += 1
            return keep

        return wrapper

    def nothing(observer: Any, item: Any) -> bool:
        return True

    sides: dict[str, list[float]] = {"observer": [], "nothing": []}
    try:
        for round_index in range(rounds):
            order = (("observer", real), ("nothing", nothing))
            for name, on_item in order if round_index % 2 == 0 else order[::-1]:
                observer_class.on_item = timed(on_item)
                case.run()  # settles: replacing a class's method invalidates its caches
                totals[:] = [0, 0]
                gc.collect()
                gc.disable()
                try:
                    case.run()
                finally:
                    gc.enable()
                if totals[1] == 0:
                    raise RuntimeError(f"{observer_class.__name__}.on_item saw no chunk")
                sides[name].append(totals[0] / totals[1])
    finally:
        observer_class.on_item = real
        tool.off()
    diffs = [observed - nothing for observed, nothing in zip(sides["observer"], sides["nothing"], strict=True)]
    ci = stats.median_ci(diffs)
    return {
        "observer": observer_class.__name__,
        "rounds": rounds,
        "chunks": chunks,
        "observer_ns": statistics.median(sides["observer"]),
        "nothing_ns": statistics.median(sides["nothing"]),
        "extra_per_chunk_us": statistics.median(diffs) / 1e3,
        "extra_per_chunk_ci_us": None if ci is None else (ci[0] / 1e3, ci[1] / 1e3),
    }


def replayed(provider: str, rounds: int, chunks: int) -> dict[str, Any]:
    """{case name: summary} of the provider's replayed streams (see ``stats.summary``), without the samples."""
    tool = measure.Ours(provider)
    tool.load()
    tool.start()
    switch = measure.Switch(tool, on=True)
    results: dict[str, Any] = {}
    for case in measure.replay_cases(provider, chunks):
        plain, instrumented = measure.alternating(switch, case, rounds, 1, SETTLE_STREAMS)
        switch.set(True)
        annotated = measure.annotated(case.run())
        summary = stats.summary(chunks, 1, plain, instrumented, annotated)
        results[case.name] = {key: value for key, value in summary.items() if key != "samples"}
    switch.set(False)
    return results


def _interval(ci: Any) -> str:
    return "" if ci is None else f", median within {ci[0]:.2f}–{ci[1]:.2f} µs"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("providers", nargs="*", metavar="provider", help=f"among {', '.join(PROVIDERS)} (default: all)")
    parser.add_argument("--rounds", type=int, default=100, help="rounds of each comparison")
    parser.add_argument("--chunks", type=int, default=300, help="content chunks per real stream")
    parser.add_argument("--replay-chunks", type=int, default=1000, help="chunks per replayed stream")
    parser.add_argument("--json", action="store_true", help="print the results as one JSON object")
    args = parser.parse_args()
    unknown = sorted(set(args.providers) - set(PROVIDERS))
    if unknown:
        parser.error(f"unknown provider(s) {', '.join(unknown)}; expected among {', '.join(PROVIDERS)}")
    if min(args.rounds, args.chunks, args.replay_chunks) < 1:
        parser.error("--rounds, --chunks and --replay-chunks must be positive")
    results = {
        provider: {
            "observer_in_situ": observer_in_situ(provider, args.rounds, args.chunks),
            "replayed": replayed(provider, args.rounds, args.replay_chunks),
        }
        for provider in args.providers or PROVIDERS
    }
    if args.json:
        print(json.dumps(results))
        return
    for provider, figures in results.items():
        seen = figures["observer_in_situ"]
        print(
            f"{provider}: {seen['observer']}.on_item in situ {seen['extra_per_chunk_us']:+.2f} µs a chunk"
            f"{_interval(seen['extra_per_chunk_ci_us'])} (wrapped: {seen['observer_ns']:.0f} ns, "
            f"a do-nothing one {seen['nothing_ns']:.0f} ns; {seen['rounds']} rounds of {seen['chunks']} chunks)"
        )
        for name, case in figures["replayed"].items():
            print(
                f"{provider}: {name}, extra {case['extra_per_chunk_us']:+.2f} µs a chunk"
                f"{_interval(case['extra_per_chunk_ci_us'])} on {case['plain_per_chunk_us']:.2f} µs a chunk "
                f"({case['rounds']} rounds, impacts {'set' if case['annotated'] else 'MISSING'})"
            )


if __name__ == "__main__":
    main()
