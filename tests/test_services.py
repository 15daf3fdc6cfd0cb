"""init() runs the configured exporters and the real-time grid intensity; shutdown() flushes and stops them.

Real parts: the OpenAI SDK over httpx2.MockTransport, a JSON Lines file, and a local Electricity Maps
stand-in on 127.0.0.1.
"""

from __future__ import annotations

import gc
import json
import threading
from collections.abc import Iterator, Mapping, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import anthropic_fakes
import lifecycle_helpers as h
import pytest
from fake_http import answer_json

import genai_footprint as gf
from genai_footprint import _setup
from genai_footprint._errors import ConfigError
from genai_footprint._export._record import SCHEMA


@pytest.fixture(autouse=True)
def _clean() -> Iterator[None]:
    gf.shutdown()
    yield
    gf.shutdown()


def _ask(client: Any, text: str = "hi") -> Any:
    return client.chat.completions.create(model=h.MODEL, messages=[{"role": "user", "content": text}])


def _records(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


class Collect:
    """A user exporter: keeps every batch it is handed."""

    def __init__(self) -> None:
        self.records: list[Mapping[str, Any]] = []
        self.closed = False

    def export(self, records: Sequence[Mapping[str, Any]]) -> None:
        self.records.extend(records)

    def close(self) -> None:
        self.closed = True


def test_jsonl_exporter_gets_one_record_per_call_flushed_by_shutdown(tmp_path: Path) -> None:
    log = tmp_path / "calls.jsonl"
    gf.init(providers=["openai"], exporters={"jsonl": {"path": str(log)}}, tags={"project": "p1"})
    client = h.client(lambda request: h.chat_body(content="ANSWER-TEXT-9931"))
    with gf.track("agent"), gf.track("step"):
        first = _ask(client, "PROMPT-TEXT-7781")
    second = _ask(client, "PROMPT-TEXT-7781")
    gf.shutdown()

    records = _records(log)
    assert len(records) == 2
    one, two = records
    assert one["schema"] == SCHEMA and one["provider"] == "openai"
    assert one["model_requested"] == h.MODEL and one["model_served"] == h.SERVED
    assert one["trackers"] == ["agent", "step"] and two["trackers"] == []
    assert one["tags"] == {"project": "p1"}
    assert one["estimated"] is True and one["output_tokens"] == 7 and one["tokens_source"] == "usage"
    assert one["impacts"]["energy"]["max"] == first.impacts.energy.max
    assert two["impacts"]["gwp"]["min"] == second.impacts.gwp.min
    assert one["inputs"] == json.loads(first.impacts.inputs.model_dump_json())
    # Nothing of the conversation is exported.
    text = log.read_text()
    assert "PROMPT-TEXT" not in text and "ANSWER-TEXT" not in text and "sk-test" not in text


def _calls_of_every_kind(client: Any) -> list[tuple[Any, Any]]:
    """(what the caller holds, its impacts): a reply, a stream with usage, a stream without (tokens counted from
    its text, with warnings), and a reply of an unknown model."""
    made = []
    reply = _ask(client)
    made.append((reply, reply.impacts))
    stream = client.chat.completions.create(model=h.MODEL, messages=h.MESSAGES, stream=True)
    for _ in stream:
        pass
    made.append((stream, stream.impacts))
    uncounted = client.chat.completions.create(
        model=h.MODEL, messages=h.MESSAGES, stream=True, stream_options={"include_usage": False}
    )
    for _ in uncounted:
        pass
    made.append((uncounted, uncounted.impacts))
    unknown = client.chat.completions.create(model="house-model-7", messages=h.MESSAGES)
    made.append((unknown, unknown.impacts))
    return made


def test_records_are_what_each_call_returned(monkeypatch: pytest.MonkeyPatch) -> None:
    from genai_footprint._export import _pipeline

    # The worker sleeps until shutdown() flushes: every call waits in the queue meanwhile.
    monkeypatch.setattr(_pipeline, "_WAKE_AT", 10**9)
    monkeypatch.setattr(_pipeline, "_INTERVAL_S", 3600.0)
    sink = Collect()
    gf.init(providers=["openai"], exporters=[sink])
    made = _calls_of_every_kind(
        h.client(lambda request: None if request["model"] != "house-model-7" else h.chat_body(model="house-model-7"))
    )
    expected = [None if impacts is None else impacts.model_dump(mode="json") for _, impacts in made]
    assert expected[2] is not None and {w["code"] for w in expected[2]["warnings"]} >= {"tokens-counted"}
    # What the caller drops before the worker runs changes nothing in the records.
    del made
    gc.collect()
    gf.shutdown()

    assert len(sink.records) == 4
    for record, impacts in zip(sink.records, expected, strict=True):
        if impacts is None:
            assert record["estimated"] is False and record["impacts"] is None
            continue
        assert record["inputs"] == impacts["inputs"]
        assert record["methodology_version"] == impacts["methodology_version"]
        assert record["warnings"] == [{"code": w["code"], "message": w["message"]} for w in impacts["warnings"]]
        for criterion in ("energy", "gwp", "pe", "adpe", "wcf"):
            assert record["impacts"][criterion]["min"] == impacts[criterion]["min"]
            assert record["impacts"][criterion]["max"] == impacts[criterion]["max"]
        assert record["output_tokens"] == impacts["inputs"]["output_tokens"]
        assert record["latency_s"] == impacts["inputs"]["latency_s"]


def test_user_exporter_objects_and_unestimated_calls(tmp_path: Path) -> None:
    sink = Collect()
    gf.init(providers=["openai"], exporters=[sink])
    client = h.client(lambda request: h.chat_body(model="house-model-7"))
    response = client.chat.completions.create(model="house-model-7", messages=[{"role": "user", "content": "x"}])
    assert response.impacts is None
    gf.shutdown()
    assert sink.closed
    assert [r["estimated"] for r in sink.records] == [False]
    assert sink.records[0]["impacts"] is None and sink.records[0]["model_requested"] == "house-model-7"


def test_reinit_flushes_the_previous_exporters(tmp_path: Path) -> None:
    first, second = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    gf.init(providers=["openai"], exporters={"jsonl": {"path": str(first)}})
    client = h.client()
    _ask(client)
    gf.init(providers=["openai"], exporters={"jsonl": {"path": str(second)}})
    assert len(_records(first)) == 1, "the first configuration's records are written when it is replaced"
    _ask(client)
    _ask(client)
    gf.shutdown()
    assert len(_records(first)) == 1 and len(_records(second)) == 2


def test_project_file_turns_an_exporter_on(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "genai-footprint.toml").write_text(
        'providers = ["openai"]\n[tags]\nexperiment = "e42"\n[exporters.jsonl]\npath = "out/log.jsonl"\n'
    )
    gf.init()
    _ask(h.client())
    gf.shutdown()
    (record,) = _records(tmp_path / "out" / "log.jsonl")
    assert record["tags"] == {"experiment": "e42"}


def test_a_bad_exporter_fails_init_and_changes_nothing() -> None:
    with pytest.raises(ConfigError, match=r"exporters.*object with an export\(\) method"):
        gf.init(providers=["openai"], exporters=[object()])
    assert _setup.current_runtime() is None
    assert not hasattr(_ask(h.client()), "impacts")


def test_shutdown_without_exporters_is_quiet() -> None:
    gf.init(providers=["openai"])
    runtime = _setup.current_runtime()
    assert runtime is not None and runtime.listeners == () and runtime.grid is None
    gf.shutdown()


# -- real-time grid intensity -------------------------------------------------------------------------


class _Grid(BaseHTTPRequestHandler):
    intensity: Any = 123.0
    requests: list[tuple[str, str | None]] = []

    def do_GET(self) -> None:
        type(self).requests.append((self.path, self.headers.get("auth-token")))
        body = json.dumps(
            {
                "zone": "US",
                "carbonIntensity": type(self).intensity,
                "datetime": "2026-11-22T10:00:00.000Z",
                "updatedAt": "2026-11-22T09:47:01.123Z",
                "emissionFactorType": "lifecycle",
                "isEstimated": True,
            }
        ).encode()
        answer_json(self, body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def grid_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[type[_Grid]]:
    handler = type("Grid", (_Grid,), {"requests": [], "intensity": 123.0})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv("GENAI_FOOTPRINT_ELECTRICITY_MAPS_URL", f"http://127.0.0.1:{server.server_address[1]}/v3")
    try:
        yield handler
    finally:
        server.shutdown()
        server.server_close()


def _grid_ready() -> None:
    runtime = _setup.current_runtime()
    assert runtime is not None and runtime.grid is not None
    assert runtime.grid.wait_idle(10)


def test_latest_carbon_intensity_replaces_the_annual_gwp(grid_server: type[_Grid]) -> None:
    annual = gf.estimate(provider="openai", model=h.MODEL, output_tokens=7, latency_s=0.01)
    gf.init(providers=["openai"], electricity_maps_token="em-secret-token")
    _grid_ready()  # init() prefetched the providers' default zones
    response = _ask(h.client())
    impacts = response.impacts
    mix = impacts.inputs.mix
    assert (mix.gwp, mix.gwp_source, mix.gwp_timestamp) == (0.123, "electricitymaps", "2026-11-22T10:00:00.000Z")
    assert mix.pe == annual.inputs.mix.pe and mix.adpe == annual.inputs.mix.adpe, "PE and ADPe stay annual"
    assert impacts.usage.gwp.max == pytest.approx(impacts.energy.max * 0.123, rel=1e-12)
    again = gf.reproduce(impacts.inputs, impacts.methodology_version)
    assert again.gwp == impacts.gwp, "the recorded inputs reproduce the real-time estimate"
    assert all(token == "em-secret-token" for _, token in grid_server.requests)
    assert any("zone=US" in path for path, _ in grid_server.requests)


def test_a_failing_intensity_source_leaves_the_annual_average(grid_server: type[_Grid]) -> None:
    grid_server.intensity = -5  # refused as invalid
    gf.init(providers=["openai"], electricity_maps_token="em-secret-token")
    _grid_ready()
    mix = _ask(h.client()).impacts.inputs.mix
    assert mix.gwp_source == "annual" and mix.gwp_timestamp is None


def test_no_token_no_requests(grid_server: type[_Grid]) -> None:
    gf.init(providers=["openai"])
    assert _ask(h.client()).impacts.inputs.mix.gwp_source == "annual"
    assert grid_server.requests == []


def test_flush_pushes_records_out_without_shutting_down(tmp_path: Path) -> None:
    log = tmp_path / "calls.jsonl"
    assert gf.flush() is True  # nothing configured: nothing to wait for
    gf.init(providers=["openai"], exporters={"jsonl": {"path": str(log)}})
    client = h.client(lambda request: h.chat_body(content="hello"))
    first = _ask(client)
    assert gf.flush(timeout_s=10) is True
    records = _records(log)
    assert len(records) == 1 and records[0]["impacts"]["energy"]["max"] == first.impacts.energy.max
    second = _ask(client)  # still instrumented, still exporting
    assert second.impacts is not None
    assert gf.flush(timeout_s=None) is True
    assert len(_records(log)) == 2


class _Stuck:
    """A user exporter that holds the export worker until released."""

    def __init__(self) -> None:
        self.release = threading.Event()

    def export(self, records: Sequence[Mapping[str, Any]]) -> None:
        self.release.wait(10)


def test_flush_says_false_when_the_exporters_are_still_at_work() -> None:
    stuck = _Stuck()
    gf.init(providers=["openai"], exporters=[stuck])
    _ask(h.client(lambda request: h.chat_body(content="hello")))
    try:
        assert gf.flush(timeout_s=0.2) is False
    finally:
        stuck.release.set()
    assert gf.flush(timeout_s=10) is True


@pytest.mark.parametrize("bad", [-1, "5", True, float("nan")])
def test_flush_refuses_a_bad_timeout(bad: object) -> None:
    with pytest.raises(gf.InvalidInputError, match="timeout_s"):
        gf.flush(timeout_s=bad)  # type: ignore[arg-type]


@pytest.mark.parametrize("reported", [10**30, 12.7, -3, 10_000_001])
def test_an_absurd_token_count_gives_no_number(reported: object, caplog: pytest.LogCaptureFixture) -> None:
    """A count that is no whole number from 0 to max_output_tokens: impacts None and a warning naming the field
    and the value, never a number; the call still counts (unestimated) and is exported. (The OpenAI SDK itself
    turns a JSON ``true`` or ``"12"`` into the int 1 or 12 before we see it.)"""
    collect = Collect()
    gf.init(providers=["openai"], exporters=[collect])
    usage = {"prompt_tokens": 3, "completion_tokens": reported, "total_tokens": 3}
    client = h.client(lambda request: h.chat_body(usage=usage))
    with gf.track("absurd") as run:
        response = _ask(client)
    assert response.impacts is None
    assert run.calls == run.unestimated_calls == 1 and run.impacts is None
    warned = [r.getMessage() for r in caplog.records if r.name == "genai_footprint" and r.levelname == "WARNING"]
    assert any(f"output_tokens={reported!r}" in message for message in warned), warned
    assert gf.flush() is True
    assert [record["estimated"] for record in collect.records] == [False]


def test_the_token_ceiling_is_a_setting(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    client = h.client(lambda request: h.chat_body(completion_tokens=5_000))
    gf.init(providers=["openai"], max_output_tokens=4_999)
    assert _ask(client).impacts is None
    gf.init(providers=["openai"], max_output_tokens=5_000)
    assert _ask(client).impacts is not None
    monkeypatch.setenv("GENAI_FOOTPRINT_MAX_OUTPUT_TOKENS", "100")
    gf.init(providers=["openai"])
    assert _ask(client).impacts is None
    with pytest.raises(ConfigError, match="max_output_tokens"):
        gf.init(providers=["openai"], max_output_tokens=0)


@pytest.mark.parametrize("reported", [12.7, 10**30, -1])
def test_anthropic_absurd_token_count_is_refused_not_counted_from_text(
    reported: object, caplog: pytest.LogCaptureFixture
) -> None:
    """The same rule on Anthropic: a reported count that is no whole number is refused (impacts None, a warning),
    not replaced by an approximation from the text."""
    body = anthropic_fakes.message()
    body["usage"]["output_tokens"] = reported
    server = anthropic_fakes.FakeAnthropic(messages=[body])
    gf.init(providers=["anthropic"])
    message = server.client().messages.create(
        model=anthropic_fakes.REQUESTED, max_tokens=64, messages=[{"role": "user", "content": "hi"}]
    )
    assert message.impacts is None
    assert any(f"output_tokens={reported!r}" in r.getMessage() for r in caplog.records if r.levelname == "WARNING")
