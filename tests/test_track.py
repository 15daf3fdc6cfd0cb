"""``track()``: per-block and per-function totals of the instrumented calls, exact, isolated, bounded in memory.

Every call goes through the real OpenAI SDK over ``httpx2.MockTransport``. The server below answers each
request with the completion-token count written in its last message (``"tokens=N"``), so every call of a
test has its own impacts and a total is only right if exactly the right calls were added up.
"""

from __future__ import annotations

import asyncio
import collections
import gc
import json
import logging
import math
import threading
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx2
import openai
import pytest

import genai_footprint as gf
from genai_footprint._impacts import ALL_KEYS, Impacts, range_at
from genai_footprint._instrument import _tokens

MINI = "gpt-4o-mini"
MINI_SERVED = "gpt-4o-mini-2024-07-18"
BIG = "gpt-4o"
BIG_SERVED = "gpt-4o-2024-08-06"
LOCAL_MODEL = "acme-local-llama-7b"  # not in the registry
SERVED = {MINI: MINI_SERVED, BIG: BIG_SERVED}  # what the server answers for the name asked for
OPENAI_URL = "https://api.openai.com/v1"
LOCAL_URL = "http://127.0.0.1:8000/v1"  # a local server: its calls count under the provider "local"
PIECES = ("Paris", " is", " the", " capital", " of", " France", ".")
REL = 1e-12


# -- the offline server ---------------------------------------------------------------------------------


def _tokens_asked(body: dict[str, Any]) -> int:
    content = body["messages"][-1]["content"]
    return int(content.split("tokens=", 1)[1])


def _completion(model: str, tokens: int) -> dict[str, Any]:
    return {
        "id": "chatcmpl-track",
        "object": "chat.completion",
        "created": 1_735_689_600,
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": "Paris is the capital of France.", "refusal": None},
                "finish_reason": "stop",
                "logprobs": None,
            }
        ],
        "usage": {"prompt_tokens": 13, "completion_tokens": tokens, "total_tokens": 13 + tokens},
    }


def _sse(item: dict[str, Any]) -> bytes:
    return b"data: " + json.dumps(item).encode() + b"\n\n"


def _chunks(model: str, tokens: int, include_usage: bool) -> bytes:
    def chunk(choices: list[dict[str, Any]], **extra: Any) -> bytes:
        body = {"id": "chatcmpl-track", "object": "chat.completion.chunk", "created": 1_735_689_600, "model": model}
        return _sse({**body, "choices": choices, **extra})

    events = [chunk([{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}])]
    events += [chunk([{"index": 0, "delta": {"content": p}, "finish_reason": None}]) for p in PIECES]
    events.append(chunk([{"index": 0, "delta": {}, "finish_reason": "stop"}]))
    if include_usage:
        events.append(chunk([], usage={"prompt_tokens": 13, "completion_tokens": tokens, "total_tokens": 13 + tokens}))
    events.append(b"data: [DONE]\n\n")
    return b"".join(events)


class Server:
    """Chat completions only: serves ``SERVED[model]`` (or the model asked for) with the tokens asked for."""

    def __init__(self) -> None:
        self.requests = 0
        self._lock = threading.Lock()

    def handle(self, request: httpx2.Request) -> httpx2.Response:
        with self._lock:
            self.requests += 1
        body = json.loads(request.content)
        model = SERVED.get(body["model"], body["model"])
        tokens = _tokens_asked(body)
        if body.get("stream"):
            usage = bool((body.get("stream_options") or {}).get("include_usage"))
            return httpx2.Response(
                200, content=_chunks(model, tokens, usage), headers={"content-type": "text/event-stream"}
            )
        return httpx2.Response(200, json=_completion(model, tokens))

    async def ahandle(self, request: httpx2.Request) -> httpx2.Response:
        await asyncio.sleep(0)  # a yield point, so concurrent requests interleave
        return self.handle(request)

    def client(self, base_url: str = OPENAI_URL) -> openai.OpenAI:
        transport = httpx2.MockTransport(self.handle)
        return openai.OpenAI(
            api_key="sk-test", base_url=base_url, max_retries=0, http_client=httpx2.Client(transport=transport)
        )

    def async_client(self, base_url: str = OPENAI_URL) -> openai.AsyncOpenAI:
        transport = httpx2.MockTransport(self.ahandle)
        return openai.AsyncOpenAI(
            api_key="sk-test", base_url=base_url, max_retries=0, http_client=httpx2.AsyncClient(transport=transport)
        )


def ask(tokens: int) -> list[dict[str, str]]:
    return [{"role": "user", "content": f"tokens={tokens}"}]


def chat(client: openai.OpenAI, tokens: int, model: str = MINI) -> Any:
    return client.chat.completions.create(model=model, messages=ask(tokens))


