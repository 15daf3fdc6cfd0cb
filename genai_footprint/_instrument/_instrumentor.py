"""The instrumentor: which SDK methods to wrap (the providers' target tables), version gates, post-import hooks,
and the patch lifecycle — ``init`` is idempotent and ``shutdown`` puts back exactly what it replaced."""

from __future__ import annotations

import importlib.metadata
import importlib.util
import logging
import re
import sys
import threading
import types
from collections.abc import Callable, Iterable
from typing import Any

import wrapt

from genai_footprint._errors import InstrumentationError
from genai_footprint._instrument._runtime import Runtime
from genai_footprint._instrument._spec import ProviderSpec, Target
from genai_footprint._instrument._wrappers import replacement
from genai_footprint._settings import InstrumentationSettings

logger = logging.getLogger("genai_footprint")


def version_tuple(text: str) -> tuple[int, ...]:
    """Leading release numbers: ``3.54.0`` → (3, 54, 0); ``3.53rc1`` → (3, 53); ``4.0.0.post1`` → (4, 0, 0)."""
    parts: list[int] = []
    for piece in text.split("."):
        match = re.match(r"\d+", piece)
        if match is None:
            break
        parts.append(int(match.group()))
        if match.end() != len(piece):  # a pre-/post-release suffix ends the release numbers
            break
    return tuple(parts)


def unusable(spec: ProviderSpec) -> str | None:
    """Why ``spec``'s SDK cannot be instrumented here (not installed, or a version we did not test); None if it can."""
    try:
        installed = importlib.util.find_spec(spec.import_name) is not None
    except (ImportError, ValueError):
        installed = False
    if not installed:
        return f"not installed (pip install 'genai-footprint[{spec.name}]')"
    try:
        version = importlib.metadata.version(spec.distribution)
    except importlib.metadata.PackageNotFoundError:
        return f"cannot read the installed version of {spec.distribution}"
    low, high = spec.tested
    if not (low <= version_tuple(version) < high):
        tested = f">={'.'.join(map(str, low))},<{'.'.join(map(str, high))}"
        return f"{spec.distribution} {version} is outside the versions genai_footprint was tested with ({tested})"
    return None


class Instrumentor:
    """Patches and restores SDK methods for a set of providers."""

    def __init__(self, specs: Iterable[ProviderSpec]) -> None:
        self.specs = {spec.name: spec for spec in specs}
        # One runtime for the instrumentor's whole life: wrappers the SDK cached (e.g. a client's
        # with_raw_response) keep working across shutdown() and a later init().
        self.runtime = Runtime()
        self._lock = threading.RLock()
        self._enabled: set[str] = set()
        self._hooked: set[str] = set()
        self._patched: dict[tuple[type, str], Any] = {}  # (class, method name) -> what it held before

    @property
    def enabled(self) -> frozenset[str]:
        return frozenset(self._enabled)

    def init(self, settings: InstrumentationSettings) -> None:
        """Wrap the providers ``settings`` names (every supported one installed, when it names none). With
        ``settings.strict``, raise ``InstrumentationError`` before patching anything if one cannot be."""
        with self._lock:
            usable, refusals = self._choose(settings.providers)
            if settings.strict and refusals:
                raise InstrumentationError("; ".join(refusals))
            for message in refusals:
                logger.warning("genai_footprint: %s; not instrumented", message)
            self.runtime.settings = settings
            for spec in usable:
                self._enabled.add(spec.name)
                self._hook(spec)

    def _choose(self, providers: Iterable[str] | None) -> tuple[list[ProviderSpec], list[str]]:
        """The providers to wrap now, and why the others asked for cannot be."""
        explicit = providers is not None
        usable: list[ProviderSpec] = []
        refusals: list[str] = []
        for name in providers if providers is not None else self.specs:
            spec = self.specs.get(name)
            if spec is None:
                refusals.append(f"unknown provider {name!r}; supported: {', '.join(self.specs)}")
                continue
            if spec.name in self._enabled:
                continue  # idempotent: already wrapped
            reason = unusable(spec)
            if reason is None:
                usable.append(spec)
            elif explicit or not reason.startswith("not installed"):
                refusals.append(f"{spec.name}: {reason}")
        return usable, refusals

    def _hook(self, spec: ProviderSpec) -> None:
        for module_name in dict.fromkeys(target.module for target in spec.targets):
            if module_name in self._hooked:
                module = sys.modules.get(module_name)
                if module is not None:
                    self._on_import(module_name, module)
                continue  # otherwise the hook registered earlier fires on import
            self._hooked.add(module_name)
            # Fires now if the module is already imported, else right after it is.
            wrapt.register_post_import_hook(self._import_hook(module_name), module_name)

    def _import_hook(self, module_name: str) -> Callable[[Any], None]:
        def hook(module: Any) -> None:
            self._on_import(module_name, module)

        return hook

    def _on_import(self, module_name: str, module: Any) -> None:
        with self._lock:
            if self.runtime.settings is None:
                return
            for spec_name in self._enabled:
                for target in self.specs[spec_name].targets:
                    if target.module == module_name:
                        self._patch(module, target)

    def _patch(self, module: Any, target: Target) -> None:
        try:
            # An empty owner names the module itself: a module-level function (LiteLLM's ``litellm.completion``).
            owner = getattr(module, target.owner) if target.owner else module
            original = owner.__dict__[target.method]
        except (AttributeError, KeyError):
            logger.debug("genai_footprint: %s.%s.%s not found; skipped", target.module, target.owner, target.method)
            return
        key = (owner, target.method)
        if key in self._patched:
            return
        setattr(owner, target.method, replacement(original, target, self.runtime))
        self._patched[key] = original

    def shutdown(self) -> None:
        """Put back every method exactly as it was; wrappers still referenced elsewhere pass straight through."""
        with self._lock:
            self.runtime.settings = None
            for (owner, method), original in self._patched.items():
                setattr(owner, method, original)
            self._patched.clear()
            self._enabled.clear()

    def patched(self) -> list[str]:
        """``module.Class.method`` of every method currently wrapped (for tests and diagnostics)."""
        return sorted(f"{_qualified_name(owner)}.{method}" for owner, method in self._patched)


def _qualified_name(owner: Any) -> str:
    """``module.Class`` of a patched class, ``module`` of a patched module."""
    if isinstance(owner, types.ModuleType):
        return owner.__name__
    return f"{owner.__module__}.{owner.__qualname__}"


_lock = threading.Lock()
_instrumentor: Instrumentor | None = None


def _provider_specs() -> list[ProviderSpec]:
    # Provider modules declare data only (targets, extractors); importing them imports no SDK.
    from genai_footprint._instrument import (
        _anthropic,
        _bedrock,
        _cohere,
        _google,
        _groq,
        _huggingface,
        _litellm,
        _mistralai,
        _openai,
    )

    specs = [_openai.SPEC, _anthropic.SPEC, _mistralai.SPEC, _google.SPEC, _groq.SPEC, _cohere.SPEC, _litellm.SPEC]
    return [*specs, _bedrock.SPEC, _huggingface.SPEC]


def instrumentor() -> Instrumentor:
    """The process-wide instrumentor of every supported provider."""
    global _instrumentor
    with _lock:
        if _instrumentor is None:
            _instrumentor = Instrumentor(_provider_specs())
        return _instrumentor
