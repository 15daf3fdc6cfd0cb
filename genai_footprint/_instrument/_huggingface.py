"""Hugging Face (``huggingface_hub``): ``InferenceClient`` and ``AsyncInferenceClient`` ``chat_completion`` (also
reached as ``client.chat.completions.create``) and ``text_generation``, plain and streamed.

Tested with huggingface_hub 2.5. The call is estimated with the facts of the provider that serves it: the
client's ``provider=`` (or a ``model:provider`` suffix) mapped to its registry row (``fireworks-ai`` is
``fireworks``), else the ``huggingface`` row (automatic routing, HF Inference, partners without a row: Novita,
Nscale, ...); a client talking to a URL (a TGI server, an Inference Endpoint) is estimated with the host's
provider when the registry knows the host. Models are named by their Hub id, which the registry resolves to the
maker's row.

A stream is a plain generator (an async one for the async client), which takes no attribute: its proxy
(``_streams.GeneratorProxy``) holds ``impacts``, and the last item read gets them too. ``text_generation``
without ``details=True`` returns a ``str``, which cannot hold them either: such a call reaches ``track()`` and
the exporters only.
Feature extraction, sentence similarity and the other tasks are not generations and are left alone.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from genai_footprint._events import TokenDetails
from genai_footprint._instrument._chat import ChatChunks, chat_observation
from genai_footprint._instrument._reading import StreamTally, add_text, api_host, attr, text_or_none
from genai_footprint._instrument._spec import Call, KeywordEndpoint, Observation, ProviderSpec, Target

if TYPE_CHECKING:
    from genai_footprint._settings import InstrumentationSettings

PROVIDER = "huggingface"  # the registry row of calls whose serving provider has no row of its own

# Router policies, not providers: the router picks one server-side, and says nothing of it in the response.
_POLICIES = frozenset({"auto", "fastest", "cheapest", "preferred"})


# -- who serves the call ------------------------------------------------------------------------------------


def _is_url(value: Any) -> bool:
    return isinstance(value, str) and value.startswith(("http://", "https://"))


def _registry_provider(name: str | None) -> str:
    """The registry row of an Inference Provider's name (``together``, ``fireworks-ai``), else ``huggingface``."""
    if not name or name in _POLICIES:
        return PROVIDER
    from genai_footprint._registry import get_registry

    return get_registry().provider_name(name) or PROVIDER


def _url_provider(url: str) -> str:
    """The provider behind an endpoint URL (``127.0.0.1`` is ``local``), else ``huggingface``."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    site = api_host(host, parts.port) if host else None
    return PROVIDER if site is None else site.provider


def serving(client_model: Any, client_provider: Any, model: Any) -> tuple[str, str | None]:
    """(registry provider, Hub model id) of a call: ``model`` is the method's argument, ``client_model`` and
    ``client_provider`` the client's. A ``model:provider`` suffix names the provider (``:fastest`` a policy)."""
    url = next((m for m in (client_model, model) if _is_url(m)), None)
    hub_id = next((m for m in (model, client_model) if isinstance(m, str) and m and not _is_url(m)), None)
    choice = client_provider if isinstance(client_provider, str) else None
    if hub_id is not None and ":" in hub_id:
        hub_id, _, suffix = hub_id.rpartition(":")
        choice = suffix or choice
    if url is not None:
        return _url_provider(url), hub_id
    return _registry_provider(choice), hub_id


class _HubEndpoint(KeywordEndpoint):
    """Shared by both endpoints: who serves the call (no response headers read)."""

    provider = PROVIDER

    def begin(
        self, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any], settings: InstrumentationSettings
    ) -> Call:
        provider, hub_id = serving(attr(instance, "model"), attr(instance, "provider"), kwargs.get("model"))
        return Call(provider, self, settings, hub_id, kwargs.get("stream") is True)


# -- reading responses --------------------------------------------------------------------------------------


_TEXT_FIELDS = ("content", "reasoning", "reasoning_content")  # a message's text: content and reasoning


class ChatCompletion(_HubEndpoint):
    """``chat_completion``: a ``ChatCompletionOutput``, or a generator of chunks with ``stream=True``."""

    def observe(self, call: Call, response: Any) -> Observation:
        return chat_observation(response, _TEXT_FIELDS)

    def stream_observer(self, call: Call, stream: Any) -> ChatChunks:
        return ChatChunks(_TEXT_FIELDS)


class _GenerationItems(StreamTally):
    """``text_generation`` stream items: token strings (without ``details``), or ``TextGenerationStreamOutput``s
    whose last one carries ``details.generated_tokens`` and ``input_length``."""

    def __init__(self) -> None:
        super().__init__()
        self.last: Any = None

    def on_item(self, item: Any) -> bool:
        self.last = item
        if isinstance(item, str):
            self.texts.append(item)
            return True
        add_text(self.texts, attr(attr(item, "token"), "text"))
        details = attr(item, "details")
        tokens = attr(details, "generated_tokens")
        if tokens is not None:
            self.tokens = tokens
            self.details = TokenDetails(input_tokens=attr(details, "input_length"))
        return True


class TextGeneration(_HubEndpoint):
    """``text_generation``: a ``str``, a ``TextGenerationOutput`` with ``details=True``, or a stream of either."""

    def observe(self, call: Call, response: Any) -> Observation:
        if isinstance(response, str):  # details=False: the text alone (the call reaches trackers and exporters)
            return Observation(text=[response])
        tokens = attr(attr(response, "details"), "generated_tokens")
        text = text_or_none(attr(response, "generated_text"))
        return Observation(output_tokens=tokens, text=None if tokens is not None or text is None else [text])

    def stream_observer(self, call: Call, stream: Any) -> _GenerationItems:
        return _GenerationItems()


CHAT = ChatCompletion()
TEXT_GENERATION = TextGeneration()


_SYNC = "huggingface_hub.inference._client"
_ASYNC = "huggingface_hub.inference._generated._async_client"

# Not targets: chat.completions.create (a property handing out chat_completion itself), feature_extraction,
# sentence_similarity and every other task (not text generations).
TARGETS = (
    Target(_SYNC, "InferenceClient", "chat_completion", "sync", CHAT),
    Target(_ASYNC, "AsyncInferenceClient", "chat_completion", "async", CHAT),
    Target(_SYNC, "InferenceClient", "text_generation", "sync", TEXT_GENERATION),
    Target(_ASYNC, "AsyncInferenceClient", "text_generation", "async", TEXT_GENERATION),
)

SPEC = ProviderSpec(
    name=PROVIDER,
    distribution="huggingface_hub",
    import_name="huggingface_hub",
    tested=((2, 5), (3,)),
    targets=TARGETS,
)