async def achat(client: openai.AsyncOpenAI, tokens: int, model: str = MINI) -> Any:
    return await client.chat.completions.create(model=model, messages=ask(tokens))


# -- checks ---------------------------------------------------------------------------------------------


def flat_bounds(impacts: Impacts) -> tuple[float, ...]:
    """Every bound of ``impacts``, in ``ALL_KEYS`` order (min then max)."""
    return tuple(bound for key in ALL_KEYS for bound in (range_at(impacts, key).min, range_at(impacts, key).max))


def impacts_of(responses: Sequence[Any]) -> list[Impacts]:
    out = []
    for response in responses:
        assert isinstance(response.impacts, Impacts), response
        out.append(response.impacts)
    return out


def assert_same_total(total: Impacts | None, parts: Sequence[Impacts]) -> None:
    """``total`` is ``sum(parts)`` bound by bound, every range, within ``REL``; it counts their calls."""
    assert parts, "nothing to compare with"
    assert total is not None
    expected = sum(parts)
    assert isinstance(expected, Impacts)
    assert total.calls == expected.calls == sum(p.calls for p in parts)
    assert total.inputs is None
    for key in ALL_KEYS:
        got, want = range_at(total, key), range_at(expected, key)
        assert got.unit == want.unit, key
        assert want.max > 0, key  # a real figure, not a sum of zeros
        assert math.isclose(got.min, want.min, rel_tol=REL, abs_tol=0.0), (key, got.min, want.min)
        assert math.isclose(got.max, want.max, rel_tol=REL, abs_tol=0.0), (key, got.max, want.max)


def assert_exact_sums(got: Sequence[float], parts: Sequence[Sequence[float]], label: str = "") -> None:
    """Each of ``got`` within 1e-13 relative of the exact (``fsum``) sum of that bound over ``parts``."""
    for index, (value, column) in enumerate(zip(got, zip(*parts, strict=True), strict=True)):
        assert math.isclose(value, math.fsum(column), rel_tol=1e-13, abs_tol=0.0), (label, index)


def assert_run(run: gf.Run, responses: Sequence[Any]) -> None:
    """``run`` holds exactly these estimated calls, no others."""
    assert run.calls == len(responses)
    assert run.estimated_calls == len(responses)
    assert run.unestimated_calls == 0
    assert run.unestimated_models == {}
    assert_same_total(run.impacts, impacts_of(responses))


def _sized_state(run: gf.Run) -> dict[str, int]:
    """The length of every container a run holds, its own and those of its running totals."""
    sizes: dict[str, int] = {}

    def visit(prefix: str, obj: Any) -> None:
        names = list(getattr(obj, "__dict__", {}))
        for cls in type(obj).__mro__:
            names += [n for n in getattr(cls, "__slots__", ()) if hasattr(obj, n)]
        for name in names:
            value = getattr(obj, name)
            if isinstance(value, (list, tuple, dict, set, frozenset, str, collections.deque)):
                sizes[f"{prefix}{name}"] = len(value)
            if isinstance(value, dict):
                for key, item in value.items():
                    if hasattr(item, "__slots__") or hasattr(item, "__dict__"):
                        visit(f"{prefix}{name}[{key}].", item)
            elif hasattr(value, "__slots__") and not isinstance(value, (str, tuple, type(run._lock))):
                visit(f"{prefix}{name}.", value)

    visit("", run)
    return sizes


# -- fixtures -------------------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _instrumented(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    # A stream cut short has its tokens counted from text: never start a tiktoken download from a test.
    monkeypatch.setattr(_tokens, "_encoders", {})
    monkeypatch.setattr(_tokens, "_load_in_background", lambda model: None)
    gf.shutdown()
    gf.init(providers=["openai"])
    yield
    gf.shutdown()


@pytest.fixture
def server() -> Server:
    return Server()


@pytest.fixture
def client(server: Server) -> openai.OpenAI:
    return server.client()


@pytest.fixture
def aclient(server: Server) -> openai.AsyncOpenAI:
    return server.async_client()


# -- sync blocks ----------------------------------------------------------------------------------------


def test_sync_block_sums_every_call_exactly(client: openai.OpenAI) -> None:
    tokens = [3, 50, 1, 400, 17, 99, 250]
    assert gf.current_run() is None
    before = chat(client, 1000)  # outside any tracker: counts nowhere
    with gf.track("agent") as run:
        assert gf.current_run() is run
        assert run.calls == 0
        assert run.impacts is None
        responses = [chat(client, n) for n in tokens]
    assert gf.current_run() is None
    after = chat(client, 1000)
    assert isinstance(before.impacts, Impacts) and isinstance(after.impacts, Impacts)

    # The server's token counts reached the estimates: the calls really differ from each other.
    assert [r.impacts.inputs.output_tokens for r in responses] == tokens
    assert len({r.impacts.energy.max for r in responses}) == len(tokens)

    assert run.name == "agent"
    assert run.path == ("agent",)
    assert_run(run, responses)
    assert run.impacts.calls == len(tokens)
    assert run.impacts.inputs is None
    assert run.impacts.methodology_version == responses[0].impacts.methodology_version
    assert "agent" in repr(run) and f"calls={len(tokens)}" in repr(run)


