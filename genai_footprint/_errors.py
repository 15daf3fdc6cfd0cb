"""Exceptions raised by genai_footprint's own API (never from inside an instrumented SDK call)."""

from __future__ import annotations

from collections.abc import Sequence


class GenAIFootprintError(Exception):
    """Base class for every error genai_footprint raises."""


class InvalidInputError(GenAIFootprintError, ValueError):
    """An argument, setting or data row has a value we refuse to compute with.

    ``argument`` names what was wrong (an argument name, a setting, a registry file and row).
    """

    def __init__(self, argument: str, message: str) -> None:
        self.argument = argument
        super().__init__(f"{argument}: {message}")


class ConfigError(InvalidInputError):
    """A configuration setting has a value we refuse.

    The message names the setting, the value (a secret masked) and where it came from (a file, an
    environment variable or an ``init()`` argument); ``argument`` is the setting and ``source`` the layer.
    """

    def __init__(self, setting: str, message: str, *, source: str) -> None:
        super().__init__(setting, message)
        self.source = source
        self.args = (message,)


class UnknownModelError(InvalidInputError):
    """The model name resolves to nothing in the registry."""

    def __init__(self, provider: str | None, model: str, suggestions: Sequence[str] = ()) -> None:
        self.provider = provider
        self.model = model
        self.suggestions = tuple(suggestions)
        where = f" for provider {provider!r}" if provider else ""
        hint = f"; closest registered names: {', '.join(self.suggestions)}" if self.suggestions else ""
        super().__init__(
            "model",
            f"unknown model {model!r}{where}{hint}. "
            "Pass active_params/total_params, or add it with genai_footprint.register_model().",
        )


class UnknownZoneError(InvalidInputError):
    """The electricity-mix zone is not in the registry."""

    def __init__(self, zone: str, argument: str = "zone", suggestions: Sequence[str] = ()) -> None:
        self.zone = zone
        hint = f"; did you mean {', '.join(suggestions)}?" if suggestions else ""
        super().__init__(
            argument,
            f"unknown electricity-mix zone {zone!r} (expected an ISO 3166-1 alpha-3 code or 'WOR'){hint}",
        )


class RegistryError(GenAIFootprintError):
    """A registry data file is missing or does not match its schema."""


class InstrumentationError(GenAIFootprintError):
    """``init(strict=True)`` could not instrument a provider that was asked for."""
