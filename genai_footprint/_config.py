"""Layered configuration: defaults < user file < project file < ``GENAI_FOOTPRINT_*`` variables < ``init()``.

Pure: reads files and the environment, checks every value and returns a frozen ``Config``. It instruments
nothing and imports no SDK; the registry is loaded only to check a zone or a custom model.
"""

from __future__ import annotations

import logging
import math
import os
import re
import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, NamedTuple
from urllib.parse import urlsplit

from genai_footprint._errors import ConfigError

PROVIDERS = ("openai", "anthropic", "mistralai")
EXPORTERS = ("jsonl", "csv", "http", "otel")
PROVIDER_ALIASES = {"mistral": "mistralai", "azure": "openai", "azure_openai": "openai"}
ENV_PREFIX = "GENAI_FOOTPRINT_"
CONFIG_ENV = "GENAI_FOOTPRINT_CONFIG"
PROJECT_FILE = "genai-footprint.toml"
PYPROJECT_TABLE = "genai-footprint"  # [tool.genai-footprint]
USER_FILE = "config.toml"
DEFAULT_SOURCE = "default"

_LOG_LEVELS = ("CRITICAL", "ERROR", "WARNING", "INFO", "DEBUG", "NOTSET")
_TRUE, _FALSE = ("true", "1", "yes", "on"), ("false", "0", "no", "off")
# Patterns are compiled on first use (by re's cache), not at import: init() should stay cheap.
_HEADER_NAME = r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$"
_TAG_NAME = r"^[A-Za-z_][A-Za-z0-9_-]*$"
# Only a pyproject.toml that can hold [tool.genai-footprint] is parsed (tomllib costs milliseconds to import).
_PYPROJECT_HINT = (
    r"""(?m)^\s*\[\[?\s*["']?tool["']?\s*\.\s*["']?genai-footprint"""  # [tool.genai-footprint...]
    r"""|^\s*["']?tool["']?\s*\.\s*["']?genai-footprint"""  # tool.genai-footprint.zone = ...
    r"""|^\s*["']?tool["']?\s*="""  # tool = { ... }
    r"""|^\s*\[\s*["']?tool["']?\s*\]"""  # [tool]
)


class _Bad(Exception):
    """A value refused by a check; the loader adds the setting, the value and its source."""


# -- checks: each takes the raw value (from TOML, init() or parsed from an environment variable) ----------


