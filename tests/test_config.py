"""Layered configuration: every layer's precedence, errors naming setting, value and source, masked secrets,
the ``genai-footprint config`` command, and ``init()`` end to end over the real OpenAI SDK."""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from openai_fakes import FakeOpenAI

import genai_footprint as gf
from genai_footprint import _setup
from genai_footprint._cli import main
from genai_footprint._config import ENV_VARS, SETTINGS, Config, load_config
from genai_footprint._errors import ConfigError
from genai_footprint._registry import Registry
from genai_footprint._settings import (
    ExporterSettings,
    ExportSettings,
    GridSettings,
    InstrumentationSettings,
    ModelSettings,
)

ROOT = Path(__file__).resolve().parent.parent
LONG_TOKEN = "em-token-0123456789-abcd"  # 24 characters: shown as ****abcd
SHORT_TOKEN = "short-tok"  # under 12 characters: shown as ****


@dataclass
class Layers:
    """A project directory (the cwd), a user configuration directory and a clean GENAI_FOOTPRINT_* environment."""

    project: Path
    user_dir: Path
    monkeypatch: pytest.MonkeyPatch

    @property
    def user_file(self) -> Path:
        return self.user_dir / "config.toml"

    def write(self, where: str, text: str) -> Path:
        path = {"user": self.user_file, "project": self.project / "genai-footprint.toml"}.get(where)
        if path is None:
            assert where == "pyproject"
            path = self.project / "pyproject.toml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        return path

    def env(self, name: str, value: str) -> None:
        self.monkeypatch.setenv(name, value)


@pytest.fixture
def layers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Layers:
    for name in list(os.environ):
        if name.startswith("GENAI_FOOTPRINT_"):
            monkeypatch.delenv(name)
    project = tmp_path / "project"
    project.mkdir()
    monkeypatch.chdir(project)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return Layers(project, tmp_path / "xdg" / "genai-footprint", monkeypatch)


@pytest.fixture
def instrumentation(fresh_registry: Registry) -> Iterator[None]:
    logger = logging.getLogger("genai_footprint")
    level = logger.level
    gf.shutdown()
    yield
    gf.shutdown()
    logger.setLevel(level)


def source(config: Config, key: str) -> str:
    return config.values[key].source


def enabled(config: Config) -> tuple[str, ...]:
    """The built-in exporters the export section switches on, in table order."""
    return tuple(exporter.name for exporter in config.export.exporters)


def options(config: Config, name: str) -> dict[str, object]:
    """The options the export section gives an exporter that is on (unset ones left out)."""
    (found,) = [exporter for exporter in config.export.exporters if exporter.name == name]
    return dict(found.options)


# -- precedence -----------------------------------------------------------------------------------------


def test_defaults_when_nothing_is_configured(layers: Layers) -> None:
    config = load_config()
    assert {v.source for v in config.values.values()} == {"default"}
    assert set(config.values) == set(SETTINGS)
    assert config.get("providers") is None and config.get("zone") is None
    assert config.get("request_stream_usage") is True and config.get("strict") is False
    assert enabled(config) == () and config.models == () and config.files == ()
    assert config.get("exporters.jsonl.path") == layers.project / "genai-footprint.jsonl"
    cache = layers.user_dir.parent.parent / "cache"
    assert config.get("exporters.http.spill_path") == cache / "genai-footprint" / "http-spill.jsonl"
    assert config.get("electricity_maps.url") == "https://api.electricitymap.org/v3"


@dataclass(frozen=True)
class Case:
    key: str
    table: str  # the TOML table holding the setting ("" at the top)
    name: str  # the key inside that table
    toml: tuple[str, str, str, str]  # the value written in the user, pyproject, project and config files
    expected: tuple[object, object, object, object, object, object]  # after each layer, env and init
    env: tuple[str, str]
    init: dict[str, Any] | None


