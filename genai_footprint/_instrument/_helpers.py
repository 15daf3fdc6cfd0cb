"""The seams of the SDKs' ``.stream()`` helpers (OpenAI's and Anthropic's).

A ``.stream()`` helper returns a manager; entering it sends the request and hands the raw event stream to a
new helper stream object (Anthropic's MessageStream, OpenAI's ChatCompletionStream / ResponseStream), which
every way of reading (iteration, text_stream, until_done(), get_final_...()) reads through. So the helper
stream is given a stream proxy of its raw stream: every way of reading ends in the same place, and there the
impacts go on the raw stream, the helper stream and (if the provider says how to reach it) its final message.
Public seams, each a ``Target`` with its own wrapper factory (``helper_target``):

- ``stream()`` — ``record_call``: begins the call (its arguments name the model) and notes it on the manager;
  anything it calls inside passes through (OpenAI's async helper builds its create() coroutine there);
- ``manager.__enter__`` / ``__aenter__`` — ``send_request``: starts the clock and makes the call current (a
  create() made by it passes through; the response parser reads headers into it);
- helper stream ``__init__`` — ``receive_stream``: reads a proxy of ``raw_stream`` instead;
- helper stream ``close()`` — ``close_stream``: ends the call when the helper closes the HTTP response itself;
- ``get_final_...()`` — ``annotate_final``: a final object built on demand gets the helper's impacts.

No private SDK attribute is read or written.
"""

from __future__ import annotations

import time
import weakref
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from genai_footprint._instrument._guard import CURRENT_CALL, attach, impacts_of, internal_error
from genai_footprint._instrument._spec import Endpoint, Observation, Shape, Target
from genai_footprint._instrument._streams import AsyncStreamProxy, FailedObserver, StreamProxy, SyncStreamProxy
from genai_footprint._instrument._wrappers import active_settings, begin_call

if TYPE_CHECKING:
    from genai_footprint._impacts import Impacts
    from genai_footprint._instrument._runtime import Runtime
    from genai_footprint._instrument._spec import Call, StreamObserver

HELPER_CALL = "_genai_footprint_call"  # on a manager, set by stream(): the call its __enter__ sends (None: unmeasured)
HELPER_RAW = "_genai_footprint_raw"  # on a helper stream: the proxy of its raw stream
_UNRECORDED = object()

Wrapper = Callable[[Any, Any, tuple[Any, ...], dict[str, Any]], Any]
WrapperFactory = Callable[[Target, "Runtime"], Wrapper]
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


class _PassOn:
    """The observer of a helper proxy around a stream that already is a measuring proxy: it only passes items."""

    def on_item(self, item: Any) -> bool:
        return True

    def result(self) -> Observation:
        raise RuntimeError("not measured here: the inner proxy measures this call")


class _HelperProxy(StreamProxy):
    """Mixed into the stream proxies: at the end the impacts also go on the helper stream (held weakly) reading
    this raw stream, and on its final message. Around a raw stream that already is a measuring proxy (a manager
    built by hand around an instrumented ``create()``: the call is that one), it only annotates: a second
    estimate would count the call twice."""

    def __init__(
        self,
        wrapped: Any,
        runtime: Runtime,
        call: Call,
        observer: StreamObserver,
        holder: Any,
        final_of: FinalOf | None,
    ) -> None:
        super().__init__(wrapped, runtime, call, observer)
        self._self_holder = weakref.ref(holder)
        self._self_final_of = final_of

    def _self_finish(self, ended_early: bool) -> None:
        inner = self.__wrapped__
        if not isinstance(inner, StreamProxy):
            super()._self_finish(ended_early)
            return
        if not self._self_claim():
            return
        inner._self_finish(ended_early)  # the inner proxy measures the call (a no-op if it had ended)
        self._self_finished(impacts_of(inner))

    def _self_finished(self, impacts: Impacts | None) -> None:
        holder = self._self_holder()
        if holder is None:
            return
        attach(holder, impacts)
        if self._self_final_of is None:
            return
        try:
            final = self._self_final_of(holder)
        except Exception:  # no message received at all
            return
        attach(final, impacts)


class _HelperSyncStreamProxy(_HelperProxy, SyncStreamProxy):
    """The raw stream of a sync helper stream."""


class _HelperAsyncStreamProxy(_HelperProxy, AsyncStreamProxy):
    """The raw stream of an async helper stream."""


def _note_call(manager: Any, call: Call | None) -> None:
    try:
        object.__setattr__(manager, HELPER_CALL, call)
    except Exception:
        internal_error("stream helper")


