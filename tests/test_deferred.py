"""A response's impacts are computed when first read: what the call stores, and how such a response behaves.

The real SDKs over ``httpx2.MockTransport``: the call stores a ``DeferredImpacts`` in the response's
``__dict__`` and the response class gets our ``impacts`` attribute; reading it gives the Impacts the call
would have got at once, computed once. Copies, pickles, comparisons, trackers, threads, failures and
``shutdown()`` are checked against that.
"""

from __future__ import annotations

import copy
import logging
import pickle
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from typing import Any

import anthropic_fakes
import mistral_fakes
import pydantic
import pytest
from openai.types.chat import ChatCompletion
from openai_fakes import FakeOpenAI

import genai_footprint as gf
from genai_footprint import _estimate
from genai_footprint._impacts import Impacts, flat_bounds
from genai_footprint._instrument import _runtime, _tokens
from genai_footprint._instrument._runtime import DeferredImpacts

MESSAGES = [{"role": "user", "content": "What is the capital of France?"}]


@pytest.fixture(autouse=True)
def _instrumented(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(_tokens, "_loader", lambda model: None)
    gf.shutdown()
    gf.init(providers=["openai", "anthropic", "mistralai"], strict=True)
    yield
    gf.shutdown()


@pytest.fixture
def estimates(monkeypatch: pytest.MonkeyPatch) -> list[Impacts]:
    """Every Impacts ``compute_positional`` builds from now on (the runtime reaches it through its module)."""
    built: list[Impacts] = []
    original = _estimate.compute_positional

    def counting(*args: Any) -> Impacts:
        impacts = original(*args)
        built.append(impacts)
        return impacts

    monkeypatch.setattr(_estimate, "compute_positional", counting)
    return built


def openai_call(server: FakeOpenAI | None = None) -> Any:
    server = server or FakeOpenAI()
    return server.client().chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)


def anthropic_call() -> Any:
    client = anthropic_fakes.FakeAnthropic().client()
    return client.messages.create(model=anthropic_fakes.REQUESTED, max_tokens=64, messages=MESSAGES)


def mistral_call() -> Any:
    client = mistral_fakes.mistral_client(mistral_fakes.FakeMistral())
    return client.chat.complete(model=mistral_fakes.MODEL, messages=MESSAGES)


CALLS: dict[str, Callable[[], Any]] = {"openai": openai_call, "anthropic": anthropic_call, "mistralai": mistral_call}


def recomputed(response: Any) -> Impacts:
    """The estimate made again from the response's recorded inputs (``reproduce``), with its bounds."""
    impacts = response.impacts
    assert isinstance(impacts, Impacts) and impacts.inputs is not None
    return gf.reproduce(impacts.inputs, impacts.methodology_version)


# -- what a call stores ---------------------------------------------------------------------------------


@pytest.mark.parametrize("provider", sorted(CALLS))
def test_a_call_stores_its_recipe_and_the_first_read_computes_the_impacts_once(
    provider: str, estimates: list[Impacts]
) -> None:
    response = CALLS[provider]()

    assert type(response.__dict__["impacts"]) is DeferredImpacts
    assert estimates == []  # nothing built during the call
    first = response.impacts
    assert isinstance(first, Impacts) and len(estimates) == 1 and first is estimates[0]
    assert response.impacts is first and response.__dict__["impacts"] is first
    assert len(estimates) == 1
    assert first.inputs is not None and first.inputs.provider == provider
    assert first.inputs.output_tokens > 0 and first.inputs.latency_s is not None and first.inputs.latency_s > 0
    assert flat_bounds(first) == flat_bounds(recomputed(response))


def test_the_response_class_gets_one_attribute_and_other_instances_have_no_impacts() -> None:
    response = openai_call()
    attribute = ChatCompletion.__dict__["impacts"]
    assert isinstance(attribute, _runtime._ImpactsAttribute)
    openai_call()
    assert ChatCompletion.__dict__["impacts"] is attribute  # set once per class
    built_by_hand = ChatCompletion.model_validate(response.model_dump())
    assert not hasattr(built_by_hand, "impacts")
    with pytest.raises(AttributeError, match="impacts"):
        built_by_hand.impacts  # the read is the point


def test_a_listener_and_the_response_share_one_impacts(
    estimates: list[Impacts], monkeypatch: pytest.MonkeyPatch
) -> None:
    events: list[Any] = []
    monkeypatch.setattr(_runtime_now(), "listeners", (events.append,))
    response = openai_call()
    assert len(estimates) == 1  # the listener's event needs the numbers: computed on the request path
    assert events[0].impacts is estimates[0] is response.impacts


def test_an_estimate_beyond_the_lazy_range_is_computed_and_checked_at_once(estimates: list[Impacts]) -> None:
    server = FakeOpenAI(completion_tokens=2 * 10**12)  # above Prepared.lazy_tokens
    response = openai_call(server)
    stored = response.__dict__["impacts"]
    assert len(estimates) == 1 and stored is estimates[0] and type(stored) is Impacts


# -- how such a response behaves --------------------------------------------------------------------------

CLONES: dict[str, Callable[[Any], Any]] = {
    "copy": copy.copy,
    "model_copy": lambda r: r.model_copy(),
    "deepcopy": copy.deepcopy,
    "pickle": lambda r: pickle.loads(pickle.dumps(r)),
}


