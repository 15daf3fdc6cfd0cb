"""The data a provider module declares: its patch targets and the extractor of each endpoint."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Protocol

if TYPE_CHECKING:
    from genai_footprint._impacts import Impacts, TokensSource

Shape = Literal["sync", "async"]


@dataclass(frozen=True, slots=True)
class Settings:
    """What ``init()`` decided; frozen, replaced as a whole when ``init()`` is called again."""

    zone: str | None = None
    request_stream_usage: bool = True
    strict: bool = False
    zones_by_provider: Mapping[str, str] = field(default_factory=dict)
    # Replace the registry's per-provider figures (a model's own figures still win): (min, max).
    pue_by_provider: Mapping[str, tuple[float, float]] = field(default_factory=dict)
    wue_by_provider: Mapping[str, tuple[float, float]] = field(default_factory=dict)


@dataclass(slots=True)
class Call:
    """One instrumented SDK call, from just before the request to its last token."""

    provider: str
    endpoint: Endpoint
    settings: Settings
    model_requested: str | None
    stream: bool
    zone_hint: str | None = None
    injected_stream_usage: bool = False
    client: Any = None
    reads_headers: bool = False  # its endpoint reads a zone from response headers (e.g. Azure's x-ms-region)
    start: float = field(default_factory=time.perf_counter)
    trackers: tuple[Any, ...] = ()  # the track() runs enclosing the call when it started


@dataclass(slots=True)
class Observation:
    """What the response (or the stream, once over) told us. Built once per call, by ``observation()``."""

    model: str | None = None
    output_tokens: float | None = None
    tokens_source: TokensSource = "usage"
    zone_hint: str | None = None
    text: list[str] | None = None  # streamed text, counted only when the provider reports no usage


# The per-call records (Call, Observation, CallEvent) are built on the request path by the functions below
# rather than by their dataclass __init__: CPython 3.11 runs a Python __init__ reached through a class call in
# a fresh interpreter frame of its own, about 3,000 machine instructions for Call, where the same stores made
# here cost a few hundred. Each builder sets every field (a test compares it with the dataclass __init__).
_new = object.__new__


def new_call(
    endpoint: Endpoint,
    settings: Settings,
    kwargs: dict[str, Any],
    zone_hint: str | None = None,
    stream: bool | None = None,
    model_key: str = "model",
) -> Call:
    """The Call of one SDK call, started now: ``Call(endpoint.provider, endpoint, settings, the model asked for,
    stream, zone_hint)``. ``stream`` None: the call's ``stream`` argument says. Once per call: the hot callers
    pass every argument in order, and the record is built here, in one frame."""
    model = kwargs.get(model_key)
    call: Call = _new(Call)
    call.provider = endpoint.provider
    call.endpoint = endpoint
    call.settings = settings
    call.model_requested = model if isinstance(model, str) else None
    call.stream = (kwargs.get("stream") is True) if stream is None else stream
    call.zone_hint = zone_hint
    call.injected_stream_usage = False
    call.client = None
    call.reads_headers = False
    call.trackers = ()
    call.start = time.perf_counter()
    return call


def observation(
    model: str | None,
    output_tokens: float | None,
    tokens_source: TokensSource,
    zone_hint: str | None,
    text: list[str] | None,
) -> Observation:
    """``Observation(model, output_tokens, tokens_source, zone_hint, text)``."""
    seen: Observation = _new(Observation)
    seen.model = model
    seen.output_tokens = output_tokens
    seen.tokens_source = tokens_source
    seen.zone_hint = zone_hint
    seen.text = text
    return seen


class StreamObserver(Protocol):
    """Sees every item of a stream; ``on_item`` returns False to hide an item from the caller.

    An observer may also have ``passed``, a container of classes: items of exactly those classes go by without
    an ``on_item`` call (for an observer that reads what they carry elsewhere at the end).
    """

    def on_item(self, item: Any) -> bool: ...

    def result(self) -> Observation: ...


class Endpoint(Protocol):
    """How to read one family of generation calls (e.g. OpenAI chat completions)."""

    provider: str

    def begin(self, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any], settings: Settings) -> Call:
        """Called before the SDK call; may replace ``kwargs`` items (e.g. to ask for stream usage)."""
        ...

    def headers_zone(self, call: Call, headers: Any) -> str | None:
        """A zone hint from the HTTP response headers (e.g. Azure's ``x-ms-region``), if any."""
        ...

    def observe(self, call: Call, response: Any) -> Observation: ...

    def stream_observer(self, call: Call, stream: Any) -> StreamObserver: ...


@dataclass(frozen=True, slots=True)
class Target:
    """One method to wrap: ``module.owner.method``, called with ``shape`` (sync or async)."""

    module: str
    owner: str
    method: str
    shape: Shape
    endpoint: Endpoint | None  # None: a raw-response ``parse`` hook rather than a generation call
    hook: str = "call"  # "call": a generation method; "raw_parse": a raw response's parse(); or custom
    # A provider's own wrapper factory for a seam the generic wrappers do not fit (e.g. a stream helper
    # that sends its request without the generation method): called with (target, runtime).
    wrapper: Callable[[Target, Any], Callable[..., Any]] | None = None


@dataclass(frozen=True, slots=True)
class ProviderSpec:
    """A provider: the SDK distribution, the versions we tested, and the targets to wrap."""

    name: str
    distribution: str  # the PyPI name whose version we gate on
    import_name: str  # a module whose import means "the SDK is in use"
    tested: tuple[tuple[int, ...], tuple[int, ...]]  # [min, max) of versions our tests ran against
    targets: tuple[Target, ...]


@dataclass(slots=True)
class CallEvent:
    """One finished generation call, as listeners (exporters) see it: no prompt, no completion, no key.

    Read-only by convention (every listener sees the same event); not a frozen dataclass, whose ``__init__``
    sets each of its 13 fields through ``object.__setattr__`` — this is built once per exported call (by the
    export worker; on the request path for a span hook or a runtime listener). ``impacts`` is None when the
    model is not in the registry; the other fields are still what the call told us.
    """

    timestamp: float  # time.time() when the call ended (end of the stream for streams)
    provider: str
    model_requested: str | None
    model_served: str | None  # the model the response names, if any
    model_resolved: str | None  # the registry row used; None when unestimated
    zone: str | None  # the serving zone used for the estimate; None when unestimated
    output_tokens: float | None
    tokens_source: str | None
    latency_s: float
    ttft_s: float | None  # measured time to first item (streams)
    stream: bool
    trackers: tuple[str, ...]  # the names of the enclosing track() runs, outermost first
    impacts: Impacts | None


def call_event(
    timestamp: float,
    provider: str,
    model_requested: str | None,
    model_served: str | None,
    model_resolved: str | None,
    zone: str | None,
    output_tokens: float | None,
    tokens_source: str | None,
    latency_s: float,
    ttft_s: float | None,
    stream: bool,
    trackers: tuple[str, ...],
    impacts: Impacts | None,
) -> CallEvent:
    """``CallEvent(...)`` with every field in order (see ``new_call``)."""
    event: CallEvent = _new(CallEvent)
    event.timestamp = timestamp
    event.provider = provider
    event.model_requested = model_requested
    event.model_served = model_served
    event.model_resolved = model_resolved
    event.zone = zone
    event.output_tokens = output_tokens
    event.tokens_source = tokens_source
    event.latency_s = latency_s
    event.ttft_s = ttft_s
    event.stream = stream
    event.trackers = trackers
    event.impacts = impacts
    return event


ImpactsListener = Callable[[CallEvent], None]
