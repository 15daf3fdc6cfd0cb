"""Exports across forks: pre-fork servers forking while records are written, multiprocessing children (fork and
spawn) that end with ``os._exit``. Each scenario runs in a fresh interpreter, bounded in time, on 127.0.0.1."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest
from export_helpers import Collector, run_python

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="fork and flock semantics: Linux")


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line]


def test_forking_while_a_thread_appends_never_jams_the_parent(tmp_path: Path) -> None:
    jsonl_path, csv_path = tmp_path / "calls.jsonl", tmp_path / "calls.csv"
    # Children forked every 10 ms while a thread makes calls live until the parent has flushed: a child that
    # inherited a held flock would block the parent's next append for as long as it lives.
    out = run_python(
        f"""
        import json, os, threading, time
        from export_helpers import event
        from genai_footprint._export._pipeline import ExportPipeline, build_exporter

        pipeline = ExportPipeline(
            [build_exporter("jsonl", {{"path": {str(jsonl_path)!r}}}),
             build_exporter("csv", {{"path": {str(csv_path)!r}}})],
        )
        made = 0
        stop = threading.Event()

        def calls():
            global made
            while not stop.is_set():
                for _ in range(20):
                    pipeline.listener(event(made))
                    made += 1
                time.sleep(0.002)  # ~5,000 calls a second: well within what the worker writes

        producer = threading.Thread(target=calls)
        producer.start()
        r, w = os.pipe()
        children = []
        for _ in range(60):
            pid = os.fork()
            if pid == 0:
                os.close(w)
                os.read(r, 1)  # until the parent is done
                os._exit(0)
            children.append(pid)
            time.sleep(0.01)
        stop.set()
        producer.join()
        started = time.monotonic()
        flushed = pipeline.flush(timeout=8)
        took = time.monotonic() - started
        os.close(w)
        codes = [os.waitpid(pid, 0)[1] for pid in children]
        pipeline.close()
        print(json.dumps({{"flushed": flushed, "took": took, "made": made, "dropped": pipeline.dropped,
                           "codes": codes}}))
        """,
        timeout=60,
    )
    result = json.loads(out)
    assert result["flushed"] and result["took"] < 5, result
    assert result["dropped"] == 0 and set(result["codes"]) == {0}
    numbers = sorted(int(record["output_tokens"]) for record in read_jsonl(jsonl_path))
    assert numbers == list(range(result["made"]))  # nothing dropped, nothing written twice, every line whole
    assert len(csv_path.read_text().splitlines()) == result["made"] + 1


def test_forking_during_a_spill_resend_loses_nothing_and_does_not_delay_the_parent(tmp_path: Path) -> None:
    collector = Collector()
    collector.delay_s = 0.05  # 8 batches: the resend takes ~0.4 s, and children are forked during it
    spill = tmp_path / "spill.jsonl"
    spill.write_text("".join(json.dumps({"record_id": f"{n:032x}", "n": n}) + "\n" for n in range(200)))
    try:
        out = run_python(
            f"""
            import json, os, time
            from export_helpers import event
            from genai_footprint._export._http import HTTPExporter
            from genai_footprint._export._pipeline import ExportPipeline

            exporter = HTTPExporter({collector.url!r}, spill_path={str(spill)!r}, batch_size=25, interval_s=3600)
            pipeline = ExportPipeline([exporter])
            r, w = os.pipe()
            children = []
            for _ in range(8):
                time.sleep(0.03)
                pid = os.fork()
                if pid == 0:
                    os.close(w)
                    os.read(r, 1)
                    os._exit(0)
                children.append(pid)
            deadline = time.monotonic() + 10
            while os.path.getsize({str(spill)!r}) and time.monotonic() < deadline:  # the resend is over
                time.sleep(0.01)
            for n in range(20):  # new records, fewer than a batch: the flush first appends them to the spill
                pipeline.listener(event(n))
            started = time.monotonic()
            flushed = pipeline.flush(timeout=8)
            pipeline.close(timeout=8)
            took = time.monotonic() - started
            os.close(w)
            for pid in children:
                os.waitpid(pid, 0)
            print(json.dumps({{"flushed": flushed, "took": took}}))
            """,
            timeout=60,
        )
    finally:
        collector.stop()
    result = json.loads(out)
    assert result["flushed"] and result["took"] < 3, result
    assert len(collector.counts) == 220 and set(collector.counts.values()) == {1}
    assert spill.read_text() == ""


MULTIPROCESSING_SCRIPT = """
import json, multiprocessing, os, sys
from export_helpers import event
from genai_footprint._export._pipeline import ExportPipeline, build_exporter

PATH = {path!r}
pipeline = None


def calls(base):
    global pipeline
    if pipeline is None:  # spawn: a fresh interpreter, which sets up its own exports
        pipeline = ExportPipeline([build_exporter("jsonl", {{"path": PATH}})])
    for n in range(20):
        pipeline.listener(event(base + n))
    return os.getpid()


if __name__ == "__main__":
    method = sys.argv[1]
    context = multiprocessing.get_context(method)
    if method == "fork":
        pipeline = ExportPipeline([build_exporter("jsonl", {{"path": PATH}})])
    processes = [context.Process(target=calls, args=(1000 * (i + 1),)) for i in range({processes})]
    for process in processes:
        process.start()
    for process in processes:
        process.join(60)
    pool = context.Pool(2)
    pids = pool.map(calls, [100_000 + 1000 * i for i in range({tasks})])
    pool.close()
    pool.join()
    print(json.dumps({{"codes": [p.exitcode for p in processes], "pool_pids": sorted(set(pids))}}))
"""


@pytest.mark.parametrize("method", ["fork", "spawn"])
def test_every_record_of_a_multiprocessing_child_is_written(tmp_path: Path, method: str) -> None:
    path = tmp_path / "calls.jsonl"
    processes, tasks = (4, 8) if method == "fork" else (2, 4)
    script = tmp_path / "work.py"  # spawn imports the main module again: a file, not -c
    script.write_text(MULTIPROCESSING_SCRIPT.format(path=str(path), processes=processes, tasks=tasks))
    out = run_python(f"import runpy, sys; sys.argv = ['work.py', {method!r}]; runpy.run_path({str(script)!r}, "
                     "run_name='__main__')", timeout=120)  # fmt: skip
    result = json.loads(out)
    assert result["codes"] == [0] * processes
    numbers = sorted(int(record["output_tokens"]) for record in read_jsonl(path))
    expected = [1000 * (i + 1) + n for i in range(processes) for n in range(20)]
    expected += [100_000 + 1000 * i + n for i in range(tasks) for n in range(20)]
    assert numbers == sorted(expected)
