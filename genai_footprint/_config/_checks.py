"""The checks of setting values and the parsers of ``GENAI_FOOTPRINT_*`` variables.

A check takes the raw value (from TOML, ``init()`` or a parsed variable) and the directory relative paths are
taken from; it returns the value to keep or raises ``Bad``, to which the loader adds the setting, the value and
its source. Figures and zones go through ``genai_footprint._validate``, as ``estimate()`` arguments do.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from types import MappingProxyType
from urllib.parse import urlsplit

from genai_footprint import _validate
from genai_footprint._errors import InvalidInputError

PROVIDERS = ("openai", "anthropic", "mistralai", "google", "groq", "cohere", "bedrock", "huggingface", "litellm")
# The providers whose datacenter figures a configuration may replace (``provider.P.zone`` / ``.pue`` / ``.wue``):
# those the SDKs above call, and ``local`` (an OpenAI-compatible server on this machine or network).
SITE_PROVIDERS = (*(p for p in PROVIDERS if p != "litellm"), "local")
PROVIDER_ALIASES = {"mistral": "mistralai", "azure": "openai", "azure_openai": "openai"}
EXPORTERS = ("jsonl", "csv", "http", "otel", "prometheus")

Check = Callable[[object, Path], object]

_LOG_LEVELS = ("CRITICAL", "ERROR", "WARNING", "INFO", "DEBUG", "NOTSET")
_TRUE, _FALSE = ("true", "1", "yes", "on"), ("false", "0", "no", "off")
# Patterns are compiled on first use (by re's cache), not at import: init() should stay cheap.
_HEADER_NAME = r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$"


class Bad(Exception):
    """A value refused by a check; the loader adds the setting, the value and its source."""


def reason(error: InvalidInputError) -> str:
    """What a validator said, without the argument name it starts with (the loader names the setting)."""
    return str(error).removeprefix(f"{error.argument}: ")


def text(value: object, what: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise Bad(f"expected {what}")
    return value.strip()


def boolean(value: object, cwd: Path) -> bool:
    if not isinstance(value, bool):
        raise Bad("expected true or false")
    return value


def positive_float(value: object, cwd: Path) -> float:
    try:
        return _validate.number("value", value, allow_zero=False)
    except InvalidInputError:
        raise Bad("expected a number > 0") from None


def integer(minimum: int) -> Check:
    def check(value: object, cwd: Path) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise Bad(f"expected a whole number >= {minimum}")
        return value

    return check


def bounds(allow_zero: bool) -> Check:
    """A number or a ``[min, max]`` pair, as ``(min, max)``."""
    what = f"a number {'>= 0' if allow_zero else '> 0'} or a [min, max] pair"

    def check(value: object, cwd: Path) -> tuple[float, float]:
        try:
            return _validate.bounds("value", value, allow_zero=allow_zero)
        except InvalidInputError as exc:
            if exc.argument == "value" and isinstance(value, list | tuple):  # the pair itself: inverted, or not 2
                raise Bad(reason(exc)) from None
            raise Bad(f"expected {what}") from None

    return check


def seconds(value: object, cwd: Path) -> float:
    try:
        return _validate.number("value", value)
    except InvalidInputError:
        raise Bad("expected a number of seconds >= 0") from None


def providers(value: object, cwd: Path) -> tuple[str, ...]:
    # Unknown names are left to the instrumentor, which warns (or raises with strict=true) as init() always did.
    items = [value] if isinstance(value, str) else value
    if isinstance(items, Mapping) or not isinstance(items, Iterable):
        raise Bad(f"expected a list of provider names ({', '.join(PROVIDERS)})")
    names = (text(item, f"a provider name ({', '.join(PROVIDERS)})").lower() for item in items)
    return tuple(dict.fromkeys(PROVIDER_ALIASES.get(name, name) for name in names))


def zone(value: object, cwd: Path) -> str:
    from genai_footprint._registry import get_registry  # loaded only when a zone is configured

    try:
        return _validate.zone("value", value, get_registry())
    except InvalidInputError as exc:
        raise Bad(f"{reason(exc)} (list them with 'genai-footprint zones')") from None


def methodology(value: object, cwd: Path) -> str:
    from genai_footprint._methodology import methodology_versions  # loaded only when one is configured

    known = methodology_versions()
    if isinstance(value, str) and value.strip() in known:
        return value.strip()
    raise Bad(f"expected a methodology version: {', '.join(known)}")


def log_level(value: object, cwd: Path) -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        name = logging.getLevelName(value)
        if name in _LOG_LEVELS:
            return str(name)
    elif isinstance(value, str) and value.strip().upper() in _LOG_LEVELS:
        return value.strip().upper()
    raise Bad(f"expected a logging level: {', '.join(_LOG_LEVELS)}")


def tag(value: object, cwd: Path) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return str(value)
    raise Bad("expected a string (or a number) as a tag's value")


def path(value: object, cwd: Path) -> Path:
    if isinstance(value, os.PathLike):
        value = os.fspath(value)
    return cwd / Path(text(value, "a file path")).expanduser()  # relative to the directory init() runs in


def url(value: object, cwd: Path) -> str:
    found = text(value, "an http:// or https:// URL")
    parts = urlsplit(found)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise Bad("expected an http:// or https:// URL with a host")
    return found


def host(value: object, cwd: Path) -> str:
    found = text(value, "a host name or IP address")
    if any(c.isspace() or c in "/[]@" for c in found):
        raise Bad("expected a host name or IP address (no scheme, port or path)")
    return found


def port(value: object, cwd: Path) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 65535:
        raise Bad("expected a port number from 0 (any free port) to 65535")
    return value


def mask_url(found: str) -> str:
    """``found`` with any credentials of a URL (``user:password@``) shown as ``****@``; anything else as it is."""
    parts = urlsplit(found)
    if "@" not in parts.netloc:
        return found
    return parts._replace(netloc="****@" + parts.netloc.rpartition("@")[2]).geturl()


def base_url(value: object, cwd: Path) -> str:
    return url(value, cwd).rstrip("/")


def secret(value: object, cwd: Path) -> str:
    found = text(value, "a non-empty string")
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in found):
        raise Bad("contains control characters")
    return found


def header(value: object, cwd: Path) -> str:
    found = text(value, "an HTTP header name")
    if not re.match(_HEADER_NAME, found):
        raise Bad("expected an HTTP header name (letters, digits and !#$%&'*+-.^_`|~)")
    return found


def headers(value: object, cwd: Path) -> Mapping[str, str]:
    """Extra HTTP headers: a table of header names to string values (no line breaks: no header injection)."""
    if not isinstance(value, Mapping) or not value:
        raise Bad("expected a table of HTTP header names to values")
    found = {}
    for name, item in value.items():
        header(name, cwd)
        if not isinstance(item, str) or any((ord(c) < 0x20 and c != "\t") or ord(c) == 0x7F for c in item):
            raise Bad(f"header {name!r}: expected a string value without control characters")
        found[str(name).strip()] = item
    return MappingProxyType(found)


# -- parsers of environment variables: text → the raw value a file would hold -----------------------------


def env_text(found: str) -> object:
    return found


def env_bool(found: str) -> object:
    word = found.strip().lower()
    if word in _TRUE:
        return True
    if word in _FALSE:
        return False
    raise Bad(f"expected one of {', '.join(_TRUE)} or {', '.join(_FALSE)}")


def env_list(found: str) -> list[str]:
    return [item.strip() for item in found.split(",") if item.strip()]


def env_number(found: str) -> object:
    try:
        return float(found)
    except ValueError:
        raise Bad("expected a number") from None


def env_int(found: str) -> object:
    try:
        return int(found.strip())
    except ValueError:
        raise Bad("expected a whole number") from None


def env_range(found: str) -> object:
    try:
        numbers = [float(p.strip()) for p in found.split(",")]
    except ValueError:
        numbers = []
    if len(numbers) == 1:
        return numbers[0]
    if len(numbers) == 2:
        return numbers
    raise Bad("expected a number or a [min, max] pair (as MIN,MAX)")


def env_pairs(found: str) -> dict[str, str]:
    pairs: dict[str, str] = {}
    for item in found.split(","):
        if not item.strip():
            continue
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise Bad("expected name=value pairs separated by commas")
        pairs[key.strip()] = value.strip()
    return pairs
