"""Mistral (``mistralai`` 3.x, under ``mistralai.client``): chat (and ``parse``), FIM, agents, conversations and
the Responses API — sync, async, streams.

Tested with mistralai 3.7. The Azure (``mistralai.azure.client``) and Google Cloud (``mistralai.gcp.client``)
clients ship in the same distribution with their own ``Chat`` / ``Fim`` classes of the same shape: they are
wrapped too. Embeddings, OCR, classifiers and the rest are not generations and are left alone.
"""

from __future__ import annotations

import functools
import json
import logging
from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from genai_footprint._instrument._reading import StreamTally, attr, cloud_zone, given, host_zone, text_or_none
from genai_footprint._instrument._spec import Call, Observation, ProviderSpec, StreamObserver, Target
from genai_footprint._instrument._usage import chat_completion_details, responses_details, sent_field

if TYPE_CHECKING:
    from genai_footprint._settings import InstrumentationSettings

PROVIDER = "mistralai"

logger = logging.getLogger("genai_footprint")


# -- reading SDK objects ----------------------------------------------------------------------------------


def _content_texts(content: Any, out: list[str]) -> None:
    """Generated text in a message content: a string, a chunk, or a list of chunks (thinking included)."""
    if isinstance(content, str):
        if content:
            out.append(content)
    elif isinstance(content, list):
        for part in content:
            _content_texts(part, out)
    elif content is not None and given(content):
        for name in ("text", "refusal"):
            text = text_or_none(attr(content, name))
            if text is not None:
                out.append(text)
        thinking = attr(content, "thinking")
        if isinstance(thinking, list):
            _content_texts(thinking, out)


def _arguments_text(arguments: Any) -> str | None:
    if isinstance(arguments, dict):
        return json.dumps(arguments)
    return text_or_none(arguments)


def _message_texts(message: Any, out: list[str]) -> None:
    """Text of a message, delta, conversation entry or Responses output item: content plus tool arguments."""
    if message is None:
        return
    _content_texts(attr(message, "content"), out)
    arguments = _arguments_text(attr(message, "arguments"))
    if arguments is not None:
        out.append(arguments)
    tool_calls = attr(message, "tool_calls")
    if isinstance(tool_calls, list):
        for tool_call in tool_calls:
            arguments = _arguments_text(getattr(getattr(tool_call, "function", None), "arguments", None))
            if arguments is not None:
                out.append(arguments)


def _client_kind(instance: Any) -> str | None:
    """``azure`` / ``gcp`` for the cloud clients shipped in the distribution; None for Mistral's own API."""
    module = type(instance).__module__
    if module.startswith("mistralai.azure."):
        return "azure"
    if module.startswith("mistralai.gcp."):
        return "gcp"
    return None


# -- where the call is served ---------------------------------------------------------------------------------

_AZURE_SERVERLESS = ".models.ai.azure.com"  # https://<deployment>.<region>.models.ai.azure.com
_GCP_REGIONAL = "-aiplatform.googleapis.com"  # https://<region>-aiplatform.googleapis.com, MistralGCP's default


@functools.lru_cache(maxsize=256)
def _zone_of(kind: str | None, url: str, gcp_region: str | None) -> str | None:
    """The zone a server URL (and, for Google Cloud, the client's region) stands for, if the registry knows it.
    Cached: parsing the URL and looking its host up cost more than the rest of a call's start."""
    host = (urlsplit(url).hostname or "").lower()
    if kind == "gcp":
        if gcp_region is None and host.endswith(_GCP_REGIONAL):
            gcp_region = host[: -len(_GCP_REGIONAL)]
        return cloud_zone("gcp", gcp_region)
    if kind == "azure":
        # Serverless deployments name their region in the host; Azure AI Foundry hosts
        # (<resource>.services.ai.azure.com) do not, and only a stream's x-ms-region header tells.
        labels = host[: -len(_AZURE_SERVERLESS)].split(".") if host.endswith(_AZURE_SERVERLESS) else []
        return cloud_zone("azure", labels[-1]) if len(labels) > 1 else None
    return host_zone(host)