def test_block_left_by_an_exception_keeps_its_calls_and_closes(client: openai.OpenAI) -> None:
    with pytest.raises(RuntimeError, match="agent failed"), gf.track("agent") as run:
        responses = [chat(client, 5), chat(client, 6)]
        raise RuntimeError("agent failed")
    assert gf.current_run() is None
    chat(client, 7)
    assert_run(run, responses)


# -- async blocks ---------------------------------------------------------------------------------------


async def test_async_block_sums_awaited_and_gathered_calls(aclient: openai.AsyncOpenAI) -> None:
    async with gf.track("async-agent") as run:
        assert gf.current_run() is run
        responses = [await achat(aclient, n) for n in (4, 40, 400)]
        # Tasks started inside the block inherit its trackers.
        responses += await asyncio.gather(*(achat(aclient, n) for n in (7, 70, 700, 7000)))
    assert gf.current_run() is None
    await achat(aclient, 5)  # after the block
    assert run.path == ("async-agent",)
    assert_run(run, responses)
    assert run.impacts.calls == 7


# -- decorators -----------------------------------------------------------------------------------------


def test_decorated_sync_function_is_one_fresh_run_per_invocation(client: openai.OpenAI) -> None:
    @gf.track("job")
    def job(*tokens: int) -> list[Any]:
        """Make one call per token count."""
        assert gf.current_run() is job.last_run  # type: ignore[attr-defined]
        return [chat(client, n) for n in tokens]

    assert job.__name__ == "job" and job.__doc__ == "Make one call per token count."
    assert job.last_run is None  # type: ignore[attr-defined]

    first = job(10, 20, 30)
    run1 = job.last_run  # type: ignore[attr-defined]
    assert gf.current_run() is None
    second = job(5, 6)
    run2 = job.last_run  # type: ignore[attr-defined]

    assert run1 is not run2
    assert run1.path == run2.path == ("job",)
    assert_run(run1, first)
    assert_run(run2, second)
    assert run1.calls == 3 and run2.calls == 2  # the second invocation did not add to the first run


async def test_decorated_async_function_is_one_fresh_run_per_invocation(aclient: openai.AsyncOpenAI) -> None:
    @gf.track("ajob")
    async def ajob(*tokens: int) -> list[Any]:
        assert gf.current_run() is ajob.last_run  # type: ignore[attr-defined]
        return [await achat(aclient, n) for n in tokens]

    assert asyncio.iscoroutinefunction(ajob)
    assert ajob.last_run is None  # type: ignore[attr-defined]

    first = await ajob(11, 22, 33, 44)
    run1 = ajob.last_run  # type: ignore[attr-defined]
    assert gf.current_run() is None
    second = await ajob(9)
    run2 = ajob.last_run  # type: ignore[attr-defined]

    assert run1 is not run2
    assert_run(run1, first)
    assert_run(run2, second)


# -- streams --------------------------------------------------------------------------------------------


def test_stream_counts_when_it_ends_in_the_block_it_started_in(client: openai.OpenAI) -> None:
    with gf.track("agent") as run:
        plain = chat(client, 8)
        stream = client.chat.completions.create(model=MINI, messages=ask(321), stream=True)
        assert run.calls == 1  # not yet: a stream counts once it ends
    with gf.track("later") as later:
        text = "".join(c.choices[0].delta.content or "" for c in stream)  # consumed after the block
        other = chat(client, 9)
    assert text == "".join(PIECES)
    assert isinstance(stream.impacts, Impacts)
    assert stream.impacts.inputs.output_tokens == 321  # from the usage chunk
    assert_run(run, [plain, stream])
    assert_run(later, [other])  # the stream belongs to the block it was created in

    # Ending it again (close, exit, garbage collection) does not count it twice.
    stream.close()
    with stream:
        pass
    del stream
    gc.collect()
    assert run.calls == 2
    assert run.impacts.calls == 2


async def test_async_stream_counts_in_its_block_even_consumed_in_another_task(
    aclient: openai.AsyncOpenAI,
) -> None:
    async with gf.track("agent") as run:
        stream = await aclient.chat.completions.create(model=MINI, messages=ask(123), stream=True)
        assert run.calls == 0

    async def consume() -> tuple[str, gf.Run]:
        async with gf.track("consumer") as consumer:
            text = "".join([c.choices[0].delta.content or "" async for c in stream])
        return text, consumer

    text, consumer = await asyncio.create_task(consume())
    assert text == "".join(PIECES)
    assert consumer.calls == 0
    assert_run(run, [stream])
    await stream.close()
    gc.collect()
    assert run.calls == 1


