"""Anthropic (``anthropic`` 2.x): Messages ``create`` / ``parse`` / ``stream()``, beta Messages, message threads.

Tested with anthropic 2.12. The same classes serve the Bedrock, Vertex, Foundry, AWS and Google Cloud clients
and ``with_raw_response`` / ``with_streaming_response``. The serving zone: ``usage.inference_geo`` when the reply
has it, else a Bedrock / Vertex client's configured region.
"""

from __future__ import annotations

import json
import logging
import typing
import weakref
from typing import Any, Literal

from genai_footprint._instrument._common import (
    StreamTally,
    given,
    helper_target,
    receive_stream,
    record_call,
    send_request,
)
from genai_footprint._instrument._spec import (
    Call,
    Observation,
    ProviderSpec,
    Settings,
    StreamObserver,
    Target,
    new_call,
    observation,
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


# Bedrock and Vertex run Claude in the cloud region the client is configured with (Anthropic's own API tells
# where instead, in ``usage.inference_geo``). Per client base class: (cloud, the attribute holding the region).
_CLOUD_CLIENTS = {
    "BaseBedrockClient": ("aws", "aws_region"),
    "BaseMantleClient": ("aws", "aws_region"),
    "BaseVertexClient": ("gcp", "region"),
}
_CLOUD_OF: dict[type, tuple[str, str] | None] = {}
_REGION_ZONES: dict[tuple[str, str], str | None] = {}


def _cloud_of(client_type: type) -> tuple[str, str] | None:
    for klass in client_type.__mro__:
        found = _CLOUD_CLIENTS.get(klass.__name__)
        if found is not None:
            return found
    return None


def _bedrock_geography(model: str) -> str | None:
    """The geography of a Bedrock cross-Region inference profile (``eu`` in ``eu.anthropic.claude-…``, also at
    the end of a profile ARN), or None for an in-Region model id."""
    prefix, dot, rest = model.rsplit("/", 1)[-1].partition(".")
    return prefix if dot and rest.startswith("anthropic.") else None


def _cloud_zone(instance: Any, model: str | None) -> str | None:
    """The zone where a Bedrock / Vertex client's call runs: an inference profile's geography (it may be served in
    any region of it), else the client's region. None for other clients and for unknown or multi-country names."""
    client = getattr(instance, "_client", None)
    kind = type(client)
    try:
        cloud = _CLOUD_OF[kind]
    except KeyError:
        cloud = _CLOUD_OF[kind] = _cloud_of(kind)
    if cloud is None:
        return None
    name, attribute = cloud
    region = _bedrock_geography(model) if name == "aws" and model else None
    if region is None:
        region = getattr(client, attribute, None)
    if not isinstance(region, str):
        return None
    key = (name, region)
    try:
        return _REGION_ZONES[key]
    except KeyError:
        pass
    from genai_footprint._registry import get_registry

    zone = get_registry().cloud_zone(name, region)
    if len(_REGION_ZONES) > 256:
        _REGION_ZONES.clear()
    _REGION_ZONES[key] = zone
    return zone


def _located(call: Call, instance: Any) -> Call:
    """``call`` with the zone hint of its client's cloud region, if any; a failure here only loses the hint."""
    if _CLOUD_OF.get(type(getattr(instance, "_client", None)), ()) is None:  # a client type known not to be one
        return call
    try:
        call.zone_hint = _cloud_zone(instance, call.model_requested)
    except Exception:
        logger.debug("genai_footprint: cannot read the client's region; the SDK call is unaffected", exc_info=True)
    return call


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


def _one_literal(cls: type, name: str) -> str | None:
    """The value every instance of a pydantic class has in field ``name``, when its type is a one-value Literal."""
    fields = getattr(cls, "model_fields", None)
    field = fields.get(name) if isinstance(fields, dict) else None
    annotation = getattr(field, "annotation", None)
    if typing.get_origin(annotation) is not Literal:
        return None
    values = typing.get_args(annotation)
    return values[0] if len(values) == 1 and isinstance(values[0], str) else None


# Event and delta classes whose ``type`` is fixed to "content_block_delta" / "text_delta" (the SDK's plain and
# beta models), learnt from the first events seen: a text delta is then recognised by its class, two pydantic
# field reads fewer per streamed token (a few hundred machine instructions each).
_TEXT_DELTA_EVENTS: set[type] = set()
_TEXT_DELTAS: set[type] = set()


def _learn_text_delta(event: Any, delta: Any) -> None:
    if len(_TEXT_DELTA_EVENTS) + len(_TEXT_DELTAS) > 64:
        return
    if _one_literal(type(event), "type") == "content_block_delta":
        _TEXT_DELTA_EVENTS.add(type(event))
    if _one_literal(type(delta), "type") == "text_delta":
        _TEXT_DELTAS.add(type(delta))


class _EventsObserver(StreamTally):
    """A Messages event stream. Output tokens: the last ``message_delta.usage.output_tokens``, a running total
    (``message_start`` carries only an initial value); the model name is on ``message_start`` only."""

    __slots__ = ()

    def on_item(self, event: Any) -> bool:
        if type(event) in _TEXT_DELTA_EVENTS:  # once per streamed token: the common case first
            delta = event.delta
            if type(delta) in _TEXT_DELTAS:
                text = delta.text
                if isinstance(text, str):
                    self.texts.append(text)
                return True
        kind = event.type  # every event of the SDK has one (an object without fails here: see the proxy)
        if kind == "content_block_delta":
            delta = event.delta
            delta_type = delta.type
            if delta_type == "text_delta":
                text = delta.text
                _learn_text_delta(event, delta)
            else:
                field = _DELTA_TEXT.get(delta_type) if isinstance(delta_type, str) else None
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


def _snapshot_of(helper: Any) -> Any:
    """The message a MessageStream has accumulated so far, or None (none yet, or the stream is gone)."""
    try:
        return None if helper is None else helper.current_message_snapshot  # asserts a message_start was read
    except Exception:
        return None


class _HelperEventsObserver(_EventsObserver):
    """The raw event stream a MessageStream (``messages.stream()``) reads. The MessageStream accumulates the
    message itself, text included, so content deltas go by unseen (``passed``: one class check a streamed
    token); the text, needed only when no usage comes, is read from its snapshot at the end. The snapshot is
    kept from the first event after ``message_start`` on: the MessageStream, held weakly, may be gone by then.
    """

    __slots__ = ("helper", "snapshot")
    passed = _TEXT_DELTA_EVENTS  # learnt by _EventsObserver.on_item from the first text delta seen

    def __init__(self, helper: Any) -> None:
        super().__init__()
        self.helper = weakref.ref(helper)
        self.snapshot: Any = None

    def on_item(self, event: Any) -> bool:
        super().on_item(event)
        if self.snapshot is None and event.type != "message_start":
            self.snapshot = _snapshot_of(self.helper())
        return True

    def result(self) -> Observation:
        if self.tokens is None:
            snapshot = self.snapshot if self.snapshot is not None else _snapshot_of(self.helper())
            if snapshot is not None:  # else: the text of the events seen before the deltas were learnt
                self.texts = _message_text(snapshot)
        return super().result()


class MessagesEndpoint:
    """``messages.create`` / ``parse`` (plain and beta): a ``Message``, or a stream of its events."""

    provider = PROVIDER

    def begin(self, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any], settings: Settings) -> Call:
        return _located(new_call(self, settings, kwargs), instance)

    def headers_zone(self, call: Call, headers: Any) -> str | None:
        return None  # Anthropic sends no serving-region header; the region is ``usage.inference_geo``

    def observe(self, call: Call, response: Any) -> Observation:
        usage = getattr(response, "usage", None)
        tokens = getattr(usage, "output_tokens", None)
        counted = isinstance(tokens, int)
        # Positional (model, output_tokens, tokens_source, zone_hint, text): once per call.
        return observation(
            getattr(response, "model", None) or None,
            tokens if counted else None,
            "usage",
            _geo_zone(usage),
            None if counted else _message_text(response),
        )

    def stream_observer(self, call: Call, stream: Any) -> StreamObserver:
        return _EventsObserver()

    def helper_observer(self, call: Call, stream: Any, helper: Any) -> StreamObserver:
        """The raw stream of a MessageStream ``helper`` (``stream()``, a thread's ``stream()``)."""
        return _HelperEventsObserver(helper)