def _client_zone(instance: Any, kwargs: dict[str, Any], kind: str | None) -> str | None:
    """The zone hint of a call: from the server it goes to (the per-call ``server_url``, else the client's) and,
    for Google Cloud, the region the client puts in its request paths."""
    url = kwargs.get("server_url")
    if not isinstance(url, str) or not url:
        url, _ = instance.sdk_configuration.get_server_details()
    if not isinstance(url, str):
        return None
    # MistralGCP keeps its region on the root client (``parent_ref``), in a private attribute: read only on the
    # tested versions (the whole provider is gated on them); the regional host is the fallback.
    region = getattr(getattr(instance, "parent_ref", None), "_region", None) if kind == "gcp" else None
    return _zone_of(kind, url, region if isinstance(region, str) else None)


# -- endpoints ------------------------------------------------------------------------------------------------


class _Base(ABC):
    """Shared ``begin`` / ``headers_zone``. ``streaming`` is what the method returns (None: the ``stream`` kwarg)."""

    provider = PROVIDER

    def __init__(self, streaming: bool | None) -> None:
        self.streaming = streaming

    def begin(
        self, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any], settings: InstrumentationSettings
    ) -> Call:
        kind = _client_kind(instance)
        try:
            zone_hint = _client_zone(instance, kwargs, kind)
        except Exception:
            logger.debug("genai_footprint: cannot read the client's server; the SDK call is unaffected", exc_info=True)
            zone_hint = None
        call = Call.from_arguments(self, settings, kwargs, stream=self.streaming, zone_hint=zone_hint)
        call.client = kind
        call.reads_headers = kind == "azure"
        return call

    def headers_zone(self, call: Call, headers: Any) -> str | None:
        # Azure AI deployments name their serving region (``x-ms-region: Sweden Central``); Mistral's own API does not.
        if call.client != "azure" or headers is None:
            return None
        region = headers.get("x-ms-region")
        return cloud_zone("azure", region) if isinstance(region, str) else None

    @abstractmethod
    def observe(self, call: Call, response: Any) -> Observation: ...

    @abstractmethod
    def stream_observer(self, call: Call, stream: Any) -> StreamObserver: ...

    def _stream_zone(self, call: Call, stream: Any) -> str | None:
        try:
            # EventStream keeps the HTTP response (not so the plain calls' response models).
            return self.headers_zone(call, getattr(getattr(stream, "response", None), "headers", None))
        except Exception:
            return None


class _CompletionStreamObserver(StreamTally):
    """Chat / FIM / agents chunks (each event's ``.data``, a ``CompletionChunk``); the last carries ``usage``.

    A chunk of the documented shape is read field by field (once per chunk: it is most of what a chunk costs
    us); anything else is read defensively, each field optional. Usage comes on the last chunk: it is read from
    the last chunk seen when the stream ends."""

    def __init__(self, zone: str | None = None) -> None:
        super().__init__(zone)
        self.last: Any = None  # the last chunk of the documented shape

    def on_item(self, event: Any) -> bool:
        seen = len(self.texts)
        try:
            self._read_chunk(event.data)
        except (AttributeError, TypeError):
            del self.texts[seen:]  # read again, defensively
            self._read_any(event)
        return True

    def _read_chunk(self, chunk: Any) -> None:
        if self.model is None:
            self.model = text_or_none(chunk.model)
        for choice in chunk.choices:
            delta = choice.delta
            content = delta.content
            if isinstance(content, str):
                if content:
                    self.texts.append(content)
            elif content is not None and given(content):
                _content_texts(content, self.texts)  # text and thinking chunks
            if delta.tool_calls:
                for tool_call in delta.tool_calls:
                    arguments = _arguments_text(tool_call.function.arguments)
                    if arguments is not None:
                        self.texts.append(arguments)
        self.last = chunk

    def result(self) -> Observation:
        if self.last is not None:
            self._usage(attr(self.last, "usage"))
        return super().result()

    def _read_any(self, event: Any) -> None:
        if self.last is not None:  # its usage is read now: a running total, and the reports come in order
            self._usage(attr(self.last, "usage"))
            self.last = None
        chunk = attr(event, "data")
        if chunk is None:
            return
        if self.model is None:
            self.model = text_or_none(attr(chunk, "model"))
        for choice in attr(chunk, "choices") or ():
            _message_texts(attr(choice, "delta"), self.texts)
        self._usage(attr(chunk, "usage"))

    def _usage(self, usage: Any) -> None:
        tokens = sent_field(usage, "completion_tokens")
        if tokens is not None:
            self.tokens = tokens  # a running total when sent more than once: keep the last, never sum
            self.details = chat_completion_details(usage)


