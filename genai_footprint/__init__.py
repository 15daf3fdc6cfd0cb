"""genai_footprint: the environmental footprint of every GenAI API call.

Importing the package is cheap: every name below is loaded on first use (PEP 562), so nothing heavy —
pydantic, the registry, any provider SDK — is imported until it is needed.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from genai_footprint._version import __version__

if TYPE_CHECKING:
    from genai_footprint._equivalents import Equivalent
    from genai_footprint._errors import (
        ConfigError,
        GenAIFootprintError,
        InstrumentationError,
        InvalidInputError,
        RegistryError,
        UnknownModelError,
        UnknownZoneError,
    )
    from genai_footprint._estimate import estimate, reproduce
    from genai_footprint._impacts import (
        ElectricityMix,
        EmbodiedImpacts,
        EstimateInputs,
        Impacts,
        ImpactWarning,
        Range,
        UsageImpacts,
    )
    from genai_footprint._methodology import methodology_versions
    from genai_footprint._registry import register_model
    from genai_footprint._results import impacts_of
    from genai_footprint._setup import flush, init, shutdown
    from genai_footprint._track import Run, carry, current_run, track

__all__ = [
    "ConfigError",
    "ElectricityMix",
    "EmbodiedImpacts",
    "Equivalent",
    "EstimateInputs",
    "GenAIFootprintError",
    "ImpactWarning",
    "Impacts",
    "InstrumentationError",
    "InvalidInputError",
    "Range",
    "RegistryError",
    "Run",
    "UnknownModelError",
    "UnknownZoneError",
    "UsageImpacts",
    "__version__",
    "carry",
    "current_run",
    "estimate",
    "flush",
    "impacts_of",
    "init",
    "methodology_versions",
    "register_model",
    "reproduce",
    "shutdown",
    "track",
]

_LAZY: dict[str, str] = {
    "ConfigError": "genai_footprint._errors",
    "ElectricityMix": "genai_footprint._impacts",
    "EmbodiedImpacts": "genai_footprint._impacts",
    "Equivalent": "genai_footprint._equivalents",
    "EstimateInputs": "genai_footprint._impacts",
    "GenAIFootprintError": "genai_footprint._errors",
    "ImpactWarning": "genai_footprint._impacts",
    "Impacts": "genai_footprint._impacts",
    "InstrumentationError": "genai_footprint._errors",
    "InvalidInputError": "genai_footprint._errors",
    "Range": "genai_footprint._impacts",
    "RegistryError": "genai_footprint._errors",
    "UnknownModelError": "genai_footprint._errors",
    "UnknownZoneError": "genai_footprint._errors",
    "UsageImpacts": "genai_footprint._impacts",
    "estimate": "genai_footprint._estimate",
    "flush": "genai_footprint._setup",
    "impacts_of": "genai_footprint._results",
    "init": "genai_footprint._setup",
    "methodology_versions": "genai_footprint._methodology",
    "shutdown": "genai_footprint._setup",
    "register_model": "genai_footprint._registry",
    "reproduce": "genai_footprint._estimate",
    "Run": "genai_footprint._track",
    "carry": "genai_footprint._track",
    "current_run": "genai_footprint._track",
    "track": "genai_footprint._track",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'genai_footprint' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
