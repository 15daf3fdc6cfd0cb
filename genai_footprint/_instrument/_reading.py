"""Reading SDK objects, shared by the provider modules: arguments, optional fields, client hosts, zone hints,
and what a stream observer keeps while items go by."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from genai_footprint._events import TokenDetails
from genai_footprint._instrument._spec import Observation

if TYPE_CHECKING:
    from genai_footprint._registry import ApiHost


def given(value: Any) -> bool:
    """False for a missing argument, None, and the SDKs' NOT_GIVEN / Omit / UNSET sentinels."""
    return value is not None and type(value).__name__ not in ("NotGiven", "Omit", "Unset", "UnsetType")


def attr(obj: Any, name: str) -> Any:
    """``getattr(obj, name, None)``, also None when reading the attribute fails (SDK models of other versions)."""
    try:
        return getattr(obj, name, None)
    except Exception:
        return None


def text_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def add_text(out: list[str], value: Any) -> None:
    """Append ``value`` to the texts ``out`` if it is a non-empty string."""
    if isinstance(value, str) and value:
        out.append(value)


def client_address(instance: Any) -> tuple[str, int | None]:
    """The host the resource's client talks to (``api.openai.com``, an Azure resource, a local server), and the
    port when its base URL names one (``localhost:11434``)."""
    base_url = getattr(getattr(instance, "_client", None), "base_url", None)
    host, port = getattr(base_url, "host", None), getattr(base_url, "port", None)
    return (host.lower() if isinstance(host, str) else ""), (port if isinstance(port, int) else None)


def client_host(instance: Any) -> str:
    """The host the resource's client talks to (``client_address`` without the port)."""
    return client_address(instance)[0]


def api_host(host: str, port: int | None) -> ApiHost | None:
    """The provider behind an OpenAI-compatible host (an ``ApiHost``), if the registry knows the host."""
    from genai_footprint._registry import get_registry

    return get_registry().api_host(host, port)


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


def cloud_zone(cloud: str, region: str | None) -> str | None:
    """The zone of a cloud region (``aws``/``gcp``/``azure`` names such as ``eu-west-3``), if the registry knows it."""
    if not region:
        return None
    from genai_footprint._registry import get_registry

    return get_registry().cloud_zone(cloud, region)


class StreamTally:
    """What a stream observer keeps while items go by: served model, reported output tokens and the other counts
    (the last report wins: providers send running totals), the text seen (counted only if no usage comes) and a
    zone hint. Subclasses add ``on_item``."""

    def __init__(self, zone: str | None = None) -> None:
        self.model: str | None = None
        self.tokens: int | None = None
        self.details = TokenDetails()
        self.texts: list[str] = []
        self.zone = zone

    def result(self) -> Observation:
        return Observation(
            model=self.model, output_tokens=self.tokens, details=self.details, zone_hint=self.zone, text=self.texts
        )