def _text(value: object, what: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise _Bad(f"expected {what}")
    return value.strip()


def _bool(value: object, cwd: Path) -> bool:
    if not isinstance(value, bool):
        raise _Bad("expected true or false")
    return value


def _number(value: object, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _Bad(f"expected {what}")
    number = float(value)
    if not math.isfinite(number):
        raise _Bad(f"expected {what}, finite")
    return number


def _positive_float(value: object, cwd: Path) -> float:
    number = _number(value, "a number > 0")
    if number <= 0:
        raise _Bad("expected a number > 0")
    return number


def _integer(minimum: int) -> Callable[[object, Path], int]:
    def check(value: object, cwd: Path) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise _Bad(f"expected a whole number >= {minimum}")
        return value

    return check


def _range(allow_zero: bool) -> Callable[[object, Path], tuple[float, float]]:
    what = f"a number {'>= 0' if allow_zero else '> 0'} or a [min, max] pair"

    def bound(item: object) -> float:
        number = _number(item, what)
        if number < 0 or (number == 0 and not allow_zero):
            raise _Bad(f"expected {what}")
        return number

    def check(value: object, cwd: Path) -> tuple[float, float]:
        if isinstance(value, list | tuple):
            if len(value) != 2:
                raise _Bad(f"expected {what}")
            low, high = bound(value[0]), bound(value[1])
            if low > high:
                raise _Bad(f"inverted range: min {low:g} is greater than max {high:g}")
            return (low, high)
        number = bound(value)
        return (number, number)

    return check


def _provider(value: object) -> str:
    name = _text(value, f"a provider name ({', '.join(PROVIDERS)})").lower()
    return PROVIDER_ALIASES.get(name, name)


def _providers(value: object, cwd: Path) -> tuple[str, ...]:
    # Unknown names are left to the instrumentor, which warns (or raises with strict=true) as init() always did.
    items = [value] if isinstance(value, str) else value
    if isinstance(items, Mapping) or not isinstance(items, Iterable):
        raise _Bad(f"expected a list of provider names ({', '.join(PROVIDERS)})")
    return tuple(dict.fromkeys(_provider(item) for item in items))


def _zone(value: object, cwd: Path) -> str:
    code = _text(value, 'a zone code such as "FRA" (ISO 3166-1 alpha-3) or "WOR"').upper()
    from genai_footprint._registry import get_registry

    registry = get_registry()
    if code not in registry.mixes:
        suggestions = registry.zone_suggestions(code)
        hint = f"; did you mean {', '.join(suggestions)}?" if suggestions else ""
        raise _Bad(f"unknown electricity-mix zone{hint} (list them with 'genai-footprint zones')")
    return code


def _log_level(value: object, cwd: Path) -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        name = logging.getLevelName(value)
        if name in _LOG_LEVELS:
            return str(name)
    elif isinstance(value, str) and value.strip().upper() in _LOG_LEVELS:
        return value.strip().upper()
    raise _Bad(f"expected a logging level: {', '.join(_LOG_LEVELS)}")


def _tag(value: object, cwd: Path) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return str(value)
    raise _Bad("expected a string (or a number) as a tag's value")


def _path(value: object, cwd: Path) -> Path:
    if isinstance(value, os.PathLike):
        value = os.fspath(value)
    text = _text(value, "a file path")
    return cwd / Path(text).expanduser()  # relative to the directory init() runs in


def _url(value: object, cwd: Path) -> str:
    text = _text(value, "an http:// or https:// URL")
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise _Bad("expected an http:// or https:// URL with a host")
    return text


def _base_url(value: object, cwd: Path) -> str:
    return _url(value, cwd).rstrip("/")


def _secret(value: object, cwd: Path) -> str:
    text = _text(value, "a non-empty string")
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in text):
        raise _Bad("contains control characters")
    return text


def _header(value: object, cwd: Path) -> str:
    text = _text(value, "an HTTP header name")
    if not re.match(_HEADER_NAME, text):
        raise _Bad("expected an HTTP header name (letters, digits and !#$%&'*+-.^_`|~)")
    return text


# -- parsers of environment variables: text → the raw value a file would hold -----------------------------


def _env_text(text: str) -> object:
    return text


def _env_bool(text: str) -> object:
    word = text.strip().lower()
    if word in _TRUE:
        return True
    if word in _FALSE:
        return False
    raise _Bad(f"expected one of {', '.join(_TRUE)} or {', '.join(_FALSE)}")


def _env_list(text: str) -> object:
    return [item.strip() for item in text.split(",") if item.strip()]


def _env_number(text: str) -> object:
    try:
        return float(text)
    except ValueError:
        raise _Bad("expected a number") from None


def _env_int(text: str) -> object:
    try:
        return int(text.strip())
    except ValueError:
        raise _Bad("expected a whole number") from None


def _env_range(text: str) -> object:
    parts = [p.strip() for p in text.split(",")]
    try:
        numbers = [float(p) for p in parts]
    except ValueError:
        raise _Bad("expected a number or a [min, max] pair (as MIN,MAX)") from None
    if len(numbers) == 1:
        return numbers[0]
    if len(numbers) == 2:
        return numbers
    raise _Bad("expected a number or a [min, max] pair (as MIN,MAX)")


def _env_pairs(text: str) -> dict[str, str]:
    pairs: dict[str, str] = {}
    for item in text.split(","):
        if not item.strip():
            continue
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise _Bad("expected name=value pairs separated by commas")
        pairs[key.strip()] = value.strip()
    return pairs


# -- the settings ---------------------------------------------------------------------------------------


class Setting(NamedTuple):
    """One setting: its dotted key (also its place in a TOML file), check, default and other names."""

    key: str
    check: Callable[[object, Path], object]
    default: object = None
    env: str | None = None
    parse: Callable[[str], object] = _env_text
    kwarg: str | None = None
    secret: bool = False
    unset: str = "-"  # how describe() shows None


def _settings() -> dict[str, Setting]:
    rows = [
        Setting("providers", _providers, None, "PROVIDERS", _env_list, "providers", unset="(every installed SDK)"),
        Setting("zone", _zone, None, "ZONE", kwarg="zone", unset="(per call)"),
        Setting("request_stream_usage", _bool, True, "REQUEST_STREAM_USAGE", _env_bool, "request_stream_usage"),
        Setting("strict", _bool, False, "STRICT", _env_bool, "strict"),
        Setting("log_level", _log_level, None, "LOG_LEVEL", kwarg="log_level", unset="(left alone)"),
    ]
    for provider in PROVIDERS:
        env = provider.upper()
        rows += [
            Setting(f"provider.{provider}.zone", _zone, None, f"{env}_ZONE", unset="(registry)"),
            Setting(f"provider.{provider}.pue", _range(False), None, f"{env}_PUE", _env_range, unset="(registry)"),
            Setting(f"provider.{provider}.wue", _range(True), None, f"{env}_WUE", _env_range, unset="(registry)"),
        ]
    enabled = {name: Setting(f"exporters.{name}.enabled", _bool, False) for name in EXPORTERS}
    rows += [
        enabled["jsonl"],
        Setting("exporters.jsonl.path", _path, "genai-footprint.jsonl", "JSONL_PATH"),
        enabled["csv"],
        Setting("exporters.csv.path", _path, "genai-footprint.csv", "CSV_PATH"),
        enabled["otel"],
        enabled["http"],
        Setting("exporters.http.url", _url, None, "HTTP_URL"),
        Setting("exporters.http.token", _secret, None, "HTTP_TOKEN", secret=True),
        Setting("exporters.http.header", _header, "Authorization", "HTTP_HEADER"),
        Setting("exporters.http.interval_s", _positive_float, 10.0, "HTTP_INTERVAL_S", _env_number),
        Setting("exporters.http.batch_size", _integer(1), 100, "HTTP_BATCH_SIZE", _env_int),
        Setting("exporters.http.max_retries", _integer(0), 5, "HTTP_MAX_RETRIES", _env_int),
        Setting("exporters.http.spill_path", _path, None, "HTTP_SPILL_PATH"),
        Setting("export.queue_size", _integer(1), 10000, "QUEUE_SIZE", _env_int),
        Setting(
            "electricity_maps.token",
            _secret,
            None,
            "ELECTRICITY_MAPS_TOKEN",
            kwarg="electricity_maps_token",
            secret=True,
        ),
        Setting("electricity_maps.ttl_s", _positive_float, 900.0, "ELECTRICITY_MAPS_TTL_S", _env_number),
        Setting("electricity_maps.url", _base_url, "https://api.electricitymap.org/v3", "ELECTRICITY_MAPS_URL"),
    ]
    return {s.key: s for s in rows}


SETTINGS: dict[str, Setting] = _settings()
ENV_VARS: dict[str, str] = {ENV_PREFIX + s.env: s.key for s in SETTINGS.values() if s.env}
# Variables that are not one setting each.
TAGS_ENV = "GENAI_FOOTPRINT_TAGS"
EXPORTERS_ENV = "GENAI_FOOTPRINT_EXPORTERS"
INIT_KWARGS = ("config_file", "exporters", "tags", *(s.kwarg for s in SETTINGS.values() if s.kwarg))
_MODEL_SOURCE = "custom model from "
MODEL_KEYS = ("provider", "name", "active_params", "total_params", "zone", "tps", "ttft", "pue", "wue", "aliases")
_RANK = {key: rank for rank, key in enumerate(SETTINGS)}
_PREFIXES = {key.rsplit(".", i)[0] for key in SETTINGS for i in range(1, key.count(".") + 1)}


# -- the result -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Value:
    """One effective setting: its value, where it came from and whether it must not be shown in full."""

    value: object
    source: str
    secret: bool = False


@dataclass(frozen=True)
class Config:
    """The effective configuration: every setting with its source, custom models and user exporter objects."""

    values: Mapping[str, Value]  # dotted key → Value, e.g. "zone", "provider.openai.pue", "tags.project"
    models: tuple[Mapping[str, object], ...] = ()  # register_model(**row) arguments, checked
    exporter_objects: tuple[object, ...] = ()  # user exporters given to init(exporters=[...])
    files: tuple[str, ...] = field(default=())  # the sources of the files read, lowest layer first

    def get(self, key: str, default: object = None) -> object:
        """A setting's value; a prefix (``"tags"``, ``"provider.openai"``) gives a dict of the settings under it."""
        found = self.values.get(key)
        if found is not None:
            return found.value
        prefix = key + "."
        below = {k[len(prefix) :]: v.value for k, v in self.values.items() if k.startswith(prefix)}
        return below or default

    def enabled_exporters(self) -> tuple[str, ...]:
        """The built-in exporters switched on, e.g. ``("jsonl", "http")``."""
        return tuple(name for name in EXPORTERS if self.values[f"exporters.{name}.enabled"].value is True)

    def exporter_options(self, name: str) -> dict[str, object]:
        """The checked options of one built-in exporter (``enabled`` left out), e.g. ``{"path": Path(...)}``."""
        if name not in EXPORTERS:
            raise KeyError(f"unknown exporter {name!r}; known: {', '.join(EXPORTERS)}")
        prefix = f"exporters.{name}."
        return {
            k[len(prefix) :]: v.value
            for k, v in self.values.items()
            if k.startswith(prefix) and k != prefix + "enabled"
        }

    def describe(self) -> list[tuple[str, str, str]]:
        """(setting, value as shown, source) for every setting, model and exporter object; secrets masked."""
        rows = [(key, show(key, v), v.source) for key, v in self.values.items()]
        for index, model in enumerate(self.models):
            rows.append((f"models[{index}]", _show_model(model), model_source(model)))
        for index, obj in enumerate(self.exporter_objects):
            rows.append((f"exporters[{index}]", type(obj).__qualname__, "init(exporters=...)"))
        return rows

    def as_json(self) -> dict[str, object]:
        """The same as ``describe()`` with typed values (JSON-ready); secrets masked."""
        settings = {key: {"value": _jsonable(v), "source": v.source} for key, v in self.values.items()}
        models = [{k: _json_value(v) for k, v in model.items()} for model in self.models]
        objects = [type(obj).__qualname__ for obj in self.exporter_objects]
        return {"settings": settings, "models": models, "exporter_objects": objects, "files": list(self.files)}


def mask(secret: str) -> str:
    """``****`` and the last 4 characters (only ``****`` for a secret shorter than 12 characters)."""
    return "****" + secret[-4:] if len(secret) >= 12 else "****"


def show(key: str, value: Value) -> str:
    """How ``describe()`` shows a value."""
    if value.value is None:
        setting = SETTINGS.get(key)
        return setting.unset if setting else "-"
    if value.secret:
        return mask(str(value.value))
    return _plain(value.value)


def _plain(v: object) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return f"{v:g}"
    if isinstance(v, tuple) and len(v) == 2 and all(isinstance(x, float) for x in v):
        return f"{v[0]:g}" if v[0] == v[1] else f"[{v[0]:g}, {v[1]:g}]"
    if isinstance(v, tuple):
        return ", ".join(map(str, v)) or "(none)"
    return str(v)


def model_source(model: Mapping[str, object]) -> str:
    """Where a custom model row came from (kept in its registry ``sources``)."""
    sources = model["sources"]
    assert isinstance(sources, tuple)
    return str(sources[0]).removeprefix(_MODEL_SOURCE)


def _show_model(model: Mapping[str, object]) -> str:
    parts = [f"{key} {_plain(model[key])}" for key in MODEL_KEYS[2:] if model.get(key) not in (None, ())]
    return f"{model['provider']}/{model['name']}: " + ", ".join(parts)


def _json_value(value: object) -> object:
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, tuple):
        return [_json_value(v) for v in value]
    return value


