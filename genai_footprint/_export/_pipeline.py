"""The export pipeline: a bounded queue filled on the request path, drained by one background worker.

The request path only puts the finished call's event in the queue (never blocking: a full queue drops and
counts). The worker turns each into its record, and hands the records, in batches, to each exporter.
"""

from __future__ import annotations

import atexit
import collections
import logging
import os
import sys
import threading
import time
import weakref
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from genai_footprint._errors import InvalidInputError
from genai_footprint._export._protocol import Exporter
from genai_footprint._export._record import to_record

if TYPE_CHECKING:
    from genai_footprint._events import CallEvent

logger = logging.getLogger("genai_footprint")

_BATCH = 512  # most events handed to the exporters in one call
_WAKE_AT = 256  # events waiting that wake the worker before its interval
_INTERVAL_S = 0.2  # the worker's longest sleep while events wait
_WARN_EVERY = 1000  # one warning per this many dropped records, or failures of one exporter


class _Marker:
    """Put in the queue by ``flush()`` / ``close()``: set once everything queued before it is exported."""

    __slots__ = ("done", "stop")

    def __init__(self, stop: bool) -> None:
        self.done = threading.Event()
        self.stop = stop


_live: weakref.WeakSet[ExportPipeline] = weakref.WeakSet()


def _after_fork_in_child() -> None:
    for pipeline in list(_live):
        pipeline._after_fork()
        close_when_a_child_ends(pipeline)


_watched: weakref.WeakSet[ExportPipeline] = weakref.WeakSet()
_CHILD_EXIT_PRIORITY = 100  # before multiprocessing's own finalizers (its queues use 10 and below)


def close_when_a_child_ends(pipeline: ExportPipeline) -> None:
    """Have a ``multiprocessing`` child close ``pipeline`` as it ends, whatever the start method.

    Such a child ends with ``os._exit``: no ``atexit`` hook runs, but ``multiprocessing``'s finalizers do. A
    forked child clears the finalizers it inherits, then runs its after-fork callbacks: one of ours registers
    the finalizer there. A pipeline made inside a child (spawn, forkserver) registers it at once.
    """
    util = sys.modules.get("multiprocessing.util")
    if util is None:  # multiprocessing not in use (it is imported before any of its children starts)
        return
    if pipeline not in _watched:
        _watched.add(pipeline)
        util.register_after_fork(pipeline, _close_at_exit)
    if sys.modules["multiprocessing"].parent_process() is not None:
        _close_at_exit(pipeline)


def _close_at_exit(pipeline: ExportPipeline) -> None:
    util = sys.modules["multiprocessing.util"]
    util.Finalize(pipeline, pipeline.close, exitpriority=_CHILD_EXIT_PRIORITY)


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def _remaining(deadline: float | None) -> float | None:
    return None if deadline is None else max(0.0, deadline - time.monotonic())


