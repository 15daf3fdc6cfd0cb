"""``init()`` and ``shutdown()``: the public face of the instrumentation."""

from __future__ import annotations

import threading
from collections.abc import Iterable

from genai_footprint._instrument._runtime import Instrumentor, Runtime
from genai_footprint._instrument._spec import ProviderSpec, Settings

SUPPORTED_PROVIDERS = ("openai", "anthropic", "mistralai")

_lock = threading.Lock()
_instrumentor: Instrumentor | None = None


def _specs() -> list[ProviderSpec]:
    # Provider modules declare data only (targets, extractors); importing them imports no SDK.
    from genai_footprint._instrument import _anthropic, _mistralai, _openai

    return [_openai.SPEC, _anthropic.SPEC, _mistralai.SPEC]


def instrumentor() -> Instrumentor:
    global _instrumentor
    with _lock:
        if _instrumentor is None:
            _instrumentor = Instrumentor(_specs())
        return _instrumentor


def init(
    providers: Iterable[str] | None = None,
    *,
    zone: str | None = None,
    request_stream_usage: bool = True,
    strict: bool = False,
) -> None:
    """Instrument the provider SDKs so every text-generation call carries an ``impacts`` attribute.

    ``providers``: names among ``openai``, ``anthropic``, ``mistralai``; None means every supported SDK that is
    installed. ``zone`` (ISO 3166-1 alpha-3) overrides the serving zone of every call. With
    ``request_stream_usage`` (default), OpenAI chat streams to endpoints known to accept it are asked for a
    usage chunk, hidden from the caller. ``strict=True`` raises instead of warning when a named provider
    cannot be instrumented. Safe to call again: nothing is wrapped twice; the new settings apply.
    """
    from genai_footprint._errors import InvalidInputError

    if isinstance(providers, str):
        providers = [providers]
    names = None if providers is None else [_provider_name(p) for p in providers]
    zone_code = None
    if zone is not None:
        from genai_footprint._estimate import _zone
        from genai_footprint._registry import get_registry

        zone_code = _zone(get_registry(), zone)
    if not isinstance(request_stream_usage, bool):
        raise InvalidInputError("request_stream_usage", f"expected True or False, got {request_stream_usage!r}")
    settings = Settings(zone=zone_code, request_stream_usage=request_stream_usage, strict=bool(strict))
    instrumentor().init(names, settings)


def _provider_name(name: object) -> str:
    from genai_footprint._errors import InvalidInputError

    if not isinstance(name, str):
        raise InvalidInputError("providers", f"expected provider names, got {name!r}")
    key = name.strip().lower()
    return {"mistral": "mistralai", "azure": "openai", "azure_openai": "openai"}.get(key, key)


def shutdown() -> None:
    """Restore every SDK method exactly as it was and stop annotating calls."""
    if _instrumentor is not None:
        _instrumentor.shutdown()


def current_runtime() -> Runtime | None:
    """The runtime while instrumentation is on, else None."""
    if _instrumentor is None or _instrumentor.runtime.settings is None:
        return None
    return _instrumentor.runtime