def _jsonable(value: Value) -> object:
    if value.secret and value.value is not None:
        return mask(str(value.value))
    return _json_value(value.value)


def _quoted(value: object, secret: bool) -> str:
    """A value as an error message shows it (JSON-like; a secret masked)."""
    import json

    if secret and value is not None:
        return json.dumps(mask(str(value)))
    try:
        return json.dumps(value, default=repr, ensure_ascii=False)
    except ValueError:  # e.g. a circular structure
        return repr(value)


def _error(key: str, value: object, source: str, message: str, *, secret: bool = False) -> ConfigError:
    text = f'setting "{key}" = {_quoted(value, secret)} (from {source}): {message}'
    return ConfigError(key, text, source=source)


def _unknown(key: str, source: str, known: Iterable[str]) -> ConfigError:
    import difflib

    close = difflib.get_close_matches(key, list(known), n=3, cutoff=0.6)
    hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""
    return ConfigError(key, f'setting "{key}" (from {source}): unknown setting{hint}', source=source)


# -- the loader -----------------------------------------------------------------------------------------


class _Loader:
    def __init__(self, cwd: Path) -> None:
        self.cwd = cwd
        self.values: dict[str, Value] = {}
        self.models: list[dict[str, object]] = []
        self.files: list[str] = []

    def set(self, key: str, raw: object, source: str) -> None:
        setting = SETTINGS[key]
        try:
            value = setting.check(raw, self.cwd)
        except _Bad as exc:
            raise _error(key, raw, source, str(exc), secret=setting.secret) from None
        self.values[key] = Value(value, source, setting.secret)

    def set_env(self, key: str, name: str, text: str) -> None:
        setting = SETTINGS[key]
        source = f"env {name}"
        try:
            raw = setting.parse(text)
        except _Bad as exc:
            raise _error(key, text, source, str(exc), secret=setting.secret) from None
        self.set(key, raw, source)

    def set_tags(self, tags: object, source: str) -> None:
        if not isinstance(tags, Mapping):
            raise _error("tags", tags, source, "expected a table of name = value")
        for name, raw in tags.items():
            if not isinstance(name, str) or not re.match(_TAG_NAME, name):
                raise _error("tags", tags, source, f"bad tag name {name!r} (letters, digits, _ and -)")
            try:
                self.values[f"tags.{name}"] = Value(_tag(raw, self.cwd), source)
            except _Bad as exc:
                raise _error(f"tags.{name}", raw, source, str(exc)) from None

    def only_exporters(self, names: Iterable[str], source: str) -> None:
        """Exactly ``names`` among the built-in exporters are on (a list in the environment or in init())."""
        wanted = set(names)
        for name in EXPORTERS:
            self.values[f"exporters.{name}.enabled"] = Value(name in wanted, source)

    # -- files

    def file(self, path: Path, source: str, table: str | None = None) -> None:
        data = _read_toml(path, source, only_if=_PYPROJECT_HINT if table is not None else None)
        if table is not None:
            tool = data.get("tool")
            found = tool.get(table) if isinstance(tool, dict) else None
            if found is None:
                return
            if not isinstance(found, dict):
                raise ConfigError(f"tool.{table}", f"{source}: expected a table", source=source)
            data = found
        self.files.append(source)
        flat: dict[str, object] = {}
        exporter_tables: set[str] = set()
        for key, value in data.items():
            if key == "tags":
                self.set_tags(value, source)
            elif key == "models":
                self.file_models(value, source)
            else:
                _flatten(key, value, source, flat, exporter_tables)
        for name in exporter_tables:  # a table enables its exporter unless it says enabled = false
            flat.setdefault(f"exporters.{name}.enabled", True)
        for key, value in flat.items():
            self.set(key, value, source)

    def file_models(self, rows: object, source: str) -> None:
        if not isinstance(rows, list) or not all(isinstance(row, dict) for row in rows):
            raise _error("models", rows, source, "expected [[models]] tables")
        for row in rows:
            index = len(self.models)
            self.models.append(_model(row, f"models[{index}]", source, self.cwd))