class ExportPipeline:
    """Sends one record per finished call to ``exporters``, off the request path.

    ``listener`` is what the instrumentation calls when a call ends. ``tags`` are added to every record.
    ``span_hook`` runs on the request path, in the caller's context (e.g. to annotate the current
    OpenTelemetry span). ``close()`` runs by itself at interpreter exit.
    """

    def __init__(
        self,
        exporters: Sequence[Exporter],
        *,
        tags: Mapping[str, str] | None = None,
        queue_size: int = 10_000,
        span_hook: Callable[[CallEvent], None] | None = None,
    ) -> None:
        for index, exporter in enumerate(exporters):
            if not callable(getattr(exporter, "export", None)):
                raise InvalidInputError(
                    f"exporters[{index}]", f"expected an object with an export(records) method, got {exporter!r}"
                )
        if isinstance(queue_size, bool) or not isinstance(queue_size, int) or queue_size < 1:
            raise InvalidInputError("queue_size", f"expected a positive integer, got {queue_size!r}")
        if tags is not None and not isinstance(tags, Mapping):
            raise InvalidInputError("tags", f"expected a mapping of names to values, got {tags!r}")
        for key, value in (tags or {}).items():
            if not isinstance(key, str) or not key or not isinstance(value, str):
                raise InvalidInputError(
                    "tags", f"expected non-empty string names and string values, got {key!r}: {value!r}"
                )
        if span_hook is not None and not callable(span_hook):
            raise InvalidInputError("span_hook", f"expected a callable, got {span_hook!r}")
        self.exporters: tuple[Exporter, ...] = tuple(exporters)
        self.tags: dict[str, str] = dict(tags or {})
        self.dropped = 0  # records dropped because the queue was full
        self._queue_size = queue_size
        self._span_hook = span_hook
        self._failures: dict[tuple[int, str], int] = {}  # by exporter index and method
        self._lock = threading.Lock()
        # The request path appends to a deque (one C-level append, no lock, no thread wake-up); the worker
        # wakes every _INTERVAL_S, when _WAKE_AT events wait, or for a flush, and drains it in order.
        self._pending: collections.deque[CallEvent | _Marker] = collections.deque()
        self._wake = threading.Event()
        self._worker: threading.Thread | None = None
        self._closed = False
        atexit.register(self.close)
        _live.add(self)
        close_when_a_child_ends(self)

    # -- the request path --------------------------------------------------------------------------------

    def listener(self, event: CallEvent) -> None:
        """Queue ``event`` for export (never blocks; drops and counts when the queue is full)."""
        hook = self._span_hook
        if hook is not None:
            try:
                hook(event)
            except Exception:
                logger.debug("genai_footprint: span hook failed; the call is unaffected", exc_info=True)
        self._queue(event)

    def _queue(self, item: CallEvent) -> None:
        if self._closed:
            return
        if self._worker is None and not self._start():
            return
        pending = self._pending
        waiting = len(pending)
        if waiting >= self._queue_size:
            self._drop()
            return
        pending.append(item)
        if waiting + 1 == _WAKE_AT:
            self._wake.set()

    def _drop(self) -> None:
        with self._lock:
            self.dropped += 1
            dropped = self.dropped
        if dropped == 1 or dropped % _WARN_EVERY == 0:
            logger.warning(
                "genai_footprint: export queue full (%d records); %d records dropped so far",
                self._queue_size,
                dropped,
            )

    def _start(self) -> bool:
        with self._lock:
            if self._closed:
                return False
            if self._worker is None:
                worker = threading.Thread(
                    target=self._run, args=(self._pending, self._wake), name="genai-footprint-export", daemon=True
                )
                worker.start()
                self._worker = worker
            return True

    # -- the worker ------------------------------------------------------------------------------------------

    def _run(self, events: collections.deque[CallEvent | _Marker], wake: threading.Event) -> None:
        while True:
            if not events:
                wake.wait(_INTERVAL_S)
                wake.clear()
            items: list[CallEvent | _Marker] = []
            while events and len(items) < _BATCH:
                items.append(events.popleft())
            batch: list[CallEvent] = []
            for item in items:
                if not isinstance(item, _Marker):
                    batch.append(item)
                    continue
                self._export(batch)
                batch = []
                self._finish_exporters(close=item.stop)
                item.done.set()
                if item.stop:
                    return
            self._export(batch)

    def _export(self, events: list[CallEvent]) -> None:
        if not events:
            return
        records = []
        for event in events:
            try:
                records.append(to_record(event, self.tags))
            except Exception:
                logger.debug("genai_footprint: could not build the record of a call; skipped", exc_info=True)
        if not records:
            return
        for index, exporter in enumerate(self.exporters):
            try:
                exporter.export(records)
            except Exception as exc:
                self._failed(index, "export", exc)

    def _finish_exporters(self, close: bool) -> None:
        for index, exporter in enumerate(self.exporters):
            for name in ("flush", "close") if close else ("flush",):
                method = getattr(exporter, name, None)
                if callable(method):
                    try:
                        method()
                    except Exception as exc:
                        self._failed(index, name, exc)

    def _failed(self, index: int, what: str, exc: Exception) -> None:
        failures = self._failures[index, what] = self._failures.get((index, what), 0) + 1
        exporter = type(self.exporters[index]).__name__
        logger.debug("genai_footprint: exporter %s failed in %s()", exporter, what, exc_info=True)
        if failures == 1 or failures % _WARN_EVERY == 0:
            logger.warning(
                "genai_footprint: exporter %s failed in %s(): %s (%d failures so far; the other exporters go on)",
                exporter,
                what,
                exc,
                failures,
            )

    # -- flush and close -------------------------------------------------------------------------------

    def _send(self, marker: _Marker, deadline: float | None) -> bool:
        """Put ``marker`` behind every queued event and wait until the worker reaches it."""
        self._pending.append(marker)
        self._wake.set()
        return marker.done.wait(_remaining(deadline))

    def flush(self, timeout: float | None = 10.0) -> bool:
        """Export everything queued so far and flush each exporter; False if that took over ``timeout`` s."""
        deadline = None if timeout is None else time.monotonic() + timeout
        if not self._start():  # closed: close() already flushed what it could
            worker = self._worker
            return worker is None or not worker.is_alive()
        return self._send(_Marker(stop=False), deadline)

    def close(self, timeout: float | None = 10.0) -> None:
        """Export everything queued, flush and close each exporter, stop the worker. Idempotent."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._lock:
            if self._closed:
                return
            self._closed = True
            worker = self._worker
        atexit.unregister(self.close)
        _live.discard(self)
        if worker is None:  # nothing was ever queued: no thread to start (maybe at interpreter exit)
            self._finish_exporters(close=True)
            return
        if not self._send(_Marker(stop=True), deadline):
            self._warn_unfinished(timeout)
            return
        worker.join(_remaining(deadline))

    def _warn_unfinished(self, timeout: float | None) -> None:
        """Say what became of the records when the exporters are still at work at the end (a hung collector)."""
        queued = sum(1 for item in list(self._pending) if not isinstance(item, _Marker))
        reports = []
        for exporter in self.exporters:
            report = getattr(exporter, "delivery_report", None)
            if callable(report):
                try:
                    reports.append(f"{type(exporter).__name__}: {report()}")
                except Exception:
                    logger.debug("genai_footprint: delivery_report() failed", exc_info=True)
        logger.warning(
            "genai_footprint: the exporters did not finish within %s s; %d records not yet handed to them are lost, "
            "%d dropped earlier because the export queue was full%s",
            timeout,
            queued,
            self.dropped,
            "".join(f"; {report}" for report in reports),
        )

    def _after_fork(self) -> None:
        # The child has no worker thread; what the parent had queued is the parent's to export.
        self._lock = threading.Lock()
        self._pending = collections.deque()
        self._wake = threading.Event()
        self._worker = None


# -- building exporters from names and options ---------------------------------------------------------

_OPTIONS: dict[str, tuple[str, ...]] = {
    "jsonl": ("path",),
    "csv": ("path",),
    "http": (
        "url",
        "token",
        "header",
        "headers",
        "batch_size",
        "interval_s",
        "timeout_s",
        "max_retries",
        "backoff_s",
        "max_backoff_s",
        "spill_path",
        "max_spill_bytes",
        "max_buffer",
    ),
    "otel": ("meter_provider",),
    "prometheus": ("host", "port"),
}


def build_exporter(name: str, options: Mapping[str, object]) -> Exporter:
    """A built-in exporter by name (``jsonl``, ``csv``, ``http``, ``otel``, ``prometheus``) from its options."""
    allowed = _OPTIONS.get(name)
    if allowed is None:
        raise InvalidInputError("exporters", f"unknown exporter {name!r}; expected one of {', '.join(_OPTIONS)}")
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        raise InvalidInputError(
            f"exporters.{name}", f"unknown option(s) {', '.join(unknown)}; expected among {', '.join(allowed)}"
        )
    kwargs: dict[str, Any] = dict(options)
    try:
        if name in ("jsonl", "csv"):
            if "path" not in kwargs:
                raise InvalidInputError("path", "required")
            from genai_footprint._export._files import CSVExporter, JSONLExporter

            return JSONLExporter(**kwargs) if name == "jsonl" else CSVExporter(**kwargs)
        if name == "http":
            if "url" not in kwargs:
                raise InvalidInputError("url", "required")
            from genai_footprint._export._http import HTTPExporter

            return HTTPExporter(**kwargs)
        if name == "prometheus":
            return _prometheus_exporter(kwargs)
        try:
            from genai_footprint._export._otel import OTelExporter
        except ImportError as exc:
            raise ImportError(
                "the 'otel' exporter needs opentelemetry-api: pip install 'genai-footprint[opentelemetry]'"
            ) from exc
        return OTelExporter(**kwargs)
    except InvalidInputError as exc:
        message = str(exc).partition(": ")[2]
        raise InvalidInputError(f"exporters.{name}.{exc.argument}", message) from None


def _prometheus_exporter(kwargs: dict[str, Any]) -> Exporter:
    try:
        from genai_footprint._export._prometheus import PrometheusExporter
    except ImportError as exc:
        raise ImportError(
            "the 'prometheus' exporter needs opentelemetry-exporter-prometheus: "
            "pip install 'genai-footprint[prometheus]'"
        ) from exc
    return PrometheusExporter(**kwargs)
