"""The export pipeline (queue, worker, flush, close, at exit), the JSON Lines and CSV exporters, users' exporters."""

from __future__ import annotations

import csv
import dataclasses
import datetime
import io
import json
import logging
import random
import threading
import uuid
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest
from export_helpers import IMPACTS, Collecting, event, run_python, start_python

from genai_footprint._errors import InvalidInputError
from genai_footprint._events import CallEvent
from genai_footprint._export._files import CSV_COLUMNS, CSVExporter, JSONLExporter
from genai_footprint._export._pipeline import ExportPipeline, build_exporter
from genai_footprint._export._record import SCHEMA, to_record


@pytest.fixture
def pipelines() -> Iterator[list[ExportPipeline]]:
    """Pipelines made by a test, closed at its end (so no worker thread outlives it)."""
    made: list[ExportPipeline] = []
    yield made
    for pipeline in made:
        pipeline.close()


def make(pipelines: list[ExportPipeline], exporters: Sequence[Any], **kwargs: Any) -> ExportPipeline:
    pipeline = ExportPipeline(exporters, **kwargs)
    pipelines.append(pipeline)
    return pipeline


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


class Gate:
    """An exporter that holds the worker inside ``export`` until released."""

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.release = threading.Event()
        self.records = 0

    def export(self, records: Sequence[Mapping[str, Any]]) -> None:
        self.entered.set()
        assert self.release.wait(30)
        self.records += len(records)


class Broken:
    def export(self, records: Sequence[Mapping[str, Any]]) -> None:
        raise RuntimeError("disk on fire")

    def close(self) -> None:
        raise OSError("cannot close")


# -- the record ---------------------------------------------------------------------------------------------


def test_record_holds_the_call_and_its_impacts_and_a_unique_id() -> None:
    first = to_record(event(7, trackers=("agent", "step")), {"project": "p1"})
    second = to_record(event(7))
    assert first["schema"] == SCHEMA
    assert len(first["record_id"]) == 32 and first["record_id"] != second["record_id"]
    assert first["trackers"] == ["agent", "step"] and first["tags"] == {"project": "p1"}
    assert first["output_tokens"] == 7.0 and first["model_resolved"] == "gpt-4o-mini"
    assert first["impacts"]["energy"] == {"min": IMPACTS.energy.min, "max": IMPACTS.energy.max, "unit": "kWh"}
    # Every range, in the same groups, order and units as the Impacts' own serialisation.
    dumped = IMPACTS.model_dump(mode="json")
    totals = {key: dumped[key] for key in ("energy", "gwp", "pe", "adpe", "wcf")}
    for group, expected in (("impacts", totals), ("usage", dumped["usage"]), ("embodied", dumped["embodied"])):
        assert json.dumps(first[group]) == json.dumps(expected)
    assert first["inputs"] == dumped["inputs"]
    assert json.loads(json.dumps(first)) == first  # plain JSON types


def _unestimated(stamp: float) -> CallEvent:
    return dataclasses.replace(event(estimated=False), timestamp=stamp)


def test_record_id_is_a_random_version_4_uuid() -> None:
    ids = [to_record(event(estimated=False))["record_id"] for _ in range(2000)]
    assert len(set(ids)) == len(ids)
    for text in ids:
        parsed = uuid.UUID(hex=text)
        assert parsed.hex == text and len(text) == 32
        assert parsed.version == 4 and parsed.variant == uuid.RFC_4122
    # Every bit outside the version and variant is random: each is seen both ways over the ids.
    ones = 0
    zeros = 0
    for text in ids:
        value = int(text, 16)
        ones |= value
        zeros |= ~value
    fixed = (0xF << 76) | (0x3 << 62)
    assert ones | fixed == (1 << 128) - 1 and zeros & ((1 << 128) - 1) | fixed == (1 << 128) - 1


