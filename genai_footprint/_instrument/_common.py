"""Helpers shared by provider modules: reading kwargs, client hosts and zone hints."""

from __future__ import annotations

from typing import Any

from genai_footprint._instrument._spec import Call, Endpoint, Observation, Settings


def given(value: Any) -> bool:
    """False for a missing argument, None, and the SDKs' NOT_GIVEN / Omit / UNSET sentinels."""
    return value is not None and type(value).__name__ not in ("NotGiven", "Omit", "Unset", "UnsetType")


def client_host(instance: Any) -> str:
    """The host the resource's client talks to (``api.openai.com``, an Azure resource, a local server)."""
    client = getattr(instance, "_client", None)
    base_url = getattr(client, "base_url", None)
    host = getattr(base_url, "host", None)
    return host.lower() if isinstance(host, str) else ""


def host_zone(host: str) -> str | None:
    """The electricity-mix zone a data-residency host stands for, if the registry knows it."""
    if not host:
        return None
    from genai_footprint._registry import get_registry

    return get_registry().host_zones.get(host)


def region_zone(provider: str, region: str | None) -> str | None:
    """The zone of a serving region reported by the provider (e.g. Azure's ``x-ms-region: East US``)."""
    if not region:
        return None
    from genai_footprint._registry import get_registry

    return get_registry().region_zones.get(provider, {}).get(region.strip().lower())


def new_call(
    endpoint: Endpoint,
    settings: Settings,
    kwargs: dict[str, Any],
    *,
    zone_hint: str | None = None,
    model_key: str = "model",
    stream: bool | None = None,
) -> Call:
    model = kwargs.get(model_key)
    return Call(
        provider=endpoint.provider,
        endpoint=endpoint,
        settings=settings,
        model_requested=model if isinstance(model, str) else None,
        stream=(kwargs.get("stream") is True) if stream is None else stream,
        zone_hint=zone_hint,
    )


class StreamTally:
    """What a stream observer keeps while items go by: served model, reported output tokens (the last report
    wins: providers send running totals), the text seen (counted only if no usage comes) and a zone hint.
    Subclasses add ``on_item``."""

    __slots__ = ("model", "texts", "tokens", "zone")

    def __init__(self, zone: str | None = None) -> None:
        self.model: str | None = None
        self.tokens: int | None = None
        self.texts: list[str] = []
        self.zone = zone

    def result(self) -> Observation:
        return Observation(model=self.model, output_tokens=self.tokens, zone_hint=self.zone, text=self.texts)
