"""Anthropic (``anthropic`` 2.x): Messages ``create`` / ``parse`` / ``stream()``, beta Messages, message threads.

Tested with anthropic 2.12. The same classes serve the Bedrock, Vertex, Foundry, AWS and Google Cloud clients
and ``with_raw_response`` / ``with_streaming_response``. The serving zone: ``usage.inference_geo`` when the reply
has it, else a Bedrock / Vertex client's configured region.
"""

from __future__ import annotations

import json
import logging
import weakref
from typing import TYPE_CHECKING, Any

from genai_footprint._instrument._helpers import helper_target, receive_stream, record_call, send_request
from genai_footprint._instrument._reading import StreamTally, cloud_zone, given
from genai_footprint._instrument._spec import Call, Observation, ProviderSpec, StreamObserver, Target
from genai_footprint._instrument._usage import anthropic_details

if TYPE_CHECKING:
    from genai_footprint._settings import InstrumentationSettings

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
    cloud = _cloud_of(type(client))
    if cloud is None:
        return None
    name, attribute = cloud
    region = _bedrock_geography(model) if name == "aws" and model else None
    if region is None:
        region = getattr(client, attribute, None)
    return cloud_zone(name, region) if isinstance(region, str) else None


def _located(call: Call, instance: Any) -> Call:
    """``call`` with the zone hint of its client's cloud region, if any; a failure here only loses the hint."""
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


class _EventsObserver(StreamTally):
    """A Messages event stream. Output tokens: the last ``message_delta.usage.output_tokens``, a running total
    (``message_start`` carries only an initial value); the model name is on ``message_start`` only."""

    def on_item(self, event: Any) -> bool:
        kind = event.type  # every event of the SDK has one (an object without fails here: see the proxy)
        if kind == "content_block_delta":
            delta = event.delta
            field = _DELTA_TEXT.get(delta.type)
            text = None if field is None else getattr(delta, field, None)
            if isinstance(text, str):
                self.texts.append(text)
        elif kind == "message_delta":
            usage = getattr(event, "usage", None)
            tokens = getattr(usage, "output_tokens", None)
            if tokens is not None:  # checked when the call ends: a count that is no whole number is refused
                self.tokens = tokens
            self.details = anthropic_details(usage, self.details)
        elif kind == "message_start":
            message = event.message
            usage = getattr(message, "usage", None)
            self.model = getattr(message, "model", None) or self.model
            self.zone = _geo_zone(usage) or self.zone
            self.details = anthropic_details(usage, self.details)
        return True


def _snapshot_of(helper: Any) -> Any:
    """The message a MessageStream has accumulated so far, or None (none yet, or the stream is gone)."""
    try:
        return None if helper is None else helper.current_message_snapshot  # asserts a message_start was read
    except Exception:
        return None


class _HelperEventsObserver(_EventsObserver):
    """The raw event stream a MessageStream (``messages.stream()``) reads. The MessageStream accumulates the
    message itself, text included: when no usage comes, the text is read from its snapshot at the end. The
    snapshot is kept from the first event after ``message_start`` on: the MessageStream, held weakly, may be
    gone by then.
    """

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
            if snapshot is not None:  # else: the text of the events seen
                self.texts = _message_text(snapshot)
        return super().result()


class MessagesEndpoint:
    """``messages.create`` / ``parse`` (plain and beta): a ``Message``, or a stream of its events."""

    provider = PROVIDER

    def begin(
        self, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any], settings: InstrumentationSettings
    ) -> Call:
        call = Call.from_arguments(self, settings, kwargs, stream=self._streams(kwargs))
        if call.model_requested is None:
            call.model_requested = self._default_model(instance)
        return _located(call, instance)

    def _streams(self, kwargs: dict[str, Any]) -> bool | None:
        return None  # the call's ``stream`` argument says

    def _default_model(self, instance: Any) -> str | None:
        return None

    def headers_zone(self, call: Call, headers: Any) -> str | None:
        return None  # Anthropic sends no serving-region header; the region is ``usage.inference_geo``

    def observe(self, call: Call, response: Any) -> Observation:
        usage = getattr(response, "usage", None)
        tokens = getattr(usage, "output_tokens", None)
        counted = tokens is not None  # checked when the call ends: a count that is no whole number is refused
        return Observation(
            model=getattr(response, "model", None) or None,
            output_tokens=tokens,
            details=anthropic_details(usage),
            zone_hint=_geo_zone(usage),
            text=None if counted else _message_text(response),
        )

    def stream_observer(self, call: Call, stream: Any) -> StreamObserver:
        return _EventsObserver()

    def helper_observer(self, call: Call, stream: Any, helper: Any) -> StreamObserver:
        """The raw stream of a MessageStream ``helper`` (``stream()``, a thread's ``stream()``)."""
        return _HelperEventsObserver(helper)


class StreamHelperEndpoint(MessagesEndpoint):
    """``messages.stream()``: always a stream."""

    def _streams(self, kwargs: dict[str, Any]) -> bool | None:
        return True


class ThreadEndpoint(MessagesEndpoint):
    """``beta.messages.thread()`` turns: the model is the turn's override, else the thread's own."""

    def _streams(self, kwargs: dict[str, Any]) -> bool | None:
        return False

    def _default_model(self, instance: Any) -> str | None:
        model = instance.params.get("model")
        return model if isinstance(model, str) and given(model) and model else None


class ThreadStreamEndpoint(ThreadEndpoint):
    def _streams(self, kwargs: dict[str, Any]) -> bool | None:
        return True


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
# shared helper seams (``_helpers``) give the MessageStream a proxy of that raw stream; at its end the impacts go
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
