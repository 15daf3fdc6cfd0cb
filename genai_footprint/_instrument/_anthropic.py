"""Anthropic (``anthropic`` 2.x): Messages ``create`` / ``parse`` / ``stream()``, beta Messages, message threads.

Tested with anthropic 2.12. The same classes serve the Bedrock, Vertex, Foundry, AWS and Google Cloud clients
and ``with_raw_response`` / ``with_streaming_response``.
"""

from __future__ import annotations

import json
import logging
import time
import weakref
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from genai_footprint._instrument._common import StreamTally, given, new_call
from genai_footprint._instrument._runtime import (
    _CURRENT,
    AsyncStreamProxy,
    Runtime,
    SyncStreamProxy,
    _attach,
    _internal_error,
    begin_call,
)
from genai_footprint._instrument._spec import (
    Call,
    Endpoint,
    Observation,
    ProviderSpec,
    Settings,
    Shape,
    StreamObserver,
    Target,
)

PROVIDER = "anthropic"
TESTED = ((2, 12), (3,))

logger = logging.getLogger("genai_footprint")

# ``usage.inference_geo``: where the request was served. Anthropic documents two values: "us" (inference runs
# only in US-based infrastructure) and "global" (any geography: no hint). Source:
# https://platform.claude.com/docs/en/manage-claude/data-residency
_INFERENCE_GEO_ZONES = {"us": "USA"}


def _geo_zone(usage: Any) -> str | None:
    geo = getattr(usage, "inference_geo", None)
    return _INFERENCE_GEO_ZONES.get(geo.strip().lower()) if isinstance(geo, str) else None


def _message_text(message: Any) -> list[str]:
    """The generated text of a ``Message`` (text, thinking, tool input), counted only when usage is missing."""
    texts: list[str] = []
    for block in getattr(message, "content", None) or ():
        kind = getattr(block, "type", None)
        if kind == "text":
            texts.append(block.text)
        elif kind == "thinking":
            texts.append(block.thinking)
        elif kind in ("tool_use", "server_tool_use"):
            texts.append(json.dumps(block.input))
    return texts


# The generated text of each delta kind (thinking is billed as output too), counted only when usage is missing.
_DELTA_TEXT = {"text_delta": "text", "input_json_delta": "partial_json", "thinking_delta": "thinking"}


class _EventsObserver(StreamTally):
    """A Messages event stream. Output tokens: the last ``message_delta.usage.output_tokens``, a running total
    (``message_start`` carries only an initial value); the model name is on ``message_start`` only."""

    __slots__ = ()

    def on_item(self, event: Any) -> bool:
        kind = getattr(event, "type", None)
        if kind == "content_block_delta":
            delta = event.delta
            field = _DELTA_TEXT.get(str(getattr(delta, "type", "")))
            text = None if field is None else getattr(delta, field, None)
            if isinstance(text, str):
                self.texts.append(text)
        elif kind == "message_delta":
            tokens = getattr(getattr(event, "usage", None), "output_tokens", None)
            if isinstance(tokens, int):
                self.tokens = tokens
        elif kind == "message_start":
            message = event.message
            self.model = getattr(message, "model", None) or self.model
            self.zone = _geo_zone(getattr(message, "usage", None)) or self.zone
        return True


class MessagesEndpoint:
    """``messages.create`` / ``parse`` (plain and beta): a ``Message``, or a stream of its events."""

    provider = PROVIDER

    def begin(self, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any], settings: Settings) -> Call:
        return new_call(self, settings, kwargs)

    def headers_zone(self, call: Call, headers: Any) -> str | None:
        return None  # Anthropic sends no serving-region header; the region is ``usage.inference_geo``

    def observe(self, call: Call, response: Any) -> Observation:
        usage = getattr(response, "usage", None)
        tokens = getattr(usage, "output_tokens", None)
        return Observation(
            model=getattr(response, "model", None) or None,
            output_tokens=tokens if isinstance(tokens, int) else None,
            zone_hint=_geo_zone(usage),
            text=None if isinstance(tokens, int) else _message_text(response),
        )

    def stream_observer(self, call: Call, stream: Any) -> StreamObserver:
        return _EventsObserver()


class StreamHelperEndpoint(MessagesEndpoint):
    """``messages.stream()``: always a stream."""

    def begin(self, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any], settings: Settings) -> Call:
        return new_call(self, settings, kwargs, stream=True)


