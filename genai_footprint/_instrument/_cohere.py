"""Cohere (``cohere`` 7.x): chat on the v2 API (``ClientV2`` / ``AsyncClientV2``, and ``Client().v2``) and on the
v1 API (``Client`` / ``AsyncClient``) — sync, async, streams.

Tested with cohere 7.3. Two things differ from the other SDKs:

- ``chat_stream`` is a generator function (an async generator function on the async clients): it returns a
  generator at once, and the request is sent when iteration starts, so an HTTP error is raised by the first
  ``next()``. The generic call wrapper hands the generator back inside a stream proxy
  (``_streams.GeneratorProxy``) whose ``impacts`` reads None until the stream ends (a generator has no
  ``__dict__`` to hold it). A stream that ended before any event arrived (an HTTP error, or closed before it was
  read) was never answered: no estimate.
- Token counts are typed as floats (``23.0``); a whole one is read as the integer the API sent.

Embed, rerank, tokenize, classify, datasets and the rest are not generations and are left alone.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from genai_footprint._events import TokenDetails
from genai_footprint._instrument._reading import StreamTally, add_text, attr
from genai_footprint._instrument._spec import Call, Endpoint, KeywordEndpoint, Observation, ProviderSpec, Target

if TYPE_CHECKING:
    from genai_footprint._settings import InstrumentationSettings

PROVIDER = "cohere"


# -- reading SDK objects ----------------------------------------------------------------------------------


def _count(value: Any) -> Any:
    """A token count as the API sent it: the SDK types counts as floats, so ``23.0`` is read back as ``23``; any
    other value is passed on as is (the runtime refuses one that is no whole number)."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _details(usage: Any) -> TokenDetails:
    """The input tokens of a v2 ``Usage`` or a v1 ``ApiMeta`` (``tokens.input_tokens``, else the billed count);
    Cohere reports no cache or reasoning counts."""
    for part in ("tokens", "billed_units"):
        tokens = attr(attr(usage, part), "input_tokens")
        if tokens is not None:
            return TokenDetails(input_tokens=_count(tokens))
    return TokenDetails()


def _output_tokens(usage: Any) -> Any:
    """Output tokens of a v2 ``Usage`` or a v1 ``ApiMeta``: ``tokens.output_tokens``, else the billed count."""
    if usage is None:
        return None
    for part in ("tokens", "billed_units"):
        tokens = attr(attr(usage, part), "output_tokens")
        if tokens is not None:
            return _count(tokens)
    return None


def _texts(value: Any, out: list[str]) -> None:
    """Generated text of a v2 message content or tool call: a string, a part, or a list of them."""
    if isinstance(value, str):
        if value:
            out.append(value)
    elif isinstance(value, list):
        for part in value:
            _texts(part, out)
    elif value is not None:
        for name in ("text", "thinking"):
            add_text(out, attr(value, name))
        add_text(out, attr(attr(value, "function"), "arguments"))


def _message_texts(message: Any, out: list[str]) -> None:
    """A v2 assistant message, or the ``delta.message`` of a stream event: content, tool plan, tool calls."""
    if message is None:
        return
    _texts(attr(message, "content"), out)
    _texts(attr(message, "tool_plan"), out)
    _texts(attr(message, "tool_calls"), out)


def _v1_texts(response: Any) -> list[str]:
    """A v1 ``NonStreamedChatResponse``: its text and its tool calls' parameters."""
    texts: list[str] = []
    add_text(texts, attr(response, "text"))
    for tool_call in attr(response, "tool_calls") or ():
        parameters = attr(tool_call, "parameters")
        if parameters:
            texts.append(json.dumps(parameters))
    return texts


# -- stream observers ---------------------------------------------------------------------------------------


class NoAnswer(Exception):
    """A generator stream that ended before its first event: the request failed or was never sent."""


class _Observer(StreamTally):
    """Shared: the one rule that a stream without a single event is not estimated."""

    def __init__(self) -> None:
        super().__init__()
        self.events = 0

    def result(self) -> Observation:
        if not self.events:
            raise NoAnswer("the stream ended before its first event; nothing to estimate")
        return super().result()

    def read_usage(self, usage: Any) -> None:
        """A v2 ``Usage`` or a v1 ``ApiMeta``, when it reports output tokens."""
        tokens = _output_tokens(usage)
        if tokens is not None:
            self.tokens = tokens
            self.details = _details(usage)


