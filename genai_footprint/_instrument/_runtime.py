"""The generic machinery: one wrapper per call shape, stream proxies, and the patch lifecycle.

Rule: only the SDK's own call may raise to the user. Everything we add before or after it runs under
``_guard`` (log at debug level, step aside) and the object returned is the very object the SDK returned —
a stream is handed back inside a transparent proxy.
"""

from __future__ import annotations

import functools
import importlib.metadata
import importlib.util
import logging
import re
import sys
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Container, Iterable, Iterator
from contextvars import ContextVar
from types import EllipsisType, FunctionType, MethodType
from typing import TYPE_CHECKING, Any

import wrapt

from genai_footprint._context import ACTIVE_TRACKERS
from genai_footprint._errors import InstrumentationError
from genai_footprint._instrument._spec import (
    Call,
    CallEvent,
    Observation,
    ProviderSpec,
    Settings,
    StreamObserver,
    Target,
    call_event,
)

if TYPE_CHECKING:
    from genai_footprint._impacts import Impacts

logger = logging.getLogger("genai_footprint")

_ATTR = "impacts"
_PENDING = "_genai_footprint_pending"  # set on a raw-response object: the call its parse() completes

# The instrumented call in progress in this thread / task, so a hook deeper in the SDK (the response parser,
# where headers are visible) can add what it sees to it.
_CURRENT: ContextVar[Call | None] = ContextVar("genai_footprint_call", default=None)


_RESPONSE, _STREAM, _RAW, _DEFERRING = 0, 1, 2, 3
_KINDS: dict[type, int] = {}


def _kind(result: Any) -> int:
    """What an SDK call returned, decided once per type from class attributes (cheap, no instance lookups).

    Streams are iterators (pydantic models have ``__iter__`` but no ``__next__``); raw responses
    (with_raw_response / with_streaming_response) carry the HTTP response and a ``parse()`` method. A response
    whose class can read impacts left to first read (see ``_ImpactsAttribute``) gets them that way.
    """
    cls = type(result)
    kind = _KINDS.get(cls)
    if kind is None:
        if hasattr(cls, "__next__") or hasattr(cls, "__anext__"):
            kind = _STREAM
        elif hasattr(cls, "parse") and hasattr(cls, "headers") and hasattr(cls, "status_code"):
            kind = _RAW
        else:
            kind = _DEFERRING if _reads_deferred(result) else _RESPONSE
        _KINDS[cls] = kind
    return kind


def _internal_error(where: str) -> None:
    logger.debug("genai_footprint: internal error in %s; the SDK call is unaffected", where, exc_info=True)


def _attach_none(obj: Any) -> None:
    """After an internal failure: ``obj.impacts`` reads None rather than raising AttributeError."""
    try:
        if _ATTR not in getattr(obj, "__dict__", {}):
            object.__setattr__(obj, _ATTR, None)
    except Exception:
        _internal_error("attach")


def _injected_usage_chunk(call: Call, item: Any) -> bool:
    """The usage-only chunk we asked for on the caller's behalf (hidden from them, even if we fail)."""
    try:
        return bool(call.injected_stream_usage and not item.choices and item.usage is not None)
    except Exception:
        return False


class _FailedObserver:
    """Stands in when a stream's observer could not be made: hides what we injected, estimates nothing."""

    def __init__(self, call: Call) -> None:
        self.call = call

    def on_item(self, item: Any) -> bool:
        return not _injected_usage_chunk(self.call, item)

    def result(self) -> Observation:
        raise RuntimeError("no observation: the stream observer could not be created")


def _attach(obj: Any, impacts: Impacts | DeferredImpacts | None) -> None:
    # Into the instance dict, as object.__setattr__ would put it: past pydantic's __setattr__ (which refuses
    # unknown fields on some SDKs), leaving the object's fields, model_dump(), == and repr untouched.
    try:
        obj.__dict__[_ATTR] = impacts
    except AttributeError:  # no instance dict: object.__setattr__ says why (and the caller's guard logs it)
        object.__setattr__(obj, _ATTR, impacts)


_new = object.__new__
_UNREAD: Any = object()
_RESOLVING = threading.Lock()


def _same(value: Any) -> Any:
    return value


