"""Impact methodologies, chosen by version name; each is a pure function of explicit inputs."""

from __future__ import annotations

from types import ModuleType

from genai_footprint._errors import InvalidInputError
from genai_footprint._methodology import ecologits_0_11, genai_footprint_2026_12

DEFAULT_VERSION = ecologits_0_11.VERSION
_BY_VERSION: dict[str, ModuleType] = {module.VERSION: module for module in (ecologits_0_11, genai_footprint_2026_12)}


def methodology_versions() -> tuple[str, ...]:
    """The names of the methodology versions an estimate can use, the default first."""
    return tuple(_BY_VERSION)


def get(version: str) -> ModuleType:
    """The methodology module for ``version``. Each exposes ``VERSION``, ``CONSTANTS``, ``REQUEST_INPUTS`` (what
    ``compute()`` takes of the request), ``arguments(inputs)`` (its other keyword arguments, from an estimate's
    recorded inputs), ``warnings(request)`` and ``compute(**keywords)``."""
    try:
        return _BY_VERSION[version]
    except KeyError:
        raise InvalidInputError(
            "methodology_version", f"unknown methodology {version!r}; known: {', '.join(_BY_VERSION)}"
        ) from None
