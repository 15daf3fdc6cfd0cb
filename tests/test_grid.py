"""``GridIntensity``: Electricity Maps' latest carbon intensity, cached per zone and fetched off the caller's thread.

A real ``ThreadingHTTPServer`` on 127.0.0.1 plays the Electricity Maps API (v3 ``carbon-intensity/latest``):
it records every request (path, zone, token) and answers what the test sets. Time is a fake clock, so TTL
expiry is a step of the test, not a wait. Also checks ``registry/iso3166.json``, the alpha-3 → alpha-2 table.
"""

from __future__ import annotations

import json
import logging
import math
import os
import socket
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx2
import pytest
from fake_http import answer_json

import genai_footprint._registry as registry_module
from genai_footprint._errors import InvalidInputError, RegistryError
from genai_footprint._grid import DEFAULT_BASE_URL, GridIntensity, Intensity, default_zone_keys
from genai_footprint._registry import data_dir
from genai_footprint._settings import GridSettings

TOKEN = "em-test-token-3f9a"
TTL = 100.0
PATH = "/v3/carbon-intensity/latest"
WAIT = 10.0  # seconds: a bound on waiting for an event that should come at once, never a pause
INTENSITY = {"FR": 42, "DE": 380, "SE": 25, "US-CAL-CISO": 240}


def _body(zone: str, value: object, stamp: str = "2026-11-22T10:00:00.000Z") -> dict[str, Any]:
    return {
        "zone": zone,
        "carbonIntensity": value,
        "datetime": stamp,
        "updatedAt": "2026-11-22T09:47:01.123Z",
        "createdAt": "2026-11-19T10:48:02.321Z",
        "emissionFactorType": "lifecycle",
        "isEstimated": True,
        "estimationMethod": "TIME_SLICER_AVERAGE",
    }


@dataclass
class Seen:
    target: str  # the request target as sent: a path, or an absolute URL when sent through a proxy
    zone: str
    token: str | None


@dataclass
class FakeEM:
    """What the local server answers, and what it was asked."""

    url: str = ""
    seen: list[Seen] = field(default_factory=list)
    values: dict[str, object] = field(default_factory=lambda: dict(INTENSITY))
    reply: Callable[[str], tuple[int, bytes]] | None = None  # overrides the normal answer
    hold: threading.Event | None = None  # when set, each answer waits for it
    arrived: threading.Event = field(default_factory=threading.Event)
    answered: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def requests(self) -> Counter[str]:
        with self.lock:
            return Counter(s.zone for s in self.seen)

    def answer(self, zone: str) -> tuple[int, bytes]:
        if self.reply is not None:
            return self.reply(zone)
        if zone not in self.values:
            return 404, b'{"error": "Zone not found"}'
        return 200, json.dumps(_body(zone, self.values[zone])).encode()


def _handler(em: FakeEM) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            zone = parse_qs(urlsplit(self.path).query).get("zone", [""])[0]
            with em.lock:
                em.seen.append(Seen(self.path, zone, self.headers.get("auth-token")))
            em.arrived.set()
            if em.hold is not None:
                em.hold.wait(WAIT)
            status, body = em.answer(zone)
            answer_json(self, body, status)
            em.answered.set()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    """The client trusts the environment; a proxy set on this machine must not catch requests to 127.0.0.1."""
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)


@pytest.fixture
def em() -> Iterator[FakeEM]:
    fake = FakeEM()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(fake))
    server.daemon_threads = True
    fake.url = f"http://127.0.0.1:{server.server_address[1]}/v3"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        if fake.hold is not None:
            fake.hold.set()
        server.shutdown()
        server.server_close()
        thread.join(WAIT)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def make_grid(em: FakeEM, clock: Clock) -> Iterator[Callable[..., GridIntensity]]:
    made: list[GridIntensity] = []

    def make(**kwargs: Any) -> GridIntensity:
        options: dict[str, Any] = {"ttl_s": TTL, "base_url": em.url, "clock": clock, **kwargs}
        grid = GridIntensity(TOKEN, **options)
        made.append(grid)
        return grid

    yield make
    for grid in made:
        grid.close()


