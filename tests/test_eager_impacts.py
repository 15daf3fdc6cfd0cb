"""A call's impacts are computed once, when it ends, and the one ``Impacts`` goes everywhere.

The real SDKs over their fake servers: ``Runtime.finish`` runs exactly once per SDK call (plain, stream,
``with_raw_response``, ``.stream()`` helper); the ``Impacts`` it returns is the very object on what the caller
holds (in the instance's ``__dict__``, nothing on its class), in the listener's ``CallEvent``, and what the
enclosing tracker adds up. A response copies, pickles, compares, dumps and prints exactly as the SDK's own;
it keeps its impacts after ``shutdown()``; concurrent threads each get their own.
"""

from __future__ import annotations

import asyncio
import copy
import dataclasses
import logging
import pickle
import subprocess
import sys
import threading
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import anthropic_fakes
import mistral_fakes
import openai_fakes
import pydantic
import pytest

import genai_footprint as gf
from genai_footprint import _estimate, _setup
from genai_footprint._events import CallEvent
from genai_footprint._impacts import Impacts
from genai_footprint._instrument import _guard, _runtime, _tokens

MESSAGES = [{"role": "user", "content": "What is the capital of France?"}]
PROVIDERS = ["openai", "anthropic", "mistralai"]


@pytest.fixture(autouse=True)
def _instrumented(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    # Counting tokens from text must not start a tiktoken download.
    monkeypatch.setattr(_tokens, "_encoders", {})
    monkeypatch.setattr(_tokens, "_load_in_background", lambda model: None)
    gf.shutdown()
    gf.init(providers=PROVIDERS, strict=True)
    yield
    gf.shutdown()


@dataclasses.dataclass
class Finished:
    """Every ``Runtime.finish`` from now on: the provider of its call and the impacts it returned."""

    calls: list[tuple[str, Impacts | None]] = dataclasses.field(default_factory=list)

    @property
    def impacts(self) -> list[Impacts | None]:
        return [impacts for _, impacts in self.calls]


@pytest.fixture
def finished(monkeypatch: pytest.MonkeyPatch) -> Finished:
    seen = Finished()
    original = _runtime.Runtime.finish
    lock = threading.Lock()

    def counting(self: Any, call: Any, *args: Any, **kwargs: Any) -> Impacts | None:
        impacts = original(self, call, *args, **kwargs)
        with lock:
            seen.calls.append((call.provider, impacts))
        return impacts

    monkeypatch.setattr(_runtime.Runtime, "finish", counting)
    return seen


@pytest.fixture
def events() -> list[CallEvent]:
    runtime = _setup.current_runtime()
    assert runtime is not None
    received: list[CallEvent] = []
    runtime.listeners = (received.append,)
    return received


# -- one call of each kind, through the real SDKs ----------------------------------------------------------
#
# Each scenario makes one SDK call and returns every object the caller holds that carries its impacts. Where
# the call ends after the SDK method returned (a stream, a raw response, a helper), it checks that nothing was
# computed before the end.

Scenario = Callable[[Finished], Awaitable[list[Any]]]


def _openai() -> tuple[Any, Any, dict[str, Any]]:
    server = openai_fakes.FakeOpenAI()
    return server.client(), server.async_client(), {"model": openai_fakes.REQUESTED, "messages": MESSAGES}


def _anthropic() -> tuple[Any, Any, dict[str, Any]]:
    server = anthropic_fakes.FakeAnthropic()
    request = {"model": anthropic_fakes.REQUESTED, "max_tokens": 64, "messages": MESSAGES}
    return server.client(), server.async_client(), request


def _mistral() -> tuple[Any, dict[str, Any]]:
    return mistral_fakes.mistral_client(mistral_fakes.FakeMistral()), {
        "model": mistral_fakes.MODEL,
        "messages": MESSAGES,
    }


def _resource(provider: str, client: Any) -> Any:
    return client.chat.completions if provider == "openai" else client.messages


async def _plain(provider: str, asynchronous: bool, finished: Finished) -> list[Any]:
    if provider == "mistralai":
        client, request = _mistral()
        response = await client.chat.complete_async(**request) if asynchronous else client.chat.complete(**request)
        return [response]
    sync, aclient, request = _openai() if provider == "openai" else _anthropic()
    if asynchronous:
        return [await _resource(provider, aclient).create(**request)]
    return [_resource(provider, sync).create(**request)]


async def _stream(provider: str, asynchronous: bool, finished: Finished) -> list[Any]:
    if provider == "mistralai":
        client, request = _mistral()
        stream = await client.chat.stream_async(**request) if asynchronous else client.chat.stream(**request)
    else:
        sync, aclient, request = _openai() if provider == "openai" else _anthropic()
        resource = _resource(provider, aclient if asynchronous else sync)
        stream = (
            await resource.create(**request, stream=True) if asynchronous else resource.create(**request, stream=True)
        )
    assert finished.calls == [], "a stream's impacts were computed before it ended"
    items = [item async for item in stream] if asynchronous else list(stream)
    assert items
    return [stream]


async def _raw(provider: str, asynchronous: bool, finished: Finished) -> list[Any]:
    sync, aclient, request = _openai() if provider == "openai" else _anthropic()
    raw_api = _resource(provider, aclient if asynchronous else sync).with_raw_response
    raw = await raw_api.create(**request) if asynchronous else raw_api.create(**request)
    assert finished.calls == [], "a raw response's call ends when it is parsed"
    parsed = raw.parse()
    if asyncio.iscoroutine(parsed):
        parsed = await parsed
    again = raw.parse()
    if asyncio.iscoroutine(again):
        again = await again
    return [parsed, again]


async def _helper(provider: str, asynchronous: bool, finished: Finished) -> list[Any]:
    sync, aclient, request = _openai() if provider == "openai" else _anthropic()
    manager = _resource(provider, aclient if asynchronous else sync).stream(**request)
    final_of = "get_final_completion" if provider == "openai" else "get_final_message"
    assert finished.calls == []
    if asynchronous:
        async with manager as helper:
            assert finished.calls == [], "the helper's impacts were computed before its stream was read"
            assert [event async for event in helper]
            final = await getattr(helper, final_of)()
    else:
        with manager as helper:
            assert finished.calls == [], "the helper's impacts were computed before its stream was read"
            assert list(helper)
            final = getattr(helper, final_of)()
    return [helper, final]


KINDS: dict[str, Callable[[str, bool, Finished], Awaitable[list[Any]]]] = {
    "plain": _plain,
    "stream": _stream,
    "raw": _raw,  # with_raw_response: openai and anthropic
    "helper": _helper,  # .stream(): openai and anthropic
}
CASES = [
    (provider, kind, asynchronous)
    for provider in PROVIDERS
    for kind in KINDS
    for asynchronous in (False, True)
    if provider != "mistralai" or kind in ("plain", "stream")
]


def _case_id(case: tuple[str, str, bool]) -> str:
    provider, kind, asynchronous = case
    return f"{provider}-{kind}-{'async' if asynchronous else 'sync'}"


def _without_inputs(impacts: Impacts) -> dict[str, Any]:
    """What a total of one call keeps of it: everything but its inputs (a total has none)."""
    return impacts.model_dump(exclude={"inputs"})


@pytest.mark.parametrize("case", CASES, ids=_case_id)
async def test_one_call_is_estimated_once_and_everyone_gets_that_estimate(
    case: tuple[str, str, bool], finished: Finished, events: list[CallEvent]
) -> None:
    provider, kind, asynchronous = case
    with gf.track("one") as run:
        carriers = await KINDS[kind](provider, asynchronous, finished)

    assert len(finished.calls) == 1, f"Runtime.finish ran {len(finished.calls)} times for one {kind} call"
    ((seen_provider, impacts),) = finished.calls
    assert seen_provider == provider and isinstance(impacts, Impacts)
    assert impacts.inputs is not None and impacts.inputs.provider == provider
    assert impacts.inputs.output_tokens > 0 and impacts.inputs.latency_s > 0
    for carrier in carriers:
        assert carrier.impacts is impacts, f"{type(carrier).__name__} carries another Impacts"
        target = getattr(carrier, "__wrapped__", carrier)  # a stream proxy: the SDK's stream holds them
        assert target.__dict__["impacts"] is impacts, "the impacts must sit in the instance's own __dict__"
        assert "impacts" not in type(target).__dict__
    (event,) = events
    assert event.impacts is impacts and event.provider == provider and event.trackers == ("one",)
    assert run.calls == 1 and run.impacts is not None
    assert _without_inputs(run.impacts) == _without_inputs(impacts)
    # Reading the impacts again, or anything else, computes nothing more.
    for carrier in carriers:
        assert carrier.impacts is impacts
    assert len(finished.calls) == 1 and len(events) == 1


def test_a_tracker_adds_up_exactly_what_its_calls_carry(finished: Finished, events: list[CallEvent]) -> None:
    server = openai_fakes.FakeOpenAI()
    client = server.client()
    with gf.track("agent") as run:
        responses = [client.chat.completions.create(model=openai_fakes.REQUESTED, messages=MESSAGES) for _ in range(5)]
    carried = [r.impacts for r in responses]
    assert finished.impacts == carried and [e.impacts for e in events] == carried
    assert len({id(i) for i in carried}) == 5
    assert run.calls == 5 and run.impacts is not None and run.impacts.calls == 5
    total = sum(carried)  # the exact bound-by-bound sum (math.fsum)
    assert isinstance(total, Impacts)
    for name in ("energy", "gwp", "pe", "adpe", "wcf"):
        ours, exact = getattr(run.impacts, name), getattr(total, name)
        assert ours.min == pytest.approx(exact.min, rel=1e-12) and ours.max == pytest.approx(exact.max, rel=1e-12)


# -- a response behaves as the SDK's own --------------------------------------------------------------------


def _plain_response(provider: str) -> Any:
    if provider == "openai":
        return openai_fakes.FakeOpenAI().client().chat.completions.create(**_openai()[2])
    if provider == "anthropic":
        return _anthropic()[0].messages.create(**_anthropic()[2])
    client, request = _mistral()
    return client.chat.complete(**request)


def _pair(provider: str) -> tuple[Any, Any]:
    """(an instrumented response, the same call's response without instrumentation)."""
    instrumented = _plain_response(provider)
    gf.shutdown()
    try:
        plain = _plain_response(provider)
    finally:
        gf.init(providers=PROVIDERS, strict=True)
    assert isinstance(instrumented.impacts, Impacts) and not hasattr(plain, "impacts")
    return instrumented, plain


CLONES: dict[str, Callable[[Any], Any]] = {
    "copy": copy.copy,
    "deepcopy": copy.deepcopy,
    "model_copy": lambda r: r.model_copy(),
    "model_copy_deep": lambda r: r.model_copy(deep=True),
    "pickle": lambda r: pickle.loads(pickle.dumps(r)),
}


@pytest.mark.parametrize("how", sorted(CLONES))
@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_response_copies_and_pickles_as_the_sdks_own(provider: str, how: str) -> None:
    response, plain = _pair(provider)
    clone, plain_clone = CLONES[how](response), CLONES[how](plain)

    assert type(clone) is type(plain_clone) is type(plain)
    assert clone == plain_clone and plain_clone == clone and clone == response
    assert clone.model_dump() == plain_clone.model_dump() == plain.model_dump()
    assert clone.model_dump_json() == plain_clone.model_dump_json()
    assert repr(clone) == repr(plain_clone)
    assert not hasattr(plain_clone, "impacts")
    if how in ("copy", "model_copy"):  # shallow: the one Impacts
        assert clone.impacts is response.impacts
    else:
        assert isinstance(clone.impacts, Impacts) and clone.impacts == response.impacts


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_response_compares_dumps_and_prints_as_the_sdks_own(provider: str) -> None:
    response, plain = _pair(provider)
    twin = _plain_response(provider)
    assert twin.impacts is not response.impacts  # two calls, two estimates (their latencies differ)

    assert response == plain and plain == response and response == twin and not (response != plain)
    assert response.model_dump() == plain.model_dump() and "impacts" not in response.model_dump()
    assert response.model_dump(mode="json") == plain.model_dump(mode="json")
    assert response.model_dump_json() == plain.model_dump_json() and "impacts" not in response.model_dump_json()
    assert repr(response) == repr(plain) and str(response) == str(plain)
    if provider != "mistralai":  # the openai / anthropic BaseModel's own helpers
        assert response.to_dict() == plain.to_dict() and response.to_json() == plain.to_json()
    other = type(plain).model_validate({**plain.model_dump(), "model": "another-model"})
    assert (response == other) is (plain == other) is False
    assert set(vars(response)) - set(vars(plain)) == {"impacts"}


@pytest.mark.parametrize("provider", PROVIDERS)
def test_nothing_goes_on_the_response_class(provider: str) -> None:
    response = _plain_response(provider)
    assert isinstance(response.impacts, Impacts)
    assert not [cls for cls in type(response).__mro__ if "impacts" in vars(cls)]
    built_by_hand = type(response).model_validate(response.model_dump())
    assert built_by_hand == response and not hasattr(built_by_hand, "impacts")
    with pytest.raises(AttributeError, match="impacts"):
        built_by_hand.impacts  # the read is the point


def test_a_pickled_response_keeps_its_impacts_where_genai_footprint_is_not_initialised() -> None:
    response = _plain_response("openai")
    script = (
        "import pickle, sys\n"
        "response = pickle.loads(sys.stdin.buffer.read())\n"
        "assert not [c for c in type(response).__mro__ if 'impacts' in vars(c)]\n"
        "print(response.impacts.model_dump_json())\n"
    )
    run = subprocess.run([sys.executable, "-c", script], input=pickle.dumps(response), capture_output=True, check=False)
    assert run.returncode == 0, run.stderr.decode()
    assert Impacts.model_validate_json(run.stdout) == response.impacts


@pytest.mark.parametrize("provider", PROVIDERS)
def test_impacts_is_an_attribute_of_the_instance_alone_and_can_be_deleted(provider: str) -> None:
    """The impacts live in the response's own ``__dict__`` (not its class, not its fields or extras): ``del``
    removes them like any instance attribute. (Assigning to ``impacts`` is not supported: on models that accept
    unknown attributes, pydantic stores an assignment among the model's extras, where our value shadows it —
    docs/limits.md.)"""
    response = _plain_response(provider)
    assert isinstance(vars(response)["impacts"], Impacts)
    assert "impacts" not in vars(type(response))
    assert "impacts" not in (getattr(response, "__pydantic_extra__", None) or {})
    assert "impacts" not in response.model_dump()
    del response.impacts
    assert not hasattr(response, "impacts")


def test_an_object_with_an_impacts_of_its_own_keeps_it() -> None:
    """Only an instance's ``__dict__`` is written: a field, property or class attribute named ``impacts`` of
    the object's own is never overwritten (nor its ``model_dump()``), and an object without a ``__dict__`` is
    left as it is."""

    class WithField(pydantic.BaseModel):
        impacts: int = 0

    class WithProperty:
        @property
        def impacts(self) -> str:
            return "theirs"

    class Slotted:
        __slots__ = ("model",)

    @dataclasses.dataclass
    class WithDataclassField:
        impacts: str

    class Plain(pydantic.BaseModel):
        model: str = "m"

    ours = _plain_response("openai").impacts
    field, prop, slotted, data, plain = WithField(), WithProperty(), Slotted(), WithDataclassField("theirs"), Plain()
    for obj in (field, prop, slotted, data, plain):
        _guard.attach(obj, ours)
        _guard.attach_none(obj)
    assert field.impacts == 0 and field.model_dump() == {"impacts": 0}
    assert prop.impacts == "theirs" and vars(prop) == {}
    assert not hasattr(slotted, "impacts")
    assert data.impacts == "theirs"
    assert plain.impacts is ours and plain.model_dump() == {"model": "m"}
    assert "impacts" not in vars(WithField) and "impacts" not in vars(Plain)
    assert isinstance(vars(WithProperty)["impacts"], property)


# -- shutdown, failures ------------------------------------------------------------------------------------


def test_a_response_returned_before_shutdown_still_reads_its_impacts(finished: Finished) -> None:
    client = openai_fakes.FakeOpenAI().client()
    response = client.chat.completions.create(model=openai_fakes.REQUESTED, messages=MESSAGES)
    stream = client.chat.completions.create(model=openai_fakes.REQUESTED, messages=MESSAGES, stream=True)
    list(stream)
    computed = finished.impacts
    gf.shutdown()
    after = client.chat.completions.create(model=openai_fakes.REQUESTED, messages=MESSAGES)

    assert [response.impacts, stream.impacts] == computed and all(isinstance(i, Impacts) for i in computed)
    assert response.impacts is computed[0] and stream.impacts is computed[1]
    again = gf.reproduce(response.impacts.inputs, response.impacts.methodology_version)
    assert again.model_dump(exclude={"warnings"}) == response.impacts.model_dump(exclude={"warnings"})
    assert not hasattr(after, "impacts"), "calls after shutdown() are not annotated"
    assert len(finished.calls) == 2


def test_a_stream_begun_before_shutdown_is_estimated_when_it_ends(finished: Finished) -> None:
    client = openai_fakes.FakeOpenAI().client()
    stream = client.chat.completions.create(model=openai_fakes.REQUESTED, messages=MESSAGES, stream=True)
    gf.shutdown()
    chunks = list(stream)
    assert chunks and all(chunk.choices for chunk in chunks), "the usage chunk we asked for stays hidden"
    assert len(finished.calls) == 1 and stream.impacts is finished.impacts[0] and stream.impacts is not None


def test_a_failed_estimate_gives_none_once_and_is_logged(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, finished: Finished, events: list[CallEvent]
) -> None:
    """An internal failure while estimating: the call ends once, with impacts None, logged at debug level; it
    still counts in its trackers (as unestimated) and goes to the listeners."""

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("injected estimate failure")

    monkeypatch.setattr(_estimate, "compute", broken)
    caplog.set_level(logging.DEBUG, logger="genai_footprint")
    with gf.track("failing") as run:
        response = _plain_response("openai")
    assert "impacts" in vars(response) and response.impacts is None
    assert run.calls == run.unestimated_calls == 1
    assert [event.impacts for event in events] == [None]
    assert "injected estimate failure" in caplog.text
    assert not [r for r in caplog.records if r.name == "genai_footprint" and r.levelno > logging.DEBUG]
    failures = [r for r in caplog.records if r.exc_info and "injected estimate failure" in str(r.exc_info[1])]
    assert response.impacts is None and len(failures) == 1  # not retried on reads
    assert finished.impacts == [None]


# -- concurrency --------------------------------------------------------------------------------------------


def test_threads_making_calls_each_get_their_own_impacts(finished: Finished, events: list[CallEvent]) -> None:
    server = openai_fakes.FakeOpenAI(tokens_from_messages=True)
    client = server.client()
    per_thread, threads_n = 20, 8
    got: dict[int, tuple[Any, float]] = {}
    runs: dict[int, Any] = {}
    errors: list[BaseException] = []
    start = threading.Barrier(threads_n)

    def worker(thread: int) -> None:
        try:
            start.wait()
            with gf.track(f"thread-{thread}") as run:
                for i in range(per_thread):
                    n = thread * per_thread + i
                    messages = [{"role": "user", "content": f"tokens={n + 1}"}]
                    if i % 4 == 0:
                        result = client.chat.completions.create(
                            model=openai_fakes.REQUESTED, messages=messages, stream=True
                        )
                        list(result)
                    else:
                        result = client.chat.completions.create(model=openai_fakes.REQUESTED, messages=messages)
                    got[n] = (result.impacts, float(n + 1))
            runs[thread] = run
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=worker, args=(t,)) for t in range(threads_n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    total = threads_n * per_thread
    assert sorted(got) == list(range(total))
    for n, (impacts, tokens) in got.items():
        assert isinstance(impacts, Impacts) and impacts.inputs.output_tokens == tokens, n
    carried = [impacts for impacts, _ in got.values()]
    assert len({id(i) for i in carried}) == total, "two calls share one Impacts"
    assert len(finished.calls) == total and {id(i) for i in finished.impacts} == {id(i) for i in carried}
    assert {id(e.impacts) for e in events} == {id(i) for i in carried}
    for thread, run in runs.items():
        mine = [got[thread * per_thread + i][0] for i in range(per_thread)]
        ids = {id(i) for i in mine}
        assert run.calls == per_thread and {e.trackers for e in events if id(e.impacts) in ids} == {
            (f"thread-{thread}",)
        }
        assert run.impacts.energy.min == pytest.approx(sum(mine).energy.min, rel=1e-12)


def test_a_failure_building_the_event_leaves_the_calls_impacts_and_trackers_alone(
    monkeypatch: pytest.MonkeyPatch, events: list[CallEvent]
) -> None:
    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("injected event failure")

    monkeypatch.setattr(_runtime, "call_event", broken)
    with gf.track("event fails") as run:
        response = _plain_response("openai")
    assert isinstance(response.impacts, Impacts)  # estimated, and counted
    assert run.estimated_calls == 1 and run.impacts is not None
    assert events == []  # the listeners got nothing for this call


def test_a_stream_ended_from_several_threads_at_once_finishes_once(finished: Finished) -> None:
    """Iteration ending in one thread while others close the stream: one finish, one estimate."""
    for _ in range(20):
        client, _, request = _openai()
        stream = client.chat.completions.create(**request, stream=True)
        next(iter(stream))
        start = threading.Barrier(8)

        def close() -> None:
            start.wait()
            stream.close()

        threads = [threading.Thread(target=close) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert len(finished.calls) == 20


# -- SDKs added later (Groq, Cohere): a response copies, pickles and compares as the SDK's own ---------------

LATER_PROVIDERS = ["groq", "cohere"]


def _later_response(provider: str) -> Any:
    if provider == "cohere":
        import cohere_fakes

        return cohere_fakes.FakeCohere().client_v2().chat(model=cohere_fakes.MODEL, messages=MESSAGES)
    import groq_fakes

    return groq_fakes.FakeGroq().client().chat.completions.create(model=groq_fakes.MODEL, messages=MESSAGES)


@pytest.mark.parametrize("how", sorted(CLONES))
@pytest.mark.parametrize("provider", LATER_PROVIDERS)
def test_a_later_sdks_response_copies_pickles_and_compares_as_its_own(
    provider: str, how: str, finished: Finished
) -> None:
    pytest.importorskip(provider)
    plain = _later_response(provider)
    gf.init(providers=[provider], strict=True)
    response = _later_response(provider)
    assert finished.calls == [(provider, response.impacts)] and isinstance(response.impacts, Impacts)
    clone, plain_clone = CLONES[how](response), CLONES[how](plain)
    assert type(clone) is type(plain_clone) is type(plain)
    assert clone == plain_clone == plain and response == plain
    assert clone.model_dump() == plain.model_dump() and "impacts" not in response.model_dump_json()
    assert repr(response) == repr(plain)
    assert set(vars(response)) - set(vars(plain)) == {"impacts"}
    assert not [cls for cls in type(response).__mro__ if "impacts" in vars(cls)]
    if how in ("copy", "model_copy"):
        assert clone.impacts is response.impacts
    else:
        assert clone.impacts == response.impacts
