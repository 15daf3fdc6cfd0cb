"""The data registry: models, providers and electricity mixes, read from ``registry/*.json``.

Loaded on first use and cached; importing the package reads nothing. Rows are validated with pydantic and
a bad file raises ``RegistryError`` naming the file and the row. ``_schema`` holds the rows, ``_loading`` the
``Registry`` built from the files, ``_names`` how a model name is resolved, ``_custom`` ``register_model()``'s
checks.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

from genai_footprint._data import data_dir
from genai_footprint._registry._custom import check_model, model_row
from genai_footprint._registry._hosts import ApiHost
from genai_footprint._registry._loading import Registry
from genai_footprint._registry._schema import (
    SCHEMA_VERSION,
    WARNING_MESSAGES,
    Bounds,
    Cloud,
    MixRow,
    ModelRow,
    ProviderRow,
    RegionRow,
    RegionsSection,
    as_range,
    region_key,
)
from genai_footprint._settings import ModelSettings

__all__ = [
    "SCHEMA_VERSION",
    "WARNING_MESSAGES",
    "ApiHost",
    "Bounds",
    "Cloud",
    "MixRow",
    "ModelRow",
    "ProviderRow",
    "RegionRow",
    "RegionsSection",
    "Registry",
    "add_custom_model",
    "as_range",
    "check_model",
    "data_dir",
    "get_registry",
    "region_key",
    "register_model",
]

_lock = threading.Lock()
_registry: Registry | None = None  # tests swap it for a registry of their own


def get_registry() -> Registry:
    """The process-wide registry, loaded on first call."""
    global _registry
    if _registry is None:
        with _lock:
            if _registry is None:
                _registry = Registry(data_dir())
    return _registry


def register_model(
    provider: str,
    name: str,
    *,
    active_params: float | tuple[float, float],
    total_params: float | tuple[float, float] | None = None,
    tps: float | None = None,
    ttft: float | None = None,
    zone: str | None = None,
    pue: float | tuple[float, float] | None = None,
    wue: float | tuple[float, float] | None = None,
    aliases: Sequence[str] = (),
    sources: Sequence[str] = ("registered at run time by the application",),
    warnings: Sequence[str] = (),
) -> None:
    """Add or override a model at run time, e.g. a self-hosted model behind an OpenAI-compatible server.

    Parameters are in billions (a number or a ``(min, max)`` tuple); ``total_params`` defaults to
    ``active_params`` (a dense model). ``zone``, ``pue`` and ``wue`` override the provider's defaults for
    this model. Raises ``InvalidInputError`` naming the argument on bad input.
    """
    registry = get_registry()
    model = check_model(
        registry,
        provider,
        name,
        active_params=active_params,
        total_params=total_params,
        tps=tps,
        ttft=ttft,
        zone=zone,
        pue=pue,
        wue=wue,
        aliases=aliases,
        source="register_model()",
    )
    registry.add_model(model_row(model, sources, warnings))


def add_custom_model(model: ModelSettings) -> None:
    """Add a model a configuration file declares (checked already, by ``check_model``)."""
    registry = get_registry()
    registry.add_model(model_row(model, (f"custom model from {model.source}",)))