def _fetched(grid: GridIntensity, zone: str) -> Intensity | None:
    """Ask once (scheduling the fetch), wait for the worker, ask again."""
    grid.lookup(zone)
    assert grid.wait_idle(WAIT)
    return grid.lookup(zone)


def _warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "genai_footprint" and r.levelno >= logging.WARNING]


# -- fetching and caching -------------------------------------------------------------------------------


def test_first_lookup_schedules_a_fetch_and_the_next_returns_its_value(
    em: FakeEM, make_grid: Callable[..., GridIntensity]
) -> None:
    grid = make_grid()
    assert grid.lookup("FRA") is None  # nothing cached yet: the caller uses the annual average
    assert grid.wait_idle(WAIT)
    assert grid.lookup("FRA") == Intensity(gwp_kg_per_kwh=0.042, timestamp="2026-11-22T10:00:00.000Z", zone_key="FR")
    assert [(s.target, s.token) for s in em.seen] == [(f"{PATH}?zone=FR", TOKEN)]
    assert grid.failures == 0


def test_lookup_returns_while_the_fetch_is_still_running(em: FakeEM, make_grid: Callable[..., GridIntensity]) -> None:
    em.hold = threading.Event()
    grid = make_grid()
    assert grid.lookup("DEU") is None
    assert em.arrived.wait(WAIT)  # the worker's request reached the server ...
    assert not em.answered.is_set()  # ... which has not answered: lookup() did not wait for it
    assert grid.lookup("DEU") is None  # still in flight: no second request
    assert not grid.wait_idle(0)
    em.hold.set()
    assert grid.wait_idle(WAIT)
    result = grid.lookup("DEU")
    assert result is not None
    assert result.gwp_kg_per_kwh == pytest.approx(0.38)
    assert em.requests() == Counter({"DE": 1})


def test_a_fresh_value_is_not_fetched_again_within_the_ttl(
    em: FakeEM, clock: Clock, make_grid: Callable[..., GridIntensity]
) -> None:
    grid = make_grid()
    first = _fetched(grid, "FRA")
    clock.now += TTL - 0.001
    for _ in range(100):
        assert grid.lookup("FRA") is first
    assert grid.wait_idle(WAIT)
    assert em.requests() == Counter({"FR": 1})


def test_a_stale_value_is_served_while_it_is_refreshed(
    em: FakeEM, clock: Clock, make_grid: Callable[..., GridIntensity]
) -> None:
    grid = make_grid()
    assert _fetched(grid, "FRA") is not None
    em.values["FR"] = 55.5
    clock.now += 1.5 * TTL
    stale = grid.lookup("FRA")  # past the TTL: old value now, refresh in the background
    assert stale is not None
    assert stale.gwp_kg_per_kwh == pytest.approx(0.042)
    assert grid.wait_idle(WAIT)
    fresh = grid.lookup("FRA")
    assert fresh is not None
    assert fresh.gwp_kg_per_kwh == pytest.approx(0.0555)
    assert em.requests() == Counter({"FR": 2})


def test_a_value_twice_the_ttl_old_is_no_longer_used(
    em: FakeEM, clock: Clock, make_grid: Callable[..., GridIntensity]
) -> None:
    grid = make_grid()
    assert _fetched(grid, "FRA") is not None
    em.hold = threading.Event()  # keep the refresh in flight while we look
    clock.now += 2 * TTL
    assert grid.lookup("FRA") is None
    em.hold.set()
    assert grid.wait_idle(WAIT)
    assert grid.lookup("FRA") is not None
    assert em.requests() == Counter({"FR": 2})


def test_prefetch_fetches_the_mapped_zones(em: FakeEM, make_grid: Callable[..., GridIntensity]) -> None:
    grid = make_grid()
    grid.prefetch(["FRA", "DEU", "WOR", "FRA"])
    assert grid.wait_idle(WAIT)
    assert em.requests() == Counter({"FR": 1, "DE": 1})
    assert grid.lookup("FRA") is not None
    assert grid.lookup("DEU") is not None
    grid.prefetch(["FRA"])  # fresh: nothing to do
    assert grid.wait_idle(WAIT)
    assert em.requests() == Counter({"FR": 1, "DE": 1})