def _read_toml(path: Path, source: str, only_if: str | None = None) -> dict[str, Any]:
    """The file's TOML; ``{}`` without parsing when ``only_if`` is given and does not match the text."""
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError("config file", f"{source}: invalid TOML: {exc}", source=source) from None
    except OSError as exc:
        raise ConfigError("config file", f"{source}: cannot read: {exc.strerror or exc}", source=source) from None
    if only_if is not None and not re.search(only_if, text):
        return {}
    import tomllib

    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError("config file", f"{source}: invalid TOML: {exc}", source=source) from None


def _flatten(key: str, value: object, source: str, flat: dict[str, object], exporter_tables: set[str]) -> None:
    if key in SETTINGS:
        flat[key] = value
    elif key in _PREFIXES:
        if not isinstance(value, dict):
            raise _error(key, value, source, "expected a table")
        parts = key.split(".")
        if len(parts) == 2 and parts[0] == "exporters":
            exporter_tables.add(parts[1])
        for sub, item in value.items():
            _flatten(f"{key}.{sub}", item, source, flat, exporter_tables)
    else:
        raise _unknown(key, source, [*SETTINGS, *_PREFIXES, "tags", "models"])


def _model(row: Mapping[str, object], where: str, source: str, cwd: Path) -> dict[str, object]:
    """A custom model row, checked as register_model() would, as its keyword arguments."""
    from genai_footprint._registry import get_registry

    for key in row:
        if key not in MODEL_KEYS:
            raise _unknown(f"{where}.{key}", source, [f"{where}.{k}" for k in MODEL_KEYS])
    for key in ("provider", "name", "active_params"):
        if key not in row:
            raise ConfigError(f"{where}.{key}", f'setting "{where}.{key}" (from {source}): required', source=source)

    def check(key: str, fn: Callable[[object, Path], object]) -> object:
        raw = row.get(key)
        if raw is None:
            return None
        try:
            return fn(raw, cwd)
        except _Bad as exc:
            raise _error(f"{where}.{key}", raw, source, str(exc)) from None

    registry = get_registry()

    def provider(value: object, cwd: Path) -> str:
        name = registry.provider_name(_text(value, "a provider name"))
        if name is None:
            raise _Bad(f"unknown provider; known: {', '.join(registry.providers)}")
        return name

    out: dict[str, object] = {
        "provider": check("provider", provider),
        "name": check("name", lambda v, c: _text(v, "a model name")),
        "active_params": check("active_params", _range(False)),
        "total_params": check("total_params", _range(False)),
        "zone": check("zone", _zone),
        "tps": check("tps", _positive_float),
        "ttft": check("ttft", _seconds),
        "pue": check("pue", _range(False)),
        "wue": check("wue", _range(True)),
        "aliases": check("aliases", _aliases) or (),
    }
    active, total = out["active_params"], out["total_params"] or out["active_params"]
    assert isinstance(active, tuple) and isinstance(total, tuple)
    if active[0] > total[0] or active[1] > total[1]:
        raise _error(f"{where}.active_params", row["active_params"], source, "exceeds total_params")
    out["sources"] = (_MODEL_SOURCE + source,)
    return out


