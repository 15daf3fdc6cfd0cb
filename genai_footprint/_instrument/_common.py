"""Helpers shared by provider modules: reading kwargs, client hosts and zone hints, and the seams of the SDKs'
``.stream()`` helpers."""

from __future__ import annotations

import time
import weakref
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from genai_footprint._instrument._runtime import (
    _ATTR,
    _CURRENT,
    AsyncStreamProxy,
    Runtime,
    SyncStreamProxy,
    _attach,
    _FailedObserver,
    _internal_error,
    _StreamProxyBase,
    begin_call,
)
from genai_footprint._instrument._spec import (
    Call,
    Endpoint,
    Observation,
    Shape,
    StreamObserver,
    Target,
    observation,
)


def given(value: Any) -> bool:
    """False for a missing argument, None, and the SDKs' NOT_GIVEN / Omit / UNSET sentinels."""
    return value is not None and type(value).__name__ not in ("NotGiven", "Omit", "Unset", "UnsetType")


_ABSENT: set[tuple[type, str]] = set()  # (class, name): no instance of the class can have the attribute


def attr(obj: Any, name: str) -> Any:
    """``getattr(obj, name, None)`` for the optional fields SDK models may lack, per item of a stream.

    A pydantic model answers a name it lacks through ``__getattr__`` and a raised AttributeError (about 3 µs);
    a class whose instances cannot have the name (a pydantic model that refuses extra fields, with no such
    field or class attribute) is remembered, so later lookups cost a set membership test.
    """
    cls = type(obj)
    if (cls, name) in _ABSENT:
        return None
    try:
        return getattr(obj, name)
    except AttributeError:
        fields = getattr(cls, "model_fields", None)
        config = getattr(cls, "model_config", None)
        if (
            isinstance(fields, dict)
            and name not in fields
            and isinstance(config, dict)
            and config.get("extra") != "allow"
            and not hasattr(cls, name)
            and len(_ABSENT) < 4096
        ):
            _ABSENT.add((cls, name))
        return None
    except Exception:
        return None


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
        return observation(self.model, self.tokens, "usage", self.zone, self.texts)


# -- stream helpers (OpenAI's and Anthropic's ``.stream()``) ---------------------------------------------------
#
# A ``.stream()`` helper returns a manager; entering it sends the request and hands the raw event stream to a
# new helper stream object (Anthropic's MessageStream, OpenAI's ChatCompletionStream / ResponseStream), which
# every way of reading (iteration, text_stream, until_done(), get_final_...()) reads through. So the helper
# stream is given a runtime stream proxy of its raw stream: every way of reading ends in the same place, and
# there the impacts go on the raw stream, the helper stream and (if the provider says how to reach it) its
# final message. Public seams, each a Target with its own wrapper factory (``helper_target``):
#   stream()                       record_call: begins the call (its arguments name the model) and notes it on
#                                  the manager; anything it calls inside passes through (OpenAI's async helper
#                                  builds its create() coroutine there)
#   manager.__enter__/__aenter__   send_request: starts the clock and makes the call current (a create() made
#                                  by it passes through, the response parser reads headers into it)
#   helper stream __init__         receive_stream: reads a proxy of ``raw_stream`` instead
#   helper stream close()          close_stream: ends the call when the helper closes the HTTP response itself
#   get_final_...()                annotate_final: a final object built on demand gets the helper's impacts
# No private SDK attribute is read or written.

_HELPER_CALL = "_genai_footprint_call"  # on a manager, set by stream(): the call its __enter__ sends (None: unmeasured)
_HELPER_RAW = "_genai_footprint_raw"  # on a helper stream: the proxy of its raw stream
_UNRECORDED = object()

RuntimeOf = Callable[[], Runtime | None]
Wrapper = Callable[[Any, Any, tuple[Any, ...], dict[str, Any]], Any]
WrapperFactory = Callable[[Target, RuntimeOf], Wrapper]
FinalOf = Callable[[Any], Any]  # the final message a helper stream holds once it ended


@dataclass(slots=True)
class _Awaiting:
    """A helper request in flight: the next helper stream built in this context reads its raw stream through a
    proxy, or (``call`` None: not measured, or our setup failed) just gets ``impacts = None``. ``current``: the
    call made current while the request is sent, so that an instrumented SDK call inside passes through."""

    call: Call | None
    runtime: Runtime
    current: Call | None
    taken: bool = False


_AWAITING: ContextVar[_Awaiting | None] = ContextVar("genai_footprint_stream_helper", default=None)


def _annotate_holder(holder: Any, raw: Any, final_of: FinalOf | None) -> None:
    """Copy the impacts of the raw stream onto the helper stream reading it and onto its final message."""
    if holder is None:
        return
    try:
        impacts = raw.__dict__.get(_ATTR)
        _attach(holder, impacts)
        if final_of is None:
            return
        final = final_of(holder)  # may raise: no message received at all
    except Exception:
        return
    try:
        _attach(final, impacts)
    except Exception:
        _internal_error("stream helper")