CASES = [
    Case(
        "zone", "", "zone", ('"DEU"', '"ESP"', '"fra"', '"ITA"'), ("DEU", "ESP", "FRA", "ITA", "SWE", "USA"),
        ("GENAI_FOOTPRINT_ZONE", "swe"), {"zone": "usa"},
    ),
    Case(
        "request_stream_usage", "", "request_stream_usage", ("false", "true", "false", "true"),
        (False, True, False, True, False, True), ("GENAI_FOOTPRINT_REQUEST_STREAM_USAGE", "no"),
        {"request_stream_usage": True},
    ),
    Case(
        "log_level", "", "log_level", ('"error"', '"INFO"', '"DEBUG"', '"CRITICAL"'),
        ("ERROR", "INFO", "DEBUG", "CRITICAL", "WARNING", "ERROR"), ("GENAI_FOOTPRINT_LOG_LEVEL", "warning"),
        {"log_level": logging.ERROR},
    ),
    Case(
        "provider.openai.pue", "provider.openai", "pue", ("1.5", "[1.2, 1.3]", "1.1", "2"),
        ((1.5, 1.5), (1.2, 1.3), (1.1, 1.1), (2.0, 2.0), (1.05, 1.25), None),
        ("GENAI_FOOTPRINT_OPENAI_PUE", "1.05,1.25"), None,
    ),
    Case(
        "export.queue_size", "export", "queue_size", ("1", "2", "3", "4"), (1, 2, 3, 4, 5, None),
        ("GENAI_FOOTPRINT_QUEUE_SIZE", "5"), None,
    ),
    Case(
        "tags.project", "tags", "project", ('"u"', '"p"', '"f"', '"c"'), ("u", "p", "f", "c", "e", "i"),
        ("GENAI_FOOTPRINT_TAGS", "project=e,other=x"), {"tags": {"project": "i"}},
    ),
    Case(
        "electricity_maps.token", "electricity_maps", "token", ('"uuuuuuuuuuuu"', '"pp"', '"ff"', '"cc"'),
        ("u" * 12, "pp", "ff", "cc", LONG_TOKEN, SHORT_TOKEN),
        ("GENAI_FOOTPRINT_ELECTRICITY_MAPS_TOKEN", LONG_TOKEN), {"electricity_maps_token": SHORT_TOKEN},
    ),
]  # fmt: skip


def _toml(case: Case, value: str, tool: bool = False) -> str:
    table = ".".join(p for p in ("tool.genai-footprint" if tool else "", case.table) if p)
    return (f"[{table}]\n" if table else "") + f"{case.name} = {value}\n"


@pytest.mark.parametrize("case", CASES, ids=[c.key for c in CASES])
def test_each_layer_overrides_the_one_below(layers: Layers, case: Case, tmp_path: Path) -> None:
    def check(expected_source: str, expected: object, kwargs: dict[str, Any] | None = None) -> None:
        config = load_config(kwargs or {})
        assert (source(config, case.key), config.get(case.key)) == (expected_source, expected)

    user = layers.write("user", _toml(case, case.toml[0]))
    check(f"user file {user}", case.expected[0])
    pyproject = layers.write("pyproject", '[project]\nname = "x"\n\n' + _toml(case, case.toml[1], tool=True))
    check(f"pyproject.toml {pyproject} [tool.genai-footprint]", case.expected[1])
    project = layers.write("project", _toml(case, case.toml[2]))  # the dedicated file wins; pyproject is ignored
    check(f"project file {project}", case.expected[2])
    assert load_config().files == (f"user file {user}", f"project file {project}")
    extra = tmp_path / "extra.toml"
    extra.write_text(_toml(case, case.toml[3]))
    layers.env("GENAI_FOOTPRINT_CONFIG", str(extra))  # replaces the project file lookup
    check(f"config file {extra}", case.expected[3])
    layers.env(*case.env)
    check(f"env {case.env[0]}", case.expected[4])
    if case.init is not None:
        (kwarg,) = case.init
        check(f"init({kwarg}=...)", case.expected[5], case.init)


def test_tags_merge_name_by_name(layers: Layers) -> None:
    layers.write("user", 'tags = { team = "search", project = "old" }\n')
    layers.write("project", '[tags]\nproject = "new"\nrun = 42\n')
    layers.env("GENAI_FOOTPRINT_TAGS", "stage=ci")
    config = load_config({"tags": {"run": "43"}})
    assert config.get("tags") == {"team": "search", "project": "new", "run": "43", "stage": "ci"}
    assert source(config, "tags.team").startswith("user file ")
    assert source(config, "tags.project").startswith("project file ")
    assert source(config, "tags.stage") == "env GENAI_FOOTPRINT_TAGS"
    assert source(config, "tags.run") == "init(tags=...)"


def test_init_config_file_beats_the_environment_and_must_exist(layers: Layers, tmp_path: Path) -> None:
    a, b = tmp_path / "a.toml", tmp_path / "b.toml"
    a.write_text("strict = true\n")
    b.write_text("strict = false\n")
    layers.write("project", 'zone = "FRA"\n')
    layers.env("GENAI_FOOTPRINT_CONFIG", str(a))
    config = load_config({"config_file": b})
    assert config.get("strict") is False and source(config, "strict") == f"config file {b}"
    assert config.get("zone") is None, "an explicit file replaces the project file"
    with pytest.raises(ConfigError) as info:
        load_config({"config_file": "missing.toml"})
    message = str(info.value)
    assert info.value.argument == "config_file"
    assert '"missing.toml"' in message and "init(config_file=...)" in message and "no such file" in message


