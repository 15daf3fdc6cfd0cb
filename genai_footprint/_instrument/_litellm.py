"""LiteLLM (``litellm`` 1.110): its module-level functions ``completion`` / ``acompletion``, ``text_completion`` /
``atext_completion`` and ``responses`` / ``aresponses`` — sync, async, streams — and so ``Router``, which calls
them for each deployment it tries.

Tested with litellm 1.110. What differs from the SDKs:

- The targets are module attributes (``litellm.completion``), replaced on the ``litellm`` module and put back by
  ``shutdown()``. A function imported by name before ``init()`` (``from litellm import completion``) is the
  original and is not measured; ``litellm.completion(...)``, or a name imported after ``init()``, is.
- A model string ``provider/model`` names the serving provider: ``litellm.get_llm_provider`` splits it, and the
  call is estimated as that provider's (``anthropic/claude-sonnet-4-5`` with Anthropic's figures,
  ``vertex_ai/gemini-2.5-pro`` with Google's, ``bedrock/...anthropic.claude...`` with Anthropic's in the AWS
  region named by ``aws_region_name``). A provider the registry does not know keeps LiteLLM's name
  (``ollama``): its calls get ``impacts=None`` until its model is registered under that name.
- LiteLLM calls some providers through SDKs we also patch (OpenAI, Azure): the inner call passes through (the
  instrumented call in progress, ``_guard.CURRENT_CALL``), also while a LiteLLM stream is read, since LiteLLM
  may send its request on the first ``next()``. One call, one estimate, on the object the caller receives.
- LiteLLM's streams (``CustomStreamWrapper``) are iterable both ways; the proxy follows the function's shape.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from genai_footprint._instrument._chat import message_texts
from genai_footprint._instrument._reading import StreamTally, add_text, attr, cloud_zone, given, host_zone, text_or_none
from genai_footprint._instrument._spec import Call, Observation, ProviderSpec, Shape, StreamObserver, Target
from genai_footprint._instrument._streams import AsyncStreamProxyWithAclose, StreamProxy, SyncStreamProxy
from genai_footprint._instrument._usage import chat_completion_details, responses_details
from genai_footprint._instrument._wrappers import call_wrapper

if TYPE_CHECKING:
    from genai_footprint._instrument._runtime import Runtime
    from genai_footprint._settings import InstrumentationSettings

PROVIDER = "litellm"

# LiteLLM's provider names that differ from the registry's names and aliases.
_PROVIDER_NAMES = {"text-completion-openai": "openai", "vertex_ai_beta": "google", "azure_ai": "azure"}
_CLOUD_REGION_ARGUMENTS = {"bedrock": ("aws", "aws_region_name"), "vertex_ai": ("gcp", "vertex_location")}


# -- the model a call names ------------------------------------------------------------------------------------


def split_model(model: str, kwargs: dict[str, Any]) -> tuple[str, str]:
    """(LiteLLM's provider, the model name it sends) for ``model``, as LiteLLM routes it; else split on ``/``."""
    try:
        from litellm import get_llm_provider

        name, provider, _, _ = get_llm_provider(
            model=model, custom_llm_provider=kwargs.get("custom_llm_provider"), api_base=kwargs.get("api_base")
        )
        if isinstance(name, str) and isinstance(provider, str):
            return provider, name
    except Exception:  # a model LiteLLM cannot route: its own call raises the error the caller should see
        pass
    provider, _, name = model.rpartition("/")
    return provider, name


def registry_provider(litellm_provider: str, model: str) -> str:
    """The registry's provider for a model LiteLLM routes to ``litellm_provider`` (LiteLLM's name if unknown)."""
    from genai_footprint._registry import get_registry

    if litellm_provider == "bedrock" and "anthropic." in model:
        return "anthropic"  # Claude on Bedrock: Anthropic's model figures, the AWS region's electricity
    name = _PROVIDER_NAMES.get(litellm_provider, litellm_provider)
    return get_registry().provider_name(name) or litellm_provider


def zone_hint(litellm_provider: str, kwargs: dict[str, Any]) -> str | None:
    """The zone a call names: a cloud region argument (Bedrock, Vertex AI), else a data-residency ``api_base``."""
    cloud = _CLOUD_REGION_ARGUMENTS.get(litellm_provider)
    if cloud is not None:
        region = kwargs.get(cloud[1])
        if isinstance(region, str):
            return cloud_zone(cloud[0], region)
    api_base = kwargs.get("api_base")
    if isinstance(api_base, str) and api_base:
        return host_zone((urlsplit(api_base).hostname or "").lower())
    return None


# -- reading LiteLLM's objects ------------------------------------------------------------------------------------


_TEXT_FIELDS = ("content", "reasoning_content", "text")  # a message's, a delta's or a text choice's text


def _choice_texts(choices: Any, out: list[str]) -> None:
    for choice in choices or ():
        message_texts(attr(choice, "message"), out, _TEXT_FIELDS)
        message_texts(attr(choice, "delta"), out, _TEXT_FIELDS)
        add_text(out, attr(choice, "text"))  # a text completion's choice


def _chat_usage(usage: Any) -> tuple[Any, Any]:
    """(output tokens, token details) of an OpenAI-style usage; (None, None) without one."""
    if usage is None or not given(usage):
        return None, None
    tokens = attr(usage, "completion_tokens")
    if tokens == 0 and not attr(usage, "prompt_tokens"):
        return None, None  # LiteLLM's stand-in when the provider sent no usage: all zeros
    return tokens, chat_completion_details(usage)


def _response_texts(response: Any, out: list[str]) -> None:
    """Generated text of a Responses-API response: its output messages' text parts."""
    for item in attr(response, "output") or ():
        for part in attr(item, "content") or ():
            add_text(out, attr(part, "text"))


class _ChunkObserver(StreamTally):
    """Chat and text-completion chunks: text from the choices; usage on the chunk that carries it (last wins)."""

    def on_item(self, chunk: Any) -> bool:
        if self.model is None:
            self.model = text_or_none(attr(chunk, "model"))
        _choice_texts(attr(chunk, "choices"), self.texts)
        tokens, details = _chat_usage(attr(chunk, "usage"))
        if tokens is not None:
            self.tokens, self.details = tokens, details
        return True


class _ResponsesObserver(StreamTally):
    """Responses-API events: text deltas; the model and usage of ``response.completed``."""

    def on_item(self, event: Any) -> bool:
        kind = attr(event, "type")
        kind = attr(kind, "value") or kind  # an enum member or its string
        if kind == "response.output_text.delta":
            add_text(self.texts, attr(event, "delta"))
        elif kind == "response.completed":
            response = attr(event, "response")
            self.model = text_or_none(attr(response, "model")) or self.model
            usage = attr(response, "usage")
            tokens = None if usage is None else attr(usage, "output_tokens")
            if tokens is not None:
                self.tokens, self.details = tokens, responses_details(usage)
        return True


# -- endpoints ------------------------------------------------------------------------------------------------


class LiteLLMEndpoint:
    """One family of LiteLLM calls: ``chat`` (``completion``), ``text`` (``text_completion``) or ``responses``."""

    provider = PROVIDER

    def __init__(self, kind: str) -> None:
        self.kind = kind

    def begin(
        self, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any], settings: InstrumentationSettings
    ) -> Call:
        model = kwargs.get("model", args[0] if args else None)
        stream = kwargs.get("stream") is True
        if not isinstance(model, str) or not model:
            return Call(PROVIDER, self, settings, None, stream)  # LiteLLM raises its own error for it
        litellm_provider, name = split_model(model, kwargs)
        provider = registry_provider(litellm_provider, name)
        return Call(provider, self, settings, name or model, stream, zone_hint=zone_hint(litellm_provider, kwargs))

    def headers_zone(self, call: Call, headers: Any) -> str | None:
        return None  # LiteLLM's objects carry no response headers we read

    def observe(self, call: Call, response: Any) -> Observation:
        model = text_or_none(attr(response, "model"))
        texts: list[str] = []
        if self.kind == "responses":
            if attr(response, "output") is None:
                raise TypeError(f"not a Responses-API response: {type(response).__name__}")
            usage = attr(response, "usage")
            tokens = None if usage is None else attr(usage, "output_tokens")
            if tokens is not None:
                return Observation(model=model, output_tokens=tokens, details=responses_details(usage))
            _response_texts(response, texts)
            return Observation(model=model, text=texts)
        choices = attr(response, "choices")
        if choices is None:  # e.g. the coroutine of completion(acompletion=True): not measured
            raise TypeError(f"not a completion: {type(response).__name__}")
        tokens, details = _chat_usage(attr(response, "usage"))
        if tokens is not None:
            return Observation(model=model, output_tokens=tokens, details=details)
        _choice_texts(choices, texts)
        return Observation(model=model, text=texts)

    def stream_observer(self, call: Call, stream: Any) -> StreamObserver:
        return _ResponsesObserver() if self.kind == "responses" else _ChunkObserver()