def record_call(target: Target, runtime: Runtime) -> Wrapper:
    """``stream()``: begin the call (the endpoint may adjust the arguments, e.g. ask for stream usage) and note it
    on the manager returned; nothing is sent until the manager is entered."""

    def wrapper(wrapped: Any, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        settings = active_settings(runtime)
        call = None if settings is None else begin_call(target, instance, args, kwargs, settings)
        if call is None:
            return wrapped(*args, **kwargs)
        token = CURRENT_CALL.set(call)
        try:
            manager = wrapped(*args, **kwargs)
        finally:
            CURRENT_CALL.reset(token)
        _note_call(manager, call)
        return manager

    return wrapper


def leave_unmeasured(manager: Any) -> Any:
    """A manager whose request is not a generation to measure: its helper stream gets ``impacts = None``."""
    _note_call(manager, None)
    return manager


def _begin_request(target: Target, manager: Any, runtime: Runtime) -> _Awaiting | None:
    settings = active_settings(runtime)
    if settings is None:
        return None
    try:
        recorded: Any = manager.__dict__.pop(HELPER_CALL, _UNRECORDED)
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


def send_request(target: Target, runtime: Runtime) -> Wrapper:
    """``manager.__enter__`` / ``__aenter__``: the request is sent inside; the call is current there and the
    helper stream it builds receives the proxy of its raw stream."""

    def sync_wrapper(wrapped: Any, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        awaiting = _begin_request(target, instance, runtime)
        if awaiting is None:
            return wrapped(*args, **kwargs)
        current, pending = CURRENT_CALL.set(awaiting.current), _AWAITING.set(awaiting)
        try:
            return wrapped(*args, **kwargs)
        finally:
            _AWAITING.reset(pending)
            CURRENT_CALL.reset(current)

    async def entered(awaiting: _Awaiting, wrapped: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        current, pending = CURRENT_CALL.set(awaiting.current), _AWAITING.set(awaiting)
        try:
            return await wrapped(*args, **kwargs)
        finally:
            _AWAITING.reset(pending)
            CURRENT_CALL.reset(current)

    def async_wrapper(wrapped: Any, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        awaiting = _begin_request(target, instance, runtime)
        if awaiting is None:
            return wrapped(*args, **kwargs)
        return entered(awaiting, wrapped, args, kwargs)

    return sync_wrapper if target.shape == "sync" else async_wrapper


def _observer(call: Call, raw: Any, holder: Any) -> StreamObserver:
    """The observer of the raw stream ``holder`` (a helper stream) reads: the endpoint's ``helper_observer`` when
    it has one (it may read what the helper stream accumulates), else its ``stream_observer``."""
    try:
        for_helper = getattr(call.endpoint, "helper_observer", None)
        if for_helper is not None:
            return for_helper(call, raw, holder)  # type: ignore[no-any-return]
        return call.endpoint.stream_observer(call, raw)
    except Exception:
        internal_error("stream_observer")
        return FailedObserver(call)  # still hides a usage chunk we asked for


def _proxied(
    awaiting: _Awaiting, stream: Any, final_of: FinalOf | None, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> tuple[tuple[Any, ...], dict[str, Any]]:
    """The helper stream's ``__init__`` arguments with its raw stream replaced by a proxy of it."""
    call = awaiting.call
    attach(stream, None)  # readable from the start (and after a failure of ours); set when the stream ends
    if call is None:
        return args, kwargs
    try:
        raw = args[0] if args else kwargs["raw_stream"]
        observer: StreamObserver
        if isinstance(raw, StreamProxy):
            observer = _PassOn()
        else:
            observer = _observer(call, raw, stream)
            attach(raw, None)  # the raw stream too reads None until it ends, as behind the plain proxies
        proxy_type = _HelperAsyncStreamProxy if hasattr(raw, "__anext__") else _HelperSyncStreamProxy
        proxy = proxy_type(raw, awaiting.runtime, call, observer, stream, final_of)
        object.__setattr__(stream, HELPER_RAW, proxy)
    except Exception:
        internal_error("stream helper")
        return args, kwargs
    if args:
        return (proxy, *args[1:]), kwargs
    return args, {**kwargs, "raw_stream": proxy}


def receive_stream(final_of: FinalOf | None = None) -> WrapperFactory:
    """The helper stream's ``__init__(raw_stream, ...)``: inside a helper request, read a proxy instead.
    ``final_of``: how to reach the final message a helper stream holds once it ended, to annotate it too."""

    def factory(target: Target, runtime: Runtime) -> Wrapper:
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
        proxy = helper.__dict__.get(HELPER_RAW)
        if proxy is not None:
            proxy._self_finish(ended_early=True)  # a no-op if the raw stream had already ended
    except Exception:
        internal_error("stream helper")


def close_stream(target: Target, runtime: Runtime) -> Wrapper:
    """The helper stream's ``close()`` (also reached by ``with`` and the manager's exit)."""

    def sync_wrapper(wrapped: Any, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        try:
            return wrapped(*args, **kwargs)
        finally:
            _end_raw(instance)

    async def async_wrapper(wrapped: Any, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        try:
            return await wrapped(*args, **kwargs)
        finally:
            _end_raw(instance)

    return sync_wrapper if target.shape == "sync" else async_wrapper


def _copy_impacts(helper: Any, final: Any) -> None:
    try:
        state = helper.__dict__
        if "impacts" in state:  # a helper stream built outside instrumentation has none: nothing to copy
            attach(final, state["impacts"])
    except Exception:
        internal_error("stream helper")


def annotate_final(target: Target, runtime: Runtime) -> Wrapper:
    """``get_final_...()``: the final object (built on each call by some helpers) carries the helper's impacts;
    it reads the stream to its end first, so they are known by then."""

    def sync_wrapper(wrapped: Any, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        final = wrapped(*args, **kwargs)
        _copy_impacts(instance, final)
        return final

    async def async_wrapper(wrapped: Any, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        final = await wrapped(*args, **kwargs)
        _copy_impacts(instance, final)
        return final

    return sync_wrapper if target.shape == "sync" else async_wrapper


def helper_target(
    module: str, owner: str, method: str, shape: Shape, endpoint: Endpoint, factory: WrapperFactory
) -> Target:
    """A stream-helper seam: the Instrumentor wraps it with ``factory`` (and restores it at shutdown)."""
    return Target(module, owner, method, shape, endpoint, hook="custom", factory=factory)
