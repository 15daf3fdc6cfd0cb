"""Shared by the exporter tests: call events, in-memory exporters and a local HTTP collector on 127.0.0.1."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import threading
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import genai_footprint as gf
from genai_footprint._events import CallEvent, TokenDetails

TESTS_DIR = Path(__file__).resolve().parent
IMPACTS = gf.estimate(provider="openai", model="gpt-4o-mini", output_tokens=400, latency_s=2.1)


def event(
    number: int = 0,
    *,
    estimated: bool = True,
    model: str = "gpt-4o-mini",
    trackers: tuple[str, ...] = (),
    stream: bool = False,
) -> CallEvent:
    """A finished call; ``number`` goes into ``output_tokens`` so each event can be told apart."""
    return CallEvent(
        timestamp=1_767_225_600.0 + number,
        provider="openai",
        model_requested=model,
        model_served=f"{model}-2024-07-18",
        model_resolved=model if estimated else None,
        zone="USA" if estimated else None,
        output_tokens=float(number),
        tokens_source="usage",
        details=TokenDetails(),
        latency_s=2.1,
        ttft_s=0.4 if stream else None,
        stream=stream,
        trackers=trackers,
        impacts=IMPACTS if estimated else None,
    )


class Collecting:
    """A user exporter: keeps every batch and the thread it was called on."""

    def __init__(self) -> None:
        self.batches: list[list[Mapping[str, Any]]] = []
        self.threads: set[int] = set()
        self.flushes = 0
        self.closes = 0

    def export(self, records: Sequence[Mapping[str, Any]]) -> None:
        self.threads.add(threading.get_ident())
        self.batches.append(list(records))

    def flush(self) -> None:
        self.flushes += 1

    def close(self) -> None:
        self.closes += 1

    @property
    def records(self) -> list[Mapping[str, Any]]:
        return [record for batch in self.batches for record in batch]


def start_python(code: str, *args: str) -> subprocess.Popen[str]:
    """Start ``code`` in a fresh interpreter that can import this directory's helpers."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(TESTS_DIR), os.environ.get("PYTHONPATH", "")])}
    command = [sys.executable, "-c", textwrap.dedent(code), *args]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def run_python(code: str, *args: str, timeout: float = 120) -> str:
    """Run ``code`` in a fresh interpreter (see ``start_python``); its stdout; fails on a non-zero exit."""
    child = start_python(code, *args)
    stdout, stderr = child.communicate(timeout=timeout)
    assert child.returncode == 0, stderr
    return stdout


class Collector:
    """An HTTP collector on 127.0.0.1 (port 0): counts records by ``record_id``, only when it answers 2xx.

    ``failing`` requests are refused first: with ``status`` (e.g. 503), or by closing the connection without
    an answer (``status=None``). ``commit_then_drop`` stores the records, then drops the connection (a reply
    lost on the way back). ``stop()`` / ``start()`` take the server down and up again on the same port.
    """

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self.requests: list[dict[str, Any]] = []  # every request received: path, headers, record ids
        self.failing = 0
        self.status: int | None = 503
        self.commit_then_drop = 0
        self.delay_s = 0.0  # before each answer: a slow collector
        self.hang = False  # while True, requests get no answer and store nothing (until set back, or stop())
        self.hang_after: int | None = None  # hang likewise once this many requests were answered 2xx
        self.answered = 0
        self.headers: dict[str, str] = {}
        self._cond = threading.Condition()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.port = 0
        self.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1/records"

    def start(self) -> None:
        collector = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _hang(self) -> bool:
                hung = False
                while collector._server is not None and (
                    collector.hang or (collector.hang_after is not None and collector.answered >= collector.hang_after)
                ):
                    hung = True
                    time.sleep(0.02)
                return hung

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                ids = [record["record_id"] for record in json.loads(body)["records"]]
                with collector._cond:
                    collector.requests.append({"path": self.path, "headers": dict(self.headers), "ids": ids})
                if self._hang():  # released: the client gave up long ago; nothing is stored
                    self.close_connection = True
                    return
                if collector.delay_s:
                    time.sleep(collector.delay_s)
                with collector._cond:
                    if collector.failing > 0:
                        collector.failing -= 1
                        status = collector.status
                        if status is None:
                            self.close_connection = True
                            return
                        self.send_response(status)
                        for name, value in collector.headers.items():
                            self.send_header(name, value)
                        self.send_header("Content-Length", "0")
                        self.end_headers()
                        return
                    collector.counts.update(ids)
                    collector.answered += 1
                    collector._cond.notify_all()
                    if collector.commit_then_drop > 0:
                        collector.commit_then_drop -= 1
                        self.close_connection = True
                        return
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"{}")

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()

    def stop(self) -> None:
        assert self._server is not None and self._thread is not None
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()
        self._server = None

    def wait_for(self, count: int, timeout: float = 30.0) -> bool:
        """Block until ``count`` distinct records have arrived (True), or ``timeout`` passed (False)."""
        with self._cond:
            return self._cond.wait_for(lambda: len(self.counts) >= count, timeout)