class Completions(_Base):
    """``chat.complete`` / ``stream`` / ``parse``, ``fim.*``, ``agents.*`` (and the Azure / GCP ``Chat`` / ``Fim``)."""

    def observe(self, call: Call, response: Any) -> Observation:
        usage = getattr(response, "usage", None)
        tokens = sent_field(usage, "completion_tokens")
        texts: list[str] | None = None
        if tokens is None:  # only needed to count tokens ourselves
            texts = []
            for choice in getattr(response, "choices", None) or ():
                _message_texts(getattr(choice, "message", None), texts)
        model = text_or_none(getattr(response, "model", None))
        return Observation(model=model, output_tokens=tokens, details=chat_completion_details(usage), text=texts)

    def stream_observer(self, call: Call, stream: Any) -> _CompletionStreamObserver:
        return _CompletionStreamObserver(self._stream_zone(call, stream))


def _entry_model(entry: Any) -> str | None:
    model = getattr(entry, "model", None)
    return text_or_none(model) if given(model) else None


class _ConversationStreamObserver(StreamTally):
    """Conversation events: text in ``message.output.delta`` / ``function.call.delta``; usage on
    ``conversation.response.done``. The model is on the output events (the request may only name an agent)."""

    def on_item(self, event: Any) -> bool:
        data = attr(event, "data")
        kind = attr(data, "type")
        if kind in ("message.output.delta", "function.call.delta"):
            self.model = _entry_model(data) or self.model
            _message_texts(data, self.texts)
        elif kind == "conversation.response.done":
            usage = attr(data, "usage")
            tokens = sent_field(usage, "completion_tokens")
            if tokens is not None:
                self.tokens = tokens
                self.details = chat_completion_details(usage)
        return True


class Conversations(_Base):
    """``beta.conversations.start`` / ``append`` / ``restart`` and their ``_stream`` variants.

    ``append`` and ``restart`` name no model: it is read from the output entries (the last one that names one,
    i.e. the agent that answered last when a handoff happened; usage covers the whole turn).
    """

    def observe(self, call: Call, response: Any) -> Observation:
        model = None
        outputs = attr(response, "outputs") or ()
        for entry in outputs:
            model = _entry_model(entry) or model
        usage = attr(response, "usage")
        tokens = sent_field(usage, "completion_tokens")
        texts: list[str] | None = None
        if tokens is None:
            texts = []
            for entry in outputs:
                _message_texts(entry, texts)
        return Observation(model=model, output_tokens=tokens, details=chat_completion_details(usage), text=texts)

    def stream_observer(self, call: Call, stream: Any) -> _ConversationStreamObserver:
        return _ConversationStreamObserver(self._stream_zone(call, stream))


_RESPONSE_TEXT_EVENTS = frozenset(
    {"response.output_text.delta", "response.function_call_arguments.delta", "response.reasoning_text.delta"}
)
_RESPONSE_SNAPSHOT_EVENTS = frozenset(
    {"response.created", "response.in_progress", "response.completed", "response.incomplete", "response.failed"}
)