def _seconds(value: object, cwd: Path) -> float:
    number = _number(value, "a number of seconds >= 0")
    if number < 0:
        raise _Bad("expected a number of seconds >= 0")
    return number


def _aliases(value: object, cwd: Path) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise _Bad("expected a list of model names")
    return tuple(v.strip() for v in value)


def default_user_config_dir(env: Mapping[str, str]) -> Path | None:
    """Where the user file lives: ``$XDG_CONFIG_HOME`` or ``~/.config``, ``%APPDATA%`` on Windows."""
    if sys.platform == "win32":
        base = env.get("APPDATA")
        return Path(base) / "genai-footprint" if base else None
    base = env.get("XDG_CONFIG_HOME")
    if base:
        return Path(base) / "genai-footprint"
    try:
        return Path.home() / ".config" / "genai-footprint"
    except RuntimeError:  # no home directory
        return None


def user_cache_dir(env: Mapping[str, str]) -> Path | None:
    """``$XDG_CACHE_HOME`` or ``~/.cache``, ``%LOCALAPPDATA%`` on Windows; then ``genai-footprint``."""
    if sys.platform == "win32":
        base = env.get("LOCALAPPDATA")
        return Path(base) / "genai-footprint" / "Cache" if base else None
    base = env.get("XDG_CACHE_HOME")
    if base:
        return Path(base) / "genai-footprint"
    try:
        return Path.home() / ".cache" / "genai-footprint"
    except RuntimeError:
        return None


