"""The settings as data: every setting's dotted key, check, default, environment variable and ``init()`` argument."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

from genai_footprint._config._checks import (
    EXPORTERS,
    SITE_PROVIDERS,
    base_url,
    boolean,
    bounds,
    env_bool,
    env_int,
    env_list,
    env_number,
    env_pairs,
    env_range,
    env_text,
    header,
    headers,
    host,
    integer,
    log_level,
    methodology,
    path,
    port,
    positive_float,
    providers,
    seconds,
    secret,
    url,
    zone,
)

ENV_PREFIX = "GENAI_FOOTPRINT_"
CONFIG_ENV = "GENAI_FOOTPRINT_CONFIG"
TAGS_ENV = "GENAI_FOOTPRINT_TAGS"  # variables that are not one setting each
EXPORTERS_ENV = "GENAI_FOOTPRINT_EXPORTERS"
PROJECT_FILE = "genai-footprint.toml"
PYPROJECT_TABLE = "genai-footprint"  # [tool.genai-footprint]
USER_FILE = "config.toml"
DEFAULT_SOURCE = "default"
MAX_SPILL_BYTES = 100 * 2**20  # the HTTP spill file's default size limit: 100 MiB, some 40,000 records
# The keys of a [[models]] table: register_model()'s arguments.
MODEL_KEYS = ("provider", "name", "active_params", "total_params", "zone", "tps", "ttft", "pue", "wue", "aliases")


class Setting(NamedTuple):
    """One setting: its dotted key (also its place in a TOML file), check, default and other names."""

    key: str
    check: Callable[[object, Path], object]
    default: object = None
    env: str | None = None  # the variable's name after GENAI_FOOTPRINT_
    parse: Callable[[str], object] = env_text
    kwarg: str | None = None  # the init() argument
    secret: bool = False
    unset: str = "-"  # how describe() shows None


def _instrumentation() -> list[Setting]:
    rows = [
        Setting("providers", providers, None, "PROVIDERS", env_list, "providers", unset="(every installed SDK)"),
        Setting("zone", zone, None, "ZONE", kwarg="zone", unset="(per call)"),
        Setting("request_stream_usage", boolean, True, "REQUEST_STREAM_USAGE", env_bool, "request_stream_usage"),
        Setting("strict", boolean, False, "STRICT", env_bool, "strict"),
        Setting("max_output_tokens", integer(1), 10_000_000, "MAX_OUTPUT_TOKENS", env_int, "max_output_tokens"),
        Setting("methodology", methodology, "ecologits-0.11", "METHODOLOGY", kwarg="methodology"),
        Setting("log_level", log_level, None, "LOG_LEVEL", kwarg="log_level", unset="(left alone)"),
    ]
    for provider in SITE_PROVIDERS:
        env = provider.upper()
        rows += [
            Setting(f"provider.{provider}.zone", zone, None, f"{env}_ZONE", unset="(registry)"),
            Setting(f"provider.{provider}.pue", bounds(False), None, f"{env}_PUE", env_range, unset="(registry)"),
            Setting(f"provider.{provider}.wue", bounds(True), None, f"{env}_WUE", env_range, unset="(registry)"),
        ]
    return rows


def _export() -> list[Setting]:
    enabled = {name: Setting(f"exporters.{name}.enabled", boolean, False) for name in EXPORTERS}
    return [
        enabled["jsonl"],
        Setting("exporters.jsonl.path", path, "genai-footprint.jsonl", "JSONL_PATH"),
        enabled["csv"],
        Setting("exporters.csv.path", path, "genai-footprint.csv", "CSV_PATH"),
        enabled["otel"],
        enabled["prometheus"],
        Setting("exporters.prometheus.host", host, "localhost", "PROMETHEUS_HOST"),
        Setting("exporters.prometheus.port", port, 9464, "PROMETHEUS_PORT", env_int),
        enabled["http"],
        Setting("exporters.http.url", url, None, "HTTP_URL"),
        Setting("exporters.http.token", secret, None, "HTTP_TOKEN", secret=True),
        Setting("exporters.http.header", header, "Authorization", "HTTP_HEADER"),
        # Extra headers may carry credentials: shown as their names only.
        Setting("exporters.http.headers", headers, None, "HTTP_HEADERS", env_pairs, secret=True, unset="(none)"),
        Setting("exporters.http.interval_s", positive_float, 10.0, "HTTP_INTERVAL_S", env_number),
        Setting("exporters.http.batch_size", integer(1), 100, "HTTP_BATCH_SIZE", env_int),
        Setting("exporters.http.timeout_s", positive_float, 10.0, "HTTP_TIMEOUT_S", env_number),
        Setting("exporters.http.max_retries", integer(0), 5, "HTTP_MAX_RETRIES", env_int),
        Setting("exporters.http.backoff_s", seconds, 0.5, "HTTP_BACKOFF_S", env_number),
        Setting("exporters.http.max_backoff_s", seconds, 30.0, "HTTP_MAX_BACKOFF_S", env_number),
        Setting("exporters.http.spill_path", path, None, "HTTP_SPILL_PATH"),  # default: the user cache directory
        Setting("exporters.http.max_spill_bytes", integer(1), MAX_SPILL_BYTES, "HTTP_MAX_SPILL_BYTES", env_int),
        Setting("exporters.http.max_buffer", integer(1), 10_000, "HTTP_MAX_BUFFER", env_int),
        Setting("export.queue_size", integer(1), 10000, "QUEUE_SIZE", env_int),
        Setting("export.flush_on_sigterm", boolean, True, "FLUSH_ON_SIGTERM", env_bool),
    ]


def _grid() -> list[Setting]:
    token = Setting(
        "electricity_maps.token", secret, None, "ELECTRICITY_MAPS_TOKEN", kwarg="electricity_maps_token", secret=True
    )
    return [
        token,
        Setting("electricity_maps.ttl_s", positive_float, 900.0, "ELECTRICITY_MAPS_TTL_S", env_number),
        Setting("electricity_maps.url", base_url, "https://api.electricitymap.org/v3", "ELECTRICITY_MAPS_URL"),
    ]


SETTINGS: dict[str, Setting] = {s.key: s for s in [*_instrumentation(), *_export(), *_grid()]}
ENV_VARS: dict[str, str] = {ENV_PREFIX + s.env: s.key for s in SETTINGS.values() if s.env}
INIT_KWARGS = ("config_file", "exporters", "tags", *(s.kwarg for s in SETTINGS.values() if s.kwarg))
# Every table a key may sit in: "provider", "provider.openai", "exporters", "exporters.http", ...
PREFIXES = {key.rsplit(".", i)[0] for key in SETTINGS for i in range(1, key.count(".") + 1)}
_RANK = {key: rank for rank, key in enumerate(SETTINGS)}


def order(key: str) -> tuple[int, str]:
    """Settings in table order; tags (``tags.<name>``) right after ``log_level``."""
    return (_RANK[key], "") if key in _RANK else (_RANK["log_level"], key)