def test_pyproject_without_our_table_is_not_a_layer(layers: Layers) -> None:
    layers.write("pyproject", '[project]\nname = "genai-footprint"\n\n[project.scripts]\ngenai-footprint = "x:main"\n')
    assert load_config().files == ()
    layers.write("pyproject", '[tool]\n"genai-footprint" = { zone = "FRA" }\n')  # every TOML spelling counts
    assert load_config().get("zone") == "FRA"


def test_relative_paths_are_taken_from_the_directory_init_runs_in(layers: Layers) -> None:
    layers.write("user", '[exporters.csv]\npath = "out/records.csv"\n')
    config = load_config()
    assert options(config, "csv") == {"path": layers.project / "out" / "records.csv"}


# -- sections -------------------------------------------------------------------------------------------


def test_sections_default_to_what_the_settings_table_says(layers: Layers) -> None:
    config = load_config()
    assert config.instrumentation == InstrumentationSettings()
    assert config.export == ExportSettings() and config.grid == GridSettings() and config.log_level is None


def test_sections_carry_the_checked_values(layers: Layers) -> None:
    path = layers.write(
        "project",
        'zone = "fra"\nproviders = ["mistral", "openai"]\nstrict = true\nlog_level = "info"\n'
        '[provider.openai]\nzone = "SWE"\npue = [1.1, 1.2]\n[provider.anthropic]\nwue = 0.5\n'
        '[exporters.otel]\n[export]\nqueue_size = 7\n[tags]\nteam = "search"\nrun = 3\n'
        '[electricity_maps]\ntoken = "tok"\nttl_s = 60\nurl = "https://em.example/v3/"\n',
    )
    config = load_config()
    assert config.instrumentation == InstrumentationSettings(
        providers=("mistralai", "openai"),
        zone="FRA",
        request_stream_usage=True,
        strict=True,
        zones_by_provider={"openai": "SWE"},
        pue_by_provider={"openai": (1.1, 1.2)},
        wue_by_provider={"anthropic": (0.5, 0.5)},
    )
    otel = ExporterSettings(name="otel", options={}, source=f"project file {path}")
    assert config.export == ExportSettings(
        exporters=(otel,), objects=(), tags={"team": "search", "run": "3"}, queue_size=7, otel_spans=True
    )
    assert config.grid == GridSettings(token="tok", ttl_s=60.0, url="https://em.example/v3")
    assert "tok" not in repr(config.grid)  # a secret stays out of logs
    assert config.log_level == "INFO"
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.grid.ttl_s = 1.0  # type: ignore[misc]
    with pytest.raises(TypeError):
        config.instrumentation.zones_by_provider["anthropic"] = "FRA"  # type: ignore[index]
    with pytest.raises(TypeError):
        config.export.tags["team"] = "other"  # type: ignore[index]


# -- exporters ------------------------------------------------------------------------------------------


def test_an_exporter_table_enables_it_unless_it_says_otherwise(layers: Layers) -> None:
    user = layers.write("user", '[exporters.jsonl]\npath = "user.jsonl"\n[exporters.otel]\n')
    project = layers.write(
        "project",
        '[exporters.otel]\nenabled = false\n[exporters.http]\nurl = "http://127.0.0.1:9/r"\ntoken = "tok"\n'
        "interval_s = 2\nmax_retries = 0\n[export]\nqueue_size = 50\n",
    )
    config = load_config()
    assert enabled(config) == ("jsonl", "http")
    assert [e.source for e in config.export.exporters] == [f"user file {user}", f"project file {project}"]
    assert options(config, "jsonl") == {"path": layers.project / "user.jsonl"}
    http = options(config, "http")
    assert http["url"] == "http://127.0.0.1:9/r" and http["token"] == "tok" and http["header"] == "Authorization"
    assert http["interval_s"] == 2.0 and isinstance(http["interval_s"], float)
    assert (http["batch_size"], http["max_retries"]) == (100, 0)
    assert config.get("exporters.otel") == {"enabled": False} and not config.export.otel_spans
    assert config.get("export.queue_size") == 50 and config.export.queue_size == 50