class _PassOn:
    """The observer of a helper proxy around a stream that already is a measuring proxy: it only passes items."""

    def on_item(self, item: Any) -> bool:
        return True

    def result(self) -> Observation:
        raise RuntimeError("not measured here: the inner proxy measures this call")


class _AnnotatesHolder:
    """Mixed into the runtime's stream proxies: at the end the impacts also go on the helper stream (held
    weakly) reading this raw stream, and on its final message. Around a raw stream that already is a measuring
    proxy (a manager built by hand around an instrumented ``create()``: the call is that one), it only annotates:
    a second estimate would count the call twice."""

    _self_done: bool
    __wrapped__: Any

    def __init__(
        self,
        wrapped: Any,
        runtime: Runtime,
        call: Call,
        observer: StreamObserver,
        holder: Any,
        final_of: FinalOf | None,
    ) -> None:
        super().__init__(wrapped, runtime, call, observer)  # type: ignore[call-arg]
        self._self_holder = weakref.ref(holder)
        self._self_final_of = final_of
        self._self_measures = not isinstance(wrapped, _StreamProxyBase)

    def _self_finish(self, ended_early: bool) -> None:
        if self._self_done:
            return
        if self._self_measures:
            super()._self_finish(ended_early)  # type: ignore[misc]
        else:
            self._self_done = True
            self.__wrapped__._self_finish(ended_early)  # the inner proxy measures the call (no-op if it ended)
        _annotate_holder(self._self_holder(), self.__wrapped__, self._self_final_of)


class _HelperSyncStreamProxy(_AnnotatesHolder, SyncStreamProxy):
    """The raw stream of a sync helper stream."""


class _HelperAsyncStreamProxy(_AnnotatesHolder, AsyncStreamProxy):
    """The raw stream of an async helper stream."""


