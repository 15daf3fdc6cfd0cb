"""Real-time grid carbon intensity from Electricity Maps, cached per zone and fetched off the request path.

``GridIntensity.lookup()`` only reads a cache: fetching happens on one daemon worker thread. Any failure, an
unmapped zone or a missing value gives ``None``, and the caller uses the annual average instead.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import math
import os
import re
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from genai_footprint._errors import InvalidInputError, RegistryError
from genai_footprint._version import __version__

if TYPE_CHECKING:
    import httpx2

logger = logging.getLogger("genai_footprint")

DEFAULT_BASE_URL = "https://api.electricitymap.org/v3"
_ALPHA3 = re.compile(r"^[A-Z]{3}$")
_ALPHA2 = re.compile(r"^[A-Z]{2}$")
_ZONE_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]*$")
_MAX_REASON = 200  # characters of an error body worth putting in a log line


@dataclass(frozen=True, slots=True)
class Intensity:
    """The latest carbon intensity of one Electricity Maps zone (lifecycle emissions)."""

    gwp_kg_per_kwh: float  # the API's carbonIntensity (gCO2eq/kWh) / 1000
    timestamp: str  # the API's "datetime" (ISO 8601): the hour the figure is for
    zone_key: str  # the Electricity Maps zone asked


@dataclass(slots=True)
class _ZoneState:
    value: Intensity | None = None
    fetched_at: float = -math.inf  # clock time the value arrived
    retry_at: float = -math.inf  # no fetch before this clock time (back-off after a failure)
    in_flight: bool = False  # queued or being fetched


@cache
def default_zone_keys() -> Mapping[str, str]:
    """Our zones (ISO 3166-1 alpha-3) to Electricity Maps zone keys (alpha-2), from ``registry/iso3166.json``."""
    from genai_footprint._registry import data_dir

    path = data_dir() / "iso3166.json"
    try:
        with path.open("rb") as fh:
            zones = json.load(fh)["zones"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise RegistryError(f"{path}: cannot read the zones table: {exc!r}") from exc
    if not isinstance(zones, dict):
        raise RegistryError(f"{path}: 'zones' must map alpha-3 codes to alpha-2 codes")
    for alpha3, alpha2 in zones.items():
        if not _ALPHA3.match(alpha3) or not isinstance(alpha2, str) or not _ALPHA2.match(alpha2):
            raise RegistryError(f"{path}: zones[{alpha3!r}] = {alpha2!r} is not an alpha-3 → alpha-2 pair")
    return dict(zones)


def _positive(argument: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value <= 0:
        raise InvalidInputError(argument, f"must be a finite number of seconds > 0, got {value!r}")
    return float(value)


def _checked_zone_map(zone_map: Mapping[str, str] | None) -> dict[str, str]:
    if zone_map is None:
        return {}
    if not isinstance(zone_map, Mapping):
        raise InvalidInputError("zone_map", f"must be a mapping of zone → Electricity Maps zone key, got {zone_map!r}")
    for zone, key in zone_map.items():
        if not isinstance(zone, str) or not _ALPHA3.match(zone):
            raise InvalidInputError("zone_map", f"key {zone!r} is not an ISO 3166-1 alpha-3 zone such as 'FRA'")
        if not isinstance(key, str) or not _ZONE_KEY.match(key):
            raise InvalidInputError("zone_map", f"zone_map[{zone!r}] = {key!r} is not an Electricity Maps zone key")
    return dict(zone_map)


def _parse(data: Any, zone_key: str) -> Intensity | str:
    """The ``Intensity`` in a ``carbon-intensity/latest`` body, or why there is none."""
    if not isinstance(data, dict):
        return "the response is not a JSON object"
    value = data.get("carbonIntensity")
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
        return f"carbonIntensity is {value!r}, not a finite number >= 0"
    timestamp = data.get("datetime")
    if not isinstance(timestamp, str) or not timestamp:
        return f"datetime is {timestamp!r}, not an ISO 8601 string"
    factor_type = data.get("emissionFactorType", "lifecycle")
    if factor_type != "lifecycle":
        # The annual averages are lifecycle figures; direct (combustion-only) ones would not compare.
        return f"emissionFactorType is {factor_type!r}, not 'lifecycle'"
    return Intensity(gwp_kg_per_kwh=value / 1000.0, timestamp=timestamp, zone_key=zone_key)


class GridIntensity:
    """A per-zone cache of Electricity Maps' latest carbon intensity, refreshed by a background thread.

    ``lookup()`` never blocks and never raises. A value is fresh for ``ttl_s`` seconds after it arrives; a stale
    value is still returned, while a refresh is fetched, until it is ``2 × ttl_s`` old, then ``None``. A failed
    fetch is counted in ``failures``, logged once (at warning level, without the token) and not retried for that
    zone for ``ttl_s`` seconds.
    """

    def __init__(
        self,
        token: str,
        *,
        ttl_s: float = 900.0,
        base_url: str = DEFAULT_BASE_URL,
        zone_map: Mapping[str, str] | None = None,
        transport: httpx2.BaseTransport | None = None,
        timeout_s: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """Check the arguments; nothing is fetched and no thread starts until a zone is asked for.

        ``zone_map`` maps our zones (alpha-3) to Electricity Maps zone keys, overriding the alpha-2 default (for
        countries Electricity Maps splits, e.g. ``{"USA": "US-CAL-CISO"}``). ``clock`` returns seconds (tests).
        """
        if not isinstance(token, str) or not token.strip():
            raise InvalidInputError("token", "must be a non-empty string (an Electricity Maps API token)")
        if token != token.strip() or not token.isprintable():
            raise InvalidInputError("token", "must not contain spaces at either end, line breaks or control characters")
        ttl = _positive("ttl_s", ttl_s)
        timeout = _positive("timeout_s", timeout_s)
        parts = urlsplit(base_url) if isinstance(base_url, str) else None
        if parts is None or parts.scheme not in {"http", "https"} or not parts.netloc or parts.query or parts.fragment:
            raise InvalidInputError("base_url", f"must be an http:// or https:// URL without a query, got {base_url!r}")
        if not callable(clock):
            raise InvalidInputError("clock", f"must be a callable returning seconds, got {clock!r}")
        if transport is not None:
            import httpx2

            if not isinstance(transport, httpx2.BaseTransport):
                raise InvalidInputError("transport", f"must be an httpx2.BaseTransport, got {transport!r}")
        elif importlib.util.find_spec("httpx2") is None:
            raise ImportError("real-time grid intensity needs the httpx2 package (pip install httpx2)")
        zone_keys = {**default_zone_keys(), **_checked_zone_map(zone_map)}

        self.failures = 0
        self._token = token
        self._ttl_s = ttl
        self._timeout_s = timeout
        self._url = base_url.rstrip("/") + "/carbon-intensity/latest"
        self._zone_keys = zone_keys
        self._transport = transport
        self._clock = clock
        self._zones: dict[str, _ZoneState] = {}
        self._queue: deque[str] = deque()
        self._closed = False
        self._init_threading()
        ref = weakref.ref(self)
        os.register_at_fork(after_in_child=lambda: _after_fork(ref))

    def _init_threading(self) -> None:
        self._cond = threading.Condition(threading.Lock())
        self._pending = 0  # fetches queued or running
        self._thread: threading.Thread | None = None
        self._client: httpx2.Client | None = None  # made on the worker thread, on its first fetch

    def __repr__(self) -> str:
        return f"GridIntensity(url={self._url!r}, ttl_s={self._ttl_s}, zones={len(self._zones)})"

    def lookup(self, zone: str) -> Intensity | None:
        """The zone's latest intensity if fresh (or stale by less than ``2 × ttl_s``), else ``None``.

        Schedules a background fetch when the value is missing or stale; an unmapped zone (``WOR``, ``EEE``,
        anything not in ``registry/iso3166.json`` or ``zone_map``) gives ``None`` without any request.
        """
        try:
            key = self._zone_keys.get(zone)
            if key is None:
                return None
            now = self._clock()
            with self._cond:
                if self._closed:
                    return None
                state = self._zones.get(key)
                if state is None:
                    state = self._zones[key] = _ZoneState()
                age = now - state.fetched_at
                if state.value is not None and age < self._ttl_s:
                    return state.value
                self._schedule(key, state, now)
                return state.value if age < 2 * self._ttl_s else None
        except Exception:
            logger.debug(
                "genai_footprint: grid intensity lookup failed for %r; annual average used", zone, exc_info=True
            )
            return None

    def prefetch(self, zones: Iterable[str]) -> None:
        """Schedule a fetch for each of ``zones`` that has no fresh value (unmapped zones are skipped)."""
        try:
            for zone in zones:
                self.lookup(zone)
        except Exception:
            logger.debug("genai_footprint: grid intensity prefetch failed", exc_info=True)

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Wait until no fetch is queued or running; ``False`` if ``timeout`` seconds passed first."""
        with self._cond:
            return self._cond.wait_for(lambda: self._pending == 0, timeout)

    def close(self) -> None:
        """Stop fetching: drop queued fetches, let the running one finish (waiting at most ``timeout_s``).

        Afterwards ``lookup()`` returns ``None``. Calling it twice is harmless.
        """
        with self._cond:
            if self._closed:
                return
            self._closed = True
            while self._queue:
                self._zones[self._queue.popleft()].in_flight = False
                self._pending -= 1
            self._cond.notify_all()
            thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(self._timeout_s)

    def _schedule(self, key: str, state: _ZoneState, now: float) -> None:
        # Caller holds the lock.
        if state.in_flight or now < state.retry_at:
            return
        state.in_flight = True
        self._queue.append(key)
        self._pending += 1
        if self._thread is None:
            self._thread = threading.Thread(target=self._work, name="genai_footprint-grid", daemon=True)
            self._thread.start()
        self._cond.notify_all()

    def _work(self) -> None:
        try:
            while True:
                with self._cond:
                    self._cond.wait_for(lambda: bool(self._queue) or self._closed)
                    if self._closed:
                        return
                    key = self._queue.popleft()
                try:
                    result = self._fetch(key)
                except Exception as exc:  # a bug of ours must not kill the worker or wedge the zone
                    result = f"internal error: {exc!r}"
                self._store(key, result)
        finally:
            client, self._client = self._client, None
            if client is not None:
                client.close()

    def _fetch(self, key: str) -> Intensity | str:
        """One request for ``key``: the ``Intensity``, or why there is none."""
        try:
            if self._client is None:
                import httpx2

                self._client = httpx2.Client(
                    headers={"auth-token": self._token, "user-agent": f"genai-footprint/{__version__}"},
                    timeout=self._timeout_s,
                    transport=self._transport,
                    trust_env=True,
                )
            response = self._client.get(self._url, params={"zone": key})
        except Exception as exc:
            return f"request failed: {type(exc).__name__}: {exc}"
        if not response.is_success:
            return f"HTTP {response.status_code}: {response.text[:_MAX_REASON]!r}"
        try:
            data = response.json()
        except ValueError:
            return f"the response is not JSON: {response.text[:_MAX_REASON]!r}"
        return _parse(data, key)

    def _store(self, key: str, result: Intensity | str) -> None:
        if isinstance(result, str):
            # Logged before the zone is marked done, so whoever waits for the worker sees the log line too.
            # Back-off makes this at most once per zone per TTL. The token is in no message of ours, but an
            # error body or exception text could echo it.
            logger.warning(
                "genai_footprint: no real-time carbon intensity for Electricity Maps zone %s (%s); "
                "the annual average is used, next try in %g s",
                key,
                result.replace(self._token, "***"),
                self._ttl_s,
            )
        now = self._clock()
        with self._cond:
            state = self._zones[key]
            state.in_flight = False
            self._pending -= 1
            if isinstance(result, Intensity):
                state.value, state.fetched_at, state.retry_at = result, now, -math.inf
            else:
                self.failures += 1
                state.retry_at = now + self._ttl_s
            self._cond.notify_all()

    def _after_fork(self) -> None:
        # The worker thread and the client's sockets stay with the parent: start afresh, keep the values.
        self._init_threading()
        self._queue.clear()
        for state in self._zones.values():
            state.in_flight = False


def _after_fork(ref: weakref.ref[GridIntensity]) -> None:
    grid = ref()
    if grid is not None:
        grid._after_fork()