def test_stream_broken_early_then_closed_counts_once(client: openai.OpenAI) -> None:
    with gf.track("agent") as run:
        stream = client.chat.completions.create(model=MINI, messages=ask(500), stream=True)
        for chunk in stream:
            if chunk.choices and chunk.choices[0].delta.content:
                break
        assert run.calls == 0  # broken off, not closed: not ended yet
        stream.close()
        assert run.calls == 1
        stream.close()
        with stream:
            pass
    del stream
    gc.collect()
    assert run.calls == 1
    assert run.estimated_calls == 1
    impacts = run.impacts
    assert impacts is not None and impacts.calls == 1
    assert "stream-partial" in {w.code for w in impacts.warnings}


def test_stream_left_by_with_counts_once(client: openai.OpenAI) -> None:
    with gf.track("agent") as run:
        with client.chat.completions.create(model=MINI, messages=ask(60), stream=True) as stream:
            next(iter(stream))
        assert run.calls == 1
        with client.chat.completions.create(model=MINI, messages=ask(61), stream=True) as full:
            list(full)
    gc.collect()
    assert run.calls == 2
    assert_run(run, [stream, full])


# -- nesting --------------------------------------------------------------------------------------------


def test_nested_trackers_each_count_every_call_inside(client: openai.OpenAI) -> None:
    with gf.track("outer") as outer:
        a = chat(client, 1)
        with gf.track("inner") as inner:
            b = chat(client, 2)
            with gf.track("deep") as deep:
                assert gf.current_run() is deep
                c = chat(client, 3)
            assert gf.current_run() is inner
            d = chat(client, 4)
        e = chat(client, 5)
    assert outer.path == ("outer",)
    assert inner.path == ("outer", "inner")
    assert deep.path == ("outer", "inner", "deep")
    assert_run(outer, [a, b, c, d, e])
    assert_run(inner, [b, c, d])
    assert_run(deep, [c])


def test_sibling_trackers_do_not_see_each_other(client: openai.OpenAI) -> None:
    with gf.track("outer") as outer:
        with gf.track("left") as left:
            lefts = [chat(client, n) for n in (10, 11)]
        with gf.track("right") as right:
            rights = [chat(client, n) for n in (20, 21, 22)]
    assert left.path == ("outer", "left")
    assert right.path == ("outer", "right")
    assert_run(left, lefts)
    assert_run(right, rights)
    assert_run(outer, lefts + rights)


def test_same_name_nested_is_two_runs(client: openai.OpenAI) -> None:
    with gf.track("step") as a:
        first = chat(client, 3)
        with gf.track("step") as b:
            second = chat(client, 4)
    assert a is not b
    assert b.path == ("step", "step")
    assert_run(a, [first, second])
    assert_run(b, [second])


# -- isolation ------------------------------------------------------------------------------------------


async def test_concurrent_tasks_each_count_only_their_own_calls(aclient: openai.AsyncOpenAI) -> None:
    async def agent(i: int) -> tuple[gf.Run, list[Any]]:
        async with gf.track(f"task-{i}") as run:
            responses = []
            for j in range(i % 6 + 1):  # a different number of calls per task
                if j % 3 == 2:  # some streams, consumed across many yield points
                    stream = await aclient.chat.completions.create(
                        model=MINI, messages=ask(1000 * i + j + 1), stream=True
                    )
                    async for _ in stream:
                        await asyncio.sleep(0)
                    responses.append(stream)
                else:
                    responses.append(await achat(aclient, 1000 * i + j + 1))
                await asyncio.sleep(0)
            return run, responses

    async with gf.track("all") as everything:
        results = await asyncio.gather(*(agent(i) for i in range(50)))

    for i, (run, responses) in enumerate(results):
        assert run.path == ("all", f"task-{i}")
        assert len(responses) == i % 6 + 1
        assert_run(run, responses)
    assert_run(everything, [r for _, responses in results for r in responses])


def test_threads_each_count_only_their_own_calls(server: Server) -> None:
    client = server.client()
    barrier = threading.Barrier(8)
    results: dict[int, tuple[gf.Run, list[Any]]] = {}
    errors: list[BaseException] = []

    def worker(i: int) -> None:
        try:
            barrier.wait()
            with gf.track(f"thread-{i}") as run:
                responses = [chat(client, 100 * i + j + 1) for j in range(3 * (i + 1))]
            results[i] = (run, responses)
        except BaseException as exc:  # reported by the test thread
            errors.append(exc)

    with gf.track("main") as main:
        threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert not errors, errors
    for i in range(8):
        run, responses = results[i]
        assert run.path == (f"thread-{i}",)  # threads start outside the main thread's trackers
        assert_run(run, responses)
    assert main.calls == 0


