"""Smoke test of ``benchmarks/run.py``: its quickest mode yields every figure for every provider.

No timing is asserted (figures from a smoke run are noise); what is checked is that each measurement ran,
produced all its keys, and timed calls that really carried impacts.
"""

from __future__ import annotations

import importlib.util
import json
import math
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
RUN = ROOT / "benchmarks" / "run.py"

CASES = {
    "openai": {"call", "stream"},
    "anthropic": {"call", "stream", "stream_helper"},
    "mistralai": {"call", "stream"},
}
FRESH_KEYS = {"import_ms", "init_ms", "first_call_ms", "first_call_extra_ms"}
CALL_KEYS = {
    "rounds",
    "reps",
    "chunks",
    "annotated",
    "plain_us",
    "instrumented_us",
    "extra_us",
    "extra_q1_us",
    "extra_q3_us",
    "extra_pct",
    "extra_q1_pct",
    "extra_q3_pct",
    "extra_ci_us",
    "extra_ci_pct",
}
STREAM_KEYS = CALL_KEYS | {
    "plain_per_chunk_us",
    "extra_per_chunk_us",
    "extra_per_chunk_q1_us",
    "extra_per_chunk_q3_us",
    "extra_per_chunk_ci_us",
}
# A provider's cases are measured in several processes, their rounds put together.
POOLED_KEYS = {"processes", "extra_process_min_us", "extra_process_max_us"}
PACKAGE_KEYS = {
    "import_ms",
    "import_after_pydantic_ms",
    "first_estimate_ms",
    "first_estimate_after_basemodel_ms",
    "pydantic_first_model_ms",
    "first_estimate_after_openai_ms",
    "first_estimate_incl_pydantic_import_ms",
    "estimate_us",
}
PEER_INSTALLED = importlib.util.find_spec("ecologits") is not None