def test_environment_exporter_list_decides_exactly(layers: Layers) -> None:
    layers.write("project", "[exporters.jsonl]\n[exporters.csv]\n")
    layers.env("GENAI_FOOTPRINT_EXPORTERS", "csv, otel")
    layers.env("GENAI_FOOTPRINT_HTTP_URL", "https://collector.example/api")  # an option alone enables nothing here
    config = load_config()
    assert enabled(config) == ("csv", "otel") and config.export.otel_spans
    assert source(config, "exporters.jsonl.enabled") == "env GENAI_FOOTPRINT_EXPORTERS"


def test_an_exporter_option_variable_enables_its_exporter(layers: Layers) -> None:
    layers.env("GENAI_FOOTPRINT_JSONL_PATH", "/tmp/x.jsonl")
    config = load_config()
    assert enabled(config) == ("jsonl",)
    assert source(config, "exporters.jsonl.enabled") == "env GENAI_FOOTPRINT_JSONL_PATH"
    assert options(config, "jsonl") == {"path": Path("/tmp/x.jsonl")}


def test_init_exporters_names_objects_and_options(layers: Layers) -> None:
    class Mine:
        def export(self, record: object) -> None: ...

    mine = Mine()
    layers.write("project", '[exporters.jsonl]\npath = "a.jsonl"\n')
    config = load_config({"exporters": ["csv", mine]})
    assert enabled(config) == ("csv",) and config.export.objects == (mine,)
    config = load_config({"exporters": {"jsonl": {"path": "b.jsonl"}, "http": {"url": "http://127.0.0.1:1/x"}}})
    assert enabled(config) == ("jsonl", "http")
    assert options(config, "jsonl")["path"] == layers.project / "b.jsonl"
    assert source(config, "exporters.jsonl.path") == "init(exporters=...)"
    assert config.export.objects == ()
    assert enabled(load_config({"exporters": iter(["otel"])})) == ("otel",)


@pytest.mark.parametrize(
    ("exporters", "needles"),
    [
        (["jsnl"], ['"exporters" = "jsnl"', "unknown exporter"]),
        ([object()], ['"exporters"', "export() method"]),
        ({"jsonl": {"paht": "x"}}, ['"exporters.jsonl.paht"', "unknown setting", "exporters.jsonl.path"]),
        ({"http": {"url": "ftp://x"}}, ['"exporters.http.url" = "ftp://x"', "http:// or https://"]),
        ({"http": {}}, ['"exporters.http.url"', "required"]),
        ("jsonl", ['"exporters" = "jsonl"', "expected a list"]),
    ],
)
def test_bad_init_exporters(layers: Layers, exporters: Any, needles: list[str]) -> None:
    with pytest.raises(ConfigError) as info:
        load_config({"exporters": exporters})
    for needle in needles:
        assert needle in str(info.value)
    assert "init(exporters=...)" in str(info.value)


def test_http_exporter_needs_a_url(layers: Layers) -> None:
    path = layers.write("project", '[exporters.http]\ntoken = "abc"\n')
    with pytest.raises(ConfigError) as info:
        load_config()
    assert str(info.value) == (
        f'setting "exporters.http.url" (from project file {path}, which enables the http exporter): required'
    )


# -- custom models --------------------------------------------------------------------------------------


def test_custom_models_from_every_file_are_checked(layers: Layers) -> None:
    layers.write("user", '[[models]]\nprovider = "mistral"\nname = "mine"\nactive_params = [3, 4]\ntotal_params = 30\n')
    project = layers.write(
        "project",
        '[[models]]\nprovider = "openai"\nname = "my-llama-70b"\nactive_params = 70\nzone = "fra"\n'
        'aliases = ["llama"]\npue = [1.1, 1.2]\ntps = 40\nttft = 0.5\n',
    )
    config = load_config()
    first, second = config.models
    assert first.provider == "mistralai" and first.active_params == (3.0, 4.0)
    assert first.total_params == (30.0, 30.0) and first.source.startswith("user file ")
    assert second == ModelSettings(
        provider="openai",
        name="my-llama-70b",
        active_params=(70.0, 70.0),
        total_params=None,
        zone="FRA",
        tps=40.0,
        ttft=0.5,
        pue=(1.1, 1.2),
        wue=None,
        aliases=("llama",),
        source=f"project file {project}",
    )
    shown = {key: (value, src) for key, value, src in config.describe()}
    assert shown["models[1]"][0] == (
        "openai/my-llama-70b: active_params 70, zone FRA, tps 40, ttft 0.5, pue [1.1, 1.2], aliases llama"
    )
    assert shown["models[1]"][1] == f"project file {project}"


