"""Google Gemini (``google-genai``, ``from google import genai``): ``models.generate_content`` and
``generate_content_stream``, sync and async (``client.aio``), on the Gemini Developer API and Vertex AI.

Tested with google-genai 3.6. Chats (``client.chats`` / ``client.aio.chats``) send every turn through these
methods (one call per request, automatic function calling included), so they are measured there, once.
Embeddings, token counting, files, caches, batches, images, videos and the Live and Interactions APIs are not
wrapped. A stream is a plain generator, which holds no attribute: its proxy (``_streams.GeneratorProxy``) holds
``impacts``, and the last chunk read gets them too.
"""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING, Any

from genai_footprint._events import TokenDetails
from genai_footprint._instrument._reading import StreamTally, add_text, attr, cloud_zone, text_or_none
from genai_footprint._instrument._spec import Call, KeywordEndpoint, Observation, ProviderSpec, Target

if TYPE_CHECKING:
    from genai_footprint._settings import InstrumentationSettings

PROVIDER = "google"
TESTED = ((3, 6), (4,))

logger = logging.getLogger("genai_footprint")


# -- reading SDK objects ----------------------------------------------------------------------------------


def model_id(name: str | None) -> str | None:
    """The model id in a resource name: ``models/gemini-2.5-flash`` (Gemini API), ``publishers/google/models/…``
    and ``projects/…/locations/…/publishers/google/models/…`` (Vertex AI) give ``gemini-2.5-flash``; another
    publisher's model gives ``publisher/model``, which the registry resolves under that provider. Other names
    (``tunedModels/…``, endpoints) are kept as they are."""
    if not name or "models/" not in name:
        return name
    head, _, model = name.rpartition("models/")
    if head and not head.endswith("/"):  # not a path segment of its own
        return name
    publisher = head.rstrip("/").rpartition("publishers/")[2] if "publishers/" in head else ""
    return f"{publisher}/{model}" if publisher and publisher != "google" else model


_COUNTS = ("prompt_token_count", "candidates_token_count", "thoughts_token_count", "total_token_count")


def output_tokens(usage: Any) -> Any:
    """Generated tokens: ``candidates_token_count`` + ``thoughts_token_count`` (thinking is generated too).

    The API leaves out a count that is zero (proto3 JSON), so a usage with any count in it reports the missing
    ones as 0; None when no usage came at all. A count that is no whole number is passed on as it is: the
    runtime refuses it."""
    if usage is None or all(attr(usage, name) is None for name in _COUNTS):
        return None
    candidates = attr(usage, "candidates_token_count")
    thoughts = attr(usage, "thoughts_token_count")
    for count in (candidates, thoughts):
        if count is not None and (not isinstance(count, int) or isinstance(count, bool)):
            return count
    return (candidates or 0) + (thoughts or 0)


def token_details(usage: Any) -> TokenDetails:
    """The other counts: the prompt (cached content included, as the API counts it), its cached part, and the
    thinking tokens (part of the output tokens). Counts the API left out stay None."""
    if usage is None:
        return TokenDetails()
    return TokenDetails(
        input_tokens=attr(usage, "prompt_token_count"),
        cached_input_tokens=attr(usage, "cached_content_token_count"),
        reasoning_tokens=attr(usage, "thoughts_token_count"),
    )


def response_texts(response: Any, out: list[str]) -> None:
    """The generated text of a response or chunk (text and thought parts, function-call arguments), counted
    only when no usage came."""
    for candidate in attr(response, "candidates") or ():
        for part in attr(attr(candidate, "content"), "parts") or ():
            add_text(out, attr(part, "text"))
            arguments = attr(attr(part, "function_call"), "args")
            if isinstance(arguments, dict) and arguments:
                out.append(json.dumps(arguments, default=str))


def vertex_zone(instance: Any) -> str | None:
    """The zone of a Vertex AI client's location (``europe-west4`` → NLD; ``global`` and unknown names: None);
    None for the Gemini Developer API, which says nothing of where it serves. The client is the resource's
    ``_api_client``, read only on the tested versions (the whole provider is gated on them)."""
    client = getattr(instance, "_api_client", None)
    if getattr(client, "vertexai", None) is not True:
        return None
    location = getattr(client, "location", None)
    return cloud_zone("gcp", location) if isinstance(location, str) else None


# -- the endpoint -----------------------------------------------------------------------------------------


class _ChunkObserver(StreamTally):
    """A ``generate_content_stream``: every chunk is a ``GenerateContentResponse`` whose ``usage_metadata`` is a
    running total of the request; the last one reported wins. Keeps the last chunk, which gets the impacts."""

    def __init__(self) -> None:
        super().__init__()
        self.last: Any = None

    def on_item(self, chunk: Any) -> bool:
        self.last = chunk
        if self.model is None:
            self.model = model_id(text_or_none(attr(chunk, "model_version")))
        usage = attr(chunk, "usage_metadata")
        tokens = output_tokens(usage)
        if tokens is not None:
            self.tokens = tokens
            self.details = token_details(usage)
        response_texts(chunk, self.texts)
        return True


class GenerateContent(KeywordEndpoint):
    """``models.generate_content`` (a ``GenerateContentResponse``) or ``generate_content_stream`` (its chunks).
    Neither API names the serving region in its headers."""

    provider = PROVIDER

    def begin(
        self, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any], settings: InstrumentationSettings
    ) -> Call:
        call = super().begin(instance, args, kwargs, settings)
        call.model_requested = model_id(call.model_requested)
        # generate_content_stream returns a generator (an async one once awaited, for client.aio): nothing is
        # sent until it is first advanced, so the clock starts then.
        call.sent_when_iterated = self.streaming is True
        try:
            call.zone_hint = vertex_zone(instance)
        except Exception:
            logger.debug(
                "genai_footprint: cannot read the client's location; the SDK call is unaffected", exc_info=True
            )
        return call

    def observe(self, call: Call, response: Any) -> Observation:
        usage = attr(response, "usage_metadata")
        tokens = output_tokens(usage)
        texts: list[str] | None = None
        if tokens is None:
            texts = []
            response_texts(response, texts)
        model = model_id(text_or_none(attr(response, "model_version")))
        return Observation(model=model, output_tokens=tokens, details=token_details(usage), text=texts)

    def stream_observer(self, call: Call, stream: Any) -> _ChunkObserver:
        return _ChunkObserver()


GENERATE = GenerateContent(streaming=False)
GENERATE_STREAM = GenerateContent(streaming=True)


_MODELS = "google.genai.models"

# Not targets: embed_content, count_tokens, compute_tokens, generate_images / videos (not text generations);
# the chats' send_message / send_message_stream (they call the methods below, once per request).
TARGETS = (
    Target(_MODELS, "Models", "generate_content", "sync", GENERATE),
    Target(_MODELS, "AsyncModels", "generate_content", "async", GENERATE),
    Target(_MODELS, "Models", "generate_content_stream", "sync", GENERATE_STREAM),
    Target(_MODELS, "AsyncModels", "generate_content_stream", "async", GENERATE_STREAM),
)

SPEC = ProviderSpec(
    name=PROVIDER,
    distribution="google-genai",
    import_name="google.genai",
    tested=TESTED,
    targets=TARGETS,
)