@pytest.mark.parametrize("how", sorted(CLONES))
def test_a_copy_or_a_pickle_of_an_unread_response_reads_the_same_impacts(how: str) -> None:
    response = openai_call()
    clone = CLONES[how](response)

    assert type(clone) is ChatCompletion and clone == response and clone.model_dump() == response.model_dump()
    impacts = clone.impacts
    assert isinstance(impacts, Impacts)
    if how in ("copy", "model_copy"):  # shallow: the one recipe, hence the one Impacts
        assert impacts is response.impacts
    else:
        assert impacts == response.impacts and flat_bounds(impacts) == flat_bounds(response.impacts)


def test_an_unread_response_compares_dumps_and_prints_as_the_sdks_own() -> None:
    server = FakeOpenAI()
    response, twin = openai_call(server), openai_call(server)
    gf.shutdown()
    plain = openai_call(server)
    for instrumented in (response, twin):
        assert type(instrumented.__dict__["impacts"]) is DeferredImpacts
        assert instrumented == plain and plain == instrumented
        assert instrumented.model_dump() == plain.model_dump()
        assert instrumented.to_json() == plain.to_json()
        assert repr(instrumented) == repr(plain)
    assert type(response.__dict__["impacts"]) is DeferredImpacts  # none of that read the impacts


def test_a_pickled_response_keeps_its_impacts_where_genai_footprint_is_not_initialised() -> None:
    response = openai_call()
    data = pickle.dumps(response)
    expected = flat_bounds(response.impacts)
    script = (
        "import pickle, sys\n"
        "from genai_footprint._impacts import flat_bounds\n"
        "response = pickle.loads(sys.stdin.buffer.read())\n"
        "assert 'impacts' not in type(response).__dict__\n"
        "print(repr(flat_bounds(response.impacts)))\n"
    )
    run = subprocess.run([sys.executable, "-c", script], input=data, capture_output=True, check=True)
    assert run.stdout.decode().strip() == repr(expected)


def test_a_response_returned_before_shutdown_still_reads_its_impacts(estimates: list[Impacts]) -> None:
    response = openai_call()
    gf.shutdown()
    after = openai_call()

    assert isinstance(response.impacts, Impacts) and len(estimates) == 1
    assert flat_bounds(response.impacts) == flat_bounds(recomputed(response))
    assert not hasattr(after, "impacts")  # calls after shutdown are not annotated


def test_threads_reading_one_response_get_one_impacts(estimates: list[Impacts]) -> None:
    response = openai_call()
    ready = threading.Barrier(8)
    seen: list[Any] = []

    def read() -> None:
        ready.wait()
        seen.append(response.impacts)

    threads = [threading.Thread(target=read) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(seen) == 8 and all(impacts is seen[0] for impacts in seen)
    assert len(estimates) == 1


def test_a_failure_at_the_first_read_gives_none_and_is_logged(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    response = openai_call()

    def broken(*args: Any) -> Any:
        raise RuntimeError("injected estimate failure")

    monkeypatch.setattr(_estimate, "compute_positional", broken)
    with caplog.at_level(logging.DEBUG, logger="genai_footprint"):
        assert response.impacts is None
    assert "injected estimate failure" in caplog.text
    assert response.impacts is None  # not retried on every read


def test_impacts_can_be_replaced_and_deleted_like_any_attribute() -> None:
    response = openai_call()
    response.impacts = None
    assert response.impacts is None
    del response.impacts
    assert not hasattr(response, "impacts")


# -- trackers ------------------------------------------------------------------------------------------


def test_a_tracker_adds_calls_without_computing_their_impacts(estimates: list[Impacts]) -> None:
    server = FakeOpenAI()
    with gf.track("agent") as run:
        responses = [openai_call(server) for _ in range(5)]
    assert estimates == []
    assert run.calls == 5 and run.impacts is not None
    total = sum(flat_bounds(r.impacts)[0] for r in responses)  # energy's lower bound, read per call
    assert run.impacts.energy.min == pytest.approx(total, rel=1e-12)
    assert flat_bounds(run.impacts) == pytest.approx(
        [sum(column) for column in zip(*(flat_bounds(r.impacts) for r in responses), strict=True)], rel=1e-12
    )


# -- which classes defer ---------------------------------------------------------------------------------


def test_objects_without_an_instance_dict_or_with_their_own_impacts_are_left_alone() -> None:
    class Slotted:
        __slots__ = ("model",)

    class WithField(pydantic.BaseModel):
        impacts: int = 0

    class WithProperty:
        @property
        def impacts(self) -> str:
            return "theirs"

    assert _runtime._reads_deferred(Slotted()) is False
    assert _runtime._reads_deferred(WithField()) is False
    assert _runtime._reads_deferred(WithProperty()) is False
    assert "impacts" not in WithField.__dict__ and WithProperty().impacts == "theirs"
    assert WithField().impacts == 0

    class Plain(pydantic.BaseModel):
        model: str = "m"

    assert _runtime._reads_deferred(Plain()) is True
    assert _runtime._reads_deferred(Plain()) is True  # already ours
    assert isinstance(Plain.__dict__["impacts"], _runtime._ImpactsAttribute)
    assert not hasattr(Plain(), "impacts")


def _runtime_now() -> Any:
    from genai_footprint._setup import current_runtime

    runtime = current_runtime()
    assert runtime is not None
    return runtime