def test_record_timestamp_is_what_datetime_writes() -> None:
    rng = random.Random(7)
    stamps = [rng.uniform(0, 4e9) for _ in range(3000)]
    stamps += [1_767_225_600 + k + f for k in range(3) for f in (0.0, 0.5e-6, 1.5e-6, 0.9999995, 0.99999949, 1e-7)]
    stamps += [s + d for s in stamps[:50] for d in (0.0, 1e-6, 0.5)]  # the same second again
    for stamp in stamps:
        expected = datetime.datetime.fromtimestamp(stamp, datetime.UTC).isoformat(timespec="microseconds")
        assert to_record(_unestimated(stamp))["timestamp"] == expected, stamp


# -- the pipeline ---------------------------------------------------------------------------------------------


def test_user_exporter_gets_records_on_the_worker_thread(pipelines: list[ExportPipeline]) -> None:
    mine = Collecting()
    pipeline = make(pipelines, [mine], tags={"experiment": "e42"})
    for number in range(20):
        pipeline.listener(event(number))
    assert pipeline.flush()
    assert sorted(r["output_tokens"] for r in mine.records) == list(range(20))
    assert all(r["tags"] == {"experiment": "e42"} for r in mine.records)
    assert threading.get_ident() not in mine.threads  # never on the caller's thread
    assert mine.flushes == 1 and mine.closes == 0
    pipeline.close()
    assert mine.flushes == 2 and mine.closes == 1


def test_an_exporter_with_only_export_is_enough(pipelines: list[ExportPipeline]) -> None:
    seen: list[int] = []

    class Minimal:
        def export(self, records: Sequence[Mapping[str, Any]]) -> None:
            seen.extend(int(r["output_tokens"]) for r in records)

    pipeline = make(pipelines, [Minimal()])
    pipeline.listener(event(3))
    pipeline.close()
    assert seen == [3]


def test_a_failing_exporter_stops_neither_the_others_nor_the_worker(
    pipelines: list[ExportPipeline], caplog: pytest.LogCaptureFixture
) -> None:
    good = Collecting()
    pipeline = make(pipelines, [Broken(), good])
    with caplog.at_level(logging.WARNING, logger="genai_footprint"):
        for number in range(5):
            pipeline.listener(event(number))
            assert pipeline.flush()
        pipeline.close()
    assert len(good.records) == 5 and good.closes == 1
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    # One warning for the first export failure and one for the first close failure, not one per batch.
    assert len(warnings) == 2
    assert "Broken failed in export(): disk on fire (1 failures so far" in warnings[0]
    assert "Broken failed in close(): cannot close" in warnings[1]


def test_a_full_queue_drops_counts_and_warns_once_without_blocking(
    pipelines: list[ExportPipeline], caplog: pytest.LogCaptureFixture
) -> None:
    gate = Gate()
    pipeline = make(pipelines, [gate], queue_size=5)
    pipeline.listener(event(0))
    assert gate.entered.wait(30)  # the worker holds event 0; the queue is empty
    with caplog.at_level(logging.WARNING, logger="genai_footprint"):
        for number in range(1, 13):
            pipeline.listener(event(number))  # 5 fit, 7 dropped; none of these calls blocks
    assert pipeline.dropped == 7
    assert [r.getMessage() for r in caplog.records] == [
        "genai_footprint: export queue full (5 records); 1 records dropped so far"
    ]
    gate.release.set()
    assert pipeline.flush()
    assert gate.records == 6