class StreamHelperEndpoint(MessagesEndpoint):
    """``messages.stream()``: always a stream."""

    def begin(self, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any], settings: Settings) -> Call:
        return _located(new_call(self, settings, kwargs, stream=True), instance)


class ThreadEndpoint(MessagesEndpoint):
    """``beta.messages.thread()`` turns: the model is the turn's override, else the thread's own."""

    stream = False

    def begin(self, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any], settings: Settings) -> Call:
        call = new_call(self, settings, kwargs, None, self.stream)
        if call.model_requested is None:
            model = instance.params.get("model")
            call.model_requested = model if isinstance(model, str) and given(model) else None
        return _located(call, instance)


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
# stream() sends its request without create(): the manager's __enter__ posts it and hands the raw event stream
# to a new MessageStream, whose text_stream, iteration, until_done() and get_final_message() all read it. The
# shared helper seams (``_common``) give the MessageStream a proxy of that raw stream; at its end the impacts go
# on the raw stream, the MessageStream and its final message (``current_message_snapshot``, the very object
# ``get_final_message()`` returns). MessageStream.close() closes the raw stream, so no close seam is needed.


def _final_message(stream: Any) -> Any:
    return stream.current_message_snapshot  # asserts a message_start was received


_receive = receive_stream(_final_message)