_V2_TEXT_EVENTS = frozenset({"content-delta", "tool-plan-delta", "tool-call-start", "tool-call-delta"})


class _V2Observer(_Observer):
    """v2 events: text in content / tool-plan / tool-call deltas; usage on ``message-end``."""

    def on_item(self, event: Any) -> bool:
        self.events += 1
        kind = attr(event, "type")
        if kind in _V2_TEXT_EVENTS:
            _message_texts(attr(attr(event, "delta"), "message"), self.texts)
        elif kind == "message-end":
            self.read_usage(attr(attr(event, "delta"), "usage"))
        return True


class _V1Observer(_Observer):
    """v1 events: ``text-generation`` text, ``tool-calls-chunk`` deltas; usage in ``stream-end``'s response."""

    def on_item(self, event: Any) -> bool:
        self.events += 1
        kind = attr(event, "event_type")
        if kind == "text-generation":
            add_text(self.texts, attr(event, "text"))
        elif kind == "tool-calls-chunk":
            delta = attr(event, "tool_call_delta")
            for name in ("text", "parameters"):
                add_text(self.texts, attr(delta, name))
        elif kind == "stream-end":
            self.read_usage(attr(attr(event, "response"), "meta"))
        return True


# -- endpoints ------------------------------------------------------------------------------------------------


class _Chat(KeywordEndpoint):
    """Shared: the provider. v1 chat may name no model (the API then picks its default, which no response names):
    such a call is not estimated. Cohere's responses name no serving region."""

    provider = PROVIDER

    def begin(
        self, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any], settings: InstrumentationSettings
    ) -> Call:
        call = super().begin(instance, args, kwargs, settings)
        call.sent_when_iterated = self.streaming is True  # chat_stream is a generator: it sends when advanced
        return call


class ChatV2(_Chat):
    """``V2Client.chat`` / ``chat_stream``: a ``V2ChatResponse`` (which names no model), or stream events."""

    def observe(self, call: Call, response: Any) -> Observation:
        usage = attr(response, "usage")
        tokens = _output_tokens(usage)
        texts: list[str] | None = None
        if tokens is None:
            texts = []
            _message_texts(attr(response, "message"), texts)
        return Observation(output_tokens=tokens, details=_details(usage), text=texts)

    def stream_observer(self, call: Call, stream: Any) -> _V2Observer:
        return _V2Observer()


class ChatV1(_Chat):
    """``BaseCohere.chat`` / ``chat_stream``: a ``NonStreamedChatResponse``, or ``StreamedChatResponse`` events."""

    def observe(self, call: Call, response: Any) -> Observation:
        meta = attr(response, "meta")
        tokens = _output_tokens(meta)
        texts = _v1_texts(response) if tokens is None else None
        return Observation(output_tokens=tokens, details=_details(meta), text=texts)

    def stream_observer(self, call: Call, stream: Any) -> _V1Observer:
        return _V1Observer()


CHAT_V2 = ChatV2(streaming=False)
CHAT_V2_STREAM = ChatV2(streaming=True)
CHAT_V1 = ChatV1(streaming=False)
CHAT_V1_STREAM = ChatV1(streaming=True)


def _chat_targets(module: str, owner: str, async_owner: str, plain: Endpoint, stream: Endpoint) -> tuple[Target, ...]:
    # chat_stream returns a generator (an async generator on the async client) without awaiting: "sync" shape.
    return (
        Target(module, owner, "chat", "sync", plain),
        Target(module, async_owner, "chat", "async", plain),
        Target(module, owner, "chat_stream", "sync", stream),
        Target(module, async_owner, "chat_stream", "sync", stream),
    )


TARGETS = (
    *_chat_targets("cohere.v2.client", "V2Client", "AsyncV2Client", CHAT_V2, CHAT_V2_STREAM),
    *_chat_targets("cohere.base_client", "BaseCohere", "AsyncBaseCohere", CHAT_V1, CHAT_V1_STREAM),
)

SPEC = ProviderSpec(
    name=PROVIDER,
    distribution="cohere",
    import_name="cohere",
    tested=((7, 3), (8,)),
    targets=TARGETS,
)