class DeferredImpacts:
    """A response's impacts until they are first read: the arguments of ``compute_positional`` for its call.

    An instrumented call stores one in the response's ``__dict__`` (one small object instead of an Impacts and
    its inputs: most calls' impacts are read later, if at all); the class's ``_ImpactsAttribute`` turns it into
    the Impacts on first read and keeps that instead. Copies of the response share it, so they read the same
    Impacts; a pickle or a deep copy holds that Impacts. Built only where the estimate cannot fail
    (``Prepared.lazy_tokens``), so reading it gives what the call would have got at once.
    """

    __slots__ = ("args", "value")

    args: tuple[Any, ...]
    value: Any  # the Impacts once computed; _UNREAD before

    def resolve(self) -> Impacts | None:
        value = self.value
        if value is _UNREAD:
            with _RESOLVING:  # computed once, whichever thread reads first
                value = self.value
                if value is _UNREAD:
                    try:
                        value = (_ESTIMATOR or _estimator())[0].compute_positional(*self.args)
                    except Exception:
                        _internal_error("impacts")
                        value = None
                    self.value = value
        return value  # type: ignore[no-any-return]

    def __reduce__(self) -> tuple[Any, ...]:  # pickled and deep-copied as its Impacts
        return _same, (self.resolve(),)

    def __repr__(self) -> str:
        return f"<genai_footprint impacts, computed when read: {self.resolve()!r}>"


class _ImpactsAttribute:
    """The ``impacts`` attribute of an SDK response class whose instances may hold a ``DeferredImpacts``.

    Set on the class the first time an instrumented call returns an instance of it, and left there by
    ``shutdown()`` so that responses already returned can still be read. A data descriptor: read before the
    instance's ``__dict__``, where the value is kept (as ``_attach`` puts it). An instance without one has no
    ``impacts``, as without us.
    """

    __slots__ = ()

    def __get__(self, obj: Any, owner: type | None = None) -> Any:
        if obj is None:
            return self
        state = obj.__dict__
        try:
            value = state[_ATTR]
        except KeyError:
            raise AttributeError(f"{type(obj).__name__!r} object has no attribute {_ATTR!r}") from None
        if type(value) is DeferredImpacts:
            value = state[_ATTR] = value.resolve()
        return value

    def __set__(self, obj: Any, value: Any) -> None:
        obj.__dict__[_ATTR] = value

    def __delete__(self, obj: Any) -> None:
        try:
            del obj.__dict__[_ATTR]
        except KeyError:
            raise AttributeError(_ATTR) from None


_IMPACTS_ATTRIBUTE = _ImpactsAttribute()


def _read(impacts: Impacts | DeferredImpacts | None) -> Impacts | None:
    return impacts.resolve() if isinstance(impacts, DeferredImpacts) else impacts


def _added_unread(run: Any, call: Call, model: str | None, deferred: DeferredImpacts) -> bool:
    """Add a call whose impacts are not computed yet to a tracker's sums, leaving them uncomputed (False: the
    tracker cannot, see ``Run._add_pending``)."""
    prepared, tokens, latency_s, _source, _ttft, _stream, extra, _asked, _served = deferred.args
    warnings = prepared.warnings + extra if extra else prepared.warnings
    return bool(
        run._add_pending(
            call.provider,
            model,
            prepared.kernel,
            tokens,
            latency_s,
            prepared.method.VERSION,
            warnings,
            prepared.fixed_inputs["model_resolved"],
        )
    )


def _reads_deferred(result: Any) -> bool:
    """Whether ``result``'s class reads deferred impacts, setting our attribute on it if it has no ``impacts``
    of its own; False for instances without a ``__dict__`` (their impacts are computed at once)."""
    cls = type(result)
    try:
        if not isinstance(getattr(result, "__dict__", None), dict):
            return False
        for klass in cls.__mro__:
            if _ATTR in klass.__dict__:
                return klass.__dict__[_ATTR] is _IMPACTS_ATTRIBUTE
        fields = getattr(cls, "model_fields", None)
        if isinstance(fields, dict) and _ATTR in fields:  # a field of that name (no SDK has one): left alone
            return False
        setattr(cls, _ATTR, _IMPACTS_ATTRIBUTE)
        return True
    except Exception:
        _internal_error("impacts attribute")
        return False