HELPER_TARGETS = (
    # stream(): records the call on the manager it returns.
    helper_target(_MESSAGES, "Messages", "stream", "sync", STREAM_HELPER, record_call),
    helper_target(_MESSAGES, "AsyncMessages", "stream", "sync", STREAM_HELPER, record_call),  # returns a manager
    helper_target(_BETA, "Messages", "stream", "sync", STREAM_HELPER, record_call),
    helper_target(_BETA, "AsyncMessages", "stream", "sync", STREAM_HELPER, record_call),
    helper_target(_BEDROCK_BETA, "Messages", "stream", "sync", STREAM_HELPER, record_call),
    helper_target(_BEDROCK_BETA, "AsyncMessages", "stream", "sync", STREAM_HELPER, record_call),
    helper_target(_VERTEX_BETA, "Messages", "stream", "sync", STREAM_HELPER, record_call),
    helper_target(_VERTEX_BETA, "AsyncMessages", "stream", "sync", STREAM_HELPER, record_call),
    # A thread's stream() (also each turn of tool_runner(stream=True)).
    helper_target(_THREADS, "BetaMessageThread", "stream", "sync", THREAD_STREAM, record_call),
    helper_target(_THREADS, "BetaAsyncMessageThread", "stream", "sync", THREAD_STREAM, record_call),
    # Entering the manager sends the request (thread managers enter through these too, via super()).
    helper_target(_STREAMING, "MessageStreamManager", "__enter__", "sync", STREAM_HELPER, send_request),
    helper_target(_STREAMING, "AsyncMessageStreamManager", "__aenter__", "async", STREAM_HELPER, send_request),
    helper_target(_BETA_STREAMING, "BetaMessageStreamManager", "__enter__", "sync", STREAM_HELPER, send_request),
    helper_target(_BETA_STREAMING, "BetaAsyncMessageStreamManager", "__aenter__", "async", STREAM_HELPER, send_request),
    # The MessageStream built inside reads the proxy of its raw stream.
    helper_target(_STREAMING, "MessageStream", "__init__", "sync", STREAM_HELPER, _receive),
    helper_target(_STREAMING, "AsyncMessageStream", "__init__", "sync", STREAM_HELPER, _receive),
    helper_target(_BETA_STREAMING, "BetaMessageStream", "__init__", "sync", STREAM_HELPER, _receive),
    helper_target(_BETA_STREAMING, "BetaAsyncMessageStream", "__init__", "sync", STREAM_HELPER, _receive),
)


SPEC = ProviderSpec(
    name=PROVIDER,
    distribution="anthropic",
    import_name="anthropic",
    tested=TESTED,
    targets=(*TARGETS, *HELPER_TARGETS),
)