class _ResponsesStreamObserver(StreamTally):
    """Responses API frames (``.data`` is the event): usage on the terminal ``response.completed`` (or
    ``.incomplete`` / ``.failed``) snapshot."""

    def on_item(self, frame: Any) -> bool:
        data = attr(frame, "data")
        kind = attr(data, "type")
        if kind in _RESPONSE_TEXT_EVENTS:
            delta = text_or_none(attr(data, "delta"))
            if delta is not None:
                self.texts.append(delta)
        elif kind in _RESPONSE_SNAPSHOT_EVENTS:
            response = attr(data, "response")
            self.model = text_or_none(attr(response, "model")) or self.model
            usage = attr(response, "usage")
            tokens = sent_field(usage, "output_tokens")
            if tokens is not None:
                self.tokens = tokens
                self.details = responses_details(usage)
        return True


class Responses(_Base):
    """``responses.create`` / ``create_async``: a response, or a stream with ``stream=True``."""

    def observe(self, call: Call, response: Any) -> Observation:
        usage = getattr(response, "usage", None)
        tokens = sent_field(usage, "output_tokens")
        texts: list[str] | None = None
        if tokens is None:
            texts = []
            for item in getattr(response, "output", None) or ():
                _message_texts(item, texts)
        model = text_or_none(getattr(response, "model", None))
        return Observation(model=model, output_tokens=tokens, details=responses_details(usage), text=texts)

    def stream_observer(self, call: Call, stream: Any) -> _ResponsesStreamObserver:
        return _ResponsesStreamObserver(self._stream_zone(call, stream))


COMPLETION = Completions(streaming=False)
COMPLETION_STREAM = Completions(streaming=True)
CONVERSATION = Conversations(streaming=False)
CONVERSATION_STREAM = Conversations(streaming=True)
RESPONSES = Responses(streaming=None)


def _completion_targets(module: str, owner: str) -> tuple[Target, ...]:
    return (
        Target(module, owner, "complete", "sync", COMPLETION),
        Target(module, owner, "complete_async", "async", COMPLETION),
        Target(module, owner, "stream", "sync", COMPLETION_STREAM),
        Target(module, owner, "stream_async", "async", COMPLETION_STREAM),
    )


def _conversation_targets(module: str, owner: str) -> tuple[Target, ...]:
    targets: list[Target] = []
    for action in ("start", "append", "restart"):
        targets += [
            Target(module, owner, action, "sync", CONVERSATION),
            Target(module, owner, f"{action}_async", "async", CONVERSATION),
            Target(module, owner, f"{action}_stream", "sync", CONVERSATION_STREAM),
            Target(module, owner, f"{action}_stream_async", "async", CONVERSATION_STREAM),
        ]
    return tuple(targets)


_CHAT = "mistralai.client.chat"

TARGETS = (
    *_completion_targets(_CHAT, "Chat"),
    # parse() rebuilds complete()'s result: wrapped itself so impacts land on what the caller gets (the inner
    # complete() then passes through). parse_stream() returns stream()'s stream unchanged: covered by stream().
    Target(_CHAT, "Chat", "parse", "sync", COMPLETION),
    Target(_CHAT, "Chat", "parse_async", "async", COMPLETION),
    *_completion_targets("mistralai.client.fim", "Fim"),
    *_completion_targets("mistralai.client.agents", "Agents"),
    *_conversation_targets("mistralai.client.conversations", "Conversations"),
    Target("mistralai.client.responses", "Responses", "create", "sync", RESPONSES),
    Target("mistralai.client.responses", "Responses", "create_async", "async", RESPONSES),
    *_completion_targets("mistralai.azure.client.chat", "Chat"),
    # Needs google-auth (the mistralai[gcp] extra) to import; wrapped once it is.
    *_completion_targets("mistralai.gcp.client.chat", "Chat"),
    *_completion_targets("mistralai.gcp.client.fim", "Fim"),
)

SPEC = ProviderSpec(
    name=PROVIDER,
    distribution="mistralai",
    import_name="mistralai.client",
    tested=((3, 7), (4,)),
    targets=TARGETS,
)