def test_tracker_does_not_follow_into_a_thread_pool_unless_carried(client: openai.OpenAI) -> None:
    with gf.track("pool") as run, ThreadPoolExecutor(max_workers=4) as pool:
        uncarried = list(pool.map(lambda n: chat(client, n), [1, 2, 3, 4]))
        assert pool.submit(gf.current_run).result() is None
        carried = list(pool.map(gf.carry(lambda n: chat(client, n)), [5, 6, 7, 8, 9]))
        assert pool.submit(gf.carry(gf.current_run)).result() is run
    assert all(isinstance(r.impacts, Impacts) for r in uncarried)  # instrumented, just not tracked
    assert_run(run, carried)
    # carry() leaves the worker threads as it found them.
    with ThreadPoolExecutor(max_workers=1) as pool:
        assert pool.submit(gf.current_run).result() is None


def test_carry_keeps_the_whole_stack_and_counts_under_contention(server: Server) -> None:
    client = server.client()
    with gf.track("outer") as outer, gf.track("fan-out") as fan:
        work = gf.carry(lambda n: chat(client, n))
        with ThreadPoolExecutor(max_workers=8) as pool:
            responses = list(pool.map(work, range(1, 201)))
    assert fan.path == ("outer", "fan-out")
    assert_run(fan, responses)
    assert_run(outer, responses)


def test_one_track_object_entered_by_concurrent_threads(client: openai.OpenAI) -> None:
    # A tracker object made once (e.g. at module level) and entered by every request handler thread:
    # each entry is its own run, whichever thread leaves first.
    agent = gf.track("agent")
    first_in, second_in, first_out = threading.Event(), threading.Event(), threading.Event()
    results: dict[str, tuple[gf.Run, list[Any]]] = {}
    errors: list[BaseException] = []
    after: dict[str, gf.Run | None] = {}

    def first() -> None:
        try:
            with agent as run:
                first_in.set()
                second_in.wait(5)
                results["first"] = (run, [chat(client, 1)])
            after["first"] = gf.current_run()
        except BaseException as exc:
            errors.append(exc)
        finally:
            first_in.set()
            first_out.set()

    def second() -> None:
        try:
            first_in.wait(5)
            with agent as run:
                second_in.set()
                first_out.wait(5)  # the first thread leaves while this one is still inside
                results["second"] = (run, [chat(client, 2), chat(client, 3)])
            after["second"] = gf.current_run()
        except BaseException as exc:
            errors.append(exc)
        finally:
            second_in.set()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    assert after == {"first": None, "second": None}
    (run1, calls1), (run2, calls2) = results["first"], results["second"]
    assert run1 is not run2
    assert_run(run1, calls1)
    assert_run(run2, calls2)


async def test_one_track_object_entered_by_concurrent_tasks(aclient: openai.AsyncOpenAI) -> None:
    agent = gf.track("agent")
    first_in, first_out = asyncio.Event(), asyncio.Event()

    async def first() -> tuple[gf.Run, list[Any], gf.Run | None]:
        try:
            async with agent as run:
                first_in.set()
                await asyncio.sleep(0)  # the second task enters now
                responses = [await achat(aclient, 1)]
            return run, responses, gf.current_run()
        finally:
            first_in.set()
            first_out.set()

    async def second() -> tuple[gf.Run, list[Any], gf.Run | None]:
        await first_in.wait()
        async with agent as run:
            await first_out.wait()  # the first task leaves while this one is still inside
            responses = [await achat(aclient, 2), await achat(aclient, 3)]
        return run, responses, gf.current_run()

    results = await asyncio.gather(first(), second(), return_exceptions=True)
    errors = [r for r in results if isinstance(r, BaseException)]
    assert not errors, errors
    (run1, calls1, after1), (run2, calls2, after2) = results
    assert after1 is None and after2 is None
    assert run1 is not run2
    assert_run(run1, calls1)
    assert_run(run2, calls2)


# -- unknown models and per-model totals ----------------------------------------------------------------


def test_unknown_model_is_counted_but_not_estimated(server: Server, caplog: pytest.LogCaptureFixture) -> None:
    local = server.client(base_url=LOCAL_URL)
    with caplog.at_level(logging.WARNING, logger="genai_footprint"), gf.track("local") as run:
        responses = [chat(local, n, model=LOCAL_MODEL) for n in (5, 6, 7)]
    assert all(r.impacts is None for r in responses)
    assert [r.levelname for r in caplog.records if LOCAL_MODEL in r.getMessage()] == ["WARNING"]  # warned once
    assert run.calls == 3
    assert run.estimated_calls == 0
    assert run.unestimated_calls == 3
    assert run.unestimated_models == {f"local/{LOCAL_MODEL}": 3}
    assert run.impacts is None
    assert run.by_model == {}
    assert "calls=3" in repr(run)


