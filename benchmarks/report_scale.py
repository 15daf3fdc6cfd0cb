"""How fast ``genai-footprint report`` reads a large log, and in how much memory.

``python benchmarks/report_scale.py`` writes a log of 1,000,000 records (real estimates of a few dozen calls,
repeated with fresh ids and timestamps over 30 days) in a temporary directory, then runs the report over it in
fresh processes — as text, and with ``--html`` — and prints one line a run: records per second (wall time)
and peak resident memory (the process's ``ru_maxrss``). Run it on a quiet machine; the log takes ~2.4 GB.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent  # the checkout whose report is measured
PROVIDER_MODELS = (
    ("openai", "gpt-4o-mini"),
    ("openai", "gpt-4o"),
    ("anthropic", "claude-3-5-haiku-20241022"),
    ("anthropic", "claude-3-7-sonnet-latest"),
    ("mistralai", "mistral-small-latest"),
    ("mistralai", "my-local-model"),  # not in the registry: unestimated records
)
TRACKERS = ((), ("research",), ("research", "search"), ("review",), ("review", "draft", "check"))
START = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
SPAN = dt.timedelta(days=30)


def template_records() -> list[dict[str, Any]]:
    """A record for every (provider, model, trackers, token count): the variety the log repeats."""
    import genai_footprint as gf
    from genai_footprint import _events
    from genai_footprint._export._record import to_record

    records = []
    for provider, model in PROVIDER_MODELS:
        for trackers in TRACKERS:
            for tokens in (50, 400, 1500):
                try:
                    impacts = gf.estimate(provider, model, output_tokens=tokens, latency_s=2.0)
                except gf.UnknownModelError:
                    impacts = None
                inputs = None if impacts is None else impacts.inputs
                event = _events.CallEvent(
                    timestamp=START.timestamp(),
                    provider=provider,
                    model_requested=model,
                    model_served=model,
                    model_resolved=None if inputs is None else inputs.model_resolved,
                    zone=None if inputs is None else inputs.zone,
                    output_tokens=tokens,
                    tokens_source="usage",
                    latency_s=2.0,
                    ttft_s=None,
                    stream=False,
                    trackers=trackers,
                    impacts=impacts,
                    details=_events.TokenDetails(input_tokens=tokens * 8),
                )
                records.append(to_record(event, {"team": f"team-{len(records) % 4}"}))
    return records


def write_log(path: Path, count: int) -> None:
    """``count`` records: the templates in turn, each with its own record id and timestamp (in time order)."""
    from genai_footprint._export._files import jsonl

    pieces = []
    for record in template_records():
        line = jsonl([{**record, "record_id": "@ID@", "timestamp": "@TIME@"}]).decode()
        head, _, rest = line.partition("@ID@")
        middle, _, tail = rest.partition("@TIME@")
        pieces.append((head, middle, tail))
    step = SPAN / count
    with path.open("w", encoding="utf-8") as out:
        batch = []
        for i in range(count):
            head, middle, tail = pieces[i % len(pieces)]
            stamp = (START + step * i).isoformat(timespec="microseconds")
            batch.append(f"{head}{i:032x}{middle}{stamp}{tail}")
            if len(batch) == 10_000:
                out.write("".join(batch))
                batch.clear()
        out.write("".join(batch))


def run_report(*argv: str) -> tuple[float, float, int]:
    """Wall time (s), CPU time (s) and peak RSS (bytes) of one ``genai-footprint report`` process."""
    command = [sys.executable, "-m", "genai_footprint._cli", "report", *argv]
    started = time.perf_counter()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise SystemExit(
            f"report failed ({process.returncode}): {process.stderr.read().decode() if process.stderr else ''}"
        )
    return elapsed, usage.ru_utime + usage.ru_stime, usage.ru_maxrss * 1024  # ru_maxrss is in KiB on Linux


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=1_000_000, help="records in the log (default: %(default)s)")
    parser.add_argument("--json", action="store_true", help="print the figures as one JSON object")
    parser.add_argument("--write", metavar="LOG", help=argparse.SUPPRESS)  # the child that writes the log
    args = parser.parse_args()
    if args.write:
        write_log(Path(args.write), args.records)
        return
    with tempfile.TemporaryDirectory(prefix="report-scale-") as tmp:
        log = Path(tmp) / "calls.jsonl"
        started = time.perf_counter()
        # In a process of its own: a report process forked from this one starts with this one's memory, so
        # this one stays small (the standard library only) for ru_maxrss to be the report's own.
        subprocess.run([sys.executable, __file__, "--write", str(log), "--records", str(args.records)], check=True)
        generated = time.perf_counter() - started
        size = log.stat().st_size
        runs = {"text": run_report(str(log)), "html": run_report(str(log), "--html", str(Path(tmp) / "report.html"))}
        page = (Path(tmp) / "report.html").stat().st_size
    machine = f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}"
    if args.json:
        figures = {
            kind: {"seconds": s, "cpu_seconds": cpu, "records_per_s": args.records / s, "peak_rss_bytes": rss}
            for kind, (s, cpu, rss) in runs.items()
        }
        print(
            json.dumps({"records": args.records, "log_bytes": size, "page_bytes": page, "machine": machine, **figures})
        )
        return
    print(f"log: {args.records:,} records, {size / 1e6:,.0f} MB, written in {generated:.1f} s ({machine})")
    for kind, (seconds, cpu, rss) in runs.items():
        print(
            f"report ({kind}): {args.records / seconds:,.0f} records/s ({seconds:.1f} s; CPU {cpu:.1f} s, "
            f"{args.records / cpu:,.0f} records per CPU second), peak RSS {rss / 2**20:,.0f} MiB"
        )
    print(f"HTML page: {page / 1e3:,.0f} kB")


if __name__ == "__main__":
    main()