@pytest.mark.parametrize(
    ("row", "needles"),
    [
        ('provider = "openai"\nname = "m"', ['"models[0].active_params"', "required"]),
        ('provider = "openai"\nname = "m"\nactive_params = 80\ntotal_params = 70', ['models[0].active_params" = 80']),
        ('provider = "opnai"\nname = "m"\nactive_params = 8', ['"models[0].provider" = "opnai"', "unknown provider"]),
        ('provider = "openai"\nname = "m"\nactive_params = 8\nzone = "XXZ"', ['"models[0].zone" = "XXZ"']),
        ('provider = "openai"\nname = "m"\nactive_params = [9, 8]', ["inverted range"]),
        ('provider = "openai"\nname = "m"\nactive_params = 8\nparams = 8', ['"models[0].params"', "unknown"]),
        ('provider = "openai"\nname = ""\nactive_params = 8', ['"models[0].name" = ""']),
    ],
)
def test_bad_custom_models(layers: Layers, row: str, needles: list[str]) -> None:
    path = layers.write("project", f"[[models]]\n{row}\n")
    with pytest.raises(ConfigError) as info:
        load_config()
    for needle in [*needles, f"project file {path}"]:
        assert needle in str(info.value)


@pytest.mark.parametrize(
    ("key", "toml", "value"),
    [
        ("pue", "[1.5, 1.1]", (1.5, 1.1)),
        ("wue", "-1", -1),
        ("tps", "0", 0),
        ("ttft", "true", True),
        ("zone", '"Mars"', "Mars"),
        ("aliases", '["a", ""]', ["a", ""]),
        ("total_params", "4", 4),
    ],
)
def test_a_models_row_is_refused_as_register_model_refuses_it(
    layers: Layers, fresh_registry: Registry, key: str, toml: str, value: object
) -> None:
    with pytest.raises(gf.InvalidInputError) as direct:
        gf.register_model("openai", "m", active_params=5, **{key: value})  # type: ignore[arg-type]
    path = layers.write("project", f'[[models]]\nprovider = "openai"\nname = "m"\nactive_params = 5\n{key} = {toml}\n')
    with pytest.raises(ConfigError) as loaded:
        load_config()
    argument = direct.value.argument
    assert loaded.value.argument == f"models[0].{argument}" and loaded.value.source == f"project file {path}"
    assert str(loaded.value).endswith(f"(from project file {path}): {str(direct.value).removeprefix(argument + ': ')}")


# -- bad values and unknown keys ------------------------------------------------------------------------


def _write_bad(layers: Layers, layer: str, text: str) -> str:
    if layer == "pyproject":
        path = layers.write(layer, "[tool.genai-footprint.provider.openai]\n" + text)
        return f"pyproject.toml {path} [tool.genai-footprint]"
    path = layers.write(layer, "[provider.openai]\n" + text)
    return f"{'user' if layer == 'user' else 'project'} file {path}"


@pytest.mark.parametrize("layer", ["user", "project", "pyproject"])
@pytest.mark.parametrize(
    ("text", "key", "shown", "message"),
    [
        ('pue = "abc"', "pue", '"abc"', "expected a number > 0 or a [min, max] pair"),
        ("pue = [1.5, 1.1]", "pue", "[1.5, 1.1]", "inverted range: min 1.5 is greater than max 1.1"),
        ("wue = -1", "wue", "-1", "expected a number >= 0 or a [min, max] pair"),
        ('zone = "Mars"', "zone", '"Mars"', "unknown electricity-mix zone"),
    ],
)
def test_bad_value_in_a_file(layers: Layers, layer: str, text: str, key: str, shown: str, message: str) -> None:
    src = _write_bad(layers, layer, text + "\n")
    with pytest.raises(ConfigError) as info:
        load_config()
    assert str(info.value).startswith(f'setting "provider.openai.{key}" = {shown} (from {src}): {message}')
    assert info.value.argument == f"provider.openai.{key}" and info.value.source == src