def test_prefetch_never_raises(make_grid: Callable[..., GridIntensity]) -> None:
    def broken() -> Iterator[str]:
        yield "FRA"
        raise RuntimeError("a caller's iterable failed")

    grid = make_grid()
    grid.prefetch(broken())
    assert grid.wait_idle(WAIT)
    assert grid.lookup("FRA") is not None


def test_many_threads_asking_at_once_cause_one_request_per_zone(
    em: FakeEM, make_grid: Callable[..., GridIntensity]
) -> None:
    em.hold = threading.Event()  # every lookup below happens while the first fetches are in flight
    grid = make_grid()
    zones = ["FRA", "DEU", "SWE"]
    barrier = threading.Barrier(16)
    results: list[Intensity | None] = []
    lock = threading.Lock()

    def ask() -> None:
        barrier.wait(WAIT)
        for _ in range(50):
            for zone in zones:
                value = grid.lookup(zone)
                with lock:
                    results.append(value)

    threads = [threading.Thread(target=ask) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(WAIT)
    em.hold.set()
    assert grid.wait_idle(WAIT)
    assert results == [None] * (16 * 50 * 3)
    assert em.requests() == Counter({"FR": 1, "DE": 1, "SE": 1})
    assert {z: getattr(grid.lookup(z), "zone_key", None) for z in zones} == {"FRA": "FR", "DEU": "DE", "SWE": "SE"}


# -- zones ----------------------------------------------------------------------------------------------


def test_zone_map_overrides_the_alpha2_default(em: FakeEM, make_grid: Callable[..., GridIntensity]) -> None:
    grid = make_grid(zone_map={"USA": "US-CAL-CISO", "MCO": "FR"})
    result = _fetched(grid, "USA")
    assert result == Intensity(gwp_kg_per_kwh=0.24, timestamp="2026-11-22T10:00:00.000Z", zone_key="US-CAL-CISO")
    assert _fetched(grid, "FRA") is not None
    monaco = grid.lookup("MCO")  # mapped to the zone key France already has: shares its value
    assert monaco is not None
    assert monaco.zone_key == "FR"
    assert grid.wait_idle(WAIT)
    assert em.requests() == Counter({"US-CAL-CISO": 1, "FR": 1})


@pytest.mark.parametrize("zone", ["WOR", "EEE", "XYZ", "fra", "", None, 42, ["FRA"]])
def test_zones_without_an_electricity_maps_key_cause_no_request(
    em: FakeEM, make_grid: Callable[..., GridIntensity], zone: Any
) -> None:
    grid = make_grid()
    assert grid.lookup(zone) is None
    assert grid.wait_idle(WAIT)
    assert grid.lookup(zone) is None
    assert em.seen == []


# -- failures -------------------------------------------------------------------------------------------


def _json(value: object) -> Callable[[str], tuple[int, bytes]]:
    return lambda zone: (200, json.dumps(value).encode())


FAILURES: dict[str, Callable[[str], tuple[int, bytes]]] = {
    "500": lambda zone: (500, b'{"error": "internal"}'),
    "503 html": lambda zone: (503, b"<html>busy</html>"),
    "401 bad token": lambda zone: (401, b'{"error": "Invalid auth-token"}'),
    "403": lambda zone: (403, b'{"error": "Forbidden"}'),
    "404 unknown zone": lambda zone: (404, b'{"error": "Zone not found"}'),
    "400": lambda zone: (400, b'{"error": "bad request"}'),
    "429 rate limit": lambda zone: (429, b'{"error": "Too many requests"}'),
    "not json": lambda zone: (200, b"<html>not json</html>"),
    "truncated json": lambda zone: (200, b'{"carbonIntensity": 4'),
    "json list": _json([_body("FR", 42)]),
    "negative": _json(_body("FR", -1)),
    "null": _json(_body("FR", None)),
    "string": _json(_body("FR", "42")),
    "boolean": _json(_body("FR", True)),
    "nan": lambda zone: (200, b'{"carbonIntensity": NaN, "datetime": "2026-11-22T10:00:00.000Z"}'),
    "infinite": lambda zone: (200, b'{"carbonIntensity": Infinity, "datetime": "2026-11-22T10:00:00.000Z"}'),
    "missing value": _json({"zone": "FR", "datetime": "2026-11-22T10:00:00.000Z"}),
    "missing datetime": _json({"zone": "FR", "carbonIntensity": 42}),
    "direct factors": _json({**_body("FR", 30), "emissionFactorType": "direct"}),
}


@pytest.mark.parametrize("reply", FAILURES.values(), ids=FAILURES.keys())
def test_a_failed_fetch_gives_none_is_counted_logged_once_and_backed_off(
    em: FakeEM,
    clock: Clock,
    make_grid: Callable[..., GridIntensity],
    caplog: pytest.LogCaptureFixture,
    reply: Callable[[str], tuple[int, bytes]],
) -> None:
    em.reply = reply
    grid = make_grid()
    with caplog.at_level(logging.WARNING, logger="genai_footprint"):
        assert _fetched(grid, "FRA") is None
        assert grid.failures == 1
        clock.now += TTL - 0.001
        for _ in range(20):  # within the back-off: no new request, no new log line
            assert grid.lookup("FRA") is None
        assert grid.wait_idle(WAIT)
        assert em.requests() == Counter({"FR": 1})
        (message,) = _warnings(caplog)
        assert "zone FR" in message
        assert "annual average" in message
        assert TOKEN not in caplog.text
        clock.now += 0.001  # the back-off is over: one more try
        assert _fetched(grid, "FRA") is None
        assert grid.failures == 2
        assert em.requests() == Counter({"FR": 2})
        assert len(_warnings(caplog)) == 2


def test_a_failed_refresh_keeps_the_stale_value_until_twice_the_ttl(
    em: FakeEM, clock: Clock, make_grid: Callable[..., GridIntensity]
) -> None:
    grid = make_grid()
    good = _fetched(grid, "FRA")
    assert good is not None
    em.reply = FAILURES["500"]
    clock.now += 1.2 * TTL
    assert _fetched(grid, "FRA") is good
    assert grid.failures == 1
    clock.now += 0.7 * TTL  # 1.9 × TTL old, failure backed off: still the old value, no request
    assert grid.lookup("FRA") is good
    clock.now += 0.1 * TTL
    assert grid.lookup("FRA") is None  # 2 × TTL old
    assert grid.wait_idle(WAIT)
    assert em.requests() == Counter({"FR": 2})


def test_a_refused_connection_counts_as_a_failure(
    clock: Clock, caplog: pytest.LogCaptureFixture, make_grid: Callable[..., GridIntensity]
) -> None:
    with socket.socket() as sock:  # a port on 127.0.0.1 that nothing listens on once closed
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    grid = make_grid(base_url=f"http://127.0.0.1:{port}/v3")
    with caplog.at_level(logging.WARNING, logger="genai_footprint"):
        assert _fetched(grid, "FRA") is None
    assert grid.failures == 1
    (message,) = _warnings(caplog)
    assert "request failed" in message
    assert TOKEN not in caplog.text


def test_the_token_is_never_logged_or_shown(
    em: FakeEM, make_grid: Callable[..., GridIntensity], caplog: pytest.LogCaptureFixture
) -> None:
    em.reply = lambda zone: (401, json.dumps({"error": f"token {TOKEN} is not valid"}).encode())
    grid = make_grid()
    with caplog.at_level(logging.DEBUG, logger="genai_footprint"):
        assert _fetched(grid, "FRA") is None
    assert "token *** is not valid" in caplog.text  # an error body echoing the token is masked
    assert TOKEN not in caplog.text
    assert TOKEN not in repr(grid)
    assert em.seen[0].token == TOKEN


# -- HTTP client ----------------------------------------------------------------------------------------


def test_a_transport_can_be_given(clock: Clock) -> None:
    seen: list[httpx2.Request] = []

    def handle(request: httpx2.Request) -> httpx2.Response:
        seen.append(request)
        return httpx2.Response(200, json=_body("SE", 18.4, "2026-11-22T11:00:00.000Z"))

    grid = GridIntensity(TOKEN, transport=httpx2.MockTransport(handle), clock=clock)
    try:
        assert _fetched(grid, "SWE") == Intensity(0.0184, "2026-11-22T11:00:00.000Z", "SE")
    finally:
        grid.close()
    (request,) = seen
    assert str(request.url) == "https://api.electricitymap.org/v3/carbon-intensity/latest?zone=SE"
    assert request.headers["auth-token"] == TOKEN


def test_the_proxy_from_the_environment_is_used(
    em: FakeEM, monkeypatch: pytest.MonkeyPatch, make_grid: Callable[..., GridIntensity]
) -> None:
    monkeypatch.setenv("HTTP_PROXY", em.url.removesuffix("/v3"))  # the local server plays the proxy
    grid = make_grid(base_url="http://electricitymaps.invalid/v3/")
    assert _fetched(grid, "FRA") is not None
    assert [s.target for s in em.seen] == [f"http://electricitymaps.invalid{PATH}?zone=FR"]


# -- lifecycle ------------------------------------------------------------------------------------------


def test_close_drops_queued_fetches_and_stops_the_worker(em: FakeEM, make_grid: Callable[..., GridIntensity]) -> None:
    em.hold = threading.Event()
    grid = make_grid()
    grid.prefetch(["FRA", "DEU"])  # FR is fetched first and held; DE waits in the queue
    assert em.arrived.wait(WAIT)
    closer = threading.Thread(target=grid.close)
    closer.start()
    with grid._cond:  # close() has dropped the queue before it waits for the running fetch
        assert grid._cond.wait_for(lambda: grid._closed, WAIT)
    em.hold.set()
    closer.join(WAIT)
    assert not closer.is_alive()
    assert grid._thread is not None
    grid._thread.join(WAIT)
    assert not grid._thread.is_alive()
    assert grid.wait_idle(0)
    assert grid.lookup("FRA") is None  # closed: the annual average from now on
    assert em.requests() == Counter({"FR": 1})
    grid.close()  # twice is harmless


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_forked_child_fetches_with_its_own_worker(
    em: FakeEM, clock: Clock, make_grid: Callable[..., GridIntensity]
) -> None:
    grid = make_grid()
    assert _fetched(grid, "FRA") is not None
    em.values["FR"] = 61
    clock.now += 1.5 * TTL
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report through the pipe, never return into pytest
        code = 1
        try:
            stale = grid.lookup("FRA")
            idle = grid.wait_idle(WAIT)
            fresh = grid.lookup("FRA")
            answer = [getattr(stale, "gwp_kg_per_kwh", None), idle, getattr(fresh, "gwp_kg_per_kwh", None)]
            os.write(write_end, json.dumps(answer).encode())
            code = 0
        finally:
            os._exit(code)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as pipe:
        answer = json.loads(pipe.read() or b"null")
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert answer == [pytest.approx(0.042), True, pytest.approx(0.061)]


# -- arguments ------------------------------------------------------------------------------------------

BAD_ARGUMENTS: list[tuple[str, dict[str, Any]]] = [
    ("token", {"token": ""}),
    ("token", {"token": "   "}),
    ("token", {"token": None}),
    ("token", {"token": 1234}),
    ("token", {"token": f" {TOKEN}"}),
    ("token", {"token": f"{TOKEN}\n"}),
    ("ttl_s", {"ttl_s": 0}),
    ("ttl_s", {"ttl_s": -5}),
    ("ttl_s", {"ttl_s": math.nan}),
    ("ttl_s", {"ttl_s": math.inf}),
    ("ttl_s", {"ttl_s": True}),
    ("ttl_s", {"ttl_s": "900"}),
    ("timeout_s", {"timeout_s": 0}),
    ("base_url", {"base_url": "ftp://api.electricitymap.org/v3"}),
    ("base_url", {"base_url": "api.electricitymap.org/v3"}),
    ("base_url", {"base_url": "https://"}),
    ("base_url", {"base_url": "https://api.electricitymap.org/v3?zone=FR"}),
    ("base_url", {"base_url": None}),
    ("zone_map", {"zone_map": "FRA"}),
    ("zone_map", {"zone_map": {"fra": "FR"}}),
    ("zone_map", {"zone_map": {"FR": "FR"}}),
    ("zone_map", {"zone_map": {"FRA": ""}}),
    ("zone_map", {"zone_map": {"FRA": "FR CA"}}),
    ("zone_map", {"zone_map": {"FRA": 250}}),
    ("transport", {"transport": object()}),
    ("clock", {"clock": 5}),
]


@pytest.mark.parametrize(("argument", "kwargs"), BAD_ARGUMENTS, ids=[f"{a}={k[a]!r}" for a, k in BAD_ARGUMENTS])
def test_bad_arguments_are_refused_naming_the_argument(argument: str, kwargs: dict[str, Any]) -> None:
    options = {"token": TOKEN, **kwargs}
    token = options.pop("token")
    with pytest.raises(InvalidInputError) as info:
        GridIntensity(token, **options)
    assert info.value.argument == argument
    assert TOKEN not in str(info.value)


def test_the_grid_settings_defaults_are_the_grids_own() -> None:
    # init() builds the grid from GridSettings (electricity_maps.*); with nothing configured, both agree.
    settings = GridSettings(token=TOKEN)
    assert (settings.ttl_s, settings.url) == (900.0, DEFAULT_BASE_URL)
    configured, default = GridIntensity(TOKEN, ttl_s=settings.ttl_s, base_url=settings.url), GridIntensity(TOKEN)
    assert repr(configured) == repr(default)
    configured.close()
    default.close()


# -- the alpha-3 → alpha-2 table (registry/iso3166.json) ------------------------------------------------


def _registry_file(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((data_dir() / name).read_text(encoding="utf-8"))
    return data


def test_every_electricity_mix_zone_maps_to_an_alpha2_code_or_is_a_known_aggregate() -> None:
    iso = _registry_file("iso3166.json")
    mixes = _registry_file("electricity_mixes.json")
    aggregates = set(iso["aggregates"])
    assert aggregates == set(mixes["aggregates"]) == {"WOR", "EEE"}
    unmapped = [z["zone"] for z in mixes["zones"] if z["zone"] not in iso["zones"] and z["zone"] not in aggregates]
    assert unmapped == []
    assert not aggregates & set(iso["zones"])
    assert default_zone_keys() == iso["zones"]


def test_the_iso3166_table_is_well_formed_and_sourced() -> None:
    iso = _registry_file("iso3166.json")
    assert iso["schema_version"] == 1
    assert iso["registry_version"] == _registry_file("electricity_mixes.json")["registry_version"]
    assert "ISO 3166-1" in iso["sources"]["alpha_2"]
    zones: dict[str, str] = iso["zones"]
    assert all(len(a3) == 3 and a3.isupper() and len(a2) == 2 and a2.isupper() for a3, a2 in zones.items())
    assert len(set(zones.values())) == len(zones)  # one alpha-2 per country, no code claimed twice
    assert list(zones) == sorted(zones)
    for alpha3, alpha2 in {"FRA": "FR", "DEU": "DE", "USA": "US", "GBR": "GB", "SWE": "SE", "CHN": "CN"}.items():
        assert zones[alpha3] == alpha2


def test_the_iso3166_table_matches_debians_iso_codes_when_installed() -> None:
    source = Path("/usr/share/iso-codes/json/iso_3166-1.json")
    if not source.is_file():
        pytest.skip("Debian's iso-codes package is not installed")
    rows = json.loads(source.read_text(encoding="utf-8"))["3166-1"]
    assert _registry_file("iso3166.json")["zones"] == {r["alpha_3"]: r["alpha_2"] for r in rows}


@pytest.mark.parametrize(
    "content",
    ["not json", '{"zones": []}', '{"zones": {"FRA": "FRA"}}', '{"zones": {"fr": "FR"}}', '{"about": "no zones"}'],
)
def test_a_broken_iso3166_file_is_refused_naming_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, content: str
) -> None:
    (tmp_path / "iso3166.json").write_text(content, encoding="utf-8")
    monkeypatch.setattr(registry_module, "data_dir", lambda: tmp_path)
    default_zone_keys.cache_clear()
    try:
        with pytest.raises(RegistryError, match=r"iso3166\.json"):
            default_zone_keys()
    finally:
        default_zone_keys.cache_clear()