def load_config(
    init_kwargs: Mapping[str, object] = MappingProxyType({}),
    *,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    user_config_dir: Path | None = None,
) -> Config:
    """Read every layer and check every value; raises ``ConfigError`` naming the setting, value and source.

    ``init_kwargs``: the arguments given to ``init()`` (None values already dropped). ``cwd``, ``env`` and
    ``user_config_dir`` default to the process's current directory, ``os.environ`` and the platform's
    user configuration directory.
    """
    cwd = Path.cwd() if cwd is None else cwd
    env = os.environ if env is None else env
    loader = _Loader(cwd)
    _defaults(loader, env)

    user_dir = user_config_dir if user_config_dir is not None else default_user_config_dir(env)
    if user_dir is not None and (user_dir / USER_FILE).is_file():
        path = user_dir / USER_FILE
        loader.file(path, f"user file {path}")

    unknown = [k for k in init_kwargs if k not in INIT_KWARGS]
    if unknown:
        raise ConfigError(unknown[0], f"init() got an unexpected keyword argument {unknown[0]!r}", source="init()")
    explicit: object = init_kwargs.get("config_file")
    explicit_source = "init(config_file=...)"
    if explicit is None and env.get(CONFIG_ENV):
        explicit, explicit_source = env[CONFIG_ENV], f"env {CONFIG_ENV}"
    if explicit is not None:
        try:
            path = _path(explicit, loader.cwd)
        except _Bad as exc:
            raise _error("config_file", explicit, explicit_source, str(exc)) from None
        if not path.is_file():
            raise _error("config_file", str(explicit), explicit_source, f"no such file: {path}")
        loader.file(path, f"config file {path}")
    elif (cwd / PROJECT_FILE).is_file():
        path = cwd / PROJECT_FILE
        loader.file(path, f"project file {path}")
    elif (cwd / "pyproject.toml").is_file():
        path = cwd / "pyproject.toml"
        loader.file(path, f"pyproject.toml {path} [tool.{PYPROJECT_TABLE}]", table=PYPROJECT_TABLE)

    _environment(loader, env)
    objects = _init_arguments(loader, init_kwargs)

    http = loader.values["exporters.http.enabled"]
    if http.value and loader.values["exporters.http.url"].value is None:
        raise ConfigError(
            "exporters.http.url",
            f'setting "exporters.http.url" (from {http.source}, which enables the http exporter): required',
            source=http.source,
        )
    return Config(
        values=MappingProxyType(dict(sorted(loader.values.items(), key=lambda kv: _order(kv[0])))),
        models=tuple(MappingProxyType(m) for m in loader.models),
        exporter_objects=tuple(objects),
        files=tuple(loader.files),
    )