@pytest.mark.parametrize(
    ("name", "text", "key", "shown", "message"),
    [
        ("OPENAI_PUE", "abc", "provider.openai.pue", '"abc"', "expected a number or a [min, max] pair"),
        ("MISTRALAI_WUE", "1,2,3", "provider.mistralai.wue", '"1,2,3"', "expected a number"),
        ("STRICT", "maybe", "strict", '"maybe"', "expected one of true"),
        ("QUEUE_SIZE", "0", "export.queue_size", "0", "expected a whole number >= 1"),
        ("HTTP_INTERVAL_S", "soon", "exporters.http.interval_s", '"soon"', "expected a number"),
        ("LOG_LEVEL", "LOUD", "log_level", '"LOUD"', "expected a logging level"),
        ("TAGS", "a=1,b", "tags", '"a=1,b"', "expected name=value pairs"),
        ("EXPORTERS", "jsonl,s3", "exporters", '"s3"', "unknown exporter"),
        ("ELECTRICITY_MAPS_URL", "api.example", "electricity_maps.url", '"api.example"', "expected an http"),
    ],
)
def test_bad_value_in_the_environment(layers: Layers, name: str, text: str, key: str, shown: str, message: str) -> None:
    layers.env(f"GENAI_FOOTPRINT_{name}", text)
    with pytest.raises(ConfigError) as info:
        load_config()
    assert str(info.value).startswith(f'setting "{key}" = {shown} (from env GENAI_FOOTPRINT_{name}): {message}')


@pytest.mark.parametrize(
    ("kwargs", "key", "shown", "message"),
    [
        ({"zone": "XXX"}, "zone", '"XXX"', "unknown electricity-mix zone"),
        ({"providers": [42]}, "providers", "[42]", "expected a provider name"),
        ({"request_stream_usage": "yes"}, "request_stream_usage", '"yes"', "expected true or false"),
        ({"log_level": 7}, "log_level", "7", "expected a logging level"),
        ({"tags": {"bad name": "x"}}, "tags", '{"bad name": "x"}', "bad tag name 'bad name'"),
        ({"tags": {"run": [1]}}, "tags.run", "[1]", "expected a string"),
    ],
)
def test_bad_value_in_init_arguments(
    layers: Layers, kwargs: dict[str, Any], key: str, shown: str, message: str
) -> None:
    (kwarg,) = kwargs
    with pytest.raises(ConfigError) as info:
        load_config(kwargs)
    assert str(info.value).startswith(f'setting "{key}" = {shown} (from init({kwarg}=...)): {message}')


@pytest.mark.parametrize(
    ("text", "key", "hint"),
    [
        ('zonee = "FRA"', "zonee", "did you mean 'zone'"),
        ("[provider.opnai]\npue = 1.1", "provider.opnai", "did you mean 'provider.openai'"),
        ("[provider.openai]\npeu = 1.1", "provider.openai.peu", "did you mean 'provider.openai.pue'"),
        ('[exporters.jsnl]\npath = "x"', "exporters.jsnl", "did you mean 'exporters.jsonl'"),
        ("[electricity_maps]\nttl = 60", "electricity_maps.ttl", "did you mean 'electricity_maps.ttl_s'"),
    ],
)
def test_unknown_keys_in_files_are_rejected(layers: Layers, text: str, key: str, hint: str) -> None:
    path = layers.write("project", text + "\n")
    with pytest.raises(ConfigError) as info:
        load_config()
    assert str(info.value).startswith(f'setting "{key}" (from project file {path}): unknown setting; {hint}')


def test_unknown_environment_variable_is_rejected(layers: Layers) -> None:
    layers.env("GENAI_FOOTPRINT_OPENAI_ZOME", "FRA")
    with pytest.raises(ConfigError) as info:
        load_config()
    assert "GENAI_FOOTPRINT_OPENAI_ZOME" in str(info.value)
    assert "did you mean GENAI_FOOTPRINT_OPENAI_ZONE" in str(info.value)


def test_invalid_toml_names_the_file(layers: Layers) -> None:
    path = layers.write("user", "zone = \n")
    with pytest.raises(ConfigError) as info:
        load_config()
    assert str(info.value).startswith(f"user file {path}: invalid TOML: ")


def test_empty_environment_variables_count_as_unset(layers: Layers) -> None:
    layers.env("GENAI_FOOTPRINT_ZONE", "")
    layers.env("GENAI_FOOTPRINT_CONFIG", "")
    assert source(load_config(), "zone") == "default"


# -- secrets --------------------------------------------------------------------------------------------