class Runtime:
    """What the wrappers close over. ``settings`` is None once shut down: wrappers then pass straight through."""

    def __init__(self, settings: Settings | None) -> None:
        self.settings: Settings | None = settings
        self.listeners: tuple[Callable[[CallEvent], None], ...] = ()
        # Take each finished call's parts (``Finished``) and the Impacts it returned: the export pipeline, which
        # builds the call's event off the request path.
        self.sinks: tuple[Callable[[Finished, Impacts | DeferredImpacts | None], None], ...] = ()
        self._unknown_warned: set[tuple[str, str]] = set()
        self._plans: tuple[Settings, dict[Any, Any], dict[Any, tuple[str | None, Any]]] | None = None
        self.grid: Any = None  # a GridIntensity when real-time carbon intensity is configured
        self._live_mix: dict[tuple[int, Any], Any] = {}  # (id of annual preparation, intensity) -> preparation

    # -- after the SDK returned -----------------------------------------------------------------------

    def after(self, call: Call, result: Any, end: float) -> Any:
        """Annotate ``result`` (or proxy it, for a stream); never raises."""
        try:
            kind = _KINDS.get(type(result))
            if kind is None:
                kind = _kind(result)
            if kind == _RAW:
                # with_raw_response / with_streaming_response: annotate what parse() gives. Until the body
                # has been read (with_streaming_response reads it in parse()), the call has not ended.
                body_read = bool(getattr(getattr(result, "http_response", None), "is_closed", True))
                object.__setattr__(result, _PENDING, [call, end if body_read else None, None])
                return result
            if kind == _STREAM:
                return self.proxy_stream(call, result)
            observation = call.endpoint.observe(call, result)
            if kind == _DEFERRING:
                result.__dict__[_ATTR] = self.complete(call, observation, end, None, False, True)
            else:
                _attach(result, self.complete(call, observation, end))
        except Exception:
            _internal_error("after")
            _attach_none(result)
        return result

    def proxy_stream(self, call: Call, stream: Any) -> Any:
        observer: StreamObserver
        try:
            observer = call.endpoint.stream_observer(call, stream)
        except Exception:
            _internal_error("stream_observer")
            observer = _FailedObserver(call)
        try:
            setattr(stream, _ATTR, None)  # readable before the end; set for real when the stream ends
        except Exception:
            _internal_error("proxy_stream")
        if hasattr(stream, "__anext__") or hasattr(stream, "__aiter__"):
            if hasattr(type(stream), "aclose"):
                return AsyncStreamProxyWithAclose(stream, self, call, observer)
            return AsyncStreamProxy(stream, self, call, observer)
        return SyncStreamProxy(stream, self, call, observer)

    def complete(
        self,
        call: Call,
        observation: Observation,
        end: float,
        first_item_at: float | None = None,
        ended_early: bool = False,
        defer: bool = False,
    ) -> Impacts | DeferredImpacts | None:
        """The impacts of a finished call, or None when its model is not in the registry. ``defer``: for a
        response's ``__dict__``, a ``DeferredImpacts`` instead where the estimate cannot fail (see there)."""
        estimate_module, registry_module = _ESTIMATOR or _estimator()
        settings = call.settings
        registry = registry_module._registry or registry_module.get_registry()
        # What an estimate needs besides tokens and latency is decided once per (provider, models, zone hint)
        # and kept until the settings or the registry change: the per-call path is one dict lookup.
        plans = self._plans
        if plans is None or plans[0] is not settings or plans[1] is not registry.prepared:
            # A re-init() with the same settings keeps the plans; other settings or a changed registry do not.
            keep = plans is not None and plans[1] is registry.prepared and plans[0] == settings
            plans = self._plans = (settings, registry.prepared, plans[2] if plans is not None and keep else {})
        hint = observation.zone_hint or call.zone_hint
        key = (call.provider, observation.model, call.model_requested, hint)
        plan = plans[2].get(key)
        if plan is None:
            plan = self._plan(call, observation, hint, settings, registry, estimate_module)
            if len(plans[2]) > 1024:
                plans[2].clear()
            plans[2][key] = plan
        name, prepared = plan
        if name is None:
            self._warn_unknown(call.provider, observation.model or call.model_requested)
            if call.trackers or self.listeners or self.sinks:
                self._notify(call, observation, None, end, first_item_at, None)
            return None

        tokens, source = observation.output_tokens, observation.tokens_source
        extra: tuple[Any, ...] = ()
        if tokens is None:
            from genai_footprint._instrument._tokens import count_output_tokens

            tokens, source = count_output_tokens(call.provider, name, observation.text or ())
            extra += (_warning("tokens-counted", source),)
            if ended_early:
                extra += (_warning("stream-partial", source),)
        elif type(tokens) is not int:
            tokens = estimate_module._number("output_tokens", tokens)
        elif tokens < 0:
            raise ValueError(f"negative output tokens {tokens!r} reported")
        grid = self.grid
        if grid is not None:
            prepared = self._with_live_gwp(grid, prepared, estimate_module)
        # The same arguments as in finished_event(), which recomputes these impacts for the export worker.
        args = (
            prepared,
            tokens,
            end - call.start,
            source,
            None if first_item_at is None else first_item_at - call.start,
            call.stream,
            extra,
            call.model_requested,
            observation.model,
        )
        impacts: Impacts | DeferredImpacts
        if defer and tokens <= prepared.lazy_tokens:
            impacts = _new(DeferredImpacts)
            impacts.args = args
            impacts.value = _UNREAD
        else:
            impacts = estimate_module.compute_positional(*args)
        if call.trackers or self.listeners or self.sinks:
            self._notify(call, observation, impacts, end, first_item_at, (prepared, tokens, source, extra))
        return impacts

    def _with_live_gwp(self, grid: Any, prepared: Any, estimate: Any) -> Any:
        """The preparation with the zone's latest carbon intensity, when the grid cache has one (else as is)."""
        try:
            intensity = grid.lookup(prepared.fixed_inputs["zone"])
        except Exception:
            _internal_error("grid")
            return prepared
        if intensity is None:
            return prepared
        key = (id(prepared), intensity)
        live = self._live_mix.get(key)
        if live is None or live[0] is not prepared:
            if len(self._live_mix) > 256:
                self._live_mix.clear()
            live = self._live_mix[key] = (
                prepared,
                estimate.with_gwp(prepared, intensity.gwp_kg_per_kwh, "electricitymaps", intensity.timestamp),
            )
        return live[1]

    @staticmethod
    def _plan(
        call: Call, observation: Observation, hint: str | None, settings: Settings, registry: Any, estimate: Any
    ) -> tuple[str | None, Any]:
        """(the registry name to estimate with, its prepared inputs), or (None, None) for an unknown model."""
        name: str | None = None
        row: Any = None
        for candidate in (observation.model, call.model_requested):
            row = registry.resolve(call.provider, candidate) if candidate else None
            if row is not None:
                name = candidate
                break
        if name is None:
            return None, None
        zone = settings.zone or _valid_zone(registry.mixes, hint)
        provider_zone = None if zone else settings.zones_by_provider.get(call.provider)
        pue = settings.pue_by_provider.get(call.provider)
        wue = settings.wue_by_provider.get(call.provider)
        if provider_zone or pue or wue:
            # Per-provider settings replace the registry's provider defaults; a model's own figures still win.
            zone = zone or (provider_zone if row.zone is None else None)
            pue = pue if row.pue is None else None
            wue = wue if row.wue is None else None
        prepared = estimate.prepared_from_registry(registry, call.provider, name, zone, pue, wue)
        return name, prepared

    def _notify(
        self,
        call: Call,
        observation: Observation,
        impacts: Impacts | DeferredImpacts | None,
        end: float,
        first_item_at: float | None,
        recipe: tuple[Any, ...] | None,
    ) -> None:
        if call.trackers:
            model = observation.model or call.model_requested
            for run in call.trackers:
                try:
                    if type(impacts) is not DeferredImpacts or not _added_unread(run, call, model, impacts):
                        run.add(call.provider, model, _read(impacts))
                except Exception:
                    _internal_error("tracker")
        if not self.sinks and not self.listeners:
            return
        # Every field in order (see Finished): once per call with an export pipeline or a listener.
        finished = (
            call,
            observation.model,
            observation.output_tokens,
            observation.tokens_source,
            recipe,
            end,
            first_item_at,
            time.time() - (time.perf_counter() - end),  # timestamp
        )
        for sink in self.sinks:
            try:
                sink(finished, impacts)
            except Exception:
                _internal_error("listener")
        if not self.listeners:
            return
        try:
            event = finished_event(finished, impacts)
        except Exception:
            _internal_error("event")
            return
        for listener in self.listeners:
            try:
                listener(event)
            except Exception:
                _internal_error("listener")

    def _warn_unknown(self, provider: str, model: str | None) -> None:
        key = (provider, model or "")
        if key in self._unknown_warned:
            return
        self._unknown_warned.add(key)
        logger.warning(
            "genai_footprint: model %r of provider %r is not in the registry; its calls get impacts=None. "
            "Add it with genai_footprint.register_model(%r, %r, active_params=..., total_params=...).",
            model,
            provider,
            provider,
            model,
        )


