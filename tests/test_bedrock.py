"""Amazon Bedrock instrumentation: real ``boto3`` ``bedrock-runtime`` clients against a local HTTP server speaking
Bedrock's JSON and event-stream framing (``bedrock_fakes``): the four entry points, clients made before and
after ``init()``, streams (early break, close), HTTP errors, missing usage, regions and inference profiles, what
is left alone, the model ids, and ``shutdown()``."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from typing import Any

import bedrock_fakes as fakes
import provider_checks as checks
import pytest

import genai_footprint
from genai_footprint._instrument import _bedrock
from genai_footprint._instrument._bedrock import impacts_of, parse_model_id
from genai_footprint._instrument._wrappers import installed
from genai_footprint._registry import get_registry

pytest.importorskip("boto3")

import botocore.client
from botocore.eventstream import EventStream
from botocore.exceptions import ClientError
from botocore.response import StreamingBody

MESSAGES = [{"role": "user", "content": [{"text": "What is the capital of France?"}]}]
INPUT_TOTAL = fakes.INPUT_TOKENS + fakes.CACHE_READ + fakes.CACHE_WRITE


offline_counting = checks.offline_counting


@pytest.fixture
def server() -> Iterator[fakes.FakeBedrock]:
    fake = fakes.FakeBedrock()
    yield fake
    fake.close()


def instrument() -> list[Any]:
    """``init(providers=["bedrock"])``; returns the list every finished call appends its event to."""
    return checks.listen(["bedrock"])


# -- converse -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("made", ["before init", "after init"])
def test_converse_is_measured_and_the_dict_is_left_as_it_was(server: fakes.FakeBedrock, made: str) -> None:
    client = server.client() if made == "before init" else None
    events = instrument()
    client = client or server.client()
    response = client.converse(modelId=fakes.MODEL, messages=MESSAGES)

    assert type(response) is dict and "impacts" not in response
    assert set(response) == {"ResponseMetadata", "output", "stopReason", "usage", "metrics"}
    json.dumps(response)  # still plain JSON
    impacts = impacts_of(response)
    assert impacts is not None and impacts_of(copy.deepcopy(response)) is impacts
    assert impacts.inputs.output_tokens == fakes.OUTPUT_TOKENS and impacts.inputs.tokens_source == "usage"
    assert impacts.inputs.model_resolved == "claude-sonnet-4-5-20250929"
    assert impacts.inputs.zone == "FRA"  # the client's Region, eu-west-3
    (event,) = events
    assert event.provider == "bedrock" and event.model_requested == fakes.MODEL and event.impacts is impacts
    assert event.details.input_tokens == INPUT_TOTAL
    assert event.details.cached_input_tokens == fakes.CACHE_READ
    assert event.details.cache_write_input_tokens == fakes.CACHE_WRITE


def test_converse_without_usage_counts_the_text(server: fakes.FakeBedrock) -> None:
    server.usage = False
    instrument()
    impacts = impacts_of(server.client().converse(modelId=fakes.MODEL, messages=MESSAGES))
    assert impacts is not None and impacts.inputs.tokens_source == "approximation"
    assert impacts.inputs.output_tokens == len("Paris is the capital of France.") // 4 + 1
    assert "tokens-counted" in {w.code for w in impacts.warnings}


def test_a_tracker_gets_the_call(server: fakes.FakeBedrock) -> None:
    instrument()
    client = server.client()
    with genai_footprint.track("bedrock") as run:
        response = client.converse(modelId=fakes.MODEL, messages=MESSAGES)
    impacts = impacts_of(response)
    assert impacts is not None and run.calls == 1
    assert run.impacts is not None and run.impacts.energy.max == pytest.approx(impacts.energy.max)


# -- streams --------------------------------------------------------------------------------------------------


def _events(stream: Any) -> list[Any]:
    return list(stream)


def test_converse_stream_items_are_the_sdks_and_impacts_come_at_the_end(server: fakes.FakeBedrock) -> None:
    plain = _events(server.client().converse_stream(modelId=fakes.MODEL, messages=MESSAGES)["stream"])
    events = instrument()
    response = server.client().converse_stream(modelId=fakes.MODEL, messages=MESSAGES)
    stream = response["stream"]
    assert isinstance(stream, EventStream) and stream.impacts is None and impacts_of(response) is None
    assert not hasattr(stream, "__next__")  # iterable, not an iterator: as the EventStream
    assert _events(stream) == plain
    assert stream.impacts is not None and stream.impacts is impacts_of(response)
    assert stream.impacts.inputs.output_tokens == fakes.OUTPUT_TOKENS
    (event,) = events
    assert event.stream is True and event.details.input_tokens == INPUT_TOTAL


def test_converse_stream_early_break_and_close(server: fakes.FakeBedrock) -> None:
    events = instrument()
    response = server.client().converse_stream(modelId=fakes.MODEL, messages=MESSAGES)
    stream = response["stream"]
    for item in stream:
        if "contentBlockDelta" in item:
            break
    stream.close()
    stream.close()  # twice, as the SDK allows: still one estimate
    (event,) = events
    assert event.impacts is stream.impacts and event.impacts.inputs.tokens_source == "approximation"
    assert {"tokens-counted", "stream-partial"} <= {w.code for w in event.impacts.warnings}


def test_converse_stream_closed_before_reading(server: fakes.FakeBedrock) -> None:
    events = instrument()
    response = server.client().converse_stream(modelId=fakes.MODEL, messages=MESSAGES)
    response["stream"].close()
    assert len(events) == 1 and _events(response["stream"]) == []


def test_invoke_model_with_response_stream_reads_the_invocation_metrics(server: fakes.FakeBedrock) -> None:
    instrument()
    response = server.client().invoke_model_with_response_stream(modelId=fakes.MODEL, body=b"{}")
    chunks = _events(response["body"])
    assert len(chunks) == len(fakes.anthropic_stream_chunks()) and isinstance(chunks[0]["chunk"]["bytes"], bytes)
    impacts = response["body"].impacts
    assert impacts is not None and impacts.inputs.output_tokens == fakes.OUTPUT_TOKENS
    assert impacts_of(response) is impacts


def test_invoke_model_with_response_stream_without_metrics_reads_the_family_usage(
    server: fakes.FakeBedrock,
) -> None:
    server.usage = False
    instrument()
    response = server.client().invoke_model_with_response_stream(modelId=fakes.MODEL, body=b"{}")
    _events(response["body"])
    assert response["body"].impacts.inputs.output_tokens == 9  # the message_delta's cumulative count


# -- invoke_model -----------------------------------------------------------------------------------------------


def test_invoke_model_reads_the_token_count_header(server: fakes.FakeBedrock) -> None:
    events = instrument()
    response = server.client().invoke_model(modelId=fakes.MODEL, body=b"{}")
    body = response["body"]
    assert type(body) is StreamingBody  # measured at once: the body is the SDK's, untouched
    assert body.impacts is not None and body.impacts is impacts_of(response)
    assert json.loads(body.read()) == fakes.anthropic_body()
    assert events[0].output_tokens == fakes.OUTPUT_TOKENS and events[0].details.input_tokens == fakes.INPUT_TOKENS


LLAMA_BODY = {"generation": "Paris.", "prompt_token_count": 12, "generation_token_count": 4, "stop_reason": "stop"}
NOVA_BODY = {
    "output": {"message": {"role": "assistant", "content": [{"text": "Paris."}]}},
    "usage": {"inputTokens": 12, "outputTokens": 4, "cacheReadInputTokenCount": 2},
}
GPT_OSS_BODY = {"choices": [{"message": {"content": "Paris."}}], "usage": {"prompt_tokens": 12, "completion_tokens": 4}}


@pytest.mark.parametrize(
    ("model", "body", "output_tokens", "input_tokens"),
    [
        (fakes.MODEL, fakes.anthropic_body(), fakes.OUTPUT_TOKENS, fakes.INPUT_TOKENS),
        ("amazon.nova-pro-v1:0", NOVA_BODY, 4, 14),  # the cache read is part of the input
        ("openai.gpt-oss-120b-1:0", GPT_OSS_BODY, 4, 12),
        ("meta.llama3-3-70b-instruct-v1:0", LLAMA_BODY, 4, 12),
    ],
)
def test_invoke_model_without_the_header_reads_the_body_the_caller_reads(
    server: fakes.FakeBedrock, model: str, body: dict[str, Any], output_tokens: int, input_tokens: int
) -> None:
    server.usage, server.invoke_body = False, body
    events = instrument()
    response = server.client().invoke_model(modelId=model, body=b"{}")
    reader = response["body"]
    assert isinstance(reader, StreamingBody) and reader.impacts is None and events == []
    assert json.loads(reader.read()) == body
    (event,) = events
    assert event.output_tokens == output_tokens and event.details.input_tokens == input_tokens
    assert reader.read() == b""  # read to the end again, as the SDK's body: still one estimate
    assert len(events) == 1


def test_invoke_model_body_read_in_parts(server: fakes.FakeBedrock) -> None:
    server.usage = False
    events = instrument()
    reader = server.client().invoke_model(modelId=fakes.MODEL, body=b"{}")["body"]
    data = reader.read(10)
    while part := reader.read(10):
        data += part
    assert json.loads(data) == fakes.anthropic_body() and len(events) == 1
    assert events[0].output_tokens == fakes.OUTPUT_TOKENS


def test_embeddings_and_other_services_are_left_alone(server: fakes.FakeBedrock) -> None:
    from botocore.stub import Stubber

    server.invoke_body = {"embedding": [0.1, 0.2], "inputTextTokenCount": 2}
    events = instrument()
    body = server.client().invoke_model(modelId="amazon.titan-embed-text-v2:0", body=b"{}")["body"]
    assert type(body) is StreamingBody and "impacts" not in vars(body)
    import boto3

    s3 = boto3.client("s3", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="y")
    with Stubber(s3) as stub:
        stub.add_response("list_buckets", {"Buckets": []})
        assert s3.list_buckets()["Buckets"] == []
    assert events == []


# -- errors and never breaking the call -------------------------------------------------------------------------


def _error(server: fakes.FakeBedrock, call: str) -> ClientError:
    client = server.client()
    with pytest.raises(ClientError) as caught:
        if call == "converse":
            client.converse(modelId=fakes.MODEL, messages=MESSAGES)
        else:
            client.invoke_model_with_response_stream(modelId=fakes.MODEL, body=b"{}")
    return caught.value


@pytest.mark.parametrize("call", ["converse", "invoke_model_with_response_stream"])
def test_an_http_error_reaches_the_caller_unchanged(server: fakes.FakeBedrock, call: str) -> None:
    server.error = 400
    plain = _error(server, call)
    events = instrument()
    error = _error(server, call)
    assert type(error) is type(plain) and error.response["Error"] == plain.response["Error"]
    assert str(error) == str(plain) and events == []


def test_our_failure_leaves_the_response_whole(server: fakes.FakeBedrock, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(call: Any, response: Any) -> Any:
        raise RuntimeError("ours")

    monkeypatch.setattr(_bedrock.BEDROCK, "observe", broken)
    instrument()
    response = server.client().converse(modelId=fakes.MODEL, messages=MESSAGES)
    assert response["output"]["message"]["content"][0]["text"].startswith("Paris") and impacts_of(response) is None


# -- zones and model ids -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("region", "model", "zone"),
    [
        ("eu-west-3", fakes.MODEL, "FRA"),
        ("us-west-2", "us." + fakes.MODEL, "USA"),
        ("ap-northeast-1", "jp." + fakes.MODEL, "JPN"),
        ("eu-central-1", "eu." + fakes.MODEL, "DEU"),  # a multi-country profile: the client's Region
        ("eu-west-1", "global." + fakes.MODEL, "IRL"),
        ("us-east-1", f"arn:aws:bedrock:us-east-1:123456789012:inference-profile/eu.{fakes.MODEL}", "USA"),
    ],
)
def test_the_zone_is_the_region_or_the_profile_geography(
    server: fakes.FakeBedrock, region: str, model: str, zone: str
) -> None:
    instrument()
    response = server.client(region).converse(modelId=model, messages=MESSAGES)
    impacts = impacts_of(response)
    assert impacts is not None and impacts.inputs.zone == zone
    assert impacts.inputs.model_resolved == "claude-sonnet-4-5-20250929"


@pytest.mark.parametrize(
    ("model_id", "maker", "name"),
    [
        ("anthropic.claude-sonnet-4-5-20250929-v1:0", "anthropic", "claude-sonnet-4-5-20250929"),
        ("meta.llama3-3-70b-instruct-v1:0", "meta", "llama-3.3-70b-instruct"),
        ("amazon.nova-pro-v1:0", "amazon", "nova-pro"),
        ("mistral.mistral-large-2407-v1:0", "mistralai", "mistral-large-2407"),
        ("deepseek.r1-v1:0", "deepseek", "deepseek-r1"),
        ("openai.gpt-oss-120b-1:0", "openai", "gpt-oss-120b"),
        ("cohere.command-r-plus-v1:0", "cohere", "command-r-plus"),
        ("apac.amazon.nova-micro-v1:0", "amazon", "nova-micro"),
        ("amazon.nova-lite-v1:0:300k", "amazon", "nova-lite"),
        (
            "arn:aws:bedrock:us-east-1::foundation-model/meta.llama3-1-8b-instruct-v1:0",
            "meta",
            "llama-3.1-8b-instruct",
        ),
        ("mistral.mixtral-8x7b-instruct-v0:1", "mistralai", "mixtral-8x7b-instruct-v0.1"),
    ],
)
def test_model_ids_resolve_to_the_makers_rows(model_id: str, maker: str, name: str) -> None:
    model = parse_model_id(model_id)
    assert model is not None and (model.maker, model.name) == (maker, name)
    registry = get_registry()
    row = registry.resolve("bedrock", model.registry_name)
    makers_row = registry.resolve(registry.provider_name(maker) or maker, name)
    # The maker's figures, served by Bedrock: its zone, PUE and WUE are AWS's.
    assert row is not None and makers_row is not None and row.provider == "bedrock"
    assert (row.name, row.active_params_b, row.total_params_b) == (
        makers_row.name,
        makers_row.active_params_b,
        makers_row.total_params_b,
    )


def test_ids_that_name_no_model() -> None:
    assert parse_model_id("arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/a1b2c3") is None
    assert parse_model_id("arn:aws:bedrock:us-east-1:123456789012:provisioned-model/xyz") is None
    assert parse_model_id("nomodel") is None


def test_nova_rows_are_estimates_with_the_warning() -> None:
    for name in ("nova-micro", "nova-lite", "nova-pro"):
        row = get_registry().resolve("bedrock", f"amazon/{name}")
        assert row is not None and "model-arch-not-released" in row.warnings and row.sources
    provider = get_registry().providers["bedrock"]
    assert provider.zone == "USA" and provider.sources and get_registry().provider_name("aws") == "bedrock"


# -- lifecycle ---------------------------------------------------------------------------------------------


def test_shutdown_puts_back_the_one_method_it_replaced(server: fakes.FakeBedrock) -> None:
    original = botocore.client.BaseClient.__dict__["_make_api_call"]
    before = dict(vars(botocore.client.BaseClient))
    instrument()
    assert installed(botocore.client.BaseClient.__dict__["_make_api_call"])
    client = server.client()
    genai_footprint.init(providers=["bedrock"])  # idempotent
    assert impacts_of(client.converse(modelId=fakes.MODEL, messages=MESSAGES)) is not None
    events = instrument()
    genai_footprint.shutdown()
    assert botocore.client.BaseClient.__dict__["_make_api_call"] is original
    assert dict(vars(botocore.client.BaseClient)) == before
    response = client.converse(modelId=fakes.MODEL, messages=MESSAGES)
    stream = client.converse_stream(modelId=fakes.MODEL, messages=MESSAGES)["stream"]
    assert type(stream) is EventStream and impacts_of(response) is None and events == []