def test_secrets_are_masked_in_describe_json_and_errors(layers: Layers) -> None:
    layers.write("project", f'[exporters.http]\nurl = "http://127.0.0.1:1/x"\ntoken = "{SHORT_TOKEN}"\n')
    layers.env("GENAI_FOOTPRINT_ELECTRICITY_MAPS_TOKEN", LONG_TOKEN)
    config = load_config()
    assert config.get("electricity_maps.token") == LONG_TOKEN  # the value itself is whole, for the exporters
    shown = {key: value for key, value, _ in config.describe()}
    assert shown["electricity_maps.token"] == "****abcd"
    assert shown["exporters.http.token"] == "****"
    dumped = json.dumps(config.as_json())
    assert LONG_TOKEN not in dumped and SHORT_TOKEN not in dumped and "****abcd" in dumped
    with pytest.raises(ConfigError) as info:
        load_config({"electricity_maps_token": "bad\x07" + LONG_TOKEN})
    assert LONG_TOKEN not in str(info.value) and '"****abcd' in str(info.value)


def test_describe_lists_every_setting_with_its_source(layers: Layers) -> None:
    layers.env("GENAI_FOOTPRINT_PROVIDERS", "Mistral, openai")
    config = load_config({"tags": {"a": "b"}})
    rows = config.describe()
    keys = [key for key, _, _ in rows]
    assert keys[: keys.index("tags.a") + 1] == [
        "providers",
        "zone",
        "request_stream_usage",
        "strict",
        "max_output_tokens",
        "methodology",
        "log_level",
        "tags.a",
    ]
    assert set(keys) == set(SETTINGS) | {"tags.a"}
    assert ("providers", "mistralai, openai", "env GENAI_FOOTPRINT_PROVIDERS") in rows
    assert config.get("provider.openai") == {"zone": None, "pue": None, "wue": None}
    assert config.get("nothing", "fallback") == "fallback"


# -- the command line -----------------------------------------------------------------------------------


def _configured(layers: Layers) -> Path:
    path = layers.write(
        "project", f'zone = "FRA"\n[exporters.http]\nurl = "http://127.0.0.1:1/x"\ntoken = "{LONG_TOKEN}"\n'
    )
    layers.env("GENAI_FOOTPRINT_ELECTRICITY_MAPS_TOKEN", SHORT_TOKEN)
    return path