def record_call(target: Target, runtime_of: RuntimeOf) -> Wrapper:
    """``stream()``: begin the call (the endpoint may adjust the arguments, e.g. ask for stream usage) and note it
    on the manager returned; nothing is sent until the manager is entered."""

    def wrapper(wrapped: Any, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        runtime = runtime_of()
        settings = None if runtime is None else runtime.settings
        if settings is None or _CURRENT.get() is not None:
            return wrapped(*args, **kwargs)
        call = begin_call(target, instance, args, kwargs, settings)
        if call is None:
            return wrapped(*args, **kwargs)
        token = _CURRENT.set(call)
        try:
            manager = wrapped(*args, **kwargs)
        finally:
            _CURRENT.reset(token)
        _note_call(manager, call)
        return manager

    return wrapper


def _note_call(manager: Any, call: Call | None) -> None:
    try:
        object.__setattr__(manager, _HELPER_CALL, call)
    except Exception:
        _internal_error("stream helper")


def leave_unmeasured(manager: Any) -> Any:
    """A manager whose request is not a generation to measure: its helper stream gets ``impacts = None``."""
    _note_call(manager, None)
    return manager


def _begin_request(target: Target, manager: Any, runtime_of: RuntimeOf) -> _Awaiting | None:
    runtime = runtime_of()
    settings = None if runtime is None else runtime.settings
    if runtime is None or settings is None or _CURRENT.get() is not None:
        return None
    try:
        recorded: Any = manager.__dict__.pop(_HELPER_CALL, _UNRECORDED)
    except Exception:
        recorded = _UNRECORDED
    if recorded is _UNRECORDED:
        # A manager built by hand around some request: an instrumented create() in it measures itself (and the
        # helper stream only copies its impacts); any other request is measured here, its model known once served.
        call = begin_call(target, manager, (), {}, settings)
        current = None
    else:
        call = current = recorded
    if call is not None:
        call.start = time.perf_counter()  # the request is sent now
    return _Awaiting(call, runtime, current)


def send_request(target: Target, runtime_of: RuntimeOf) -> Wrapper:
    """``manager.__enter__`` / ``__aenter__``: the request is sent inside; the call is current there and the
    helper stream it builds receives the proxy of its raw stream."""
    if target.shape == "sync":

        def sync_wrapper(wrapped: Any, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
            awaiting = _begin_request(target, instance, runtime_of)
            if awaiting is None:
                return wrapped(*args, **kwargs)
            current, pending = _CURRENT.set(awaiting.current), _AWAITING.set(awaiting)
            try:
                return wrapped(*args, **kwargs)
            finally:
                _AWAITING.reset(pending)
                _CURRENT.reset(current)

        return sync_wrapper

    async def entered(awaiting: _Awaiting, wrapped: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        current, pending = _CURRENT.set(awaiting.current), _AWAITING.set(awaiting)
        try:
            return await wrapped(*args, **kwargs)
        finally:
            _AWAITING.reset(pending)
            _CURRENT.reset(current)

    def async_wrapper(wrapped: Any, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        awaiting = _begin_request(target, instance, runtime_of)
        if awaiting is None:
            return wrapped(*args, **kwargs)
        return entered(awaiting, wrapped, args, kwargs)

    return async_wrapper


def _observer(call: Call, raw: Any, holder: Any) -> StreamObserver:
    """The observer of the raw stream ``holder`` (a helper stream) reads: the endpoint's ``helper_observer`` when
    it has one (it may read what the helper stream accumulates), else its ``stream_observer``."""
    try:
        for_helper = getattr(call.endpoint, "helper_observer", None)
        if for_helper is not None:
            return for_helper(call, raw, holder)  # type: ignore[no-any-return]
        return call.endpoint.stream_observer(call, raw)
    except Exception:
        _internal_error("stream_observer")
        return _FailedObserver(call)  # still hides a usage chunk we asked for


def _proxied(
    awaiting: _Awaiting, stream: Any, final_of: FinalOf | None, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> tuple[tuple[Any, ...], dict[str, Any]]:
    call = awaiting.call
    try:
        _attach(stream, None)  # readable from the start (and after a failure of ours); set when the stream ends
        if call is None:
            return args, kwargs
        raw = args[0] if args else kwargs["raw_stream"]
        observer: StreamObserver
        if isinstance(raw, _StreamProxyBase):
            observer = _PassOn()
        else:
            observer = _observer(call, raw, stream)
            _attach(raw, None)  # the raw stream too reads None until it ends, as behind the runtime's proxies
        proxy_type = _HelperAsyncStreamProxy if hasattr(raw, "__anext__") else _HelperSyncStreamProxy
        proxy = proxy_type(raw, awaiting.runtime, call, observer, stream, final_of)
        object.__setattr__(stream, _HELPER_RAW, proxy)
    except Exception:
        _internal_error("stream helper")
        return args, kwargs
    if args:
        return (proxy, *args[1:]), kwargs
    return args, {**kwargs, "raw_stream": proxy}


def receive_stream(final_of: FinalOf | None = None) -> WrapperFactory:
    """The helper stream's ``__init__(raw_stream, ...)``: inside a helper request, read a proxy instead.
    ``final_of``: how to reach the final message a helper stream holds once it ended, to annotate it too."""

    def factory(target: Target, runtime_of: RuntimeOf) -> Wrapper:
        def wrapper(wrapped: Any, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
            awaiting = _AWAITING.get()
            if awaiting is None or awaiting.taken:
                return wrapped(*args, **kwargs)
            awaiting.taken = True
            args, kwargs = _proxied(awaiting, instance, final_of, args, kwargs)
            return wrapped(*args, **kwargs)

        return wrapper

    return factory


def _end_raw(helper: Any) -> None:
    """The helper closed its HTTP response itself (not through its raw stream): the call ends here."""
    try:
        proxy = helper.__dict__.get(_HELPER_RAW)
        if proxy is not None:
            proxy._self_finish(ended_early=True)  # no-op if the raw stream had already ended
    except Exception:
        _internal_error("stream helper")


def close_stream(target: Target, runtime_of: RuntimeOf) -> Wrapper:
    """The helper stream's ``close()`` (also reached by ``with`` and the manager's exit)."""
    if target.shape == "sync":

        def sync_wrapper(wrapped: Any, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
            try:
                return wrapped(*args, **kwargs)
            finally:
                _end_raw(instance)

        return sync_wrapper

    async def async_wrapper(wrapped: Any, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        try:
            return await wrapped(*args, **kwargs)
        finally:
            _end_raw(instance)

    return async_wrapper


def _copy_impacts(helper: Any, final: Any) -> None:
    try:
        state = helper.__dict__
        if _ATTR in state:  # a helper stream built outside instrumentation has none: nothing to copy
            _attach(final, state[_ATTR])
    except Exception:
        _internal_error("stream helper")


def annotate_final(target: Target, runtime_of: RuntimeOf) -> Wrapper:
    """``get_final_...()``: the final object (built on each call by some helpers) carries the helper's impacts;
    it reads the stream to its end first, so they are known by then."""
    if target.shape == "sync":

        def sync_wrapper(wrapped: Any, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
            final = wrapped(*args, **kwargs)
            _copy_impacts(instance, final)
            return final

        return sync_wrapper

    async def async_wrapper(wrapped: Any, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        final = await wrapped(*args, **kwargs)
        _copy_impacts(instance, final)
        return final

    return async_wrapper


def helper_target(
    module: str, owner: str, method: str, shape: Shape, endpoint: Endpoint, factory: WrapperFactory
) -> Target:
    """A stream-helper seam: the Instrumentor wraps it with ``factory`` (and restores it at shutdown)."""

    def build(target: Target, runtime: Runtime) -> Wrapper:
        return factory(target, lambda: runtime)

    return Target(module, owner, method, shape, endpoint, hook="stream_helper", wrapper=build)