# A finished call as the runtime hands it to its sinks: (call, model served, output tokens and their source as
# observed, recipe, end, first item time, timestamp). ``recipe``: what its impacts were computed from, (prepared
# inputs, output tokens, their source, extra warnings), or None when its model is unknown. Small objects only:
# queued for the export worker, it does not keep the call's Impacts (and their inputs) alive meanwhile.
Finished = tuple[Any, ...]


def finished_event(finished: Finished, impacts: Impacts | DeferredImpacts | EllipsisType | None = ...) -> CallEvent:
    """The event of a finished call. Its impacts: ``impacts`` if given, else recomputed from the recipe, with the
    arguments ``Runtime.complete`` gave (the estimate is a pure function of them: equal to what the call got)."""
    call, model_served, tokens, source, recipe, end, first_item_at, timestamp = finished
    if isinstance(impacts, DeferredImpacts):
        impacts = impacts.resolve()
    computed = impacts if not isinstance(impacts, EllipsisType) else None
    if impacts is ... and recipe is not None:
        prepared, counted, counted_source, extra = recipe
        computed = (_ESTIMATOR or _estimator())[0].compute_positional(
            prepared,
            counted,
            end - call.start,
            counted_source,
            None if first_item_at is None else first_item_at - call.start,
            call.stream,
            extra,
            call.model_requested,
            model_served,
        )
    inputs = None if computed is None else computed.inputs
    if inputs is not None:
        tokens, source = inputs.output_tokens, inputs.tokens_source
    elif not tokens:
        source = None
    # Every field in order.
    return call_event(
        timestamp,
        call.provider,
        call.model_requested,
        model_served,
        None if inputs is None else inputs.model_resolved,
        None if inputs is None else inputs.zone,
        tokens,
        source,
        end - call.start,  # latency_s
        None if first_item_at is None else first_item_at - call.start,  # ttft_s
        call.stream,
        tuple([run.name for run in call.trackers]) if call.trackers else (),
        computed,
    )


