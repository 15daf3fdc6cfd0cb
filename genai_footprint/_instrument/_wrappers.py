"""The wrappers: one factory for a generation method (sync or async), one for a raw response's ``parse()``,
and what happens to what the SDK returned (``after``). Everything patched is wrapped with ``wrapt``.

Only the SDK's own call may raise: the wrapper begins the call under a guard, calls the SDK outside it, and
hands the result to ``after``, which never raises and returns the very object the SDK returned — or, for a
stream, that stream inside a transparent proxy.
"""

from __future__ import annotations

import functools
import time
from typing import TYPE_CHECKING, Any, Literal

import wrapt

from genai_footprint._context import ACTIVE_TRACKERS
from genai_footprint._instrument._guard import CURRENT_CALL, attach, attach_none, internal_error
from genai_footprint._instrument._streams import FailedObserver, stream_proxy_type

if TYPE_CHECKING:
    from collections.abc import Callable

    from genai_footprint._instrument._runtime import Runtime
    from genai_footprint._instrument._spec import Call, StreamObserver, Target
    from genai_footprint._instrument._streams import StreamProxy
    from genai_footprint._settings import InstrumentationSettings

    FunctionWrapper = wrapt.FunctionWrapper[Any, Any]
    ProxyType = Callable[[Any], type[StreamProxy]]  # the proxy class for a stream
else:  # subscripting needs wrapt >= 2 at run time
    FunctionWrapper = wrapt.FunctionWrapper

PENDING_CALL = "_genai_footprint_pending"  # on a raw response: the call its parse() completes


class Patched(FunctionWrapper):
    """What replaces an SDK method on its class while instrumentation is on (a ``wrapt.FunctionWrapper``:
    ``inspect`` sees the original's signature, and a coroutine function stays one)."""


def installed(value: Any) -> bool:
    """Whether ``value`` (a class attribute) is a method replacement installed by genai_footprint."""
    return isinstance(value, Patched)


def begin_call(
    target: Target, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any], settings: Any
) -> Call | None:
    """The call a generation method is about to make (None, logged, if the endpoint fails to read it)."""
    try:
        assert target.endpoint is not None
        call = target.endpoint.begin(instance, args, kwargs, settings)
        call.trackers = ACTIVE_TRACKERS.get()
        return call
    except Exception:
        internal_error("begin")
        return None


def active_settings(runtime: Runtime) -> InstrumentationSettings | None:
    """The settings a new call is measured with; None when shut down or inside another instrumented call."""
    if CURRENT_CALL.get() is not None:
        return None
    return runtime.settings


