"""Groq (``groq`` 1.x, Groq's own OpenAI-shaped SDK): chat completions — sync, async, streams, raw responses.

Tested with groq 1.7. A Groq stream needs no opt-in for its usage: the last chunk carries it in ``x_groq.usage``
(``usage`` too, when the caller asked for it through ``stream_options``). Embeddings, audio, batches, files and
model listings are not generations and are left alone.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from genai_footprint._instrument._chat import ChatChunks, chat_observation, completion_tokens
from genai_footprint._instrument._reading import attr, client_host, host_zone
from genai_footprint._instrument._spec import Call, Observation, ProviderSpec, Target

if TYPE_CHECKING:
    from genai_footprint._settings import InstrumentationSettings

PROVIDER = "groq"


_TEXT_FIELDS = ("content", "reasoning")  # a message's text: its content and parsed reasoning


class _ChunkObserver(ChatChunks):
    """``chat.completion.chunk``s, whose usage is on the last chunk, in ``x_groq.usage`` (or in ``usage`` when
    ``stream_options`` asked for it)."""

    def usage_of(self, chunk: Any) -> Any:
        usage = attr(chunk, "usage")
        return usage if completion_tokens(usage) is not None else attr(attr(chunk, "x_groq"), "usage")


class ChatCompletions:
    """``chat.completions.create``: a ``ChatCompletion``, or a stream of chunks with ``stream=True``."""

    provider = PROVIDER

    def begin(
        self, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any], settings: InstrumentationSettings
    ) -> Call:
        return Call.from_arguments(self, settings, kwargs, zone_hint=host_zone(client_host(instance)))

    def headers_zone(self, call: Call, headers: Any) -> str | None:
        return None  # Groq's responses name no serving region

    def observe(self, call: Call, response: Any) -> Observation:
        return chat_observation(response, _TEXT_FIELDS)

    def stream_observer(self, call: Call, stream: Any) -> _ChunkObserver:
        return _ChunkObserver(_TEXT_FIELDS)


CHAT = ChatCompletions()

_CHAT = "groq.resources.chat.completions"

TARGETS = (
    Target(_CHAT, "Completions", "create", "sync", CHAT),
    Target(_CHAT, "AsyncCompletions", "create", "async", CHAT),
    # with_raw_response / with_streaming_response: the call completes when the raw response is parsed.
    Target("groq._response", "APIResponse", "parse", "sync", None, hook="raw_parse"),
    Target("groq._response", "AsyncAPIResponse", "parse", "async", None, hook="raw_parse"),
)

SPEC = ProviderSpec(
    name=PROVIDER,
    distribution="groq",
    import_name="groq",
    tested=((1, 7), (2,)),
    targets=TARGETS,
)
