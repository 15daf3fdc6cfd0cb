"""Amazon Bedrock (``boto3`` / ``botocore``, the ``bedrock-runtime`` client): ``converse``, ``converse_stream``,
``invoke_model`` and ``invoke_model_with_response_stream``, on clients made before or after ``init()``.

Tested with boto3 / botocore 1.44. boto3 builds its client classes at run time, and each client copies its
session's event emitter when it is made, so handlers registered on ``before-call`` / ``after-call`` at ``init()``
would miss the clients made before it, and could not be taken off them at ``shutdown()``. Every generated client
method calls ``botocore.client.BaseClient._make_api_call(operation_name, params)``: that one method on one class
is wrapped (as the instrumentor wraps every target, restored exactly by ``shutdown()``), and it passes straight
through for every other service and operation. aiobotocore's ``AioBaseClient`` overrides the method and is not
covered.

boto3 returns a plain ``dict``, which holds no attribute: it is left exactly as it is, and its impacts are kept,
by the response's request id, for ``impacts_of(response)``. What the dict holds and can carry them does: the
event stream of ``converse_stream`` / ``invoke_model_with_response_stream`` (handed back inside a proxy, under
the same key) and the body of ``invoke_model``.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from genai_footprint._events import TokenDetails
from genai_footprint._instrument._guard import CURRENT_CALL, attach, internal_error
from genai_footprint._instrument._reading import StreamTally, cloud_zone, text_or_none
from genai_footprint._instrument._spec import NO_DETAILS, Call, Observation, ProviderSpec, Target
from genai_footprint._instrument._streams import ClosingProxy, IterableStreamProxy, StreamProxy
from genai_footprint._instrument._wrappers import active_settings, begin_call

if TYPE_CHECKING:
    from genai_footprint._impacts import Impacts
    from genai_footprint._instrument._runtime import Runtime
    from genai_footprint._settings import InstrumentationSettings

PROVIDER = "bedrock"
SERVICE = "bedrock-runtime"

# -- model ids --------------------------------------------------------------------------------------------

# Cross-Region inference profiles prefix the model id with their geography (``us.``, ``eu.``, ``global.``...).
GEOGRAPHIES = frozenset({"us", "us-gov", "eu", "apac", "jp", "au", "ca", "global"})
# Bedrock's vendor prefix -> the registry's name of the model's maker.
MAKERS = {"mistral": "mistralai", "amazon": "amazon", "meta": "meta", "deepseek": "deepseek"}
# Models that generate no text (embeddings, rerankers, images, video, speech): never measured.
_NOT_TEXT = re.compile(r"embed|rerank|image|canvas|reel|sonic|stability\.|twelvelabs\.")
_CONTEXT_VARIANT = re.compile(r":\d+k$")  # "...-v1:0:300k", a provisioned context-length variant
_VERSION = re.compile(r"(?:-v\d+(?::\d+)?|-\d+:\d+|:\d+)$")  # "-v1:0", "-v2", "-1:0" (gpt-oss), ":0"
_LLAMA = re.compile(r"^llama(\d)-(\d)-")  # "llama3-3-70b" is Llama 3.3 70B
_LLAMA_MAJOR = re.compile(r"^llama(\d)-")  # "llama4-maverick-..." is Llama 4 Maverick


@dataclass(frozen=True, slots=True)
class BedrockModel:
    """A Bedrock model id read: the maker (the registry's name for it), the maker's own model name, and the
    inference profile's geography (None for an in-Region id)."""

    maker: str
    name: str
    geography: str | None = None

    @property
    def registry_name(self) -> str:
        """``maker/name``: the registry resolves a known maker's prefix to that maker's row."""
        return f"{self.maker}/{self.name}"


def _maker_name(vendor: str, name: str) -> str:
    """The maker's own spelling of a Bedrock model name (``llama3-3-70b-instruct`` -> ``llama-3.3-70b-instruct``,
    ``r1`` -> ``deepseek-r1``, ``mistral-7b-instruct-v0:2`` -> ``mistral-7b-instruct-v0.2``)."""
    if vendor == "mistral" and re.search(r"-v0:\d+$", name):
        return name.replace("-v0:", "-v0.")
    name = _VERSION.sub("", name)
    if vendor == "meta":
        name = _LLAMA_MAJOR.sub(r"llama-\1-", _LLAMA.sub(r"llama-\1.\2-", name))
    elif vendor == "deepseek" and not name.startswith("deepseek"):
        name = f"deepseek-{name}"
    return name


def parse_model_id(model_id: str) -> BedrockModel | None:
    """Read a Bedrock ``modelId``: a model id (``anthropic.claude-sonnet-4-5-20250929-v1:0``), an inference
    profile (``eu.`` ... prefixed), or the ARN of either. None for what names no model (an application inference
    profile, a provisioned or imported model: their ARNs end in an opaque id)."""
    text = model_id.strip().lower()
    if text.startswith("arn:"):
        kind, _, resource = text.split(":", 5)[-1].partition("/")
        if kind not in ("foundation-model", "inference-profile") or not resource:
            return None
        text = resource
    parts = text.split(".")
    geography = parts.pop(0) if len(parts) > 2 and parts[0] in GEOGRAPHIES else None
    if len(parts) < 2 or not parts[0] or not parts[1]:
        return None
    vendor, name = parts[0], ".".join(parts[1:])
    name = _maker_name(vendor, _CONTEXT_VARIANT.sub("", name))
    return BedrockModel(MAKERS.get(vendor, vendor), name, geography) if name else None


def generates_text(model_id: str) -> bool:
    """False for embeddings, rerankers, image, video and speech models (left alone)."""
    return _NOT_TEXT.search(model_id.lower()) is None


def call_zone(region: str | None, model: BedrockModel | None) -> str | None:
    """Where a call runs: an inference profile's geography when it is one country (``us.``, ``jp.``, ``au.``);
    otherwise (an in-Region id, or a profile spanning countries: ``eu.``, ``apac.``, ``global.``) the client's
    Region, the one the request is sent to."""
    if model is not None and model.geography is not None:
        zone = cloud_zone("aws", model.geography)
        if zone is not None:
            return zone
    return cloud_zone("aws", region)


# -- impacts by request id -------------------------------------------------------------------------------

RECENT_CALLS = 1024  # how many calls' impacts ``impacts_of`` keeps
_recent: OrderedDict[str, Impacts | None] = OrderedDict()
_recent_lock = threading.Lock()


def _request_id(response: Any) -> str | None:
    return text_or_none(_get(response, "ResponseMetadata/RequestId"))


def _remember(request_id: str | None, impacts: Impacts | None) -> None:
    if request_id is None:
        return
    with _recent_lock:
        _recent[request_id] = impacts
        _recent.move_to_end(request_id)
        while len(_recent) > RECENT_CALLS:
            _recent.popitem(last=False)


def impacts_of(response: Any) -> Impacts | None:
    """The impacts of the Bedrock call that returned ``response`` (the dict boto3 returned, or a copy of it),
    found by its ``ResponseMetadata.RequestId`` among the last ``RECENT_CALLS`` calls measured. None for a
    stream not yet finished, a model the registry does not know, or a response no measured call returned."""
    request_id = _request_id(response)
    if request_id is None:
        return None
    with _recent_lock:
        return _recent.get(request_id)


# -- reading responses ------------------------------------------------------------------------------------


def _get(obj: Any, path: str) -> Any:
    """``obj["a"]["b"]`` for the path ``a/b`` through dicts (and lists, for a digit); None where a step is missing."""
    for key in path.split("/"):
        if isinstance(obj, list) and key.isdigit():
            obj = obj[int(key)] if int(key) < len(obj) else None
        elif isinstance(obj, dict):
            obj = obj.get(key)
        else:
            return None
    return obj


def _sum(*counts: Any) -> Any:
    """The sum of the counts sent (None if none was); a count that is no whole number is passed on as it is,
    for the runtime to refuse."""
    present = [count for count in counts if count is not None]
    odd = [count for count in present if not isinstance(count, int) or isinstance(count, bool)]
    return odd[0] if odd else (sum(present) if present else None)


# Where a response reports its counts: the paths of its output tokens, then of its input: uncached, cache reads,
# cache writes (Bedrock counts the input without the cache reads and writes: the input recorded is their sum,
# cached input included, as for every provider).
CONVERSE_USAGE = "usage/outputTokens usage/inputTokens usage/cacheReadInputTokens usage/cacheWriteInputTokens"
_METRICS = ["outputTokenCount", "inputTokenCount", "cacheReadInputTokenCount", "cacheWriteInputTokenCount"]
# invoke_model bodies and streamed chunks: the invocation metrics Bedrock adds to a stream's last chunk, then
# each model family's own usage.
BODY_USAGE = (
    " ".join(f"amazon-bedrock-invocationMetrics/{name}" for name in _METRICS),
    "usage/output_tokens usage/input_tokens usage/cache_read_input_tokens usage/cache_creation_input_tokens",
    "usage/outputTokens usage/inputTokens usage/cacheReadInputTokenCount usage/cacheWriteInputTokenCount",  # Nova
    "usage/completion_tokens usage/prompt_tokens",  # OpenAI's shape (gpt-oss)
    "generation_token_count prompt_token_count",  # Meta Llama
    "meta/billed_units/output_tokens meta/billed_units/input_tokens",  # Cohere Command
    "results/0/tokenCount inputTextTokenCount",  # Amazon Titan Text
)


def read_usage(obj: Any, *shapes: str) -> tuple[Any, TokenDetails]:
    """Output tokens and the other counts of the first shape ``obj`` reports them in; (None, none) if none."""
    for shape in shapes:
        output, *inputs = shape.split()
        tokens = _get(obj, output)
        if tokens is not None:
            uncached, read, written = (*(_get(obj, path) for path in inputs), None, None)[:3]
            details = TokenDetails(
                input_tokens=_sum(uncached, read, written), cached_input_tokens=read, cache_write_input_tokens=written
            )
            return tokens, details
    return None, NO_DETAILS


# Where each model family puts generated text (and tool-call arguments), in bodies, chunks and content blocks.
_TEXT_KEYS = frozenset(
    {"text", "generation", "outputText", "completion", "content", "partial_json", "thinking", "reasoning_content"}
)


def collect_texts(obj: Any, out: list[str]) -> None:
    """The generated text anywhere in a body, a chunk or Converse content (text, reasoning, tool input), counted
    only when no usage came."""
    if isinstance(obj, list):
        for item in obj:
            collect_texts(item, out)
    elif isinstance(obj, dict):
        for key, value in obj.items():
            if isinstance(value, str):
                if value and (key in _TEXT_KEYS or key == "input"):
                    out.append(value)
            elif key == "input" and isinstance(value, dict) and value:
                out.append(json.dumps(value))
            else:
                collect_texts(value, out)


def header_usage(response: Any) -> tuple[Any, TokenDetails]:
    """``invoke_model``'s ``x-amzn-bedrock-*-token-count`` response headers (strings), read as numbers."""
    headers = _get(response, "ResponseMetadata/HTTPHeaders")
    counts: dict[str, Any] = {}
    for name in ("output", "input", "cache-read-input", "cache-write-input"):
        value = _get(headers, f"x-amzn-bedrock-{name}-token-count")
        counts[name] = int(value) if isinstance(value, str) and value.isdigit() else value
    return read_usage(counts, "output input cache-read-input cache-write-input")


# -- stream observers ---------------------------------------------------------------------------------------


class ConverseEvents(StreamTally):
    """``converse_stream`` events: text in ``contentBlockDelta``; usage on the ``metadata`` event."""

    def on_item(self, event: Any) -> bool:
        collect_texts(_get(event, "contentBlockDelta/delta"), self.texts)
        tokens, details = read_usage(_get(event, "metadata"), CONVERSE_USAGE)
        if tokens is not None:
            self.tokens, self.details = tokens, details
        return True


class InvokeChunks(StreamTally):
    """``invoke_model_with_response_stream`` chunks (``{"chunk": {"bytes": b"{json}"}}``): the last chunk's
    ``amazon-bedrock-invocationMetrics``, else the family's running usage (the last report wins)."""

    def on_item(self, event: Any) -> bool:
        data = _get(event, "chunk/bytes")
        if not isinstance(data, bytes | str):
            return True
        body = json.loads(data)
        collect_texts(body, self.texts)
        tokens, details = read_usage(body, *BODY_USAGE)
        if tokens is not None:
            self.tokens, self.details = tokens, details
        return True


# -- what the response dict holds: event streams and the invoke_model body -------------------------------


class _Remembers(StreamProxy):
    """A proxy whose impacts, once known, are also kept by the response's request id."""

    _self_request_id: str | None = None

    def _self_finished(self, impacts: Impacts | None) -> None:
        _remember(self._self_request_id, impacts)


class EventStreamProxy(_Remembers, IterableStreamProxy):
    """botocore's ``EventStream``: iteration and ``close()`` as the stream's own (it is iterable, not an
    iterator, and no context manager: so is its proxy); the call is measured once, when it ends."""


class BodyReader(_Remembers, ClosingProxy):
    """An ``invoke_model`` body whose response had no token-count header: the JSON the caller reads with
    ``read()`` is read by its family's shape once it has all been read (other ways of reading it are not seen:
    the call is then not estimated)."""

    def __init__(self, wrapped: Any, runtime: Runtime, call: Call, request_id: str | None) -> None:
        super().__init__(wrapped, runtime, call, _BodyObserver())
        self._self_request_id = request_id
        self._self_data: list[bytes] = []

    def read(self, *args: Any, **kwargs: Any) -> Any:
        data = self.__wrapped__.read(*args, **kwargs)
        if self._self_done:
            return data
        try:
            if isinstance(data, bytes):
                self._self_data.append(data)
            whole = not (args and args[0] is not None) and kwargs.get("amt") is None
            if whole or not data:
                self._self_observer.on_item(b"".join(self._self_data))
                self._self_finish(ended_early=False)
        except Exception:
            internal_error("bedrock body")
        return data


class _BodyObserver(StreamTally):
    """The whole body, once read; a body closed or collected before that is not estimated."""

    body_read = False

    def on_item(self, data: Any) -> bool:
        body = json.loads(data)
        self.body_read = True
        self.tokens, self.details = read_usage(body, *BODY_USAGE)
        if self.tokens is None:
            collect_texts(body, self.texts)
        return True

    def result(self) -> Observation:
        if not self.body_read:
            raise LookupError("the body was not read: nothing to estimate")
        return super().result()


# -- the endpoint -------------------------------------------------------------------------------------------

OPERATIONS = frozenset({"Converse", "ConverseStream", "InvokeModel", "InvokeModelWithResponseStream"})
_STREAM_KEY = {"ConverseStream": "stream", "InvokeModelWithResponseStream": "body"}


def _operation(args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[Any, Any]:
    """``_make_api_call(operation_name, api_params)``'s arguments, however they were passed."""
    operation = args[0] if args else kwargs.get("operation_name")
    params = args[1] if len(args) > 1 else kwargs.get("api_params")
    return operation, params


def is_generation(instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> bool:
    """Whether a ``_make_api_call`` is one of the four generation calls of ``bedrock-runtime`` (on a text
    model); every other service and operation passes straight through."""
    operation, params = _operation(args, kwargs)
    if operation not in OPERATIONS or not isinstance(params, dict):
        return False
    if instance.meta.service_model.service_name != SERVICE:
        return False
    model_id = params.get("modelId")
    return not isinstance(model_id, str) or generates_text(model_id)


class BedrockRuntime:
    """The four calls, told apart by the operation name; each ``Call`` remembers its operation in ``client``."""

    provider = PROVIDER

    def begin(
        self, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any], settings: InstrumentationSettings
    ) -> Call:
        operation, params = _operation(args, kwargs)
        model_id = text_or_none(params.get("modelId"))
        call = Call(PROVIDER, self, settings, model_id, stream=operation in _STREAM_KEY, client=operation)
        model = parse_model_id(model_id) if model_id else None
        try:
            call.zone_hint = call_zone(instance.meta.region_name, model)
        except Exception:
            internal_error("bedrock region")
        return call

    def headers_zone(self, call: Call, headers: Any) -> str | None:
        return None  # the Region is the client's, read at the start

    def observe(self, call: Call, response: Any) -> Observation:
        """A ``converse`` response, or an ``invoke_model`` one whose headers carry its token counts."""
        if call.client == "Converse":
            tokens, details = read_usage(response, CONVERSE_USAGE)
            texts: list[str] | None = None
            if tokens is None:
                texts = []
                collect_texts(_get(response, "output/message/content"), texts)
            return Observation(self.model(call), tokens, details, text=texts)
        tokens, details = header_usage(response)
        return Observation(self.model(call), tokens, details)

    def stream_observer(self, call: Call, stream: Any) -> ConverseEvents | InvokeChunks:
        return ConverseEvents() if call.client == "ConverseStream" else InvokeChunks()

    @staticmethod
    def model(call: Call) -> str | None:
        """The name looked up in the registry (Bedrock's responses name no model): ``maker/name``."""
        model = parse_model_id(call.model_requested) if call.model_requested else None
        return None if model is None else model.registry_name


BEDROCK = BedrockRuntime()


def _observed(runtime: Runtime, call: Call, response: Any, end: float) -> None:
    """After the SDK call: measure it now, or hand its stream or body back inside a proxy. Never raises."""
    try:
        request_id = _request_id(response)
        key = _STREAM_KEY.get(str(call.client))
        if key is not None:
            stream = response[key]
            attach(stream, None)
            proxy = EventStreamProxy(stream, runtime, call, BEDROCK.stream_observer(call, stream))
            proxy._self_request_id = request_id
            response[key] = proxy
            return
        observation = BEDROCK.observe(call, response)
        body = response.get("body") if call.client == "InvokeModel" else None
        if body is not None and observation.output_tokens is None:
            attach(body, None)
            response["body"] = BodyReader(body, runtime, call, request_id)
            return
        impacts = runtime.finish(call, observation, end, None, False)
        _remember(request_id, impacts)
        if body is not None:
            attach(body, impacts)
    except Exception:
        internal_error("bedrock after")


def api_call_wrapper(target: Target, runtime: Runtime) -> Any:
    """The wrapper of ``BaseClient._make_api_call``: a Bedrock generation is measured; anything else, and any
    call while instrumentation is off, goes straight through."""

    def wrapper(wrapped: Any, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        settings = active_settings(runtime)
        if settings is None:
            return wrapped(*args, **kwargs)
        try:
            measured = is_generation(instance, args, kwargs)
        except Exception:
            internal_error("bedrock operation")
            measured = False
        call = begin_call(target, instance, args, kwargs, settings) if measured else None
        if call is None:
            return wrapped(*args, **kwargs)
        token = CURRENT_CALL.set(call)
        try:
            response = wrapped(*args, **kwargs)
        finally:
            CURRENT_CALL.reset(token)
        _observed(runtime, call, response, time.perf_counter())
        return response

    return wrapper


TARGETS = (Target("botocore.client", "BaseClient", "_make_api_call", "sync", BEDROCK, "custom", api_call_wrapper),)

SPEC = ProviderSpec(
    name=PROVIDER,
    distribution="botocore",  # the seam is botocore's; boto3 releases move with it
    import_name="botocore",
    tested=((1, 44), (2,)),
    targets=TARGETS,
)