@pytest.fixture(scope="module")
def smoke(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], str]:
    tmp = tmp_path_factory.mktemp("bench")
    out = tmp / "results.json"
    proc = subprocess.run(
        [sys.executable, str(RUN), "--quick", "--chunks", "20", "--jobs", "3", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "TMPDIR": str(tmp)},  # the tracker job's exporter writes under a temporary directory
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(out.read_text()), proc.stdout


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _check_case(figures: dict[str, Any], stream: bool, processes: int = 0) -> None:
    assert set(figures) == (STREAM_KEYS if stream else CALL_KEYS) | (POOLED_KEYS if processes else set())
    intervals = {key for key in figures if key.endswith(("_ci_us", "_ci_pct"))}
    assert all(_is_number(figures[key]) for key in set(figures) - {"annotated"} - intervals)
    for key in intervals:  # the median's interval: a (low, high) pair, or None below 6 rounds
        interval = figures[key]
        if figures["rounds"] < 6:
            assert interval is None, key
        else:
            assert len(interval) == 2 and all(map(_is_number, interval)) and interval[0] <= interval[1], key
    assert figures["rounds"] >= 1
    assert figures["reps"] >= 1
    assert figures["chunks"] == (20 if stream else 0)


def test_package_figures(smoke: tuple[dict[str, Any], str]) -> None:
    results, _ = smoke
    assert set(results["package"]) == PACKAGE_KEYS
    assert all(_is_number(v) for v in results["package"].values())
    assert results["settings"]["chunks"] == 20
    assert results["machine"]
    assert results["date"]


@pytest.mark.parametrize("provider", sorted(CASES))
def test_every_figure_of_genai_footprint(smoke: tuple[dict[str, Any], str], provider: str) -> None:
    figures = smoke[0]["providers"][provider]["genai_footprint"]
    assert all(_is_number(figures[key]) for key in FRESH_KEYS), figures
    assert set(figures["cases"]) == CASES[provider]
    for case, case_figures in figures["cases"].items():
        assert isinstance(case_figures, dict), (case, case_figures)
        _check_case(case_figures, stream=case != "call", processes=2)
        assert case_figures["annotated"] is True  # the instrumented side really carried impacts
        # --quick: two processes of at least two rounds each, all of them in the figure
        assert case_figures["processes"] == 2
        assert case_figures["rounds"] == 2 * 2
        assert case_figures["extra_process_min_us"] <= case_figures["extra_process_max_us"]


@pytest.mark.skipif(not PEER_INSTALLED, reason="the peer (ecologits) is not installed")
@pytest.mark.parametrize("provider", sorted(CASES))
def test_peer_side_by_side(smoke: tuple[dict[str, Any], str], provider: str) -> None:
    results, _ = smoke
    assert results["peer"]
    figures = results["providers"][provider]["ecologits"]
    for key in FRESH_KEYS:
        assert _is_number(figures[key]) or figures[key].startswith("fails: "), (key, figures[key])
    assert set(figures["cases"]) == CASES[provider]
    for case, case_figures in figures["cases"].items():
        if isinstance(case_figures, str):
            assert case_figures.startswith("fails: ")
        else:
            _check_case(case_figures, stream=case != "call", processes=1)
            assert case_figures["processes"] == 1


def test_tracker_with_exporter(smoke: tuple[dict[str, Any], str]) -> None:
    tracker = smoke[0]["tracker"]
    assert isinstance(tracker, dict), tracker
    assert tracker["exporter"]
    assert tracker["calls_seen_by_tracker"] >= 1  # the calls really ran inside track()
    assert tracker["records_exported"] >= 1  # and the exporter wrote their records
    assert tracker["dropped"] == 0
    for arm in ("instrumented", "tracked", "tracked_request_path"):
        _check_case(tracker[arm], stream=False)


def test_export_worker_throughput(smoke: tuple[dict[str, Any], str]) -> None:
    worker = smoke[0]["export_worker"]
    assert isinstance(worker, dict), worker
    assert worker["records"] == 200  # --quick: the events of 200 real instrumented calls, each with impacts
    assert _is_number(worker["records_per_s"]) and worker["records_per_s"] > 0


def test_table_names_every_provider_and_ceiling(smoke: tuple[dict[str, Any], str]) -> None:
    _, table = smoke
    for name in ("OpenAI", "Anthropic", "Mistral"):
        assert f"| {name}: `init()` |" in table
    assert "≤ 30 µs" in table  # per call
    assert "≤ 3 µs" in table  # per chunk
    assert "≤ 50 ms" in table  # init() and the first estimate()
    assert "≥ 10,000/s" in table  # the export worker
    assert "inside `track()`" in table


def test_short_table_has_one_row_per_ceiling(smoke: tuple[dict[str, Any], str]) -> None:
    _, printed = smoke
    short = printed[printed.index("| what | ceiling | current figure |") :]
    rows = [line for line in short.splitlines() if line.startswith("| ") and "---" not in line][1:]
    assert [row.split(" | ")[1] for row in rows] == ["≤ 30 µs", "≤ 3 µs", "≤ 50 ms", "≤ 50 ms", "≥ 10,000 records/s"]
    assert all("not measured" not in row for row in rows), rows


def _load_run(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    spec = importlib.util.spec_from_file_location("benchmarks_run", RUN)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, module)  # dataclasses look their module up while it loads
    spec.loader.exec_module(module)
    return module


def test_callgrind_dumps_are_read_per_case_and_side(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    run = _load_run(monkeypatch)
    out_file = tmp_path / "callgrind.out"
    batches = [  # (case, instrumented, reps, instructions) in the order the job writes them
        ("call", 0, 5, 5_000_000),
        ("call", 1, 5, 5_500_000),
        ("stream", 0, 1, 800_000),
        ("stream", 1, 1, 900_000),
        ("call", 1, 5, 5_600_000),  # the second round starts with the instrumented side
        ("call", 0, 5, 5_000_000),
        ("stream", 1, 1, 900_000),
        ("stream", 0, 1, 800_000),
    ]
    for index, (case, on, reps, total) in enumerate(batches, start=1):
        (tmp_path / f"callgrind.out.{index}").write_text(
            f"# callgrind format\nversion: 1\ndesc: Trigger: Client Request: {case}|{on}|{reps}\n"
            f"events: Ir\nsummary: {total}\ntotals: {total}\n"
        )
    (tmp_path / "callgrind.out").write_text("desc: Trigger: Program termination\nsummary: 12\n")
    outcome = {"call": {"annotated": True, "chunks": 0}, "stream": {"annotated": True, "chunks": 100}}
    figures = run._instructions(outcome, run._dumps(out_file), "openai")
    call, stream = figures["call"], figures["stream"]
    assert call["rounds"] == 2
    assert call["extra_instructions"] == pytest.approx(110_000)  # per call: medians 1.0 M and 1.11 M
    assert (call["extra_instructions_min"], call["extra_instructions_max"]) == pytest.approx((100_000, 120_000))
    assert call["ratio"] == pytest.approx(1.11)
    assert stream["extra_instructions_per_chunk"] == pytest.approx(1_000)
    assert stream["plain_instructions_per_chunk"] == pytest.approx(8_000)
    assert run._cg_extra(call, per_chunk=False) == "+110 k [+100 k – +120 k] ×1.110"
    assert run._cg_extra(stream, per_chunk=True) == "+1 k [+1 k – +1 k] ×1.125"


def test_cases_from_several_processes_are_pooled_round_by_round(monkeypatch: pytest.MonkeyPatch) -> None:
    run = _load_run(monkeypatch)
    stats = sys.modules["stats"]  # run.py's own summary module
    us = 1e-6
    # Two processes whose layouts differ: the first adds about 2 µs a chunk, the second about 4.
    first = stats.summary(1000, 1, [100_000 * us] * 3, [102_000 * us, 101_500 * us, 102_500 * us], True)
    second = stats.summary(1000, 1, [100_000 * us] * 2, [104_000 * us, 104_200 * us], True)
    assert first["extra_us"] == pytest.approx(2000) and second["extra_us"] == pytest.approx(4100)
    cases = run._pooled_cases([{"cases": {"stream": first}}, {"cases": {"stream": second}}])
    pooled = cases["stream"]
    assert "samples" not in pooled
    assert pooled["processes"] == 2 and pooled["rounds"] == 5
    # the median of the five rounds (2000, 1500, 2500, 4000, 4200), not of the two processes' medians
    assert pooled["extra_us"] == pytest.approx(2500)
    assert pooled["extra_per_chunk_us"] == pytest.approx(2.5)
    assert (pooled["extra_process_min_us"], pooled["extra_process_max_us"]) == pytest.approx((2000, 4100))
    assert run._extra(pooled, per_chunk=True) == "+2.50 µs [2.00–4.00]; 2 processes: +2.00 to +4.10 µs"
    # a case that failed in any process is that failure
    failed = run._pooled_cases([{"cases": {"stream": first}}, {"cases": {"stream": "fails: boom"}}])
    assert failed == {"stream": "fails: boom"}


def test_the_median_confidence_interval_is_the_binomial_order_statistics(monkeypatch: pytest.MonkeyPatch) -> None:
    _load_run(monkeypatch)
    stats = sys.modules["stats"]
    assert stats.median_ci([1.0, 2.0, 3.0, 4.0, 5.0]) is None  # five rounds: no 95 % interval exists
    assert stats.median_ci([]) is None
    assert stats.median_ci([6.0, 1.0, 5.0, 2.0, 4.0, 3.0]) == (1.0, 6.0)  # six: the extremes (coverage 96.9 %)
    values = [float(v) for v in range(100, 0, -1)]
    assert stats.median_ci(values) == (40.0, 61.0)  # the textbook ranks for 100 values
    for n in (6, 25, 100, 401, 3000):  # ranks j, n + 1 - j with P(B(n, 1/2) < j) <= 2.5 % < P(... < j + 1)
        low, high = stats.median_ci([float(v) for v in range(1, n + 1)])
        j = int(low)
        assert high == n + 1 - j

        def below(k: int, n: int = n) -> float:
            return sum(math.comb(n, i) for i in range(k)) / 2**n

        assert below(j) <= 0.025 < below(j + 1)


def test_budget_verdicts_judge_the_median_interval_and_each_process(monkeypatch: pytest.MonkeyPatch) -> None:
    run = _load_run(monkeypatch)
    stats = sys.modules["stats"]
    us = 1e-6

    def chunked(extras_us: list[float]) -> dict[str, Any]:  # 1000-chunk streams of 100 ms plain
        return stats.summary(1000, 1, [0.1] * len(extras_us), [0.1 + e * us for e in extras_us], True)

    spread = [float(v) for v in range(-1000, 1001, 20)]  # single rounds vary by ±1 µs a chunk
    within = chunked([500 + v for v in spread])  # median 0.5 µs a chunk
    assert within["extra_per_chunk_q3_us"] > 1.0  # its interquartile range crosses the budget ...
    assert within["extra_per_chunk_ci_us"][1] < 1.0  # ... its median's interval does not
    assert run._verdict(within, "extra_per_chunk", "_us", 1.0) == " ✓"
    assert run._verdict(chunked([1500 + v for v in spread]), "extra_per_chunk", "_us", 1.0) == " ✗"
    assert run._verdict(chunked([1000 + v for v in spread]), "extra_per_chunk", "_us", 1.0) == " ?"
    assert run._verdict(chunked([500.0] * 5), "extra_per_chunk", "_us", 1.0) == " ?"  # too few rounds
    # one process's own median over the budget: not shown met, however narrow the pooled interval
    lopsided = within | {"processes": 3, "extra_process_min_us": 300.0, "extra_process_max_us": 1200.0}
    assert run._verdict(lopsided, "extra_per_chunk", "_us", 1.0) == " ?"
    # per cent of the plain call, for calls
    call = stats.summary(0, 1, [1e-3] * 101, [1e-3 + (20 + v / 100) * us for v in spread], True)
    assert call["extra_pct"] == pytest.approx(2.0) and call["extra_q3_pct"] < 3.0
    assert run._verdict(call, "extra", "_pct", 3.0) == " ✓"
    assert (
        run._verdict(
            call | {"processes": 2, "extra_process_min_us": 15.0, "extra_process_max_us": 31.0}, "extra", "_pct", 3.0
        )
        == " ?"
    )  # 3.1 % in one process
    low, high = within["extra_per_chunk_ci_us"]
    assert run._extra(within, per_chunk=True).endswith(f", median within {low:.2f}–{high:.2f} µs")


@pytest.mark.parametrize("provider", sorted(CASES))
def test_replayed_stream_hands_out_the_parsed_items_through_the_sdk(
    provider: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The instructions-only case: a real call opens the stream, whose SDK object then hands out items parsed
    # beforehand. Both sides get those items (genai_footprint hides only the usage chunk it asked for), and the
    # instrumented stream is measured from them: its output tokens are the replayed stream's, not the opener's.
    _load_run(monkeypatch)  # puts benchmarks/ on the path, as run.py does for measure.py
    measure = importlib.import_module("measure")
    import genai_footprint

    case, *more = measure.replay_cases(provider, 7)
    assert case.name == "stream_replay" and case.chunks == 7
    assert [other.name for other in more] == (["stream_helper_replay"] if provider == "anthropic" else [])
    plain_stream, plain_last = case.run()
    genai_footprint.init(providers=[provider])
    try:
        stream, last = case.run()
    finally:
        genai_footprint.shutdown()
    assert measure.annotated((stream, last))
    assert stream.impacts.inputs.output_tokens == 7 and stream.impacts.inputs.tokens_source == "usage"
    assert not hasattr(plain_stream, "impacts")
    assert type(last) is type(plain_last)


def test_instruction_table_shows_the_replayed_stream(monkeypatch: pytest.MonkeyPatch) -> None:
    run = _load_run(monkeypatch)
    figures = {
        "annotated": True,
        "rounds": 2,
        "plain_instructions": 300_000.0,
        "instrumented_instructions": 3_200_000.0,
        "extra_instructions": 2_900_000.0,
        "extra_instructions_min": 2_800_000.0,
        "extra_instructions_max": 3_000_000.0,
        "ratio": 3_200_000 / 300_000,
        "chunks": 1000,
        "extra_instructions_per_chunk": 2_900.0,
        "plain_instructions_per_chunk": 300.0,
    }
    results = json.loads((ROOT / "benchmarks" / "results" / "latest.json").read_text())
    # The committed results may come from a run without --callgrind: every case gets the same counts here.
    results["callgrind"] = {
        provider: {run.OURS: dict.fromkeys([*run.CASES[provider], run.REPLAY], figures)} for provider in run.PROVIDERS
    }
    results["callgrind"]["anthropic"][run.OURS]["stream_helper_replay"] = figures
    lines = run.render(results).splitlines()
    replayed = [line for line in lines if run.REPLAY_NOTE in line]
    assert len(replayed) == 4
    assert replayed[0].startswith("| OpenAI: `create(stream=True)`, its chunks replayed")
    assert any(line.startswith("| Anthropic: `messages.stream()` read through `text_stream`, its") for line in replayed)
    assert all("+2.9 k [+2.8 k – +3 k]" in line for line in replayed)


def test_replayed_helper_stream_reads_the_parsed_events(monkeypatch: pytest.MonkeyPatch) -> None:
    # Anthropic's messages.stream() over the replayed events: the helper's text and final message come from
    # them, on both sides, and the instrumented helper's impacts count their usage.
    _load_run(monkeypatch)
    measure = importlib.import_module("measure")
    import genai_footprint

    _, case = measure.replay_cases("anthropic", 7)
    assert case.name == "stream_helper_replay" and case.chunks == 7
    (plain,) = case.run()
    genai_footprint.init(providers=["anthropic"])
    try:
        (helper,) = case.run()
    finally:
        genai_footprint.shutdown()
    assert helper.get_final_message().content == plain.get_final_message().content
    assert len(plain.get_final_message().content[0].text) > 0
    assert helper.impacts.inputs.output_tokens == 7 and helper.impacts.inputs.tokens_source == "usage"
    assert not hasattr(plain, "impacts")


def test_chunks_times_each_providers_observer_and_replayed_streams(tmp_path: Path) -> None:
    """``benchmarks/chunks.py``: the observer timed in real streams, and the replayed streams, for every provider."""
    script = ROOT / "benchmarks" / "chunks.py"
    args = ["--rounds", "6", "--chunks", "20", "--replay-chunks", "20", "--json"]
    proc = subprocess.run(
        [sys.executable, str(script), *args],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "TMPDIR": str(tmp_path)},
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    results = json.loads(proc.stdout.strip().splitlines()[-1])
    assert set(results) == set(CASES)
    for provider, figures in results.items():
        seen = figures["observer_in_situ"]
        assert seen["observer"].endswith("Observer"), seen
        assert (seen["rounds"], seen["chunks"]) == (6, 20)
        assert seen["observer_ns"] > 0 and seen["nothing_ns"] > 0
        assert _is_number(seen["extra_per_chunk_us"])
        low, high = seen["extra_per_chunk_ci_us"]
        assert low <= seen["extra_per_chunk_us"] <= high
        expected = {"stream_replay", "stream_helper_replay"} if provider == "anthropic" else {"stream_replay"}
        assert set(figures["replayed"]) == expected, provider
        for case, case_figures in figures["replayed"].items():
            _check_case(case_figures, stream=True)
            assert case_figures["rounds"] == 6, (provider, case)
            assert case_figures["annotated"] is True, (provider, case)  # the instrumented side carried impacts


def test_chunks_refuses_an_unknown_provider() -> None:
    script = ROOT / "benchmarks" / "chunks.py"
    proc = subprocess.run([sys.executable, str(script), "gemini"], capture_output=True, text=True, check=False)
    assert proc.returncode == 2
    assert "unknown provider(s) gemini" in proc.stderr