def _order(key: str) -> tuple[int, str]:
    """Settings in table order; tags (``tags.<name>``) right after ``log_level``."""
    return (_RANK[key], "") if key in _RANK else (_RANK["log_level"], key)


def _defaults(loader: _Loader, env: Mapping[str, str]) -> None:
    for key, setting in SETTINGS.items():
        default = setting.default
        if key == "exporters.http.spill_path":
            cache = user_cache_dir(env)
            default = None if cache is None else cache / "http-spill.jsonl"
        value = default if default is None else setting.check(default, loader.cwd)
        loader.values[key] = Value(value, DEFAULT_SOURCE, setting.secret)


def _environment(loader: _Loader, env: Mapping[str, str]) -> None:
    names = sorted(name for name in env if name.startswith(ENV_PREFIX))
    known = [*ENV_VARS, TAGS_ENV, EXPORTERS_ENV, CONFIG_ENV]
    for name in names:
        if name not in known:
            import difflib

            close = difflib.get_close_matches(name, known, n=3, cutoff=0.7)
            hint = f"; did you mean {', '.join(close)}?" if close else ""
            message = f"environment variable {name}: unknown genai_footprint setting{hint} (see docs/configuration.md)"
            raise ConfigError(name, message, source=f"env {name}")
    for name in names:
        text = env[name]
        if not text.strip() or name == CONFIG_ENV:  # an empty variable counts as not set
            continue
        source = f"env {name}"
        if name == TAGS_ENV:
            try:
                pairs = _env_pairs(text)
            except _Bad as exc:
                raise _error("tags", text, source, str(exc)) from None
            loader.set_tags(pairs, source)
        elif name == EXPORTERS_ENV:
            loader.only_exporters(_exporter_names(_env_list(text), source), source)
        else:
            loader.set_env(ENV_VARS[name], name, text)
    # An option variable switches its exporter on, unless GENAI_FOOTPRINT_EXPORTERS says which are on.
    if not env.get(EXPORTERS_ENV, "").strip():
        for name in EXPORTERS:
            options = [v.source for k, v in loader.values.items() if k.startswith(f"exporters.{name}.")]
            env_sources = [s for s in options if s.startswith("env ")]
            if env_sources:
                loader.values[f"exporters.{name}.enabled"] = Value(True, env_sources[0])