# -- streams --------------------------------------------------------------------------------------------------


class LiteLLMStream(SyncStreamProxy, AsyncStreamProxyWithAclose):
    """A LiteLLM stream (``CustomStreamWrapper``), read with ``for`` or ``async for``: its classes offer both, so
    the generic proxy, which goes by the stream's methods, would take it for a sync stream after ``acompletion``.
    Each step runs as part of the call: an SDK call LiteLLM makes on the first ``next()`` is not counted again."""


def _litellm_stream(stream: Any) -> type[StreamProxy]:
    return LiteLLMStream


def _wrapper(target: Target, runtime: Runtime) -> Any:
    """The wrapper of a LiteLLM function: the generic call wrapper, with LiteLLM's streams in a ``LiteLLMStream``."""
    return call_wrapper(target, runtime, proxy_type=_litellm_stream)


CHAT = LiteLLMEndpoint("chat")
TEXT = LiteLLMEndpoint("text")
RESPONSES = LiteLLMEndpoint("responses")


def _module_function(method: str, shape: Shape, endpoint: LiteLLMEndpoint) -> Target:
    # owner "": the function is an attribute of the module itself (litellm.completion).
    return Target("litellm", "", method, shape, endpoint, hook="custom", factory=_wrapper)


TARGETS = (
    _module_function("completion", "sync", CHAT),
    _module_function("acompletion", "async", CHAT),
    _module_function("text_completion", "sync", TEXT),
    _module_function("atext_completion", "async", TEXT),
    _module_function("responses", "sync", RESPONSES),
    _module_function("aresponses", "async", RESPONSES),
)

SPEC = ProviderSpec(
    name=PROVIDER,
    distribution="litellm",
    import_name="litellm",
    tested=((1, 110), (2,)),
    targets=TARGETS,
)