class ThreadEndpoint(MessagesEndpoint):
    """``beta.messages.thread()`` turns: the model is the turn's override, else the thread's own."""

    stream = False

    def begin(self, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any], settings: Settings) -> Call:
        call = new_call(self, settings, kwargs, stream=self.stream)
        if call.model_requested is None:
            model = instance.params.get("model")
            call.model_requested = model if isinstance(model, str) and given(model) else None
        return call


class ThreadStreamEndpoint(ThreadEndpoint):
    stream = True


MESSAGES = MessagesEndpoint()
STREAM_HELPER = StreamHelperEndpoint()
THREAD = ThreadEndpoint()
THREAD_STREAM = ThreadStreamEndpoint()

_MESSAGES = "anthropic.resources.messages.messages"
_BETA = "anthropic.resources.beta.messages.messages"
_BEDROCK_BETA = "anthropic.lib.bedrock._beta_messages"
_VERTEX_BETA = "anthropic.lib.vertex._beta_messages"
_THREADS = "anthropic.lib.threads._beta_threads"
_STREAMING = "anthropic.lib.streaming._messages"
_BETA_STREAMING = "anthropic.lib.streaming._beta_messages"

# Not targets: ``count_tokens`` and ``batches`` (not generations), ``tool_runner()`` (its turns are thread
# ``parse()`` / ``stream()`` calls, below), ``thread().send()`` (returns ``create()``'s own result).
TARGETS = (
    Target(_MESSAGES, "Messages", "create", "sync", MESSAGES),
    Target(_MESSAGES, "Messages", "parse", "sync", MESSAGES),
    Target(_MESSAGES, "AsyncMessages", "create", "async", MESSAGES),
    Target(_MESSAGES, "AsyncMessages", "parse", "async", MESSAGES),
    Target(_BETA, "Messages", "create", "sync", MESSAGES),
    Target(_BETA, "Messages", "parse", "sync", MESSAGES),
    Target(_BETA, "AsyncMessages", "create", "async", MESSAGES),
    Target(_BETA, "AsyncMessages", "parse", "async", MESSAGES),
    # Bedrock's and Vertex's beta resources copy the beta functions into classes of their own.
    Target(_BEDROCK_BETA, "Messages", "create", "sync", MESSAGES),
    Target(_BEDROCK_BETA, "Messages", "parse", "sync", MESSAGES),
    Target(_BEDROCK_BETA, "AsyncMessages", "create", "async", MESSAGES),
    Target(_BEDROCK_BETA, "AsyncMessages", "parse", "async", MESSAGES),
    Target(_VERTEX_BETA, "Messages", "create", "sync", MESSAGES),
    Target(_VERTEX_BETA, "Messages", "parse", "sync", MESSAGES),
    Target(_VERTEX_BETA, "AsyncMessages", "create", "async", MESSAGES),
    Target(_VERTEX_BETA, "AsyncMessages", "parse", "async", MESSAGES),
    # A thread's parse() rebuilds the reply of its create() into a new ParsedBetaMessage: annotate the outer call.
    Target(_THREADS, "BetaMessageThread", "parse", "sync", THREAD),
    Target(_THREADS, "BetaAsyncMessageThread", "parse", "async", THREAD),
    # Raw responses (with_raw_response / with_streaming_response). The plain path parses through APIResponse too.
    Target("anthropic._response", "APIResponse", "parse", "sync", None, hook="raw_parse"),
    Target("anthropic._response", "AsyncAPIResponse", "parse", "async", None, hook="raw_parse"),
)


# -- the stream helpers -----------------------------------------------------------------------------------
#
# stream() sends its request without create(): MessageStreamManager.__enter__ posts it and hands the raw event
# stream to a new MessageStream, whose text_stream, iteration, until_done() and get_final_message() all read that
# one raw stream. So the MessageStream is given a runtime stream proxy of it: every way of reading ends in the
# same place, and at that end the impacts go on the raw stream, the MessageStream and its final Message. Three
# public seams: stream() records the call on the manager it returns (its arguments name the model);
# __enter__ starts the clock and makes the call current (a create() inside passes through, the response parser
# reads headers into it); MessageStream.__init__(raw_stream, output_format) receives the proxy. No private SDK
# attribute is read or written. The runtime installs only "call" and "raw_parse" wrappers, so these are
# Targets with their own wrapper factories (``Target.wrapper``), patched and restored like every other.

_HELPER_CALL = "_genai_footprint_call"  # set on a stream manager by stream(): the call its __enter__ sends


