"""The ``prometheus`` exporter: a real ``/metrics`` endpoint on 127.0.0.1, scraped after instrumented calls."""

from __future__ import annotations

import json
import math
import re
import socket
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from export_helpers import IMPACTS, event
from openai_fakes import REQUESTED, FakeOpenAI
from prometheus_client.parser import text_string_to_metric_families

import genai_footprint as gf
from genai_footprint._config import load_config
from genai_footprint._criteria import NAMES
from genai_footprint._errors import ConfigError
from genai_footprint._export._pipeline import build_exporter
from genai_footprint._export._prometheus import PrometheusExporter
from genai_footprint._export._record import to_record

# Prometheus names: dots become underscores, the UCUM unit a suffix ({annotations} dropped), counters end in _total.
SUFFIXES = {"energy": "kW_h", "gwp": "kg", "pe": "MJ", "adpe": "kg", "wcf": "L"}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def scrape(url: str) -> dict[str, list[tuple[dict[str, str], float]]]:
    """Every sample on the endpoint, by name: [(labels, value)]."""
    with urllib.request.urlopen(url, timeout=5) as answer:
        assert answer.status == 200
        text = answer.read().decode()
    samples: dict[str, list[tuple[dict[str, str], float]]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples.setdefault(sample.name, []).append((dict(sample.labels), sample.value))
    return samples


def counter(criterion: str, bound: str) -> str:
    return f"genai_footprint_{criterion}_{bound}_{SUFFIXES[criterion]}_total"


@pytest.fixture
def endpoint() -> Iterator[PrometheusExporter]:
    exporter = PrometheusExporter(host="127.0.0.1", port=0)
    yield exporter
    exporter.close()


def test_an_ephemeral_port_serves_the_counters(endpoint: PrometheusExporter) -> None:
    assert endpoint.port > 0 and endpoint.url == f"http://127.0.0.1:{endpoint.port}/metrics"
    endpoint.export([to_record(event(number)) for number in range(4)])
    endpoint.export([to_record(event(9, estimated=False, model="my-finetune"))])
    samples = scrape(endpoint.url)
    for criterion in NAMES:
        for bound in ("min", "max"):
            ((labels, value),) = samples[counter(criterion, bound)]
            assert value == pytest.approx(4 * getattr(getattr(IMPACTS, criterion), bound), rel=1e-12)
            assert labels["gen_ai_provider_name"] == "openai"
            assert labels["genai_footprint_model"] == "gpt-4o-mini"
            assert labels["genai_footprint_zone"] == "USA"
    calls = {labels["genai_footprint_estimated"]: value for labels, value in samples["genai_footprint_calls_total"]}
    assert calls == {"true": 4, "false": 1}


def test_closing_stops_serving(endpoint: PrometheusExporter) -> None:
    url = endpoint.url
    scrape(url)
    endpoint.close()
    endpoint.close()  # idempotent
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(url, timeout=2)


def test_a_taken_port_is_a_clear_error(endpoint: PrometheusExporter) -> None:
    with pytest.raises(ValueError, match=rf"exporters\.prometheus\.port: cannot serve .*127\.0\.0\.1:{endpoint.port}"):
        build_exporter("prometheus", {"host": "127.0.0.1", "port": endpoint.port})


def test_instrumented_calls_reach_the_scrape() -> None:
    port = free_port()
    gf.init(providers=["openai"], exporters={"prometheus": {"host": "127.0.0.1", "port": port}})
    try:
        client = FakeOpenAI(completion_tokens=40).client()
        responses = [
            client.chat.completions.create(model=REQUESTED, messages=[{"role": "user", "content": "Hi"}])
            for _ in range(3)
        ]
        assert gf.flush(timeout_s=10)
        samples = scrape(f"http://127.0.0.1:{port}/metrics")
    finally:
        gf.shutdown()
    impacts: list[Any] = [r.impacts for r in responses]
    for criterion in NAMES:
        ((labels, value),) = samples[counter(criterion, "max")]
        expected = math.fsum(getattr(i, criterion).max for i in impacts)
        assert value == pytest.approx(expected, rel=1e-9)
    assert labels["gen_ai_request_model"] == REQUESTED
    assert labels["genai_footprint_model"] == impacts[0].inputs.model_resolved
    ((labels, value),) = samples["genai_footprint_calls_total"]
    assert value == 3 and labels["genai_footprint_estimated"] == "true"
    with pytest.raises(urllib.error.URLError):  # shutdown() stopped the endpoint
        urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2)


def test_the_settings_switch_it_on_from_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GENAI_FOOTPRINT_PROMETHEUS_HOST", "127.0.0.1")
    monkeypatch.setenv("GENAI_FOOTPRINT_PROMETHEUS_PORT", "0")
    (exporter,) = load_config().export.exporters
    assert exporter.name == "prometheus"
    assert dict(exporter.options) == {"host": "127.0.0.1", "port": 0}


def test_defaults_follow_the_opentelemetry_sdk(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    monkeypatch.chdir(tmp_path)
    config = load_config({"exporters": ["prometheus"]})
    assert dict(config.export.exporters[0].options) == {"host": "localhost", "port": 9464}


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("port", 70000, "from 0 .* to 65535"),
        ("port", "9464", "from 0 .* to 65535"),
        ("host", "http://0.0.0.0", "no scheme"),
        ("host", "", "host name"),
    ],
)
def test_bad_settings_are_refused(option: str, value: object, message: str, tmp_path: Any, monkeypatch: Any) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError, match=message):
        load_config({"exporters": {"prometheus": {option: value}}})


# -- the docs: the dashboard's queries and the Collector configuration ------------------------------------------

DOCS = Path(__file__).resolve().parent.parent / "docs"


def test_every_dashboard_query_names_counters_the_endpoint_serves(endpoint: PrometheusExporter) -> None:
    endpoint.export([to_record(event(1)), to_record(event(2, estimated=False, model="my-finetune"))])
    served = set(scrape(endpoint.url))
    dashboard = json.loads((DOCS / "dashboards" / "genai-footprint.json").read_text())
    queries = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    queries += [v["query"]["query"] for v in dashboard["templating"]["list"] if v["type"] == "query"]
    assert len(queries) > 10
    for query in queries:
        names = re.findall(r'__name__=~?"([^"]+)"', query) + re.findall(r"\b(genai_footprint_\w+)\{", query)
        names += re.findall(r"label_values\((genai_footprint_\w+)", query)
        assert names, query
        for name in names:
            assert any(re.fullmatch(name, metric) for metric in served), (name, sorted(served))
        labels = set(re.findall(r"\b([a-z_]+)=~?\"", query)) | set(re.findall(r"by \(([^)]*)\)", query))
        known = {"__name__", "job", "gen_ai_provider_name", "gen_ai_request_model", "genai_footprint_model"}
        known |= {"genai_footprint_zone", "genai_footprint_estimated"}
        for label in {part.strip() for group in labels for part in group.split(",")}:
            assert label in known, (label, query)


def test_the_collector_configuration_is_consistent() -> None:
    blocks = re.findall(r"```yaml\n(.*?)```", (DOCS / "opentelemetry.md").read_text(), re.S)
    configs = [yaml.safe_load(block) for block in blocks]
    (collector,) = [c for c in configs if "service" in c]
    pipeline = collector["service"]["pipelines"]["metrics"]
    for kind in ("receivers", "processors", "exporters"):
        assert set(pipeline[kind]) <= set(collector[kind]), kind
    assert collector["exporters"]["prometheus"]["endpoint"].endswith(":8889")