def test_known_and_unknown_models_in_one_block(server: Server) -> None:
    remote, local = server.client(), server.client(base_url=LOCAL_URL)
    with gf.track("mixed") as run:
        known = [chat(remote, 12), chat(remote, 13)]
        unknown = chat(local, 14, model=LOCAL_MODEL)
    assert unknown.impacts is None
    assert run.calls == 3
    assert run.estimated_calls == 2
    assert run.unestimated_calls == 1
    assert run.unestimated_models == {f"local/{LOCAL_MODEL}": 1}
    assert_same_total(run.impacts, impacts_of(known))
    assert set(run.by_model) == {f"openai/{MINI_SERVED}"}


def test_by_model_keeps_one_total_per_resolved_model(client: openai.OpenAI) -> None:
    with gf.track("agent") as run:
        minis = [chat(client, n, model=MINI) for n in (10, 20, 30)]
        bigs = [chat(client, n, model=BIG) for n in (40, 50)]
    assert {r.impacts.inputs.model_resolved for r in minis} == {MINI_SERVED}
    assert {r.impacts.inputs.model_resolved for r in bigs} == {BIG_SERVED}
    by_model = run.by_model
    assert set(by_model) == {f"openai/{MINI_SERVED}", f"openai/{BIG_SERVED}"}
    assert by_model[f"openai/{MINI_SERVED}"].calls == 3
    assert by_model[f"openai/{BIG_SERVED}"].calls == 2
    assert_same_total(by_model[f"openai/{MINI_SERVED}"], impacts_of(minis))
    assert_same_total(by_model[f"openai/{BIG_SERVED}"], impacts_of(bigs))
    assert_same_total(run.impacts, impacts_of(minis + bigs))
    assert_same_total(sum(by_model.values()), impacts_of(minis + bigs))
    # A snapshot: later calls do not change a by_model already read.
    with gf.track("again"):
        pass
    assert by_model[f"openai/{MINI_SERVED}"].calls == 3


# -- memory ---------------------------------------------------------------------------------------------


def test_memory_is_per_model_not_per_call(client: openai.OpenAI) -> None:
    with gf.track("many") as run:
        first = [chat(client, n) for n in (1, 2, 3)]
        assert run.calls == 3
        sizes_early = _sized_state(run)
        energy = math.fsum(r.impacts.energy.max for r in first)
        for i in range(1997):
            energy += chat(client, i % 97 + 1).impacts.energy.max
    assert run.calls == 2000
    assert run.impacts is not None and run.impacts.calls == 2000
    assert math.isclose(run.impacts.energy.max, energy, rel_tol=1e-9)
    assert list(run._by_model) == [f"openai/{MINI_SERVED}"]  # one model: one running total
    assert _sized_state(run) == sizes_early  # no list, dict, set or queue grew with the calls
    assert sizes_early[f"_by_model[openai/{MINI_SERVED}].sums"] == 16  # the running totals were looked into