@dataclass(slots=True)
class _Awaiting:
    """A helper request in flight: the next ``MessageStream`` built in this context reads its stream through a
    proxy, or (``call`` None: our setup failed) just gets ``impacts = None``."""

    call: Call | None
    runtime: Runtime
    taken: bool = False


_AWAITING: ContextVar[_Awaiting | None] = ContextVar("genai_footprint_anthropic_helper", default=None)

RuntimeOf = Callable[[], Runtime | None]
Wrapper = Callable[[Any, Any, tuple[Any, ...], dict[str, Any]], Any]


def _annotate_helper(stream: Any, raw: Any) -> None:
    """Copy the impacts of the raw stream onto the ``MessageStream`` reading it and onto its final ``Message``."""
    if stream is None:
        return
    try:
        impacts = raw.__dict__.get("impacts")
        _attach(stream, impacts)
        snapshot = stream.current_message_snapshot  # asserts a message_start was received
    except Exception:
        return
    try:
        _attach(snapshot, impacts)
    except Exception:
        _internal_error("stream helper")


class _AnnotatesHolder:
    """Mixed into the runtime's stream proxies: at the end the impacts also go on the ``MessageStream`` (held
    weakly) reading this raw stream, and on its final message."""

    _self_done: bool
    __wrapped__: Any

    def __init__(self, wrapped: Any, runtime: Runtime, call: Call, observer: StreamObserver, holder: Any) -> None:
        super().__init__(wrapped, runtime, call, observer)  # type: ignore[call-arg]
        self._self_holder = weakref.ref(holder)

    def _self_finish(self, ended_early: bool) -> None:
        if self._self_done:
            return
        super()._self_finish(ended_early)  # type: ignore[misc]
        _annotate_helper(self._self_holder(), self.__wrapped__)


class _HelperSyncStreamProxy(_AnnotatesHolder, SyncStreamProxy):
    """The raw stream of a ``MessageStream``."""


class _HelperAsyncStreamProxy(_AnnotatesHolder, AsyncStreamProxy):
    """The raw stream of an ``AsyncMessageStream``."""


