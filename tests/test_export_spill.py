"""The HTTP spill file under a long outage and a crash: memory bounded by a batch, a size limit that drops the
oldest records (counted), acknowledged records never sent again after a crash, and a true account at exit."""

from __future__ import annotations

import json
import logging
import os
import signal
import sys
import threading
import time
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import pytest
from export_helpers import Collector, event, start_python

from genai_footprint._export._http import HTTPExporter
from genai_footprint._export._pipeline import ExportPipeline
from genai_footprint._export._record import to_record


@pytest.fixture
def collector() -> Iterator[Collector]:
    server = Collector()
    yield server
    server.hang, server.hang_after = False, None
    if server._server is not None:
        server.stop()


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(name, raising=False)


def write_spill(path: Path, count: int, start: int = 0) -> list[str]:
    """``count`` full records (~2.5 kB each) in the spill file; their ids, oldest first."""
    records = [to_record(event(n)) for n in range(start, start + count)]
    with path.open("a") as out:
        for record in records:
            out.write(json.dumps(record) + "\n")
    return [record["record_id"] for record in records]


def spilled_ids(path: Path) -> list[str]:
    return [json.loads(line)["record_id"] for line in path.read_text().splitlines() if line.strip()]


def test_a_large_spill_is_read_one_batch_at_a_time(collector: Collector, tmp_path: Path) -> None:
    spill = tmp_path / "spill.jsonl"
    write_spill(spill, 12_000)  # ~30 MB
    assert spill.stat().st_size > 25e6
    collector.failing, collector.status = 10**6, 401  # the records stay: a configuration problem
    tracemalloc.start()
    try:
        exporter = HTTPExporter(collector.url, spill_path=spill, interval_s=3600, batch_size=100)
        exporter.flush()
        exporter.close()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 10e6, f"{peak / 1e6:.1f} MB at the peak for a spill of {spill.stat().st_size / 1e6:.0f} MB"
    assert len(spilled_ids(spill)) == 12_000 and collector.counts == {}


def test_past_its_size_limit_the_spill_drops_its_oldest_records_counted_and_logged(
    collector: Collector, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    spill = tmp_path / "spill.jsonl"
    collector.failing = 10**6  # down: 503
    limit = 100_000  # some 40 records
    exporter = HTTPExporter(
        collector.url, spill_path=spill, interval_s=3600, max_retries=0, max_spill_bytes=limit, batch_size=10
    )
    pipeline = ExportPipeline([exporter])
    made: list[str] = []
    try:
        with caplog.at_level(logging.WARNING, logger="genai_footprint"):
            for round in range(20):
                for n in range(round * 10, round * 10 + 10):
                    pipeline.listener(event(n))
                assert pipeline.flush()
                assert spill.stat().st_size <= limit
        kept = spilled_ids(spill)
        numbers = [int(json.loads(line)["output_tokens"]) for line in spill.read_text().splitlines()]
        assert numbers == list(range(200 - len(numbers), 200))  # the newest, in order
        assert exporter.delivery_report().count(f"{200 - len(kept)} dropped") == 1
        warnings = [r.getMessage() for r in caplog.records if "reached its limit" in r.getMessage()]
        assert warnings and f"({200 - len(kept)} so far by this process)" in warnings[-1]
        collector.failing = 0
        assert pipeline.flush()
        made = kept
    finally:
        pipeline.close()
    assert sorted(collector.counts) == sorted(made) and set(collector.counts.values()) == {1}
    assert spill.read_text() == ""


def test_after_a_crash_acknowledged_records_are_not_sent_again(collector: Collector, tmp_path: Path) -> None:
    spill = tmp_path / "spill.jsonl"
    ids = write_spill(spill, 500)
    collector.hang_after = 4  # 4 batches acknowledged; the 5th request gets no answer, and the process dies
    child = start_python(f"""
        from genai_footprint._export._http import HTTPExporter
        HTTPExporter({collector.url!r}, spill_path={str(spill)!r}, batch_size=50, interval_s=3600)
        import time; time.sleep(60)
    """)
    try:
        deadline = time.monotonic() + 30
        while len(collector.requests) < 5 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert len(collector.requests) == 5 and len(collector.counts) == 200
        child.send_signal(signal.SIGKILL)  # a crash in the middle of a request
        child.wait(30)
    finally:
        child.kill()
        child.communicate(timeout=30)
    collector.hang_after = None
    exporter = HTTPExporter(collector.url, spill_path=spill, batch_size=50, interval_s=3600)
    exporter.flush()
    exporter.close()
    assert sorted(collector.counts) == sorted(ids)
    assert set(collector.counts.values()) == {1}, "an acknowledged record was sent again"
    assert spill.read_text() == ""


def test_a_collector_hanging_at_exit_is_reported_as_it_is(
    collector: Collector, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    spill = tmp_path / "spill.jsonl"
    collector.hang = True
    exporter = HTTPExporter(collector.url, spill_path=spill, interval_s=3600, timeout_s=1.5)
    pipeline = ExportPipeline([exporter])
    for n in range(30):
        pipeline.listener(event(n))
    with caplog.at_level(logging.WARNING, logger="genai_footprint"):
        started = time.monotonic()
        pipeline.close(timeout=0.5)
        took = time.monotonic() - started
    (message,) = [r.getMessage() for r in caplog.records if "did not finish" in r.getMessage()]
    assert took < 1.4
    assert "0 records not yet handed to them are lost" in message
    assert f"0 sent to {collector.url}, 30 kept in {spill}" in message
    assert "still queued are lost" not in message
    assert len(spilled_ids(spill)) == 30  # all on disk, for the next run
    deadline = time.monotonic() + 10  # the request times out; the worker then closes the exporter
    while threading.active_count() > 1 and any(t.name.startswith("genai-footprint") for t in threading.enumerate()):
        if time.monotonic() > deadline:
            break
        time.sleep(0.05)


@pytest.mark.skipif(sys.platform == "win32", reason="flock: POSIX")
def test_senders_sharing_a_spill_never_hold_its_lock_during_a_request(collector: Collector, tmp_path: Path) -> None:
    from genai_footprint._export._files import locked_file

    spill = tmp_path / "spill.jsonl"
    write_spill(spill, 50)
    collector.hang = True
    exporter = HTTPExporter(collector.url, spill_path=spill, interval_s=3600, timeout_s=2)
    try:
        deadline = time.monotonic() + 10
        while not collector.requests and time.monotonic() < deadline:
            time.sleep(0.01)
        assert collector.requests  # the sender thread is inside a request that gets no answer
        started = time.monotonic()
        with locked_file(spill) as fd:  # another process (or thread) appending meanwhile
            os.write(fd, b"")
        assert time.monotonic() - started < 0.5
    finally:
        collector.hang = False
        exporter.close()
