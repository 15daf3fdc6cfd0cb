"""Impact methodologies, chosen by version name; each is a pure function of explicit inputs."""

from __future__ import annotations

from types import ModuleType

from genai_footprint._errors import InvalidInputError
from genai_footprint._methodology import ecologits_0_11

DEFAULT_VERSION = ecologits_0_11.VERSION
_BY_VERSION: dict[str, ModuleType] = {ecologits_0_11.VERSION: ecologits_0_11}


def versions() -> tuple[str, ...]:
    return tuple(_BY_VERSION)


def get(version: str) -> ModuleType:
    """The methodology module for ``version``; each exposes ``VERSION``, ``CONSTANTS`` and ``compute()``."""
    try:
        return _BY_VERSION[version]
    except KeyError:
        raise InvalidInputError(
            "methodology_version", f"unknown methodology {version!r}; known: {', '.join(_BY_VERSION)}"
        ) from None