def test_cli_prints_the_effective_settings(layers: Layers, capsys: pytest.CaptureFixture[str]) -> None:
    path = _configured(layers)
    assert main(["config"]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    assert LONG_TOKEN not in out and SHORT_TOKEN not in out
    lines = {re.split(r"\s{2,}", line)[0]: re.split(r"\s{2,}", line)[1:] for line in out.splitlines()}
    assert lines["zone"] == ["FRA", f"project file {path}"]
    assert lines["exporters.http.token"] == ["****abcd", f"project file {path}"]
    assert lines["electricity_maps.token"] == ["****", "env GENAI_FOOTPRINT_ELECTRICITY_MAPS_TOKEN"]
    assert lines["strict"] == ["false", "default"]
    assert out.rstrip().endswith(f"Files read: project file {path}")

    assert main(["config", "--json"]) == 0
    out, _ = capsys.readouterr()
    data = json.loads(out)
    assert data["settings"]["exporters.http.token"] == {"value": "****abcd", "source": f"project file {path}"}
    assert data["settings"]["exporters.http.enabled"]["value"] is True
    assert LONG_TOKEN not in out and SHORT_TOKEN not in out


def test_cli_bad_value_is_one_line_and_exit_2(layers: Layers, capsys: pytest.CaptureFixture[str]) -> None:
    layers.env("GENAI_FOOTPRINT_OPENAI_PUE", "abc")
    assert main(["config"]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err == (
        'genai-footprint: error: setting "provider.openai.pue" = "abc" (from env GENAI_FOOTPRINT_OPENAI_PUE): '
        "expected a number or a [min, max] pair (as MIN,MAX)\n"
    )


def test_cli_config_in_a_subprocess(layers: Layers, tmp_path: Path) -> None:
    path = _configured(layers)
    extra = tmp_path / "other.toml"
    extra.write_text('zone = "SWE"\n')
    out = subprocess.run(
        [sys.executable, "-m", "genai_footprint._cli", "config", "--config-file", str(extra)],
        capture_output=True, text=True, cwd=layers.project, env=dict(os.environ), check=False, timeout=60,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert LONG_TOKEN not in out.stdout and SHORT_TOKEN not in out.stdout
    assert re.search(rf"^zone\s+SWE\s+config file {re.escape(str(extra))}$", out.stdout, re.M)
    assert re.search(
        r"^electricity_maps\.token\s+\*\*\*\*\s+env GENAI_FOOTPRINT_ELECTRICITY_MAPS_TOKEN$", out.stdout, re.M
    )
    assert str(path) not in out.stdout, "--config-file replaces the project file"


# -- init() ---------------------------------------------------------------------------------------------


def test_init_applies_the_project_file_end_to_end(layers: Layers, instrumentation: None) -> None:
    layers.write(
        "project",
        'log_level = "ERROR"\n'
        "[provider.openai]\npue = [1.3, 1.4]\nwue = 0.2\n"
        '[[models]]\nprovider = "openai"\nname = "my-llama-70b"\nactive_params = 70\nzone = "FRA"\n',
    )
    gf.init(providers="openai")
    assert logging.getLogger("genai_footprint").level == logging.ERROR
    config = _setup.current_config()
    assert config is not None and config.get("provider.openai.pue") == (1.3, 1.4)

    server = FakeOpenAI(model="my-llama-70b", completion_tokens=300)
    client = server.client()
    result = client.chat.completions.create(model="my-llama-70b", messages=[{"role": "user", "content": "hi"}])
    inputs = result.impacts.inputs
    assert inputs.model_resolved == "my-llama-70b" and inputs.zone == "FRA"
    assert (inputs.active_params.min, inputs.active_params.max) == (70, 70)
    assert (inputs.pue.min, inputs.pue.max) == (1.3, 1.4)
    assert (inputs.wue.min, inputs.wue.max) == (0.2, 0.2)
    expected = gf.estimate(
        "openai", "my-llama-70b", output_tokens=300, latency_s=inputs.latency_s, pue=(1.3, 1.4), wue=0.2
    )
    assert result.impacts.energy == expected.energy and result.impacts.gwp == expected.gwp

    server.model = "gpt-4o-mini"
    other = client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])
    assert (other.impacts.inputs.pue.min, other.impacts.inputs.pue.max) == (1.3, 1.4)
    assert other.impacts.inputs.zone == gf.estimate("openai", "gpt-4o-mini", output_tokens=1).inputs.zone


def test_per_provider_zone_yields_to_a_models_own_zone(layers: Layers, instrumentation: None) -> None:
    layers.write(
        "project",
        '[provider.openai]\nzone = "SWE"\npue = 1.2\n'
        '[[models]]\nprovider = "openai"\nname = "on-prem"\nactive_params = 8\nzone = "FRA"\npue = 1.6\n',
    )
    gf.init(providers=["openai"])
    server = FakeOpenAI(model="on-prem")
    client = server.client()
    own = client.chat.completions.create(model="on-prem", messages=[{"role": "user", "content": "hi"}]).impacts.inputs
    assert (own.zone, own.pue.min) == ("FRA", 1.6)
    server.model = "gpt-4o-mini"
    hosted = client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "x"}])
    assert (hosted.impacts.inputs.zone, hosted.impacts.inputs.pue.min) == ("SWE", 1.2)
    gf.init(providers=["openai"], zone="DEU")  # the global zone overrides every call's zone
    again = client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "x"}])
    assert again.impacts.inputs.zone == "DEU"


def test_init_environment_and_arguments(layers: Layers, instrumentation: None) -> None:
    layers.env("GENAI_FOOTPRINT_REQUEST_STREAM_USAGE", "false")
    layers.env("GENAI_FOOTPRINT_PROVIDERS", "openai")
    gf.init()
    runtime = _setup.current_runtime()
    assert runtime is not None and runtime.settings is not None
    assert runtime.settings.request_stream_usage is False
    assert _setup.instrumentor().enabled == {"openai"}
    gf.init(request_stream_usage=True)
    assert runtime.settings.request_stream_usage is True


def test_init_bad_setting_patches_nothing(layers: Layers, instrumentation: None) -> None:
    layers.env("GENAI_FOOTPRINT_ZONE", "Atlantis")
    with pytest.raises(gf.ConfigError) as info:
        gf.init(providers=["openai"])
    assert info.value.argument == "zone" and "env GENAI_FOOTPRINT_ZONE" in str(info.value)
    assert isinstance(info.value, gf.InvalidInputError) and isinstance(info.value, ValueError)
    assert _setup.current_runtime() is None and _setup.instrumentor().patched() == []


# -- documentation ---------------------------------------------------------------------------------------


def test_every_setting_and_variable_is_documented() -> None:
    text = (ROOT / "docs" / "configuration.md").read_text()
    missing = [key for key in SETTINGS if f"`{key}`" not in text]
    missing += [name for name in [*ENV_VARS, "GENAI_FOOTPRINT_TAGS", "GENAI_FOOTPRINT_EXPORTERS",
                                  "GENAI_FOOTPRINT_CONFIG"] if f"`{name}`" not in text]  # fmt: skip
    assert missing == []
