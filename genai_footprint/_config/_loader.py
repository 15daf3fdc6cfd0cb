"""The layers' values gathered one by one, each checked as it arrives and kept with its source; errors name the
setting, the value (a secret masked) and the source."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from genai_footprint._config._checks import EXPORTERS, Bad, mask_url, reason, tag
from genai_footprint._config._result import Value, mask
from genai_footprint._config._table import MODEL_KEYS, PREFIXES, SETTINGS
from genai_footprint._errors import ConfigError, InvalidInputError
from genai_footprint._settings import ModelSettings

_TAG_NAME = r"^[A-Za-z_][A-Za-z0-9_-]*$"
# Only a pyproject.toml that can hold [tool.genai-footprint] is parsed (tomllib costs milliseconds to import).
_PYPROJECT_HINT = (
    r"""(?m)^\s*\[\[?\s*["']?tool["']?\s*\.\s*["']?genai-footprint"""  # [tool.genai-footprint...]
    r"""|^\s*["']?tool["']?\s*\.\s*["']?genai-footprint"""  # tool.genai-footprint.zone = ...
    r"""|^\s*["']?tool["']?\s*="""  # tool = { ... }
    r"""|^\s*\[\s*["']?tool["']?\s*\]"""  # [tool]
)


class Loader:
    """The values found so far, by dotted key; a later layer replaces what an earlier one set."""

    def __init__(self, cwd: Path) -> None:
        self.cwd = cwd
        self.values: dict[str, Value] = {}
        self.models: list[ModelSettings] = []
        self.files: list[str] = []

    def set(self, key: str, raw: object, source: str) -> None:
        setting = SETTINGS[key]
        try:
            value = setting.check(raw, self.cwd)
        except Bad as exc:
            raise error(key, raw, source, str(exc), secret=setting.secret) from None
        self.values[key] = Value(value, source, setting.secret)

    def set_env(self, key: str, name: str, text: str) -> None:
        setting = SETTINGS[key]
        source = f"env {name}"
        try:
            raw = setting.parse(text)
        except Bad as exc:
            raise error(key, text, source, str(exc), secret=setting.secret) from None
        self.set(key, raw, source)

    def set_tags(self, tags: object, source: str) -> None:
        if not isinstance(tags, Mapping):
            raise error("tags", tags, source, "expected a table of name = value")
        for name, raw in tags.items():
            if not isinstance(name, str) or not re.match(_TAG_NAME, name):
                raise error("tags", tags, source, f"bad tag name {name!r} (letters, digits, _ and -)")
            try:
                self.values[f"tags.{name}"] = Value(tag(raw, self.cwd), source)
            except Bad as exc:
                raise error(f"tags.{name}", raw, source, str(exc)) from None

    def only_exporters(self, names: Iterable[str], source: str) -> None:
        """Exactly ``names`` among the built-in exporters are on (a list in the environment or in init())."""
        wanted = set(names)
        for name in EXPORTERS:
            self.values[f"exporters.{name}.enabled"] = Value(name in wanted, source)

    def file(self, path: Path, source: str, table: str | None = None) -> None:
        """Read one TOML file (``table``: only ``[tool.<table>]`` of a ``pyproject.toml``, if it has one)."""
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
            raise error("models", rows, source, "expected [[models]] tables")
        for row in rows:
            self.models.append(_model(row, f"models[{len(self.models)}]", source))


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
    elif key in PREFIXES:
        if not isinstance(value, dict):
            raise error(key, value, source, "expected a table")
        parts = key.split(".")
        if len(parts) == 2 and parts[0] == "exporters":
            exporter_tables.add(parts[1])
        for sub, item in value.items():
            _flatten(f"{key}.{sub}", item, source, flat, exporter_tables)
    else:
        raise unknown(key, source, [*SETTINGS, *PREFIXES, "tags", "models"])


def _model(row: Mapping[str, object], where: str, source: str) -> ModelSettings:
    """A ``[[models]]`` table, checked by ``register_model()``'s own checks."""
    from genai_footprint._registry import check_model, get_registry  # loaded only when a file declares models

    for key in row:
        if key not in MODEL_KEYS:
            raise unknown(f"{where}.{key}", source, [f"{where}.{k}" for k in MODEL_KEYS])
    for key in ("provider", "name", "active_params"):
        if key not in row:
            raise ConfigError(f"{where}.{key}", f'setting "{where}.{key}" (from {source}): required', source=source)
    arguments = {key: value for key, value in row.items() if key not in ("provider", "name")}
    try:
        return check_model(get_registry(), row["provider"], row["name"], **arguments, source=source)
    except InvalidInputError as exc:
        key = exc.argument.partition("[")[0]  # "pue[min]" is the setting "pue"
        raise error(f"{where}.{key}", row.get(key), source, reason(exc)) from None


# -- errors ---------------------------------------------------------------------------------------------


def _quoted(value: object, secret: bool) -> str:
    """A value as an error message shows it (JSON-like; a secret masked)."""
    import json

    if secret and isinstance(value, Mapping):
        return json.dumps({str(name): "****" for name in value})
    if secret and value is not None:
        return json.dumps(mask(str(value)))
    if isinstance(value, str):
        value = mask_url(value)
    try:
        return json.dumps(value, default=repr, ensure_ascii=False)
    except ValueError:  # e.g. a circular structure
        return repr(value)


def error(key: str, value: object, source: str, message: str, *, secret: bool = False) -> ConfigError:
    """The error of a refused value: ``setting "<key>" = <value> (from <source>): <message>``."""
    text = f'setting "{key}" = {_quoted(value, secret)} (from {source}): {message}'
    return ConfigError(key, text, source=source)


def unknown(key: str, source: str, known: Iterable[str]) -> ConfigError:
    """The error of a key no setting has, with the closest known ones."""
    import difflib

    close = difflib.get_close_matches(key, list(known), n=3, cutoff=0.6)
    hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""
    return ConfigError(key, f'setting "{key}" (from {source}): unknown setting{hint}', source=source)