_ESTIMATOR: Any = None


def _estimator() -> Any:
    """The estimate and registry modules, imported on first use (pydantic is not loaded at ``init()``)."""
    global _ESTIMATOR
    if _ESTIMATOR is None:
        from genai_footprint import _estimate, _registry

        _ESTIMATOR = (_estimate, _registry)
    return _ESTIMATOR


_WARNINGS = {
    "tokens-counted": "The provider reported no usage; output tokens were counted from the text ({source}).",
    "stream-partial": "The stream ended before the provider reported usage; impacts cover the text received.",
}


def _warning(code: str, source: str) -> Any:
    from genai_footprint._impacts import ImpactWarning

    return ImpactWarning(code=code, message=_WARNINGS[code].format(source=source))


def _valid_zone(mixes: dict[str, Any], hint: str | None) -> str | None:
    return hint if hint is not None and hint in mixes else None


# -- wrappers -------------------------------------------------------------------------------------------


def begin_call(
    target: Target, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any], settings: Settings
) -> Call | None:
    try:
        assert target.endpoint is not None
        call = target.endpoint.begin(instance, args, kwargs, settings)
        call.trackers = ACTIVE_TRACKERS.get()
        return call
    except Exception:
        _internal_error("begin")
        return None


def make_call_wrapper(target: Target, runtime: Runtime, original: Callable[..., Any]) -> Callable[..., Any]:
    """The replacement of a generation method ``original``; ``target.shape`` says whether it returns a coroutine.

    Sync: a plain function (``original`` is the class's function, ``args[0]`` the instance). Async: a wrapper in
    wrapt's form ``(wrapped, instance, args, kwargs)``, installed through ``wrapt.FunctionWrapper``.
    """
    perf_counter = time.perf_counter
    current = _CURRENT

    if target.shape == "sync":
        endpoint: Any = target.endpoint  # None would fail in the guarded begin below, as in begin_call()
        trackers = ACTIVE_TRACKERS.get

        def method(*args: Any, **kwargs: Any) -> Any:
            settings = runtime.settings
            # Shut down, or called from inside another instrumented call (e.g. a parse() built on create()):
            # only the outermost call counts.
            if settings is None or current.get() is not None or not args:
                return original(*args, **kwargs)
            # begin_call(), inlined: once per call, and a Python call costs about as much as what it does here.
            call: Call | None
            try:
                call = endpoint.begin(args[0], args[1:], kwargs, settings)
                call.trackers = trackers()
            except Exception:
                _internal_error("begin")
                call = None
            if call is None:
                result = original(*args, **kwargs)
                _attach_none(result)
                return result
            token = current.set(call)
            try:
                result = original(*args, **kwargs)
            finally:
                current.reset(token)
            return runtime.after(call, result, perf_counter())

        return method

    async def unobserved(awaitable: Any) -> Any:
        result = await awaitable
        _attach_none(result)
        return result

    async def finish(call: Call, awaitable: Any) -> Any:
        token = current.set(call)
        try:
            result = await awaitable
        finally:
            current.reset(token)
        return runtime.after(call, result, perf_counter())

    def async_wrapper(wrapped: Any, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        settings = runtime.settings
        if settings is None or current.get() is not None:
            return wrapped(*args, **kwargs)
        call = begin_call(target, instance, args, kwargs, settings)
        # Called now, as without us (the SDK checks its arguments at call time); awaited by the caller.
        awaitable = wrapped(*args, **kwargs)
        if call is None:
            return unobserved(awaitable)
        return finish(call, awaitable)

    return async_wrapper


def _parsed(runtime: Runtime, raw: Any, parsed: Any) -> Any:
    """After a raw response's parse(): annotate (or proxy) what it gave, once per raw response.

    The SDK's plain path parses through the same class inside the call: there we only read the response
    headers into the call in progress (e.g. Azure's serving region).
    """
    try:
        pending = raw.__dict__.get(_PENDING)
        if pending is None:
            call = _CURRENT.get()
            if call is not None and call.reads_headers and call.zone_hint is None:
                call.zone_hint = call.endpoint.headers_zone(call, raw.http_response.headers)
            return parsed
        call, end, done = pending
        if done is not None:
            original, returned = done
            return returned if parsed is original else parsed
        if call.reads_headers and call.zone_hint is None:
            call.zone_hint = call.endpoint.headers_zone(call, raw.http_response.headers)
        if end is None:  # with_streaming_response: the body is read by this parse()
            end = time.perf_counter()
        returned = runtime.after(call, parsed, end)
        pending[2] = (parsed, returned)
        return returned
    except Exception:
        _internal_error("parse")
        return parsed


def make_parse_wrapper(target: Target, runtime: Runtime, original: Callable[..., Any]) -> Callable[..., Any]:
    """The replacement of a raw response's ``parse()`` (the SDK call itself happened in a wrapped method), in the
    forms of ``make_call_wrapper``."""
    if target.shape == "sync":

        def method(*args: Any, **kwargs: Any) -> Any:
            parsed = original(*args, **kwargs)
            return _parsed(runtime, args[0], parsed) if runtime.settings is not None else parsed

        return method

    async def async_parse(wrapped: Any, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        parsed = await wrapped(*args, **kwargs)
        return _parsed(runtime, instance, parsed) if runtime.settings is not None else parsed

    return async_parse


def _adapted(original: Callable[..., Any], wrapper: Callable[..., Any]) -> Callable[..., Any]:
    """A plain function calling a wrapper of wrapt's form ``(wrapped, instance, args, kwargs)``."""
    method_type = MethodType

    def method(*args: Any, **kwargs: Any) -> Any:
        if not args:  # not called on an instance: the SDK's own error
            return original(*args, **kwargs)
        instance = args[0]
        return wrapper(method_type(original, instance), instance, args[1:], kwargs)

    return method


if TYPE_CHECKING:
    _FunctionWrapperBase = wrapt.FunctionWrapper[Any, Any]
else:  # as _ProxyBase below
    _FunctionWrapperBase = wrapt.FunctionWrapper


class _AsyncMethod(_FunctionWrapperBase):
    """How an async method is replaced: wrapt keeps what ``inspect`` tells of the original (a coroutine function
    stays one), which a plain function would not."""

    __genai_footprint__ = True


def _replacement(original: Any, target: Target, runtime: Runtime) -> Any:
    """What replaces ``original`` on its class: a plain function for a sync method (the cheapest call: CPython
    binds and specialises it like the SDK's own), a wrapt wrapper for an async one. None: cannot be replaced."""
    sync = target.shape == "sync"
    if sync and not isinstance(original, FunctionType):
        return None
    if target.wrapper is not None:
        wrapper = target.wrapper(target, runtime)
        if sync:
            wrapper = _adapted(original, wrapper)
    elif target.hook == "call":
        wrapper = make_call_wrapper(target, runtime, original)
    else:
        wrapper = make_parse_wrapper(target, runtime, original)
    if not sync:
        return _AsyncMethod(original, wrapper)
    functools.update_wrapper(wrapper, original)  # name, docs, signature (through __wrapped__)
    wrapper.__genai_footprint__ = True  # type: ignore[attr-defined]
    return wrapper


def installed(value: Any) -> bool:
    """Whether ``value`` (a class attribute) is a method replacement installed by genai_footprint."""
    return getattr(type(value), "__genai_footprint__", False) is True or (
        isinstance(value, FunctionType) and value.__dict__.get("__genai_footprint__") is True
    )


# -- stream proxies -------------------------------------------------------------------------------------


if TYPE_CHECKING:
    _ProxyBase = wrapt.ObjectProxy[Any]
else:  # subscripting needs wrapt >= 2 at run time; plain ObjectProxy works on every supported wrapt
    _ProxyBase = wrapt.ObjectProxy


class _Ending:
    """Around a proxy's item loop: the last item, or an error, finishes the call. A GeneratorExit (the proxy
    closed or collected) leaves that to ``close()`` or ``__del__``."""

    __slots__ = ("proxy",)

    def __init__(self, proxy: _StreamProxyBase) -> None:
        self.proxy = proxy

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: type[BaseException] | None, *rest: Any) -> None:  # an error goes on to the caller
        if kind is None:
            self.proxy._self_finish(ended_early=False)
        elif not issubclass(kind, GeneratorExit):
            self.proxy._self_finish(ended_early=True)


def _shown(on_item: Callable[[Any], bool], call: Call, item: Any) -> bool:
    """Whether the caller gets ``item``, once the observer saw it (if it fails, only our usage chunk is hidden)."""
    try:
        return on_item(item)
    except Exception:
        _internal_error("stream item")
        return not _injected_usage_chunk(call, item)


class _StreamProxyBase(_ProxyBase):
    """Shared state of both proxies; finishes exactly once (end, error, close, exit or garbage collection)."""

    def __init__(self, wrapped: Any, runtime: Runtime, call: Call, observer: StreamObserver) -> None:
        super().__init__(wrapped)
        self._self_runtime = runtime
        self._self_call = call
        self._self_observer = observer
        self._self_iterator: Any = None
        self._self_first: float | None = None
        self._self_done = False

    def _self_finish(self, ended_early: bool) -> None:
        if self._self_done:
            return
        self._self_done = True
        end = time.perf_counter()
        try:
            observation = self._self_observer.result()
            impacts = self._self_runtime.complete(self._self_call, observation, end, self._self_first, ended_early)
            setattr(self.__wrapped__, _ATTR, impacts)
        except Exception:
            _internal_error("stream finish")

    def __del__(self) -> None:
        if not self._self_done:
            self._self_finish(ended_early=True)

    def __reduce_ex__(self, protocol: Any) -> Any:  # a stream cannot be pickled; neither can its proxy
        raise TypeError(f"cannot pickle {type(self.__wrapped__).__name__!r} object")


class SyncStreamProxy(_StreamProxyBase):
    """A sync SDK stream, seen item by item; iteration, ``with``, ``close()`` and attributes behave as the SDK's."""

    def __iter__(self) -> Iterator[Any]:
        # The one generator of this stream (as the SDK's own __iter__, a generator, not the stream itself): a
        # for loop then resumes it directly, with no __next__ call per item; next(proxy) reads the same one.
        items = self._self_iterator
        if items is None:
            items = self._self_iterator = self._self_generator()
        return items  # type: ignore[no-any-return]

    def __next__(self) -> Any:
        items = self._self_iterator
        if items is None:
            items = self._self_iterator = self._self_generator()
        return next(items)

    def _self_generator(self) -> Iterator[Any]:
        passed = getattr(self._self_observer, "passed", None)
        if passed is None:
            return self._self_items(iter(self.__wrapped__))
        return self._self_items_passing(iter(self.__wrapped__), passed)

    def _self_items(self, iterator: Any) -> Iterator[Any]:
        """The SDK's items as the caller sees them: each shown to the observer (one generator frame per stream,
        so an item costs a resume and the observer's call, not a method call with attribute lookups)."""
        on_item = self._self_observer.on_item
        call = self._self_call
        first = True
        try:
            for item in iterator:
                if first:
                    self._self_first = time.perf_counter()
                    first = False
                try:
                    keep = on_item(item)
                except Exception:
                    _internal_error("stream item")
                    keep = not _injected_usage_chunk(call, item)
                if keep:
                    yield item
        except GeneratorExit:  # the proxy is being collected: close() or __del__ finishes the call
            raise
        except BaseException:
            self._self_finish(ended_early=True)
            raise
        self._self_finish(ended_early=False)

    def _self_items_passing(self, iterator: Any, passed: Container[type]) -> Iterator[Any]:
        """``_self_items`` for an observer that has no need to see items of the classes in ``passed``: those go
        by with no call (it reads what they carry elsewhere, e.g. from a helper stream's snapshot)."""
        on_item = self._self_observer.on_item
        call = self._self_call
        first = True
        with _Ending(self):
            for item in iterator:
                if first:
                    self._self_first = time.perf_counter()
                    first = False
                if type(item) in passed or _shown(on_item, call, item):
                    yield item

    def close(self) -> Any:
        try:
            return self.__wrapped__.close()
        finally:
            self._self_finish(ended_early=True)

    def __enter__(self) -> SyncStreamProxy:
        self.__wrapped__.__enter__()
        return self

    def __exit__(self, *exc_info: Any) -> Any:
        try:
            return self.__wrapped__.__exit__(*exc_info)
        finally:
            self._self_finish(ended_early=True)


class AsyncStreamProxy(_StreamProxyBase):
    """An async SDK stream; ``async for``, ``async with`` and ``await close()`` behave as the SDK's."""

    def __aiter__(self) -> AsyncIterator[Any]:
        # The one async generator of this stream (the SDK's own __aiter__ is one too): ``async for`` resumes it
        # directly, with no coroutine of ours per item; ``anext(proxy)`` reads the same one.
        items = self._self_iterator
        if items is None:
            passed = getattr(self._self_observer, "passed", None)
            iterator = self.__wrapped__.__aiter__()
            items = self._self_iterator = (
                self._self_aitems(iterator) if passed is None else self._self_aitems_passing(iterator, passed)
            )
        return items  # type: ignore[no-any-return]

    def __anext__(self) -> Awaitable[Any]:
        return self.__aiter__().__anext__()

    async def _self_aitems(self, iterator: Any) -> AsyncIterator[Any]:
        """The SDK's items as the caller sees them, each shown to the observer (see ``SyncStreamProxy``)."""
        on_item = self._self_observer.on_item
        call = self._self_call
        first = True
        try:
            async for item in iterator:
                if first:
                    self._self_first = time.perf_counter()
                    first = False
                try:
                    keep = on_item(item)
                except Exception:
                    _internal_error("stream item")
                    keep = not _injected_usage_chunk(call, item)
                if keep:
                    yield item
        except GeneratorExit:  # the proxy is being collected or closed: close() or __del__ finishes the call
            raise
        except BaseException:
            self._self_finish(ended_early=True)
            raise
        self._self_finish(ended_early=False)

    async def _self_aitems_passing(self, iterator: Any, passed: Container[type]) -> AsyncIterator[Any]:
        """``_self_aitems`` where items of the classes in ``passed`` go by unseen (see ``SyncStreamProxy``)."""
        on_item = self._self_observer.on_item
        call = self._self_call
        first = True
        with _Ending(self):
            async for item in iterator:
                if first:
                    self._self_first = time.perf_counter()
                    first = False
                if type(item) in passed or _shown(on_item, call, item):
                    yield item

    async def close(self) -> Any:
        try:
            return await self.__wrapped__.close()
        finally:
            self._self_finish(ended_early=True)

    async def __aenter__(self) -> AsyncStreamProxy:
        await self.__wrapped__.__aenter__()
        return self

    async def __aexit__(self, *exc_info: Any) -> Any:
        try:
            return await self.__wrapped__.__aexit__(*exc_info)
        finally:
            self._self_finish(ended_early=True)


class AsyncStreamProxyWithAclose(AsyncStreamProxy):
    """For SDK streams that also have ``aclose()`` (the proxy offers exactly what the stream offers)."""

    async def aclose(self) -> Any:
        try:
            return await self.__wrapped__.aclose()
        finally:
            self._self_finish(ended_early=True)


# -- lifecycle --------------------------------------------------------------------------------------------


def _version_tuple(text: str) -> tuple[int, ...]:
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


class Instrumentor:
    """Patches and restores SDK methods; ``init`` is idempotent and ``shutdown`` restores the SDK exactly."""

    def __init__(self, specs: Iterable[ProviderSpec]) -> None:
        self.specs = {spec.name: spec for spec in specs}
        self._lock = threading.RLock()
        self.runtime = Runtime(None)
        self._enabled: set[str] = set()
        self._hooked: set[str] = set()
        self._patched: dict[tuple[type, str], Any] = {}

    @property
    def enabled(self) -> frozenset[str]:
        return frozenset(self._enabled)

    def init(self, providers: Iterable[str] | None, settings: Settings) -> Runtime:
        with self._lock:
            explicit = providers is not None
            wanted = list(providers) if providers is not None else list(self.specs)
            # Decide everything first, so strict=True fails before anything is patched.
            usable: list[ProviderSpec] = []
            refusals: list[str] = []
            for name in wanted:
                spec = self.specs.get(name)
                if spec is None:
                    refusals.append(f"unknown provider {name!r}; supported: {', '.join(self.specs)}")
                    continue
                if spec.name in self._enabled:
                    continue  # idempotent: already wrapped
                reason = self._unusable(spec)
                if reason is None:
                    usable.append(spec)
                elif explicit or not reason.startswith("not installed"):
                    refusals.append(f"{spec.name}: {reason}")
            if settings.strict and refusals:
                raise InstrumentationError("; ".join(refusals))
            for message in refusals:
                logger.warning("genai_footprint: %s; not instrumented", message)
            # One Runtime for the instrumentor's whole life: wrappers cached by the SDK (e.g. a client's
            # with_raw_response) keep working across shutdown() and a later init().
            runtime = self.runtime
            runtime.settings = settings
            for spec in usable:
                self._enabled.add(spec.name)
                self._hook(spec)
            return runtime

    def _unusable(self, spec: ProviderSpec) -> str | None:
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
        if not (low <= _version_tuple(version) < high):
            tested = f">={'.'.join(map(str, low))},<{'.'.join(map(str, high))}"
            return f"{spec.distribution} {version} is outside the versions genai_footprint was tested with ({tested})"
        return None

    def _hook(self, spec: ProviderSpec) -> None:
        for module_name in dict.fromkeys(t.module for t in spec.targets):
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
            runtime = self.runtime
            if runtime.settings is None:
                return
            for spec_name in self._enabled:
                for target in self.specs[spec_name].targets:
                    if target.module == module_name:
                        self._patch(module, target, runtime)

    def _patch(self, module: Any, target: Target, runtime: Runtime) -> None:
        try:
            owner = getattr(module, target.owner)
            original = owner.__dict__[target.method]
        except (AttributeError, KeyError):
            logger.debug("genai_footprint: %s.%s.%s not found; skipped", target.module, target.owner, target.method)
            return
        key = (owner, target.method)
        if key in self._patched:
            return
        replacement = _replacement(original, target, runtime)
        if replacement is None:
            logger.debug(
                "genai_footprint: %s.%s.%s is not a plain function; skipped", target.module, target.owner, target.method
            )
            return
        setattr(owner, target.method, replacement)
        self._patched[key] = original

    def shutdown(self) -> None:
        with self._lock:
            self.runtime.settings = None  # any wrapper still referenced elsewhere now passes through
            for (owner, method), original in self._patched.items():
                setattr(owner, method, original)
            self._patched.clear()
            self._enabled.clear()

    def patched(self) -> list[str]:
        """``module.Class.method`` of every method currently wrapped (for tests and diagnostics)."""
        return sorted(f"{owner.__module__}.{owner.__qualname__}.{method}" for owner, method in self._patched)