def call_wrapper(target: Target, runtime: Runtime, proxy_type: ProxyType = stream_proxy_type) -> Any:
    """The wrapper of a generation method; ``target.shape`` says whether it returns a coroutine. A stream it
    returns is handed back in the proxy class ``proxy_type`` gives for it (by default, as the stream is)."""

    def sync_wrapper(wrapped: Any, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        settings = active_settings(runtime)
        if settings is None:
            return wrapped(*args, **kwargs)
        call = begin_call(target, instance, args, kwargs, settings)
        if call is None:
            result = wrapped(*args, **kwargs)
            attach_none(result)
            return result
        token = CURRENT_CALL.set(call)
        try:
            result = wrapped(*args, **kwargs)
        finally:
            CURRENT_CALL.reset(token)
        return after(runtime, call, result, time.perf_counter(), proxy_type)

    async def finish_async(call: Call | None, awaitable: Any) -> Any:
        if call is None:
            result = await awaitable
            attach_none(result)
            return result
        token = CURRENT_CALL.set(call)
        try:
            result = await awaitable
        finally:
            CURRENT_CALL.reset(token)
        return after(runtime, call, result, time.perf_counter(), proxy_type)

    def async_wrapper(wrapped: Any, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        settings = active_settings(runtime)
        if settings is None:
            return wrapped(*args, **kwargs)
        call = begin_call(target, instance, args, kwargs, settings)
        # Called now, as without us (the SDK checks its arguments at call time); awaited by the caller.
        return finish_async(call, wrapped(*args, **kwargs))

    return sync_wrapper if target.shape == "sync" else async_wrapper


@functools.lru_cache(maxsize=256)
def result_kind(cls: type[object]) -> Literal["stream", "raw", "response"]:
    """What an SDK call returned, told by its class: a stream (an iterator; pydantic models have ``__iter__``
    but no ``__next__``), a raw response (``with_raw_response`` / ``with_streaming_response``: the HTTP response,
    parsed on demand by ``parse()``), or a response. Cached: the checks miss through pydantic's metaclass, which
    costs a few microseconds a call (benchmarks/README.md)."""
    if hasattr(cls, "__next__") or hasattr(cls, "__anext__"):
        return "stream"
    if hasattr(cls, "parse") and hasattr(cls, "headers") and hasattr(cls, "status_code"):
        return "raw"
    return "response"


def after(runtime: Runtime, call: Call, result: Any, end: float, proxy_type: ProxyType = stream_proxy_type) -> Any:
    """Annotate ``result`` (or proxy it, in the class ``proxy_type`` gives, for a stream); never raises."""
    try:
        kind = result_kind(type(result))  # type: ignore[arg-type]  # (mypy takes no class for Hashable)
        if kind == "raw":
            # Until the body has been read (with_streaming_response reads it in parse()), the call has not ended.
            body_read = bool(getattr(getattr(result, "http_response", None), "is_closed", True))
            object.__setattr__(result, PENDING_CALL, PendingParse(call, end if body_read else None))
            return result
        if kind == "stream":
            return proxy_stream(runtime, call, result, proxy_type)
        observation = call.endpoint.observe(call, result)
        attach(result, runtime.finish(call, observation, end, None, False))
    except Exception:
        internal_error("after")
        attach_none(result)
    return result


def proxy_stream(runtime: Runtime, call: Call, stream: Any, proxy_type: ProxyType) -> Any:
    observer: StreamObserver
    try:
        observer = call.endpoint.stream_observer(call, stream)
    except Exception:
        internal_error("stream_observer")
        observer = FailedObserver(call)
    attach(stream, None)  # readable before the end; set for real when the stream ends
    return proxy_type(stream)(stream, runtime, call, observer)


class PendingParse:
    """A raw response's call, completed by its first ``parse()`` (``end`` None: the body is read by it)."""

    def __init__(self, call: Call, end: float | None) -> None:
        self.call = call
        self.end = end
        self.parsed: Any = None  # what the first parse() returned, and what we returned for it
        self.returned: Any = None


def _parsed(runtime: Runtime, raw: Any, parsed: Any) -> Any:
    """After a raw response's ``parse()``: annotate (or proxy) what it gave, once per raw response.

    The SDK's plain path parses through the same class inside the call: there we only read the response
    headers into the call in progress (e.g. Azure's serving region)."""
    pending = raw.__dict__.get(PENDING_CALL)
    if pending is None:
        call = CURRENT_CALL.get()
        if call is not None and call.reads_headers and call.zone_hint is None:
            call.zone_hint = call.endpoint.headers_zone(call, raw.http_response.headers)
        return parsed
    if pending.returned is not None:
        return pending.returned if parsed is pending.parsed else parsed
    call = pending.call
    if call.reads_headers and call.zone_hint is None:
        call.zone_hint = call.endpoint.headers_zone(call, raw.http_response.headers)
    end = pending.end if pending.end is not None else time.perf_counter()
    pending.parsed, pending.returned = parsed, after(runtime, call, parsed, end)
    return pending.returned


def parse_wrapper(target: Target, runtime: Runtime) -> Any:
    """The wrapper of a raw response's ``parse()`` (the SDK call itself happened in a wrapped method)."""

    def annotated(raw: Any, parsed: Any) -> Any:
        if runtime.settings is None:
            return parsed
        try:
            return _parsed(runtime, raw, parsed)
        except Exception:
            internal_error("parse")
            return parsed

    def sync_wrapper(wrapped: Any, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        return annotated(instance, wrapped(*args, **kwargs))

    async def async_wrapper(wrapped: Any, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        return annotated(instance, await wrapped(*args, **kwargs))

    return sync_wrapper if target.shape == "sync" else async_wrapper


def replacement(original: Any, target: Target, runtime: Runtime) -> Patched:
    """What replaces ``original`` on its class for ``target``."""
    if target.hook == "custom":
        assert target.factory is not None
        wrapper = target.factory(target, runtime)
    elif target.hook == "call":
        wrapper = call_wrapper(target, runtime)
    else:
        wrapper = parse_wrapper(target, runtime)
    return Patched(original, wrapper)
