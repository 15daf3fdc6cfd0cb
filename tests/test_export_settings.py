"""Every documented setting can be set in every layer it is documented for (the docs' tables walked against the
configuration), the HTTP options reach the exporter, and a collector URL's credentials are never shown."""

from __future__ import annotations

import base64
import json
import logging
import re
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from export_helpers import Collector

from genai_footprint._cli import main
from genai_footprint._config import SETTINGS, load_config
from genai_footprint._errors import ConfigError, InvalidInputError
from genai_footprint._export._http import HTTPExporter
from genai_footprint._export._pipeline import build_exporter

ROOT = Path(__file__).resolve().parent.parent
CONFIGURATION = (ROOT / "docs" / "configuration.md").read_text()
EXPORTERS = (ROOT / "docs" / "exporters.md").read_text()


@dataclass(frozen=True)
class Row:
    key: str
    env: str | None  # the variable, when the row names one of a single setting
    init: str | None  # "kwarg" or 'exporters={"http": {...}}' as the table shows it; None for "—"
    example: object  # the first example, as TOML reads it; None when the row has none


def _code(cell: str) -> str | None:
    found = re.search(r"`([^`]+)`", cell)
    return found.group(1) if found else None


def documented_rows() -> list[Row]:
    """The rows of configuration.md's tables that have a TOML key, an environment variable and an example."""
    rows = []
    for table in re.findall(r"(?m)^\| TOML key \|.*\n\|[-| ]+\|\n((?:\|.*\n)+)", CONFIGURATION):
        header = None
        for line in table.splitlines():
            cells = [cell.strip() for cell in line.strip("|").split(" | ")]
            key, example = _code(cells[0]), _code(cells[-1])
            if key is None or key == "tags" or example is None:
                continue
            env = _code(cells[1])
            init = _code(cells[2]) if len(cells) == 6 else None
            value = tomllib.loads(f"value = {example}")["value"]
            rows.append(Row(key, env if env != "GENAI_FOOTPRINT_EXPORTERS" else None, init, value))
            header = header or cells
    return rows


ROWS = documented_rows()


def env_text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return ",".join(f"{name}={item}" for name, item in value.items())
    if isinstance(value, list):
        return ",".join(map(str, value))
    return str(value)


def toml_file(key: str, value: object) -> str:
    *tables, name = key.split(".")
    literal = json.dumps(value) if not isinstance(value, dict) else (
        "{ " + ", ".join(f'{k} = {json.dumps(v)}' for k, v in value.items()) + " }"
    )  # fmt: skip
    literal = {"true": "true", "false": "false"}.get(literal, literal)
    return (f"[{'.'.join(tables)}]\n" if tables else "") + f"{name} = {literal}\n"


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_the_docs_tables_are_read() -> None:
    keys = {row.key for row in ROWS}
    wanted = {"zone", "exporters.http.headers", "exporters.http.timeout_s", "exporters.http.max_spill_bytes"}
    assert wanted <= keys and len(ROWS) > 20


