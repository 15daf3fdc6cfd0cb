"""The HTTP exporter against a real collector on 127.0.0.1: batches, auth, retries, spill, exactly-once, proxies."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from export_helpers import Collector, event, run_python

from genai_footprint._errors import InvalidInputError
from genai_footprint._export._http import HTTPExporter
from genai_footprint._export._pipeline import ExportPipeline, build_exporter

PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "all_proxy")


@pytest.fixture(autouse=True)
def _no_proxy_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (*PROXY_VARIABLES, "no_proxy"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def collector() -> Iterator[Collector]:
    server = Collector()
    yield server
    if server._server is not None:
        server.stop()


@pytest.fixture
def closing() -> Iterator[list[Any]]:
    """Pipelines and exporters made by a test, closed at its end."""
    made: list[Any] = []
    yield made
    for thing in reversed(made):
        thing.close()


def http(closing: list[Any], url: str, tmp_path: Path, **options: Any) -> HTTPExporter:
    options = {"spill_path": str(tmp_path / "spill.jsonl"), "backoff_s": 0.001, **options}
    exporter = build_exporter("http", {"url": url, **options})
    assert isinstance(exporter, HTTPExporter)
    closing.append(exporter)
    return exporter


def pipeline_of(closing: list[Any], exporter: Any) -> ExportPipeline:
    pipeline = ExportPipeline([exporter])
    closing.append(pipeline)
    return pipeline


def emit(pipeline: ExportPipeline, numbers: range) -> None:
    for number in numbers:
        pipeline.listener(event(number))


def spilled(tmp_path: Path) -> list[dict[str, Any]]:
    path = tmp_path / "spill.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def assert_each_once(collector: Collector, count: int) -> None:
    assert len(collector.counts) == count
    assert set(collector.counts.values()) == {1}, "a record arrived more than once"


def test_batches_auth_and_idempotency_key(collector: Collector, closing: list[Any], tmp_path: Path) -> None:
    exporter = http(closing, collector.url, tmp_path, token="s3cret", batch_size=10, interval_s=3600)
    pipeline = pipeline_of(closing, exporter)
    emit(pipeline, range(25))
    assert pipeline.flush()
    assert_each_once(collector, 25)
    assert all(1 <= len(r["ids"]) <= 10 for r in collector.requests)
    request = collector.requests[0]
    assert request["path"] == "/v1/records"
    assert request["headers"]["Authorization"] == "Bearer s3cret"
    assert request["headers"]["Content-Type"] == "application/json"
    assert len({r["headers"]["Idempotency-Key"] for r in collector.requests}) == len(collector.requests)
    assert spilled(tmp_path) == []


def test_a_custom_auth_header_carries_the_token_as_is(collector: Collector, closing: list[Any], tmp_path: Path) -> None:
    exporter = http(closing, collector.url, tmp_path, token="k-123", header="X-Api-Key", headers={"X-Team": "a"})
    pipeline = pipeline_of(closing, exporter)
    emit(pipeline, range(1))
    assert pipeline.flush()
    headers = collector.requests[0]["headers"]
    assert headers["X-Api-Key"] == "k-123" and headers["X-Team"] == "a" and "Authorization" not in headers


def test_sent_every_interval_without_flush(collector: Collector, closing: list[Any], tmp_path: Path) -> None:
    pipeline = pipeline_of(closing, http(closing, collector.url, tmp_path, batch_size=1000, interval_s=0.05))
    emit(pipeline, range(3))
    assert collector.wait_for(3)


def test_a_full_batch_is_sent_before_the_interval(collector: Collector, closing: list[Any], tmp_path: Path) -> None:
    pipeline = pipeline_of(closing, http(closing, collector.url, tmp_path, batch_size=5, interval_s=3600))
    emit(pipeline, range(5))
    assert collector.wait_for(5)


def test_5xx_and_429_are_retried_each_record_arrives_once(
    collector: Collector, closing: list[Any], tmp_path: Path
) -> None:
    collector.failing, collector.status = 3, 503
    exporter = http(closing, collector.url, tmp_path, batch_size=20, interval_s=3600, max_retries=5)
    pipeline = pipeline_of(closing, exporter)
    emit(pipeline, range(20))
    assert collector.wait_for(20)  # the sender thread retried with backoff
    collector.failing, collector.status, collector.headers = 2, 429, {"Retry-After": "0"}
    emit(pipeline, range(20, 40))
    assert collector.wait_for(40)
    assert_each_once(collector, 40)
    batches = {r["headers"]["Idempotency-Key"] for r in collector.requests}
    assert len(collector.requests) == len(batches) + 3 + 2  # each failed attempt was retried, nothing more
    assert spilled(tmp_path) == []


@pytest.mark.parametrize("failure", ["503", "no answer", "refused"])
def test_endpoint_down_then_back_nothing_lost_nothing_twice(
    failure: str, collector: Collector, closing: list[Any], tmp_path: Path
) -> None:
    exporter = http(closing, collector.url, tmp_path, batch_size=7, interval_s=3600, max_retries=2)
    pipeline = pipeline_of(closing, exporter)
    if failure == "refused":
        collector.stop()
    else:
        collector.failing, collector.status = 10**6, (503 if failure == "503" else None)
    emit(pipeline, range(30))
    assert pipeline.flush()
    assert len(collector.counts) == 0
    assert sorted(r["output_tokens"] for r in spilled(tmp_path)) == list(range(30))
    emit(pipeline, range(30, 40))  # still down: these join the spill, behind the others
    assert pipeline.flush()
    assert len(spilled(tmp_path)) == 40
    if failure == "refused":
        collector.start()  # same port
    else:
        collector.failing = 0
    emit(pipeline, range(40, 45))
    assert pipeline.flush()
    assert_each_once(collector, 45)
    assert spilled(tmp_path) == []
    pipeline.close()
    assert_each_once(collector, 45)


def test_spilled_records_are_resent_by_the_interval_cycle(
    collector: Collector, closing: list[Any], tmp_path: Path
) -> None:
    collector.failing = 10**6
    exporter = http(closing, collector.url, tmp_path, batch_size=50, interval_s=0.05, max_retries=0)
    pipeline = pipeline_of(closing, exporter)
    emit(pipeline, range(12))
    assert pipeline.flush()
    assert len(spilled(tmp_path)) == 12
    collector.failing = 0
    assert collector.wait_for(12)  # no flush: the sender thread's next interval
    pipeline.close()
    assert_each_once(collector, 12)
    assert spilled(tmp_path) == []


def test_a_new_process_sends_what_the_last_one_spilled(collector: Collector, tmp_path: Path) -> None:
    spill = tmp_path / "spill.jsonl"
    collector.stop()
    run_python(f"""
        from export_helpers import event
        from genai_footprint._export._pipeline import ExportPipeline, build_exporter

        options = {{"url": {collector.url!r}, "spill_path": {str(spill)!r}, "max_retries": 0, "interval_s": 3600}}
        pipeline = ExportPipeline([build_exporter("http", options)])
        for n in range(40):
            pipeline.listener(event(n))
        # the endpoint is down and nobody calls close(): at exit, the records go to the spill file
    """)
    assert len(spill.read_text().splitlines()) == 40
    collector.start()
    pipeline = ExportPipeline([HTTPExporter(collector.url, spill_path=spill, interval_s=3600, batch_size=15)])
    try:
        assert collector.wait_for(40)  # sent when the exporter starts, before any new record
    finally:
        pipeline.close()
    assert_each_once(collector, 40)
    assert spill.read_text() == ""


def test_exporters_sharing_a_spill_file_send_each_record_once(collector: Collector, tmp_path: Path) -> None:
    spill = tmp_path / "spill.jsonl"
    lines = [json.dumps({"record_id": f"{n:032x}", "n": n}) for n in range(500)]
    spill.write_text("\n".join(lines) + "\n")
    exporters = [HTTPExporter(collector.url, spill_path=spill, batch_size=10, interval_s=3600) for _ in range(4)]
    try:
        assert collector.wait_for(500)
    finally:
        for exporter in exporters:
            exporter.close()
    assert_each_once(collector, 500)
    assert spill.read_text() == ""


def test_a_lost_reply_is_resent_with_the_same_ids_and_key(
    collector: Collector, closing: list[Any], tmp_path: Path
) -> None:
    collector.commit_then_drop = 1  # stored, but the client never hears back: it must retry
    pipeline = pipeline_of(closing, http(closing, collector.url, tmp_path, batch_size=5, interval_s=3600))
    emit(pipeline, range(5))
    assert collector.wait_for(5)
    pipeline.flush()
    first, second = collector.requests
    assert first["ids"] == second["ids"]
    assert first["headers"]["Idempotency-Key"] == second["headers"]["Idempotency-Key"]
    assert set(collector.counts.values()) == {2}  # at-least-once on the wire; the receiver dedupes by record_id


def test_a_refused_batch_is_set_aside_not_retried(collector: Collector, closing: list[Any], tmp_path: Path) -> None:
    collector.failing, collector.status = 1, 422
    exporter = http(closing, collector.url, tmp_path, batch_size=4, interval_s=3600)
    pipeline = pipeline_of(closing, exporter)
    emit(pipeline, range(8))
    assert pipeline.flush()
    refused = collector.requests[0]["ids"]
    rejected = [json.loads(line)["record_id"] for line in exporter.rejected_path.read_text().splitlines()]
    assert rejected == refused  # set aside as they were, and never resent:
    assert not any(set(refused) & set(r["ids"]) for r in collector.requests[1:])
    assert len(rejected) + len(collector.counts) == 8
    assert spilled(tmp_path) == []


def test_an_auth_error_keeps_the_records_for_later(collector: Collector, closing: list[Any], tmp_path: Path) -> None:
    collector.failing, collector.status = 10**6, 401
    exporter = http(closing, collector.url, tmp_path, batch_size=4, interval_s=3600, max_retries=5)
    pipeline = pipeline_of(closing, exporter)
    emit(pipeline, range(4))
    assert pipeline.flush()
    # Not retried: one request by the sender thread and/or one by flush(), not 1 + max_retries.
    assert 1 <= len(collector.requests) <= 2 and len(spilled(tmp_path)) == 4
    collector.failing = 0  # the token is fixed (here: the collector accepts again)
    assert pipeline.flush()
    assert_each_once(collector, 4)


def test_many_threads_flaky_endpoint_exactly_once(collector: Collector, closing: list[Any], tmp_path: Path) -> None:
    collector.failing = 5
    exporter = http(closing, collector.url, tmp_path, batch_size=25, interval_s=0.02, max_retries=1)
    pipeline = pipeline_of(closing, exporter)
    threads = [threading.Thread(target=emit, args=(pipeline, range(i * 100, (i + 1) * 100))) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert collector.wait_for(600)
    pipeline.close()
    assert_each_once(collector, 600)
    assert spilled(tmp_path) == []


# -- proxies -------------------------------------------------------------------------------------------------


class Proxy:
    """A stand-in proxy on 127.0.0.1: notes each request line; answers plain HTTP, refuses CONNECT."""

    def __init__(self) -> None:
        self.seen: list[str] = []
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                proxy.seen.append(f"POST {self.path}")
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def do_CONNECT(self) -> None:
                proxy.seen.append(f"CONNECT {self.path}")
                self.send_response(502)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


@pytest.fixture
def proxy() -> Iterator[Proxy]:
    server = Proxy()
    yield server
    server.stop()


def test_http_proxy_from_the_environment_is_used(
    proxy: Proxy, closing: list[Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTP_PROXY", proxy.url)
    url = "http://collector.genai-footprint.invalid/v1/records"  # never resolved: the proxy answers
    pipeline = pipeline_of(closing, http(closing, url, tmp_path, interval_s=3600))
    emit(pipeline, range(3))
    assert pipeline.flush()
    assert proxy.seen == [f"POST {url}"]
    assert spilled(tmp_path) == []


def test_https_proxy_from_the_environment_is_used(
    proxy: Proxy, closing: list[Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTPS_PROXY", proxy.url)
    url = "https://collector.genai-footprint.invalid/v1/records"
    pipeline = pipeline_of(closing, http(closing, url, tmp_path, interval_s=3600, max_retries=0))
    emit(pipeline, range(3))
    assert pipeline.flush()
    # Every attempt asked the proxy for a tunnel. There is one attempt, or two when the exporter's own sender
    # thread also tried before the flush did: that depends on thread timing.
    assert proxy.seen and set(proxy.seen) == {"CONNECT collector.genai-footprint.invalid:443"}
    kept = spilled(tmp_path)
    assert len(kept) == 3 and len({record["record_id"] for record in kept}) == 3  # refused: kept, once each


# -- options --------------------------------------------------------------------------------------------------


def test_default_spill_path_is_in_the_user_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, closing: list[Any]
) -> None:
    import sys

    if sys.platform in ("win32", "darwin"):
        pytest.skip("XDG cache directory: Linux and other Unixes")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    exporter = HTTPExporter("http://127.0.0.1:9/x", interval_s=3600)
    closing.append(exporter)
    assert exporter.spill_path.parent == tmp_path / "cache" / "genai-footprint"
    assert exporter.spill_path.name.startswith("spill-") and exporter.spill_path.suffix == ".jsonl"
    other = HTTPExporter("http://127.0.0.1:9/y", interval_s=3600)
    closing.append(other)
    assert other.spill_path != exporter.spill_path


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({}, r"exporters\.http\.url: required"),
        ({"url": "ftp://x"}, r"exporters\.http\.url: expected an http:// or https:// URL"),
        ({"url": "http://x", "batch_size": 0}, r"exporters\.http\.batch_size: expected an integer > 0, got 0"),
        ({"url": "http://x", "interval_s": "10"}, r"exporters\.http\.interval_s: expected a number > 0"),
        ({"url": "http://x", "max_retries": -1}, r"exporters\.http\.max_retries: expected an integer >= 0"),
        ({"url": "http://x", "token": ""}, r"exporters\.http\.token: expected a non-empty string"),
        ({"url": "http://x", "retries": 3}, r"exporters\.http: unknown option\(s\) retries"),
    ],
)
def test_bad_options_are_named(options: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidInputError, match=message):
        build_exporter("http", options)


def test_one_warning_per_outage_and_no_credentials_in_logs(
    collector: Collector, closing: list[Any], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    url = collector.url.replace("http://", "http://user:hunter2@")
    pipeline = pipeline_of(closing, http(closing, url, tmp_path, interval_s=3600, max_retries=0))
    collector.failing = 10**6
    with caplog.at_level(logging.INFO, logger="genai_footprint"):
        for round in range(3):
            emit(pipeline, range(round * 10, round * 10 + 10))
            assert pipeline.flush()
        collector.failing = 0
        assert pipeline.flush()
    assert_each_once(collector, 30)
    messages = [r.getMessage() for r in caplog.records]
    assert all("hunter2" not in m for m in messages)
    assert sum("could not deliver records to http://****@127.0.0.1:" in m for m in messages) == 1
    assert sum("is reachable again" in m for m in messages) == 1