def _exporter_names(items: object, source: str) -> list[str]:
    if not isinstance(items, list):
        raise _error("exporters", items, source, f"expected exporter names ({', '.join(EXPORTERS)})")
    for item in items:
        if item not in EXPORTERS:
            raise _error("exporters", item, source, f"unknown exporter; known: {', '.join(EXPORTERS)}")
    return [str(item) for item in items]


def _init_arguments(loader: _Loader, kwargs: Mapping[str, object]) -> list[object]:
    """Apply init()'s arguments; returns the user exporter objects given in ``exporters``."""
    for key, setting in SETTINGS.items():
        if setting.kwarg is not None and kwargs.get(setting.kwarg) is not None:
            loader.set(key, kwargs[setting.kwarg], f"init({setting.kwarg}=...)")
    if kwargs.get("tags") is not None:
        loader.set_tags(kwargs["tags"], "init(tags=...)")
    exporters = kwargs.get("exporters")
    source = "init(exporters=...)"
    if exporters is None:
        return []
    if isinstance(exporters, Mapping):
        loader.only_exporters(_exporter_names(list(exporters), source), source)
        for name, options in exporters.items():
            if options is None:
                continue
            if not isinstance(options, Mapping):
                raise _error(f"exporters.{name}", options, source, "expected a mapping of options")
            for option, raw in options.items():
                key = f"exporters.{name}.{option}"
                if key not in SETTINGS:
                    raise _unknown(key, source, [k for k in SETTINGS if k.startswith(f"exporters.{name}.")])
                loader.set(key, raw, source)
        return []
    if isinstance(exporters, str) or not isinstance(exporters, Iterable):
        raise _error("exporters", exporters, source, "expected a list of exporter names or objects, or a mapping")
    items = list(exporters)
    objects = [item for item in items if not isinstance(item, str)]
    for item in objects:
        if not callable(getattr(item, "export", None)):
            raise _error("exporters", item, source, "expected an exporter name or an object with an export() method")
    loader.only_exporters(_exporter_names([item for item in items if isinstance(item, str)], source), source)
    return objects