def test_many_threads_one_pipeline_totals_exact(pipelines: list[ExportPipeline]) -> None:
    mine = Collecting()
    pipeline = make(pipelines, [mine], queue_size=100_000)
    threads, per_thread = 8, 500
    start = threading.Barrier(threads)

    def produce(offset: int) -> None:
        start.wait()
        for number in range(per_thread):
            pipeline.listener(event(offset * per_thread + number, estimated=number % 10 != 0))

    workers = [threading.Thread(target=produce, args=(i,)) for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    pipeline.close()
    records = mine.records
    assert pipeline.dropped == 0
    assert sorted(r["output_tokens"] for r in records) == list(range(threads * per_thread))
    assert len({r["record_id"] for r in records}) == threads * per_thread
    estimated = [r for r in records if r["estimated"]]
    assert len(estimated) == threads * per_thread * 9 // 10
    total = sum(r["impacts"]["energy"]["max"] for r in estimated)
    assert total == pytest.approx(len(estimated) * IMPACTS.energy.max, rel=1e-12)


def test_span_hook_runs_on_the_callers_thread_and_cannot_block_the_export(pipelines: list[ExportPipeline]) -> None:
    hooked: list[int] = []

    def hook(e: Any) -> None:
        hooked.append(threading.get_ident())
        raise RuntimeError("hook bug")

    mine = Collecting()
    pipeline = make(pipelines, [mine], span_hook=hook)
    pipeline.listener(event(1))
    pipeline.close()
    assert hooked == [threading.get_ident()]
    assert len(mine.records) == 1


def test_close_is_idempotent_and_later_events_are_ignored(pipelines: list[ExportPipeline]) -> None:
    mine = Collecting()
    pipeline = make(pipelines, [mine])
    pipeline.close()  # never started: exporters flushed and closed here, no thread
    assert (mine.flushes, mine.closes) == (1, 1)
    pipeline.close()
    pipeline.listener(event(1))
    assert pipeline.flush()
    assert mine.records == [] and (mine.flushes, mine.closes) == (1, 1)


def test_bad_arguments_are_named() -> None:
    with pytest.raises(InvalidInputError, match=r"exporters\[1\]: expected an object with an export"):
        ExportPipeline([Collecting(), "jsonl"])  # type: ignore[list-item]
    with pytest.raises(InvalidInputError, match="queue_size: expected a positive integer, got 0"):
        ExportPipeline([], queue_size=0)
    with pytest.raises(InvalidInputError, match="tags: expected non-empty"):
        ExportPipeline([], tags={"run": 3})  # type: ignore[dict-item]
    with pytest.raises(InvalidInputError, match="exporters: unknown exporter 'parquet'"):
        build_exporter("parquet", {})
    with pytest.raises(InvalidInputError, match=r"exporters\.jsonl: unknown option\(s\) file"):
        build_exporter("jsonl", {"file": "x.jsonl"})
    with pytest.raises(InvalidInputError, match=r"exporters\.csv\.path: required"):
        build_exporter("csv", {})
    with pytest.raises(InvalidInputError, match=r"exporters\.jsonl\.path: expected a file path, got 3"):
        build_exporter("jsonl", {"path": 3})


# -- JSON Lines and CSV ------------------------------------------------------------------------------------


def test_jsonl_one_compact_line_per_record_parents_created(tmp_path: Path, pipelines: list[ExportPipeline]) -> None:
    path = tmp_path / "deep" / "er" / "calls.jsonl"
    exporter = build_exporter("jsonl", {"path": str(path)})
    assert isinstance(exporter, JSONLExporter)
    pipeline = make(pipelines, [exporter], tags={"project": "demo"})
    pipeline.listener(event(1, trackers=("agent",)))
    pipeline.listener(event(2, estimated=False, model="my-finetune"))
    pipeline.close()
    lines = path.read_text().splitlines()
    assert len(lines) == 2 and all(": " not in line and ", " not in line for line in lines)
    first, second = (json.loads(line) for line in lines)
    assert first["trackers"] == ["agent"] and first["tags"] == {"project": "demo"}
    assert first["impacts"]["gwp"]["max"] == IMPACTS.gwp.max
    assert second["estimated"] is False and second["impacts"] is None and second["model_requested"] == "my-finetune"


def test_an_append_after_a_torn_line_starts_on_a_fresh_line(tmp_path: Path, pipelines: list[ExportPipeline]) -> None:
    """A log ending in a torn line (a crash in the middle of a write): the next records are not glued onto it."""
    path = tmp_path / "calls.jsonl"
    whole = json.dumps(to_record(event(1)))
    path.write_text(whole + "\n" + whole[: len(whole) // 2])  # one whole record, then half of one
    pipeline = make(pipelines, [JSONLExporter(path)])
    pipeline.listener(event(2))
    pipeline.listener(event(3))
    pipeline.close()
    lines = path.read_text().splitlines()
    assert len(lines) == 4 and lines[1] == whole[: len(whole) // 2]  # the torn line stays alone
    for line in (lines[0], lines[2], lines[3]):
        assert json.loads(line)["schema"] == SCHEMA
    assert path.read_text().endswith("\n")


def test_csv_flat_columns_and_one_header(tmp_path: Path, pipelines: list[ExportPipeline]) -> None:
    path = tmp_path / "calls.csv"
    for run in range(2):  # a second pipeline appends to the same file without a second header
        pipeline = make(pipelines, [CSVExporter(path)], tags={"project": "demo", "run": str(run)})
        pipeline.listener(event(10 + run, trackers=("agent", "step"), stream=True))
        pipeline.listener(event(20 + run, estimated=False))
        pipeline.close()
    rows = list(csv.DictReader(io.StringIO(path.read_text())))
    assert path.read_text().count("record_id,timestamp") == 1
    assert list(rows[0]) == list(CSV_COLUMNS) and len(rows) == 4
    first = rows[0]
    assert first["timestamp"] == "2026-01-01T00:00:10.000000+00:00"
    assert first["stream"] == "true" and first["ttft_s"] == "0.4" and first["estimated"] == "true"
    assert float(first["energy_min"]) == IMPACTS.energy.min and float(first["wcf_max"]) == IMPACTS.wcf.max
    assert first["warnings"] == ";".join(w.code for w in IMPACTS.warnings)
    assert first["trackers"] == "agent/step" and first["tags"] == "project=demo;run=0"
    unestimated = rows[1]
    assert unestimated["estimated"] == "false" and unestimated["energy_min"] == "" and unestimated["zone"] == ""


def test_many_processes_and_threads_append_to_the_same_files(tmp_path: Path) -> None:
    jsonl_path, csv_path = tmp_path / "out" / "calls.jsonl", tmp_path / "out" / "calls.csv"
    processes, threads, per_thread = 4, 3, 60
    script = f"""
        import sys, threading
        from export_helpers import event
        from genai_footprint._export._pipeline import ExportPipeline, build_exporter

        exporters = [build_exporter("jsonl", {{"path": {str(jsonl_path)!r}}}),
                     build_exporter("csv", {{"path": {str(csv_path)!r}}})]
        process = int(sys.argv[1])
        # Two pipelines per process: two workers of one process write the same files too.
        pipelines = [ExportPipeline(exporters), ExportPipeline(exporters)]

        def produce(thread):
            for n in range({per_thread}):
                pipelines[n % 2].listener(event((process * {threads} + thread) * {per_thread} + n))

        workers = [threading.Thread(target=produce, args=(t,)) for t in range({threads})]
        for w in workers: w.start()
        for w in workers: w.join()
        for p in pipelines: p.close()
    """
    children = [start_python(script, str(p)) for p in range(processes)]
    for child in children:
        _, stderr = child.communicate(timeout=120)
        assert child.returncode == 0, stderr
    total = processes * threads * per_thread
    records = read_jsonl(jsonl_path)  # every line parses
    assert sorted(int(r["output_tokens"]) for r in records) == list(range(total))
    assert len({r["record_id"] for r in records}) == total
    text = csv_path.read_text()
    assert text.startswith("record_id,timestamp,") and text.count("record_id,timestamp,") == 1
    rows = list(csv.reader(io.StringIO(text)))[1:]
    assert all(len(row) == len(CSV_COLUMNS) for row in rows)
    assert sorted(float(row[CSV_COLUMNS.index("output_tokens")]) for row in rows) == list(range(total))


def test_records_are_flushed_at_interpreter_exit(tmp_path: Path) -> None:
    path = tmp_path / "calls.jsonl"
    run_python(f"""
        from export_helpers import event
        from genai_footprint._export._pipeline import ExportPipeline, build_exporter

        pipeline = ExportPipeline([build_exporter("jsonl", {{"path": {str(path)!r}}})])
        for n in range(300):
            pipeline.listener(event(n))
        # no flush(), no close(): atexit does it
    """)
    assert sorted(r["output_tokens"] for r in read_jsonl(path)) == list(range(300))


def test_a_forked_child_exports_its_own_records_only(tmp_path: Path) -> None:
    path = tmp_path / "calls.jsonl"
    pytest.importorskip("fcntl")  # POSIX: fork
    run_python(f"""
        import os
        from export_helpers import event
        from genai_footprint._export._pipeline import ExportPipeline, build_exporter

        parent = os.getpid()
        class Gate:  # holds the parent's worker so events are still queued at fork time
            import threading
            entered, release = threading.Event(), threading.Event()
            def export(self, records):
                if os.getpid() == parent:
                    self.entered.set()
                    self.release.wait(30)

        gate = Gate()
        pipeline = ExportPipeline([build_exporter("jsonl", {{"path": {str(path)!r}}}), gate])
        pipeline.listener(event(0))
        assert gate.entered.wait(30)
        for n in range(1, 10):
            pipeline.listener(event(n))  # queued in the parent when it forks
        pid = os.fork()
        if pid == 0:
            for n in range(100, 105):
                pipeline.listener(event(n))
            pipeline.close()
            os._exit(0)
        assert os.waitpid(pid, 0)[1] == 0
        gate.release.set()
        pipeline.listener(event(10))
        pipeline.close()
    """)
    numbers = sorted(int(r["output_tokens"]) for r in read_jsonl(path))
    assert numbers == [*range(11), *range(100, 105)]


def test_record_inputs_are_pydantics_dump_to_the_byte_and_reproduce_the_call() -> None:
    """A record's ``inputs`` is what ``model_dump(mode="json")`` gives (key order and number types included),
    for calls that differ in every per-call field and for a live carbon intensity, and it reproduces the call."""
    import genai_footprint as gf
    from genai_footprint._estimate import compute, prepare, with_gwp

    prepared = prepare("openai", "gpt-4o-mini")
    live = with_gwp(prepared, 0.05, "electricitymaps", "2026-11-22T00:00:00Z")
    per_call = [
        (7, 0.81, "usage", None, False, "gpt-4o-mini", "gpt-4o-mini-2024-07-18"),
        (7.5, 2, "tiktoken", 0.12, True, None, None),
        (1, 0.5, "usage", 1, None, "gpt-4o-mini", None),
        (0, 0.25, "given", 0.0, False, None, "served"),
    ]
    seen = []
    for base in (prepared, live):
        for tokens, latency, source, ttft, stream, requested, served in per_call:
            impacts = compute(
                base,
                output_tokens=tokens,
                latency_s=latency,
                tokens_source=source,
                measured_ttft_s=ttft,
                stream=stream,
                model_requested=requested,
                model_served=served,
            )
            assert impacts.inputs is not None
            record = to_record(dataclasses.replace(event(), impacts=impacts))
            expected = impacts.inputs.model_dump(mode="json")
            assert json.dumps(record["inputs"]) == json.dumps(expected)  # keys in the same order, 7 as 7.0
            assert [type(v) for v in record["inputs"].values()] == [type(v) for v in expected.values()]
            assert record["inputs"]["output_tokens"] == tokens and record["inputs"]["latency_s"] == latency
            again = gf.reproduce(json.loads(json.dumps(record["inputs"])), record["methodology_version"])
            assert again == impacts.model_copy(update={"warnings": ()})  # warnings are not inputs
            seen.append(record["inputs"])
    assert {inputs["mix"]["gwp"] for inputs in seen[len(per_call) :]} == {0.05}
    assert {inputs["mix"]["gwp_source"] for inputs in seen[len(per_call) :]} == {"electricitymaps"}

    # A value of another type than the field's (a str subclass here) gets pydantic's own dump.
    class Name(str):
        pass

    odd = IMPACTS.model_copy(update={"inputs": IMPACTS.inputs.model_copy(update={"model_served": Name("odd")})})
    record = to_record(dataclasses.replace(event(), impacts=odd))
    assert json.dumps(record["inputs"]) == json.dumps(odd.inputs.model_dump(mode="json"))
