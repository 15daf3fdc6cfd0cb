"""What a provider module declares (its patch targets and the extractor of each endpoint), and the records of
one call as it goes: ``Call`` when it starts, ``Observation`` when its response or stream has been read."""

from __future__ import annotations

import contextvars
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Protocol

from genai_footprint._events import TokenDetails

NO_DETAILS = TokenDetails()  # a provider that reports no count besides the output

if TYPE_CHECKING:
    from genai_footprint._impacts import TokensSource
    from genai_footprint._settings import InstrumentationSettings

Shape = Literal["sync", "async"]


@dataclass(slots=True)
class Call:
    """One instrumented SDK call, from just before the request to its last token."""

    provider: str
    endpoint: Endpoint
    settings: InstrumentationSettings
    model_requested: str | None
    stream: bool
    zone_hint: str | None = None
    injected_stream_usage: bool = False  # we asked a stream for its usage: that chunk is hidden from the caller
    client: str | None = None  # a cloud flavour of the SDK's client ("azure", "gcp"), if any
    reads_headers: bool = False  # its endpoint reads a zone from response headers (e.g. Azure's x-ms-region)
    start: float = field(default_factory=time.perf_counter)
    sent_when_iterated: bool = False  # a stream whose request goes out when first advanced: its clock starts then
    trackers: tuple[Any, ...] = ()  # the track() runs enclosing the call when it started
    # The context the call began in (e.g. an OpenTelemetry span current then): a stream may end in another.
    context: contextvars.Context = field(default_factory=contextvars.copy_context)

    @classmethod
    def from_arguments(
        cls,
        endpoint: Endpoint,
        settings: InstrumentationSettings,
        kwargs: dict[str, Any],
        *,
        stream: bool | None = None,
        zone_hint: str | None = None,
    ) -> Call:
        """The call an endpoint's method is about to make, from its keyword arguments: the model it names (a
        non-empty string, else None) and, unless ``stream`` says, whether it asks for a stream."""
        model = kwargs.get("model")
        return cls(
            endpoint.provider,
            endpoint,
            settings,
            model if isinstance(model, str) and model else None,
            kwargs.get("stream") is True if stream is None else stream,
            zone_hint=zone_hint,
        )


@dataclass(slots=True)
class Observation:
    """What the response (or the stream, once over) told us."""

    model: str | None = None
    output_tokens: float | None = None
    details: TokenDetails = NO_DETAILS
    tokens_source: TokensSource = "usage"
    zone_hint: str | None = None
    text: list[str] | None = None  # generated text, counted only when the provider reports no usage


class StreamObserver(Protocol):
    """Sees every item of a stream; ``on_item`` returns False to hide an item from the caller."""

    def on_item(self, item: Any) -> bool: ...

    def result(self) -> Observation: ...


class Endpoint(Protocol):
    """How to read one family of generation calls (e.g. OpenAI chat completions)."""

    provider: str

    def begin(
        self, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any], settings: InstrumentationSettings
    ) -> Call:
        """Called before the SDK call; may replace ``kwargs`` items (e.g. to ask for stream usage)."""
        ...

    def headers_zone(self, call: Call, headers: Any) -> str | None:
        """A zone hint from the HTTP response headers (e.g. Azure's ``x-ms-region``), if any."""
        ...

    def observe(self, call: Call, response: Any) -> Observation: ...

    def stream_observer(self, call: Call, stream: Any) -> StreamObserver: ...


class KeywordEndpoint(ABC):
    """Shared by endpoints whose call is read from the method's keyword arguments (``Call.from_arguments``) and
    whose responses name no serving region in their headers. ``streaming`` says whether the method always streams
    (None: its ``stream=`` argument says)."""

    provider: str

    def __init__(self, streaming: bool | None = None) -> None:
        self.streaming = streaming

    def begin(
        self, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any], settings: InstrumentationSettings
    ) -> Call:
        return Call.from_arguments(self, settings, kwargs, stream=self.streaming)

    def headers_zone(self, call: Call, headers: Any) -> str | None:
        return None

    @abstractmethod
    def observe(self, call: Call, response: Any) -> Observation: ...

    @abstractmethod
    def stream_observer(self, call: Call, stream: Any) -> StreamObserver: ...


# A factory of the wrapper of one target, for seams the generic call wrapper does not fit (the stream helpers):
# called with (target, runtime), it returns a wrapper in wrapt's form (wrapped, instance, args, kwargs).
WrapperFactory = Callable[["Target", Any], Callable[[Any, Any, tuple[Any, ...], dict[str, Any]], Any]]


@dataclass(frozen=True, slots=True)
class Target:
    """One method to wrap: ``module.owner.method``, called with ``shape`` (sync or async).

    ``hook`` says what the method is: ``call``, a generation; ``raw_parse``, a raw response's ``parse()``; or
    ``custom``, wrapped by ``factory``.
    """

    module: str
    owner: str
    method: str
    shape: Shape
    endpoint: Endpoint | None  # None for a raw-response parse() hook
    hook: Literal["call", "raw_parse", "custom"] = "call"
    factory: WrapperFactory | None = None


@dataclass(frozen=True, slots=True)
class ProviderSpec:
    """A provider: the SDK distribution, the versions we tested, and the targets to wrap."""

    name: str
    distribution: str  # the PyPI name whose version we gate on
    import_name: str  # a module whose import means "the SDK is in use"
    tested: tuple[tuple[int, ...], tuple[int, ...]]  # [min, max) of versions our tests ran against
    targets: tuple[Target, ...]