def record_call(target: Target, runtime_of: RuntimeOf) -> Wrapper:
    """``stream()``: note the call on the manager it returns; nothing is sent until the manager is entered."""

    def wrapper(wrapped: Any, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        manager = wrapped(*args, **kwargs)
        runtime = runtime_of()
        settings = None if runtime is None else runtime.settings
        if settings is not None and _CURRENT.get() is None:
            call = begin_call(target, instance, args, kwargs, settings)
            if call is not None:
                try:
                    object.__setattr__(manager, _HELPER_CALL, call)
                except Exception:
                    _internal_error("stream helper")
        return manager

    return wrapper


def _begin_request(target: Target, manager: Any, runtime_of: RuntimeOf) -> _Awaiting | None:
    runtime = runtime_of()
    settings = None if runtime is None else runtime.settings
    if runtime is None or settings is None or _CURRENT.get() is not None:
        return None
    try:
        call: Call | None = manager.__dict__.pop(_HELPER_CALL, None)
    except Exception:
        call = None
    if call is None:  # a manager not made by a wrapped stream() (built by hand): the model is unknown until served
        call = begin_call(target, manager, (), {}, settings)
    if call is not None:
        call.start = time.perf_counter()  # the request is sent now
    return _Awaiting(call, runtime)


def send_request(target: Target, runtime_of: RuntimeOf) -> Wrapper:
    """``MessageStreamManager.__enter__`` / ``__aenter__``: the request is sent inside; the call is current there
    (a ``create()`` made by it passes through; the response parser reads headers into it) and the
    ``MessageStream`` it builds receives the proxy of its raw stream."""
    if target.shape == "sync":

        def sync_wrapper(wrapped: Any, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
            awaiting = _begin_request(target, instance, runtime_of)
            if awaiting is None:
                return wrapped(*args, **kwargs)
            current, pending = _CURRENT.set(awaiting.call), _AWAITING.set(awaiting)
            try:
                return wrapped(*args, **kwargs)
            finally:
                _AWAITING.reset(pending)
                _CURRENT.reset(current)

        return sync_wrapper

    async def entered(awaiting: _Awaiting, wrapped: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        current, pending = _CURRENT.set(awaiting.call), _AWAITING.set(awaiting)
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


def _proxied(
    awaiting: _Awaiting, stream: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> tuple[tuple[Any, ...], dict[str, Any]]:
    call = awaiting.call
    try:
        _attach(stream, None)  # readable from the start (and after a failure of ours); set when the stream ends
        if call is None:
            return args, kwargs
        raw = args[0] if args else kwargs["raw_stream"]
        observer = call.endpoint.stream_observer(call, raw)
        proxy_type = _HelperAsyncStreamProxy if hasattr(raw, "__anext__") else _HelperSyncStreamProxy
        proxy = proxy_type(raw, awaiting.runtime, call, observer, stream)
    except Exception:
        _internal_error("stream helper")
        return args, kwargs
    if args:
        return (proxy, *args[1:]), kwargs
    return args, {**kwargs, "raw_stream": proxy}


def receive_stream(target: Target, runtime_of: RuntimeOf) -> Wrapper:
    """``MessageStream.__init__(raw_stream, output_format)``: inside a helper request, read a proxy instead."""

    def wrapper(wrapped: Any, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        awaiting = _AWAITING.get()
        if awaiting is None or awaiting.taken:
            return wrapped(*args, **kwargs)
        awaiting.taken = True
        args, kwargs = _proxied(awaiting, instance, args, kwargs)
        return wrapped(*args, **kwargs)

    return wrapper


WrapperFactory = Callable[[Target, RuntimeOf], Wrapper]


def _helper(module: str, owner: str, method: str, shape: Shape, endpoint: Endpoint, factory: WrapperFactory) -> Target:
    """A stream-helper seam: the Instrumentor wraps it with ``factory`` (and restores it at shutdown)."""

    def build(target: Target, runtime: Runtime) -> Wrapper:
        return factory(target, lambda: runtime)

    return Target(module, owner, method, shape, endpoint, hook="stream_helper", wrapper=build)


HELPER_TARGETS = (
    # stream(): records the call on the manager it returns.
    _helper(_MESSAGES, "Messages", "stream", "sync", STREAM_HELPER, record_call),
    _helper(_MESSAGES, "AsyncMessages", "stream", "sync", STREAM_HELPER, record_call),  # returns a manager
    _helper(_BETA, "Messages", "stream", "sync", STREAM_HELPER, record_call),
    _helper(_BETA, "AsyncMessages", "stream", "sync", STREAM_HELPER, record_call),
    _helper(_BEDROCK_BETA, "Messages", "stream", "sync", STREAM_HELPER, record_call),
    _helper(_BEDROCK_BETA, "AsyncMessages", "stream", "sync", STREAM_HELPER, record_call),
    _helper(_VERTEX_BETA, "Messages", "stream", "sync", STREAM_HELPER, record_call),
    _helper(_VERTEX_BETA, "AsyncMessages", "stream", "sync", STREAM_HELPER, record_call),
    _helper(_THREADS, "BetaMessageThread", "stream", "sync", THREAD_STREAM, record_call),  # tool_runner(stream=True)
    _helper(_THREADS, "BetaAsyncMessageThread", "stream", "sync", THREAD_STREAM, record_call),
    # Entering the manager sends the request (thread managers enter through these too, via super()).
    _helper(_STREAMING, "MessageStreamManager", "__enter__", "sync", STREAM_HELPER, send_request),
    _helper(_STREAMING, "AsyncMessageStreamManager", "__aenter__", "async", STREAM_HELPER, send_request),
    _helper(_BETA_STREAMING, "BetaMessageStreamManager", "__enter__", "sync", STREAM_HELPER, send_request),
    _helper(_BETA_STREAMING, "BetaAsyncMessageStreamManager", "__aenter__", "async", STREAM_HELPER, send_request),
    # The MessageStream built inside reads the proxy of its raw stream.
    _helper(_STREAMING, "MessageStream", "__init__", "sync", STREAM_HELPER, receive_stream),
    _helper(_STREAMING, "AsyncMessageStream", "__init__", "sync", STREAM_HELPER, receive_stream),
    _helper(_BETA_STREAMING, "BetaMessageStream", "__init__", "sync", STREAM_HELPER, receive_stream),
    _helper(_BETA_STREAMING, "BetaAsyncMessageStream", "__init__", "sync", STREAM_HELPER, receive_stream),
)


SPEC = ProviderSpec(
    name=PROVIDER,
    distribution="anthropic",
    import_name="anthropic",
    tested=TESTED,
    targets=(*TARGETS, *HELPER_TARGETS),
)
