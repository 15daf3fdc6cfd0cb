"""The HTTP exporter: batched JSON POSTs to a collector, with retries, a local spill file and no record lost.

Records wait in memory until ``batch_size`` of them are there or ``interval_s`` has passed, then go out in
POSTs of ``{"records": [...]}`` from the exporter's own sender thread. A batch that cannot be delivered
(after the retries) goes to the spill file, a JSON Lines file shared under a file lock by every process
using it; spilled records are sent before new ones at each interval and removed only once acknowledged.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import math
import os
import random
import sys
import threading
import time
import urllib.parse
import uuid
import weakref
from collections.abc import Mapping, Sequence
from enum import Enum
from pathlib import Path
from typing import Any

import httpx2

from genai_footprint._config._checks import mask_url
from genai_footprint._errors import InvalidInputError
from genai_footprint._export._files import append, file_path, jsonl
from genai_footprint._export._spill import Spill
from genai_footprint._version import __version__

logger = logging.getLogger("genai_footprint")

# Statuses retried with backoff; other 4xx are either a configuration problem (kept, resent later) or a
# refusal of these very records (set aside in the rejected file: resending them would fail forever).
_RETRIED = frozenset({408, 429})
_CONFIGURATION = frozenset({401, 403, 404, 407})


class _Outcome(Enum):
    SENT = "sent"
    KEPT = "kept"  # not delivered; keep the records for later
    REJECTED = "rejected"


def cache_dir() -> Path:
    """genai_footprint's per-user cache directory (the layout the configuration uses too)."""
    if sys.platform == "win32":
        return Path(os.environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local") / "genai-footprint" / "Cache"
    xdg = os.environ.get("XDG_CACHE_HOME", "")
    return (Path(xdg) if os.path.isabs(xdg) else Path.home() / ".cache") / "genai-footprint"


def default_spill_path(url: str) -> Path:
    """One spill file per endpoint URL, in the user cache directory."""
    return cache_dir() / f"spill-{hashlib.sha256(url.encode()).hexdigest()[:16]}.jsonl"


def _positive(argument: str, value: object, *, integer: bool = False, zero: bool = False) -> Any:
    kind = (int,) if integer else (int, float)
    if isinstance(value, bool) or not isinstance(value, kind) or not math.isfinite(value) or value < 0:
        ok = False
    else:
        ok = zero or value > 0
    if not ok:
        expected = "an integer" if integer else "a number"
        raise InvalidInputError(argument, f"expected {expected} {'>= 0' if zero else '> 0'}, got {value!r}")
    return value


def _retry_after(value: str | None) -> float | None:
    try:
        seconds = float(value) if value is not None else None
    except ValueError:
        return None  # an HTTP date: use our own backoff
    return seconds if seconds is not None and math.isfinite(seconds) and seconds >= 0 else None


def _url_credentials(url: str, headers: dict[str, str]) -> str:
    """The URL without its credentials (``user:password@``), which go into ``headers`` as Basic auth, so the HTTP
    client never logs them; refused when a token or a header sets ``Authorization`` already."""
    parts = urllib.parse.urlsplit(url)
    userinfo, at, host = parts.netloc.rpartition("@")
    if not at:
        return url
    if any(name.lower() == "authorization" for name in headers):
        raise InvalidInputError(
            "url",
            f"{mask_url(url)} carries credentials and a token or header sets the Authorization header too; "
            "keep only one of them",
        )
    user, _, password = userinfo.partition(":")
    pair = f"{urllib.parse.unquote(user)}:{urllib.parse.unquote(password)}"
    headers["Authorization"] = "Basic " + base64.b64encode(pair.encode()).decode()
    return parts._replace(netloc=host).geturl()


_live: weakref.WeakSet[HTTPExporter] = weakref.WeakSet()


def _after_fork_in_child() -> None:
    for exporter in list(_live):
        exporter._after_fork()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


class HTTPExporter:
    """POSTs records to ``url`` as ``{"records": [...]}``; see ``docs/exporters.md`` for the guarantees.

    ``token`` is sent in the header named ``header``: as ``Bearer <token>`` in ``Authorization``, as it is
    for any other header name. Proxies come from the environment (``HTTPS_PROXY``, ``HTTP_PROXY``,
    ``NO_PROXY``). A failing batch is retried ``max_retries`` times, waiting ``backoff_s`` doubled at each
    attempt (at most ``max_backoff_s``, or what a ``Retry-After`` header asks within that limit), then kept
    in ``spill_path``.
    """

    def __init__(
        self,
        url: str,
        *,
        token: str | None = None,
        header: str = "Authorization",
        headers: Mapping[str, str] | None = None,
        batch_size: int = 100,
        interval_s: float = 10.0,
        timeout_s: float = 10.0,
        max_retries: int = 5,
        backoff_s: float = 0.5,
        max_backoff_s: float = 30.0,
        spill_path: str | os.PathLike[str] | None = None,
        max_buffer: int = 10_000,
        max_spill_bytes: int = 100 * 2**20,
    ) -> None:
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise InvalidInputError("url", f"expected an http:// or https:// URL, got {url!r}")
        if token is not None and (not isinstance(token, str) or not token):
            raise InvalidInputError("token", "expected a non-empty string")
        if not isinstance(header, str) or not header:
            raise InvalidInputError("header", f"expected a header name, got {header!r}")
        if headers is not None and (
            not isinstance(headers, Mapping) or not all(isinstance(v, str) for v in (*headers, *headers.values()))
        ):
            raise InvalidInputError("headers", f"expected a mapping of header names to string values, got {headers!r}")
        self.url = url
        self._shown_url = mask_url(url)  # no credentials in logs
        self.batch_size: int = _positive("batch_size", batch_size, integer=True)
        self.interval_s: float = _positive("interval_s", interval_s)
        self.timeout_s: float = _positive("timeout_s", timeout_s)
        self.max_retries: int = _positive("max_retries", max_retries, integer=True, zero=True)
        self.backoff_s: float = _positive("backoff_s", backoff_s, zero=True)
        self.max_backoff_s: float = _positive("max_backoff_s", max_backoff_s, zero=True)
        self.max_buffer: int = _positive("max_buffer", max_buffer, integer=True)
        self.max_spill_bytes: int = _positive("max_spill_bytes", max_spill_bytes, integer=True)
        self.spill_path = default_spill_path(url) if spill_path is None else file_path("spill_path", spill_path)
        self.rejected_path = self.spill_path.with_name(self.spill_path.stem + ".rejected.jsonl")
        # A request lasts at most a connect, a write and a read timeout: a claim on a spilled batch outlives it.
        self._spill_file = Spill(self.spill_path, max_bytes=self.max_spill_bytes, claim_s=3 * self.timeout_s + 5)
        self._headers = {
            "Content-Type": "application/json",
            "User-Agent": f"genai-footprint/{__version__}",
            **(headers or {}),
        }
        if token is not None:
            self._headers[header] = f"Bearer {token}" if header.lower() == "authorization" else token
        self._post_url = _url_credentials(url, self._headers)
        self._reset()
        _live.add(self)
        self._ensure_thread()  # sends what an earlier run spilled, even if no new record comes

    def _reset(self) -> None:
        self.sent = 0  # records this process delivered (2xx)
        self.kept = 0  # records it put in the spill file
        self.refused = 0  # records the collector refused, set aside in the rejected file
        self._buffer: list[Mapping[str, Any]] = []
        self._cond = threading.Condition()
        self._send_lock = threading.Lock()  # one delivery cycle at a time (sender thread, flush, close)
        self._hurry = threading.Event()  # set by flush()/close(): stop retrying, keep what fails for later
        self._thread: threading.Thread | None = None
        self._client: httpx2.Client | None = None
        self._next_cycle = 0.0  # monotonic time of the next interval cycle; 0: at once
        self._closed = False
        self._down = False  # the last delivery failed (one warning per outage)

    def _after_fork(self) -> None:
        # The parent sends what it had buffered; the child starts empty, with its own connections.
        closed = self._closed
        self._reset()
        self._closed = closed
        self._spill_file.renew()

    def _ensure_thread(self) -> None:
        with self._cond:
            if self._thread is None and not self._closed:
                self._thread = threading.Thread(target=self._run, name="genai-footprint-http", daemon=True)
                self._thread.start()

    # -- called by the pipeline's worker --------------------------------------------------------------

    def export(self, records: Sequence[Mapping[str, Any]]) -> None:
        # The pipeline's records carry an id; anyone else's get one now, before the first attempt.
        records = [r if "record_id" in r else {**r, "record_id": uuid.uuid4().hex} for r in records]
        overflow: list[Mapping[str, Any]] = []
        with self._cond:
            if self._closed:
                overflow = list(records)
            else:
                self._buffer.extend(records)
                if len(self._buffer) >= self.max_buffer:  # the endpoint is slower than the calls: to disk
                    overflow, self._buffer = self._buffer, []
                elif len(self._buffer) >= self.batch_size:
                    self._cond.notify_all()
        if overflow:
            self._spill(overflow)
        else:
            self._ensure_thread()

    def flush(self) -> None:
        """Send what is buffered and spilled now, one attempt per batch; what fails is kept in the spill file."""
        if self._closed:
            return
        self._hurry.set()
        try:
            self._keep_buffer()  # on disk first, even while the sender thread waits on the collector
            self._cycle(retry=False)
        finally:
            self._hurry.clear()

    def close(self) -> None:
        """Stop the sender thread, make a last attempt, spill what is left; close the connections."""
        with self._cond:
            if self._closed:
                return
            self._closed = True
            self._cond.notify_all()
        _live.discard(self)
        self._hurry.set()
        if self._buffer:  # flush() usually ran just before: no second round trip for nothing
            self._keep_buffer()
            self._cycle(retry=False)
        with self._send_lock:
            if self._client is not None:
                self._client.close()
                self._client = None

    # -- the sender thread ------------------------------------------------------------------------------

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._closed and len(self._buffer) < self.batch_size:
                    wait = self._next_cycle - time.monotonic()
                    if wait <= 0:
                        break
                    self._cond.wait(wait)
                if self._closed:
                    return
            try:
                self._cycle(retry=True)
            except Exception:
                logger.warning("genai_footprint: HTTP export cycle failed; will try again", exc_info=True)

    def _cycle(self, retry: bool) -> None:
        """Resend the spill file, then send the buffer in batches; spill whatever could not be delivered.

        Without ``retry`` (flush, close) the buffer goes to the spill file first: should the process end
        during a request, nothing is lost.
        """
        with self._send_lock:
            self._next_cycle = time.monotonic() + self.interval_s
            if not retry:
                self._keep_buffer()
            up = self._resend_spill()
            while True:
                with self._cond:
                    batch = self._buffer[: self.batch_size]
                    del self._buffer[: self.batch_size]
                if not batch:
                    return
                outcome = self._deliver(batch, retry=retry) if up else _Outcome.KEPT
                if outcome is _Outcome.REJECTED:
                    self._reject(batch)
                elif outcome is _Outcome.KEPT:  # the endpoint is down: everything buffered waits on disk
                    with self._cond:
                        rest, self._buffer = self._buffer, []
                    self._spill([*batch, *rest])
                    return
                else:
                    self.sent += len(batch)

    def _resend_spill(self) -> bool:
        """Send spilled records, oldest first, one batch and one attempt at a time; False if the endpoint failed.

        The spill's lock is held only to take a batch and to record its acknowledgement, never during a request.
        """
        done = 0
        while True:
            batch = self._spill_file.take(self.batch_size)
            if batch is None:  # nothing waits, or another sender has the next batch in hand
                break
            outcome = self._deliver(batch.records, retry=False) if batch.records else _Outcome.SENT
            if outcome is _Outcome.KEPT:
                self._spill_file.release(batch)
                return False
            if outcome is _Outcome.REJECTED:
                self._reject(batch.records)
            else:
                self.sent += len(batch.records)
            self._spill_file.done(batch)
            done += len(batch.records)
            if batch.at_end:
                break
        if done:
            logger.debug("genai_footprint: %d spilled records sent to %s", done, self._shown_url)
        return True

    def _keep_buffer(self) -> None:
        with self._cond:
            buffered, self._buffer = self._buffer, []
        if buffered:
            self._spill(buffered)

    def _spill(self, records: list[Mapping[str, Any]]) -> None:
        self._spill_file.add(records)
        self.kept += len(records)
        logger.debug("genai_footprint: %d records kept in %s", len(records), self.spill_path)

    def delivery_report(self) -> str:
        """What became of the records this process handed to the exporter, for a warning at exit."""
        with self._cond:
            buffered = len(self._buffer)
        return (
            f"{self.sent} sent to {self._shown_url}, {self.kept} kept in {self.spill_path} (sent by the next run "
            f"that uses it), {self.refused} refused, {self._spill_file.dropped} dropped at the spill's size limit, "
            f"{buffered} still in memory"
        )

    def _reject(self, records: Sequence[Mapping[str, Any]]) -> None:
        self.refused += len(records)
        data = jsonl(records)
        append(self.rejected_path, lambda empty: data)
        logger.warning(
            "genai_footprint: %s refused %d records; they are kept in %s and will not be resent",
            self._shown_url,
            len(records),
            self.rejected_path,
        )

    def _deliver(self, records: Sequence[Mapping[str, Any]], *, retry: bool) -> _Outcome:
        ids = [str(record.get("record_id", "")) for record in records]
        headers = {**self._headers, "Idempotency-Key": hashlib.sha256("\n".join(ids).encode()).hexdigest()[:32]}
        body = json.dumps({"records": list(records)}, separators=(",", ":")).encode()
        attempt = 0
        while True:
            status: int | None = None
            wait_hint: float | None = None
            try:
                if self._client is None:
                    self._client = httpx2.Client(trust_env=True, timeout=self.timeout_s)
                response = self._client.post(self._post_url, content=body, headers=headers)
                status = response.status_code
                problem = f"HTTP {status}"
                wait_hint = _retry_after(response.headers.get("Retry-After"))
            except Exception as exc:  # connection refused, reset, timeout, proxy error, ...
                problem = f"{type(exc).__name__}: {exc}"
            if status is not None and 200 <= status < 300:
                if self._down:
                    logger.warning("genai_footprint: %s is reachable again", self._shown_url)
                    self._down = False
                return _Outcome.SENT
            if status is not None and 400 <= status < 500 and status not in _RETRIED | _CONFIGURATION:
                return _Outcome.REJECTED
            retryable = status is None or status >= 500 or status in _RETRIED
            if not retryable or not retry or attempt >= self.max_retries or self._hurry.is_set():
                if not self._down:
                    logger.warning(
                        "genai_footprint: could not deliver records to %s (%s); they are kept in %s and resent "
                        "at each interval",
                        self._shown_url,
                        problem,
                        self.spill_path,
                    )
                    self._down = True
                return _Outcome.KEPT
            delay = min(self.max_backoff_s, self.backoff_s * 2**attempt) * random.uniform(0.5, 1.0)
            if wait_hint is not None:
                delay = max(delay, min(wait_hint, self.max_backoff_s))
            attempt += 1
            self._hurry.wait(delay)  # cut short when flush()/close() waits: one last attempt, then keep
