"""OpenAI (``openai`` 3.x): chat completions, Responses, legacy completions — sync, async, streams.

Tested with openai 3.54. Also reached through Azure OpenAI clients, any OpenAI-compatible ``base_url``,
``with_raw_response`` / ``with_streaming_response`` and the SDK's ``.stream()`` helpers.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, Any

from genai_footprint._events import TokenDetails
from genai_footprint._instrument._helpers import (
    Wrapper,
    annotate_final,
    close_stream,
    helper_target,
    leave_unmeasured,
    receive_stream,
    record_call,
    send_request,
)
from genai_footprint._instrument._reading import (
    StreamTally,
    api_host,
    client_address,
    given,
    host_zone,
    region_zone,
)
from genai_footprint._instrument._spec import Call, Observation, ProviderSpec, StreamObserver, Target
from genai_footprint._instrument._usage import chat_completion_details, responses_details

if TYPE_CHECKING:
    from genai_footprint._instrument._runtime import Runtime
    from genai_footprint._settings import InstrumentationSettings

PROVIDER = "openai"
_AZURE_SUFFIXES = (".openai.azure.com", ".cognitiveservices.azure.com", ".services.ai.azure.com")


def _is_azure(instance: Any, host: str) -> bool:
    client = getattr(instance, "_client", None)
    return host.endswith(_AZURE_SUFFIXES) or type(client).__name__ in ("AzureOpenAI", "AsyncAzureOpenAI")


def _headers_zone(call: Call, headers: Any) -> str | None:
    try:
        return region_zone(PROVIDER, headers.get("x-ms-region"))
    except Exception:
        return None


class _Base(ABC):
    provider = PROVIDER
    usage_field = "completion_tokens"
    stream: bool | None = None  # None: the call's ``stream`` argument says

    asks_stream_usage = False  # chat and legacy completions: a stream may be asked to end with its usage

    def begin(
        self, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any], settings: InstrumentationSettings
    ) -> Call:
        host, port = client_address(instance)
        azure = _is_azure(instance, host)
        call = Call.from_arguments(self, settings, kwargs, stream=self.stream, zone_hint=host_zone(host))
        # Azure, and the hosts the registry knows (api.openai.com, Groq, Together, a local Ollama ...), accept
        # stream_options.include_usage where the registry says so; another compatible server may reject it.
        accepts_usage = azure
        if azure:
            call.client = "azure"
            call.reads_headers = True
        elif host:
            site = api_host(host, port)
            if site is not None:
                call.provider = site.provider  # the host's zone, PUE and WUE; the model's own figures
                accepts_usage = site.stream_usage
        if call.stream and self.asks_stream_usage and accepts_usage:
            _ask_for_stream_usage(call, kwargs)
        return call

    def headers_zone(self, call: Call, headers: Any) -> str | None:
        return _headers_zone(call, headers) if call.client == "azure" else None

    @abstractmethod
    def stream_observer(self, call: Call, stream: Any) -> StreamObserver: ...

    def observe(self, call: Call, response: Any) -> Observation:
        usage = getattr(response, "usage", None)
        tokens = getattr(usage, self.usage_field, None) if usage is not None else None
        # No usage (some compatible servers omit it): the text is counted instead.
        return Observation(
            model=getattr(response, "model", None) or None,
            output_tokens=tokens,
            details=self.details(usage),
            text=self.response_text(response) if tokens is None else None,
        )

    def details(self, usage: Any) -> TokenDetails:
        return chat_completion_details(usage)

    def response_text(self, response: Any) -> list[str]:
        texts: list[str] = []
        for choice in getattr(response, "choices", None) or ():
            message = getattr(choice, "message", None)
            if message is None:
                continue
            for part in (message.content, getattr(message, "refusal", None)):
                if isinstance(part, str) and part:
                    texts.append(part)
            for tool_call in getattr(message, "tool_calls", None) or ():
                function = getattr(tool_call, "function", None)
                if function is not None and function.arguments:
                    texts.append(function.arguments)
        return texts


def _ask_for_stream_usage(call: Call, kwargs: dict[str, Any]) -> None:
    """Ask a stream to end with a usage chunk when the caller did not; the chunk is hidden from them."""
    if not call.settings.request_stream_usage:
        return
    options = kwargs.get("stream_options")
    if given(options):
        if not isinstance(options, dict) or "include_usage" in options:
            return  # the caller decided
        kwargs["stream_options"] = {**options, "include_usage": True}
    else:
        kwargs["stream_options"] = {"include_usage": True}
    call.injected_stream_usage = True


class _ChoicesStreamObserver(StreamTally):
    """Chat / legacy completion chunks: usage arrives in a last chunk with no choices (when asked for)."""

    def __init__(self, call: Call, zone: str | None) -> None:
        super().__init__(zone)
        self.call = call
        self.last: Any = None  # the last chunk with choices: some compatible servers put the usage on it

    def on_item(self, chunk: Any) -> bool:
        # Usage comes on a chunk without choices (where OpenAI and Azure send it), or on the last chunk with
        # choices (some compatible servers): read at the end.
        choices = chunk.choices
        if choices:
            for choice in choices:
                if choice.delta is not None:
                    self._delta_texts(choice.delta)
            if self.model is None:
                self.model = chunk.model or None  # Azure's first chunk has model == ""
            self.last = chunk
            return True
        return self._no_choices(chunk)

    def _no_choices(self, chunk: Any) -> bool:
        """A chunk without choices (Azure's first, the usage chunk): its model and usage; False hides the usage
        chunk we asked for on the caller's behalf."""
        if self.model is None:
            self.model = chunk.model or None
        usage = chunk.usage
        if usage is not None:
            self.tokens = usage.completion_tokens
            self.details = chat_completion_details(usage)
            return not self.call.injected_stream_usage
        return True

    def result(self) -> Observation:
        last = self.last
        if self.tokens is None and last is not None:
            usage = getattr(last, "usage", None)  # usage on the last chunk with choices (a running total)
            if usage is not None:
                self.tokens = usage.completion_tokens
                self.details = chat_completion_details(usage)
        return super().result()

    def _delta_texts(self, delta: Any) -> None:
        """A delta's generated text: content, tool-call arguments and refusal."""
        if delta.content:
            self.texts.append(delta.content)
        if delta.tool_calls:
            for tool_call in delta.tool_calls:
                function = tool_call.function
                if function is not None and function.arguments:
                    self.texts.append(function.arguments)
        refusal = getattr(delta, "refusal", None)  # an SDK whose deltas have no refusal field: None
        if refusal:
            self.texts.append(refusal)


class _LegacyStreamObserver(_ChoicesStreamObserver):
    def on_item(self, chunk: Any) -> bool:
        choices = chunk.choices
        if choices:
            for choice in choices:
                if choice.text:
                    self.texts.append(choice.text)
            if self.model is None:
                self.model = chunk.model or None
            self.last = chunk
            return True
        return self._no_choices(chunk)


def _stream_zone(endpoint: Any, call: Call, stream: Any) -> str | None:
    response = getattr(stream, "response", None)
    return endpoint.headers_zone(call, response.headers) if response is not None else None


class ChatCompletions(_Base):
    """``chat.completions.create`` / ``parse`` (and everything built on them)."""

    asks_stream_usage = True

    def stream_observer(self, call: Call, stream: Any) -> _ChoicesStreamObserver:
        return _ChoicesStreamObserver(call, _stream_zone(self, call, stream))


class Completions(ChatCompletions):
    """Legacy ``completions.create``."""

    def response_text(self, response: Any) -> list[str]:
        return [c.text for c in getattr(response, "choices", None) or () if isinstance(c.text, str) and c.text]

    def stream_observer(self, call: Call, stream: Any) -> _ChoicesStreamObserver:
        return _LegacyStreamObserver(call, _stream_zone(self, call, stream))


_RESPONSE_END_EVENTS = frozenset({"response.completed", "response.incomplete", "response.failed"})
_RESPONSE_TEXT_EVENTS = frozenset(
    {"response.output_text.delta", "response.function_call_arguments.delta", "response.refusal.delta"}
)


class _ResponsesStreamObserver(StreamTally):
    """Responses API events: usage on the terminal ``response.completed`` / ``.incomplete`` / ``.failed``."""

    def on_item(self, event: Any) -> bool:
        kind = event.type
        if kind in _RESPONSE_TEXT_EVENTS:
            self.texts.append(event.delta)
        elif kind in _RESPONSE_END_EVENTS or kind == "response.created":
            response = event.response
            self.model = response.model or self.model
            usage = response.usage
            if usage is not None:
                self.tokens = usage.output_tokens
                self.details = responses_details(usage)
        return True


class Responses(_Base):
    """``responses.create`` / ``parse`` (and ``beta.responses``)."""

    usage_field = "output_tokens"

    def details(self, usage: Any) -> TokenDetails:
        return responses_details(usage)

    def response_text(self, response: Any) -> list[str]:
        text = getattr(response, "output_text", None)
        return [text] if isinstance(text, str) and text else []

    def stream_observer(self, call: Call, stream: Any) -> _ResponsesStreamObserver:
        return _ResponsesStreamObserver(_stream_zone(self, call, stream))


class Compact(Responses):
    """``responses.compact``: a ``CompactedResponse`` whose ``usage`` bills the output tokens of the compaction."""

    stream = False

    def response_text(self, response: Any) -> list[str]:
        return []  # the compacted items are encrypted: without usage there is no text to count


class ChatStreamHelper(ChatCompletions):
    """``chat.completions.stream()``: always a stream (asks for stream usage through the helper's arguments)."""

    stream = True


class ResponsesStreamHelper(Responses):
    """``responses.stream()``: always a stream."""

    stream = True


CHAT = ChatCompletions()
RESPONSES = Responses()
COMPLETIONS = Completions()
COMPACT = Compact()
CHAT_HELPER = ChatStreamHelper()
RESP_HELPER = ResponsesStreamHelper()

_CHAT = "openai.resources.chat.completions.completions"
_RESP = "openai.resources.responses.responses"
_BETA_RESP = "openai.resources.beta.responses.responses"
_LEGACY = "openai.resources.completions"

TARGETS = (
    Target(_CHAT, "Completions", "create", "sync", CHAT),
    Target(_CHAT, "Completions", "parse", "sync", CHAT),
    Target(_CHAT, "AsyncCompletions", "create", "async", CHAT),
    Target(_CHAT, "AsyncCompletions", "parse", "async", CHAT),
    Target(_RESP, "Responses", "create", "sync", RESPONSES),
    Target(_RESP, "Responses", "parse", "sync", RESPONSES),
    Target(_RESP, "AsyncResponses", "create", "async", RESPONSES),
    Target(_RESP, "AsyncResponses", "parse", "async", RESPONSES),
    # compact() generates the compacted context: billed output tokens (no stream).
    Target(_RESP, "Responses", "compact", "sync", COMPACT),
    Target(_RESP, "AsyncResponses", "compact", "async", COMPACT),
    Target(_BETA_RESP, "Responses", "create", "sync", RESPONSES),
    Target(_BETA_RESP, "AsyncResponses", "create", "async", RESPONSES),
    Target(_LEGACY, "Completions", "create", "sync", COMPLETIONS),
    Target(_LEGACY, "AsyncCompletions", "create", "async", COMPLETIONS),
    # Raw responses: the plain path parses through APIResponse too (it is where response headers are read).
    Target("openai._legacy_response", "LegacyAPIResponse", "parse", "sync", None, hook="raw_parse"),
    Target("openai._response", "APIResponse", "parse", "sync", None, hook="raw_parse"),
    Target("openai._response", "AsyncAPIResponse", "parse", "async", None, hook="raw_parse"),
)


# -- the stream helpers -----------------------------------------------------------------------------------
#
# chat.completions.stream() / responses.stream() build their request on create(stream=True) and hand its raw
# stream to a ChatCompletionStream / ResponseStream when the manager is entered. The shared helper seams
# (``_helpers``) make that create() pass through inside the helper's call and give the helper stream a proxy of
# its raw stream, so the call is measured once and its impacts go on the raw stream and the helper stream.
# Two seams more than Anthropic's: the helper's close() closes the HTTP response, not the raw stream, so it
# ends the call itself; get_final_completion() builds a new ParsedChatCompletion on each call, so the final
# objects are annotated as they are returned.


def _record_new_response(target: Target, runtime: Runtime) -> Wrapper:
    """``responses.stream()``: a new response is a call; ``response_id=`` resumes the stream of one made
    earlier (measured where it was created), so it is not counted again."""
    record = record_call(target, runtime)

    def wrapper(wrapped: Any, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        if given(kwargs.get("response_id")):
            return leave_unmeasured(wrapped(*args, **kwargs))
        return record(wrapped, instance, args, kwargs)

    return wrapper


_CHAT_LIB = "openai.lib.streaming.chat._completions"
_RESP_LIB = "openai.lib.streaming.responses._responses"
_receive = receive_stream()

HELPER_TARGETS = (
    # stream(): begins the call (asking for stream usage) and records it on the manager it returns.
    helper_target(_CHAT, "Completions", "stream", "sync", CHAT_HELPER, record_call),
    helper_target(_CHAT, "AsyncCompletions", "stream", "sync", CHAT_HELPER, record_call),  # returns a manager
    helper_target(_RESP, "Responses", "stream", "sync", RESP_HELPER, _record_new_response),
    helper_target(_RESP, "AsyncResponses", "stream", "sync", RESP_HELPER, _record_new_response),
    # Entering the manager sends the request.
    helper_target(_CHAT_LIB, "ChatCompletionStreamManager", "__enter__", "sync", CHAT_HELPER, send_request),
    helper_target(_CHAT_LIB, "AsyncChatCompletionStreamManager", "__aenter__", "async", CHAT_HELPER, send_request),
    helper_target(_RESP_LIB, "ResponseStreamManager", "__enter__", "sync", RESP_HELPER, send_request),
    helper_target(_RESP_LIB, "AsyncResponseStreamManager", "__aenter__", "async", RESP_HELPER, send_request),
    # The helper stream built inside reads the proxy of its raw stream ...
    helper_target(_CHAT_LIB, "ChatCompletionStream", "__init__", "sync", CHAT_HELPER, _receive),
    helper_target(_CHAT_LIB, "AsyncChatCompletionStream", "__init__", "sync", CHAT_HELPER, _receive),
    helper_target(_RESP_LIB, "ResponseStream", "__init__", "sync", RESP_HELPER, _receive),
    helper_target(_RESP_LIB, "AsyncResponseStream", "__init__", "sync", RESP_HELPER, _receive),
    # ... its close() (also reached by with and the manager's exit) ends the call ...
    helper_target(_CHAT_LIB, "ChatCompletionStream", "close", "sync", CHAT_HELPER, close_stream),
    helper_target(_CHAT_LIB, "AsyncChatCompletionStream", "close", "async", CHAT_HELPER, close_stream),
    helper_target(_RESP_LIB, "ResponseStream", "close", "sync", RESP_HELPER, close_stream),
    helper_target(_RESP_LIB, "AsyncResponseStream", "close", "async", RESP_HELPER, close_stream),
    # ... and its final object carries the impacts.
    helper_target(_CHAT_LIB, "ChatCompletionStream", "get_final_completion", "sync", CHAT_HELPER, annotate_final),
    helper_target(_CHAT_LIB, "AsyncChatCompletionStream", "get_final_completion", "async", CHAT_HELPER, annotate_final),
    helper_target(_RESP_LIB, "ResponseStream", "get_final_response", "sync", RESP_HELPER, annotate_final),
    helper_target(_RESP_LIB, "AsyncResponseStream", "get_final_response", "async", RESP_HELPER, annotate_final),
)

SPEC = ProviderSpec(
    name=PROVIDER,
    distribution="openai",
    import_name="openai",
    tested=((3, 54), (4,)),
    targets=(*TARGETS, *HELPER_TARGETS),
)