@pytest.mark.parametrize("row", ROWS, ids=[row.key for row in ROWS])
def test_a_documented_setting_can_be_set_in_every_layer_it_names(
    row: Row, project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert row.key in SETTINGS, f"{row.key} is documented but is no setting"
    setting = SETTINGS[row.key]
    text = toml_file(row.key, row.example)
    if row.key == "exporters.http.enabled":
        text += 'url = "http://127.0.0.1:9/x"\n'  # the http exporter needs one
    elif row.key.startswith("exporters.http.") and row.key != "exporters.http.url":
        monkeypatch.setenv("GENAI_FOOTPRINT_HTTP_URL", "http://127.0.0.1:9/x")
    (project / "genai-footprint.toml").write_text(text)
    assert load_config().values[row.key].source.startswith("project file"), "cannot be set in a file"
    (project / "genai-footprint.toml").unlink()
    if row.env is not None:
        assert setting.env is not None and row.env == "GENAI_FOOTPRINT_" + setting.env
        monkeypatch.setenv(row.env, env_text(row.example))
        assert load_config().values[row.key].source == f"env {row.env}", "cannot be set in the environment"
        monkeypatch.delenv(row.env)
    if row.init is not None and row.init.startswith("exporters="):
        name, option = row.key.split(".")[1:]
        config = load_config({"exporters": {name: {option: row.example}}})
        assert config.values[row.key].source == "init(exporters=...)", "cannot be set in init()"
    elif row.init is not None and row.init != "exporters":
        assert setting.kwarg == row.init
        assert load_config({row.init: row.example}).values[row.key].source == f"init({row.init}=...)"


def test_every_http_option_of_the_exporters_page_is_a_setting_and_reaches_the_exporter(project: Path) -> None:
    table = re.search(r"(?m)^\| option \| default \| meaning \|\n\|[-| ]+\|\n((?:\|.*\n)+)", EXPORTERS)
    assert table is not None
    documented = {name for line in table.group(1).splitlines() for name in re.findall(r"`(\w+)`", line.split(" | ")[0])}
    settings = {key.removeprefix("exporters.http.") for key in SETTINGS if key.startswith("exporters.http.")}
    assert documented == settings - {"enabled"}
    examples = {row.key.removeprefix("exporters.http."): row.example for row in ROWS if row.key in SETTINGS}
    options = {option: examples[option] for option in documented if option not in ("url", "token", "header")}
    config = load_config({"exporters": {"http": {"url": "http://127.0.0.1:9/x", **options}}})
    (http,) = config.export.exporters
    exporter = build_exporter("http", http.options)
    assert isinstance(exporter, HTTPExporter)
    try:
        for option, value in options.items():
            if option == "headers":
                assert all(exporter._headers[name] == item for name, item in value.items())  # type: ignore[attr-defined]
            elif option == "spill_path":
                assert exporter.spill_path == project / str(value)
            else:
                assert getattr(exporter, option) == value, option
    finally:
        exporter.close()


# -- credentials in a collector URL -----------------------------------------------------------------------

SECRET_URL = "https://someone:hunter2-secret@collector.example/api/records"


def test_credentials_in_the_url_are_masked_by_the_config_command(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (project / "genai-footprint.toml").write_text(f'[exporters.http]\nurl = "{SECRET_URL}"\n')
    assert main(["config"]) == 0
    out = capsys.readouterr().out
    assert "hunter2" not in out and "someone" not in out
    assert "https://****@collector.example/api/records" in out
    assert main(["config", "--json"]) == 0
    out = capsys.readouterr().out
    assert "hunter2" not in out and json.loads(out)["settings"]["exporters.http.url"]["value"].startswith(
        "https://****@"
    )


def test_extra_headers_are_shown_by_name_only(project: Path) -> None:
    config = load_config({"exporters": {"http": {"url": "http://127.0.0.1:9/x", "headers": {"X-Key": "k" * 20}}}})
    shown = {key: value for key, value, _ in config.describe()}
    assert shown["exporters.http.headers"] == "X-Key: ****kkkk"
    assert "k" * 20 not in json.dumps(config.as_json())


@pytest.mark.parametrize(
    ("options", "other"),
    [
        ({"token": "t0ken-0123456789"}, "exporters.http.token"),
        ({"headers": {"authorization": "Bearer x"}}, "exporters.http.headers"),
    ],
)
def test_a_url_with_credentials_and_an_authorization_token_is_refused(
    project: Path, options: dict[str, Any], other: str
) -> None:
    with pytest.raises(ConfigError) as info:
        load_config({"exporters": {"http": {"url": SECRET_URL, **options}}})
    message = str(info.value)
    assert '"exporters.http.url"' in message and f'"{other}"' in message and "hunter2" not in message
    with pytest.raises(InvalidInputError, match="carries credentials"):
        build_exporter("http", {"url": SECRET_URL, **options})


def test_a_token_in_another_header_goes_with_url_credentials(project: Path) -> None:
    config = load_config({"exporters": {"http": {"url": SECRET_URL, "token": "t0ken", "header": "X-Api-Key"}}})
    assert config.get("exporters.http.url") == SECRET_URL


@pytest.fixture
def collector() -> Iterator[Collector]:
    server = Collector()
    yield server
    server.stop()


def test_url_credentials_are_sent_as_basic_auth_and_never_logged(
    collector: Collector, tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    url = collector.url.replace("http://", "http://someone:hunter2%40x@")
    with caplog.at_level(logging.DEBUG):
        exporter = HTTPExporter(url, spill_path=tmp_path / "spill.jsonl", interval_s=3600)
        exporter.export([{"record_id": "a" * 32}])
        exporter.flush()
        exporter.close()
    (request,) = collector.requests
    assert request["headers"]["Authorization"] == "Basic " + base64.b64encode(b"someone:hunter2@x").decode()
    assert all("hunter2" not in record.getMessage() for record in caplog.records)
    assert any(collector.url.removeprefix("http://") in record.getMessage() for record in caplog.records)
