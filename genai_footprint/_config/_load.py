"""``load_config()``: the layers read in order — defaults < user file < project file < ``GENAI_FOOTPRINT_*``
variables < ``init()`` arguments — into one checked ``Config``."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from types import MappingProxyType
from urllib.parse import urlsplit

from genai_footprint._config._checks import EXPORTERS, Bad, env_list, env_pairs, mask_url, path
from genai_footprint._config._loader import Loader, error, unknown
from genai_footprint._config._result import Config, Value, build_config
from genai_footprint._config._table import (
    CONFIG_ENV,
    DEFAULT_SOURCE,
    ENV_PREFIX,
    ENV_VARS,
    EXPORTERS_ENV,
    INIT_KWARGS,
    PROJECT_FILE,
    PYPROJECT_TABLE,
    SETTINGS,
    TAGS_ENV,
    USER_FILE,
    order,
)
from genai_footprint._errors import ConfigError


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
    unexpected = [k for k in init_kwargs if k not in INIT_KWARGS]
    if unexpected:
        message = f"init() got an unexpected keyword argument {unexpected[0]!r}"
        raise ConfigError(unexpected[0], message, source="init()")
    loader = Loader(cwd)
    _defaults(loader, env)
    _files(loader, init_kwargs.get("config_file"), env, user_config_dir)
    _environment(loader, env)
    objects = _init_arguments(loader, init_kwargs)
    http = loader.values["exporters.http.enabled"]
    if http.value and loader.values["exporters.http.url"].value is None:
        raise ConfigError(
            "exporters.http.url",
            f'setting "exporters.http.url" (from {http.source}, which enables the http exporter): required',
            source=http.source,
        )
    if http.value:
        _one_http_authorization(loader)
    return build_config(
        values=MappingProxyType(dict(sorted(loader.values.items(), key=lambda kv: order(kv[0])))),
        models=tuple(loader.models),
        objects=tuple(objects),
        files=tuple(loader.files),
    )


def _one_http_authorization(loader: Loader) -> None:
    """A collector URL with credentials (``user:password@``, sent as Basic auth) and a token or header that sets
    ``Authorization`` too: one would silently replace the other, so the pair is refused."""
    url = loader.values["exporters.http.url"]
    if not isinstance(url.value, str) or "@" not in urlsplit(url.value).netloc:
        return
    token, header = loader.values["exporters.http.token"], loader.values["exporters.http.header"]
    extra = loader.values["exporters.http.headers"]
    if token.value is not None and str(header.value).lower() == "authorization":
        other, source = "exporters.http.token", token.source
    elif isinstance(extra.value, Mapping) and any(str(name).lower() == "authorization" for name in extra.value):
        other, source = "exporters.http.headers", extra.source
    else:
        return
    message = (
        f'settings "exporters.http.url" (from {url.source}) and "{other}" (from {source}): the URL carries '
        f"credentials ({mask_url(url.value)}) and {other} sets the Authorization header too; keep only one"
    )
    raise ConfigError("exporters.http.url", message, source=url.source)


def _defaults(loader: Loader, env: Mapping[str, str]) -> None:
    for key, setting in SETTINGS.items():
        default = setting.default
        if key == "exporters.http.spill_path":
            cache = user_cache_dir(env)
            default = None if cache is None else cache / "http-spill.jsonl"
        value = default if default is None else setting.check(default, loader.cwd)
        loader.values[key] = Value(value, DEFAULT_SOURCE, setting.secret)


def _files(loader: Loader, explicit: object, env: Mapping[str, str], user_config_dir: Path | None) -> None:
    """The user file, then one of: the file ``init(config_file=...)`` or ``GENAI_FOOTPRINT_CONFIG`` names, the
    project file, the ``[tool.genai-footprint]`` table of ``pyproject.toml``."""
    user_dir = user_config_dir if user_config_dir is not None else default_user_config_dir(env)
    if user_dir is not None and (user_dir / USER_FILE).is_file():
        loader.file(user_dir / USER_FILE, f"user file {user_dir / USER_FILE}")
    source = "init(config_file=...)"
    if explicit is None and env.get(CONFIG_ENV):
        explicit, source = env[CONFIG_ENV], f"env {CONFIG_ENV}"
    cwd = loader.cwd
    if explicit is not None:
        try:
            found = path(explicit, cwd)
        except Bad as exc:
            raise error("config_file", explicit, source, str(exc)) from None
        if not found.is_file():
            raise error("config_file", str(explicit), source, f"no such file: {found}")
        loader.file(found, f"config file {found}")
    elif (cwd / PROJECT_FILE).is_file():
        loader.file(cwd / PROJECT_FILE, f"project file {cwd / PROJECT_FILE}")
    elif (cwd / "pyproject.toml").is_file():
        pyproject = cwd / "pyproject.toml"
        loader.file(pyproject, f"pyproject.toml {pyproject} [tool.{PYPROJECT_TABLE}]", table=PYPROJECT_TABLE)


def _environment(loader: Loader, env: Mapping[str, str]) -> None:
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
                pairs = env_pairs(text)
            except Bad as exc:
                raise error("tags", text, source, str(exc)) from None
            loader.set_tags(pairs, source)
        elif name == EXPORTERS_ENV:
            loader.only_exporters(_exporter_names(env_list(text), source), source)
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
        raise error("exporters", items, source, f"expected exporter names ({', '.join(EXPORTERS)})")
    for item in items:
        if item not in EXPORTERS:
            raise error("exporters", item, source, f"unknown exporter; known: {', '.join(EXPORTERS)}")
    return [str(item) for item in items]


def _init_arguments(loader: Loader, kwargs: Mapping[str, object]) -> list[object]:
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
        _exporter_options(loader, exporters, source)
        return []
    if isinstance(exporters, str) or not isinstance(exporters, Iterable):
        raise error("exporters", exporters, source, "expected a list of exporter names or objects, or a mapping")
    items = list(exporters)
    objects = [item for item in items if not isinstance(item, str)]
    for item in objects:
        if not callable(getattr(item, "export", None)):
            raise error("exporters", item, source, "expected an exporter name or an object with an export() method")
    loader.only_exporters(_exporter_names([item for item in items if isinstance(item, str)], source), source)
    return objects


def _exporter_options(loader: Loader, exporters: Mapping[object, object], source: str) -> None:
    """``init(exporters={"jsonl": {"path": ...}, "otel": None})``: exactly these on, with these options."""
    loader.only_exporters(_exporter_names(list(exporters), source), source)
    for name, options in exporters.items():
        if options is None:
            continue
        if not isinstance(options, Mapping):
            raise error(f"exporters.{name}", options, source, "expected a mapping of options")
        for option, raw in options.items():
            key = f"exporters.{name}.{option}"
            if key not in SETTINGS:
                raise unknown(key, source, [k for k in SETTINGS if k.startswith(f"exporters.{name}.")])
            loader.set(key, raw, source)