def test_totals_are_the_sums_of_the_calls_bounds_with_reads_in_between(client: openai.OpenAI) -> None:
    # Runs of one model and of the other, read now and then: every total, the run's and each model's, is the
    # sum of its calls' bounds (each bound within rounding of the exact sum of the per-call figures).
    models = [MINI if (i // 3) % 2 == 0 else BIG for i in range(150)]
    with gf.track("order") as run:
        responses = []
        for i, model in enumerate(models):
            responses.append(chat(client, i % 37 + 1, model=model))
            if i in (5, 70, 71):
                assert run.calls == i + 1
                assert_same_total(run.impacts, impacts_of(responses))
    flats = [flat_bounds(r.impacts) for r in responses]
    keys = [f"openai/{r.impacts.inputs.model_resolved}" for r in responses]
    assert run.impacts is not None
    assert_exact_sums(flat_bounds(run.impacts), flats)
    by_model = run.by_model
    assert set(by_model) == set(keys) == {f"openai/{MINI_SERVED}", f"openai/{BIG_SERVED}"}
    for key, impacts in by_model.items():
        assert_exact_sums(flat_bounds(impacts), [f for f, k in zip(flats, keys, strict=True) if k == key], key)
    assert by_model[f"openai/{MINI_SERVED}"].calls == models.count(MINI)
    assert by_model[f"openai/{BIG_SERVED}"].calls == models.count(BIG)


def test_instrumented_and_hand_added_estimates_add_into_one_model_total(client: openai.OpenAI) -> None:
    # Instrumented calls are added when they end; estimates made by hand are added with Run.add. Both land in
    # the one total of their resolved model.
    by_hand = [gf.estimate("openai", MINI_SERVED, output_tokens=n, latency_s=0.5 + n / 100) for n in (10, 250, 4000)]
    with gf.track("mixed") as run:
        responses = [chat(client, n) for n in (3, 40, 700)]
        for impacts in by_hand:
            run.add("openai", MINI, impacts)
    parts = [*impacts_of(responses), *by_hand]
    assert run.calls == 6
    assert list(run.by_model) == [f"openai/{MINI_SERVED}"]
    assert_same_total(run.by_model[f"openai/{MINI_SERVED}"], parts)
    assert_same_total(run.impacts, parts)


def test_one_model_served_from_many_zones_keeps_one_total(client: openai.OpenAI) -> None:
    # The serving zone changes between calls (here by re-initialising; a live grid intensity does the same):
    # the run still keeps one running total per model, and it is right.
    zones = ["FRA", "DEU", "SWE", "POL", "FRA"]
    with gf.track("zones") as run:
        responses = []
        for i, zone in enumerate(zones):
            gf.init(providers=["openai"], zone=zone)
            responses.append(chat(client, 10 + i))
            assert len(run._by_model) == 1
    gf.init(providers=["openai"])
    assert [r.impacts.inputs.zone for r in responses] == zones
    assert len({r.impacts.inputs.mix.gwp for r in responses}) == 4  # the zones really differ
    assert run.calls == len(zones)
    assert_same_total(run.impacts, impacts_of(responses))
    assert_same_total(run.by_model[f"openai/{MINI_SERVED}"], impacts_of(responses))


def assert_fsum_total(total: Impacts | None, parts: Sequence[Impacts], label: str) -> None:
    """Every bound of ``total`` (all 13 ranges) within 1e-12 relative of the exact ``fsum`` of the parts'."""
    assert total is not None, label
    assert total.calls == len(parts), label
    assert total.inputs is None, label
    for key in ALL_KEYS:
        got = range_at(total, key)
        assert got.unit == range_at(parts[0], key).unit, (label, key)
        for bound in ("min", "max"):
            want = math.fsum(getattr(range_at(p, key), bound) for p in parts)
            value = getattr(got, bound)
            assert want > 0, (label, key, bound)  # a real figure, not a sum of zeros
            assert math.isclose(value, want, rel_tol=1e-12, abs_tol=0.0), (label, key, bound, value, want)


def test_twenty_thousand_added_estimates_total_exactly_per_model_and_overall() -> None:
    import random

    rng = random.Random(20_000)
    models = [("openai", MINI), ("openai", BIG), ("anthropic", "claude-3-5-haiku-latest")]
    run = gf.Run("many", ())
    added: dict[str, list[Impacts]] = {}
    for i in range(20_000):
        provider, model = models[i % 3] if i % 7 else models[rng.randrange(3)]
        # Tokens over six orders of magnitude; latencies unknown, tiny (capping the time) or long.
        tokens = rng.choice([0, 1, 2, 17]) if i % 11 == 0 else int(10 ** rng.uniform(0, 6))
        latency = None if i % 5 == 0 else 10 ** rng.uniform(-4, 3)
        impacts = gf.estimate(provider, model, output_tokens=tokens, latency_s=latency)
        assert impacts.inputs is not None
        run.add(provider, model, impacts)
        added.setdefault(f"{provider}/{impacts.inputs.model_resolved}", []).append(impacts)
    assert len(added) == 3 and all(len(parts) > 5000 for parts in added.values())
    by_model = run.by_model
    assert set(by_model) == set(added)
    for key, parts in added.items():
        assert_fsum_total(by_model[key], parts, key)
    everything = [p for parts in added.values() for p in parts]
    assert run.calls == run.estimated_calls == len(everything) == 20_000
    assert_fsum_total(run.impacts, everything, "run")
    assert_fsum_total(sum(by_model.values()), everything, "sum of by_model")


def test_a_huge_call_does_not_swallow_a_hundred_thousand_small_ones() -> None:
    # Added one by one to the huge call's running total, each small call is about half a unit in its last place
    # or less: plain float addition loses (or rounds up) nearly all of them and ends more than 1e-12 away from the
    # exact sum, on every bound. The tracker's totals stay within 1e-12.
    huge = gf.estimate("openai", MINI, output_tokens=1.6e17, latency_s=None)
    small = [gf.estimate("openai", MINI, output_tokens=n, latency_s=None) for n in (1, 2)]
    parts = [huge, *(small[i % 2] for i in range(100_000))]
    for key in ALL_KEYS:
        for bound in ("min", "max"):
            values = [getattr(range_at(p, key), bound) for p in parts]
            plain = 0.0
            for value in values:
                plain += value
            exact = math.fsum(values)
            assert abs(plain - exact) > 1e-12 * exact, (key, bound)  # the test can tell plain addition apart
    run = gf.Run("skewed", ())
    for impacts in parts:
        run.add("openai", MINI, impacts)
    assert_fsum_total(run.impacts, parts, "run")
    assert huge.inputs is not None
    assert list(run.by_model) == [f"openai/{huge.inputs.model_resolved}"]
    assert_fsum_total(run.by_model[f"openai/{huge.inputs.model_resolved}"], parts, "by_model")


def test_two_thousand_instrumented_calls_total_exactly(server: Server) -> None:
    client, aclient = server.client(), server.async_client()

    async def streamed(count: int) -> list[Any]:
        streams = []
        for i in range(count):
            model = BIG if i % 2 else MINI
            stream = await aclient.chat.completions.create(
                model=model, messages=ask((i * 7919) % 50_000 + 1), stream=True, stream_options={"include_usage": True}
            )
            async for _ in stream:
                pass
            streams.append(stream)
        return streams

    with gf.track("instrumented") as run:
        responses = [
            chat(client, (i * 104_729) % 100_000 + i % 13, model=BIG if i % 3 == 0 else MINI) for i in range(1800)
        ]
        responses += asyncio.run(streamed(200))
    parts = impacts_of(responses)
    assert len({p.inputs.output_tokens for p in parts}) > 1500
    assert len({p.inputs.latency_s for p in parts}) > 1500  # real, measured latencies
    keys = [f"openai/{p.inputs.model_resolved}" for p in parts]
    by_model = run.by_model
    assert set(by_model) == set(keys) == {f"openai/{MINI_SERVED}", f"openai/{BIG_SERVED}"}
    for key, total in by_model.items():
        assert_fsum_total(total, [p for p, k in zip(parts, keys, strict=True) if k == key], key)
    assert_fsum_total(run.impacts, parts, "run")


def test_adds_from_many_threads_while_others_read_lose_nothing() -> None:
    one = gf.estimate("openai", "gpt-4o-mini", output_tokens=120, latency_s=1.5)
    other = gf.estimate("anthropic", "claude-3-5-haiku-latest", output_tokens=40, latency_s=0.7)
    run = gf.Run("shared", ())
    barrier = threading.Barrier(9)
    stop = threading.Event()
    seen: list[int] = []
    errors: list[BaseException] = []

    def adder(i: int) -> None:
        try:
            barrier.wait()
            for j in range(500):
                if j % 5 == 4:
                    run.add("openai", "no-such-model", None)
                elif i % 2:
                    run.add("anthropic", "claude-3-5-haiku-latest", other)
                else:
                    run.add("openai", "gpt-4o-mini", one)
        except BaseException as exc:  # reported by the test thread
            errors.append(exc)

    def reader() -> None:
        barrier.wait()
        while not stop.is_set():
            seen.append(run.calls)
            assert run.by_model is not None

    threads = [threading.Thread(target=adder, args=(i,)) for i in range(8)]
    watcher = threading.Thread(target=reader)
    for t in [*threads, watcher]:
        t.start()
    for t in threads:
        t.join()
    stop.set()
    watcher.join()
    assert not errors, errors
    assert seen == sorted(seen)  # a count read never goes back
    assert run.calls == 4000
    assert run.unestimated_calls == 800
    assert run.unestimated_models == {"openai/no-such-model": 800}
    by_model = run.by_model
    keys = (f"openai/{one.inputs.model_resolved}", f"anthropic/{other.inputs.model_resolved}")
    assert set(by_model) == set(keys)
    assert by_model[keys[0]].calls == by_model[keys[1]].calls == 1600
    assert run.impacts is not None and run.impacts.calls == 3200
    want = math.fsum([one.energy.max] * 1600 + [other.energy.max] * 1600)
    assert math.isclose(run.impacts.energy.max, want, rel_tol=1e-12)


@pytest.mark.parametrize("bad", [{"energy": 1.0}, 3.5, "impacts"])
def test_add_refuses_what_is_not_impacts(bad: Any) -> None:
    run = gf.Run("mine", ())
    with pytest.raises(gf.InvalidInputError, match="impacts"):
        run.add("openai", "gpt-4o-mini", bad)
    assert run.calls == 0


# -- arguments ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["", None, 3, b"agent"])
def test_bad_name_is_refused(name: Any) -> None:
    with pytest.raises(gf.InvalidInputError):
        gf.track(name)
    assert gf.current_run() is None


def test_track_refuses_generator_functions() -> None:
    with pytest.raises(gf.InvalidInputError, match="generator"):

        @gf.track("gen")
        def gen():  # type: ignore[no-untyped-def]
            yield 1

    with pytest.raises(gf.InvalidInputError, match="generator"):

        @gf.track("agen")
        async def agen():  # type: ignore[no-untyped-def]
            yield 1
