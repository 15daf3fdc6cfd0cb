"""One measurement job, run by ``run.py`` in a fresh interpreter; prints one JSON object on its last line.

``python benchmarks/measure.py '<spec>'`` where the JSON spec names a ``job``:

- ``fresh``: import, ``init()`` and first instrumented call of one tool (genai_footprint or the peer) for one
  provider, in this fresh process;
- ``steady``: ``fresh``, then plain vs instrumented calls and streams in short interleaved rounds;
- ``tracker``: OpenAI calls plain, instrumented, and instrumented inside ``track()`` with an exporter attached;
- ``callgrind``: plain and instrumented batches, each bracketed by callgrind client requests (run under
  ``valgrind --tool=callgrind``; ``run.py`` reads the instruction counts from the dump files).

Instrumentation is switched on and off around the same client, so both sides of a comparison run the same
objects through the same SDK code: genai_footprint with ``init()`` / ``shutdown()``, the peer (which has no
way to undo its ``init``) by putting back and re-installing the methods it wrapped.
"""

from __future__ import annotations

import ctypes
import gc
import itertools
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

sys.path.insert(0, str(Path(__file__).resolve().parent))

import fakes
import stats

OURS, PEER = "genai_footprint", "ecologits"
MESSAGES = [{"role": "user", "content": "hi"}]


@dataclass(frozen=True)
class Case:
    """One SDK entry point. ``run`` makes one call (reading a stream to its end) and returns the objects that
    may carry ``impacts`` (the response; for a stream, the stream and its last item)."""

    name: str
    chunks: int  # content chunks per stream; 0 for a non-stream call
    run: Callable[[], tuple[Any, ...]]


def cases(provider: str, chunks: int) -> list[Case]:
    """The entry points measured for ``provider``, over a fake endpoint whose streams are ``chunks`` long."""
    if provider == "openai":
        return _openai_cases(chunks)
    if provider == "anthropic":
        return _anthropic_cases(chunks)
    if provider == "mistralai":
        return _mistral_cases(chunks)
    raise ValueError(f"unknown provider {provider!r}")


def _drain(stream: Any) -> tuple[Any, ...]:
    last = None
    for last in stream:  # noqa: B007
        pass
    return stream, last


def _openai_cases(chunks: int) -> list[Case]:
    completions = fakes.openai_client(chunks).chat.completions
    model = fakes.OPENAI_MODEL

    def call() -> tuple[Any, ...]:
        return (completions.create(model=model, messages=MESSAGES),)

    def stream() -> tuple[Any, ...]:
        return _drain(completions.create(model=model, messages=MESSAGES, stream=True))

    return [Case("call", 0, call), Case("stream", chunks, stream)]


def _anthropic_cases(chunks: int) -> list[Case]:
    messages = fakes.anthropic_client(chunks).messages
    model = fakes.ANTHROPIC_MODEL

    def call() -> tuple[Any, ...]:
        return (messages.create(model=model, max_tokens=1024, messages=MESSAGES),)

    def stream() -> tuple[Any, ...]:
        return _drain(messages.create(model=model, max_tokens=1024, messages=MESSAGES, stream=True))

    def stream_helper() -> tuple[Any, ...]:
        # The SDK's documented way to stream: the helper, read through text_stream.
        with messages.stream(model=model, max_tokens=1024, messages=MESSAGES) as helper:
            for _ in helper.text_stream:
                pass
        return (helper,)

    return [Case("call", 0, call), Case("stream", chunks, stream), Case("stream_helper", chunks, stream_helper)]


def _mistral_cases(chunks: int) -> list[Case]:
    chat = fakes.mistral_client(chunks).chat
    model = fakes.MISTRAL_MODEL

    def call() -> tuple[Any, ...]:
        return (chat.complete(model=model, messages=MESSAGES),)

    def stream() -> tuple[Any, ...]:
        return _drain(chat.stream(model=model, messages=MESSAGES))

    return [Case("call", 0, call), Case("stream", chunks, stream)]


# -- streams replayed: the SDK's per-chunk work taken out (instruction counts only) ------------------------------


REPLAY = "stream_replay"
HELPER_REPLAY = "stream_helper_replay"  # Anthropic's messages.stream(), its events replayed


def replay_cases(provider: str, chunks: int) -> list[Case]:
    """The provider's plain stream with the SDK's work per chunk taken out, so that what an instrumentation adds per
    chunk is counted alone, free of the SDK's own variation (a chunk of an OpenAI stream is about 0.8 M machine
    instructions of the SDK's, which move by some ±0.3 % from one stream to the next). A real call opens the
    stream (through the tool, as any call); the SDK's stream object then hands out ``chunks`` items it parsed
    beforehand, instead of reading and parsing events. Its iteration (and the SDK's own per-item code there)
    stays: only the network read and parse are skipped."""
    if provider not in _STREAM_OPENERS:
        raise ValueError(f"unknown provider {provider!r}")
    client_of, open_on = _STREAM_OPENERS[provider]
    # OpenAI's items with the usage chunk (which genai_footprint asks for, and hides): the same items both sides.
    extra: dict[str, Any] = {"stream_options": {"include_usage": True}} if provider == "openai" else {}
    items = list(open_on(client_of(chunks), **extra))
    opener = client_of(1)

    def stream() -> tuple[Any, ...]:
        return _drain(replayed(open_on(opener), items))

    cases = [Case(REPLAY, chunks, stream)]
    if provider == "anthropic":
        # The same events read by the messages.stream() helper: its MessageStream reads the raw stream it is
        # given (through genai_footprint's proxy when instrumented), which hands out the events parsed beforehand.
        def stream_helper() -> tuple[Any, ...]:
            with opener.messages.stream(model=fakes.ANTHROPIC_MODEL, max_tokens=1024, messages=MESSAGES) as helper:
                replayed(helper._raw_stream, items)
                for _ in helper.text_stream:
                    pass
            return (helper,)

        cases.append(Case(HELPER_REPLAY, chunks, stream_helper))
    return cases


# Per provider: (its fake client for n chunks, the plain streaming call on a client). The SDK method is looked up
# at each call: one bound beforehand would stay the SDK's own after init() replaces it.
_STREAM_OPENERS: dict[str, tuple[Callable[[int], Any], Callable[..., Any]]] = {
    "openai": (
        fakes.openai_client,
        lambda c, **extra: c.chat.completions.create(model=fakes.OPENAI_MODEL, messages=MESSAGES, stream=True, **extra),
    ),
    "anthropic": (
        fakes.anthropic_client,
        lambda c, **extra: c.messages.create(
            model=fakes.ANTHROPIC_MODEL, max_tokens=1024, messages=MESSAGES, stream=True, **extra
        ),
    ),
    "mistralai": (
        fakes.mistral_client,
        lambda c, **extra: c.chat.stream(model=fakes.MISTRAL_MODEL, messages=MESSAGES, **extra),
    ),
}


def replayed(stream: Any, items: list[Any]) -> Any:
    """``stream`` (as returned to the caller) made to hand out ``items`` in place of what its response holds."""
    sdk_stream = getattr(stream, "__wrapped__", stream)  # genai_footprint returns a proxy of the SDK's stream
    sdk_stream.response.close()
    # The generator each SDK's stream reads its items from: ``_iterator`` (OpenAI's and Anthropic's ``Stream``,
    # read when iteration starts), ``generator`` (Mistral's ``EventStream``).
    setattr(sdk_stream, "_iterator" if hasattr(type(sdk_stream), "__stream__") else "generator", iter(items))
    return stream


def annotated(objects: tuple[Any, ...]) -> bool:
    """Whether the instrumentation put impacts on what the call returned (else we would time nothing)."""
    return any(getattr(obj, "impacts", None) is not None for obj in objects)


def failure(exc: BaseException) -> str:
    return f"fails: {type(exc).__name__}"


# -- switching instrumentation on and off -------------------------------------------------------------------


class Tool(Protocol):
    def load(self) -> None:
        """Import the tool (timed as its import)."""

    def start(self) -> None:
        """The first ``init`` for the provider (timed as ``init()``); leaves instrumentation on."""

    def on(self) -> None: ...

    def off(self) -> None: ...


class Ours:
    def __init__(self, provider: str) -> None:
        self.provider = provider
        self.gf: Any = None

    def load(self) -> None:
        import genai_footprint

        self.gf = genai_footprint

    def start(self) -> None:
        self.gf.init(providers=[self.provider])

    def on(self) -> None:
        self.gf.init(providers=[self.provider])

    def off(self) -> None:
        self.gf.shutdown()


class Peer:
    """EcoLogits wraps SDK methods with ``wrapt`` and cannot undo it: switch by swapping the class attributes."""

    def __init__(self, provider: str) -> None:
        self.provider = provider
        self.ecologits: Any = None
        self.wrapped: list[tuple[type, str, Any]] = []

    def load(self) -> None:
        from ecologits import EcoLogits

        self.ecologits = EcoLogits

    def start(self) -> None:
        self.ecologits.init(providers=[self.provider])
        self.wrapped = _wrapt_wrapped(self.provider)  # the provider names are the SDKs' package names
        if not self.wrapped:
            raise RuntimeError(f"EcoLogits.init wrapped no method of {self.provider}")

    def on(self) -> None:
        for owner, name, wrapper in self.wrapped:
            setattr(owner, name, wrapper)

    def off(self) -> None:
        for owner, name, wrapper in self.wrapped:
            setattr(owner, name, wrapper.__wrapped__)


def _wrapt_wrapped(package: str) -> list[tuple[type, str, Any]]:
    """Every ``wrapt.FunctionWrapper`` installed on a class of ``package`` (its modules imported so far)."""
    import wrapt

    found: list[tuple[type, str, Any]] = []
    seen: set[int] = set()
    for module_name, module in list(sys.modules.items()):
        if module is None or not (module_name == package or module_name.startswith(package + ".")):
            continue
        for owner in list(vars(module).values()):
            if not isinstance(owner, type) or id(owner) in seen:
                continue
            seen.add(id(owner))
            for name, attr in list(vars(owner).items()):
                if isinstance(attr, wrapt.FunctionWrapper):
                    found.append((owner, name, attr))
    return found


def make_tool(name: str, provider: str) -> Tool:
    if name == OURS:
        return Ours(provider)
    if name == PEER:
        return Peer(provider)
    raise ValueError(f"unknown tool {name!r}")


WORKER_BATCH = 256  # the export pipeline's wake-up size (genai_footprint._export._pipeline._WAKE_AT)
# Untimed calls after a switch, before the timed batch. Patching or restoring a class's methods changes its
# type version: CPython 3.11's specialised instructions that checked the old one then miss, and are only
# re-specialised after some 50 misses. A batch timed sooner pays that (init() then shutdown() then plain
# calls: +4.8 µs a call with 10 settle calls, +1.7 µs with 60, Anthropic); an application pays it once.
SETTLE_CALLS = 64


class Switch:
    """The tool's current state, switched only when a batch needs the other one."""

    def __init__(self, tool: Tool, on: bool) -> None:
        self.tool = tool
        self.state = on

    def set(self, on: bool, settle: Callable[[], object] | None = None, times: int = SETTLE_CALLS) -> None:
        """Switch; then ``settle`` (a few untimed calls) lets CPython re-specialise the SDK's code: patching or
        restoring a class's methods invalidates its attribute caches, a cost an application pays once, at
        ``init()``, not per call."""
        if on != self.state:
            (self.tool.on if on else self.tool.off)()
            self.state = on
            if settle is not None:
                for _ in range(times):
                    settle()


def timed_batch(run: Callable[[], object], reps: int) -> float:
    """Seconds per call of ``reps`` calls, with the cyclic garbage collector paused (and run just before).

    The clock is the process's CPU time: the calls do no I/O (mock transport), so it is the client-side time,
    minus the time other processes on a busy machine hold the CPU.
    """
    return timed_batch_clocks(run, reps)[0]


def timed_batch_clocks(run: Callable[[], object], reps: int) -> tuple[float, float]:
    """``timed_batch`` on two clocks: (the process's CPU time, the calling thread's CPU time) per call."""
    gc.collect()
    gc.disable()
    try:
        start, start_thread = time.process_time(), time.thread_time()
        for _ in range(reps):
            run()
        return (time.process_time() - start) / reps, (time.thread_time() - start_thread) / reps
    finally:
        gc.enable()


# -- jobs -------------------------------------------------------------------------------------------------


def _wall(run: Callable[[], object]) -> float:
    start = time.perf_counter()
    run()
    return time.perf_counter() - start


def fresh(tool: Tool, all_cases: list[Case]) -> dict[str, Any]:
    """Import, first ``init()`` and first instrumented call in this fresh process (SDK imported and warm), in
    wall time: these include reading files."""
    call = all_cases[0]
    for _ in range(3):
        call.run()
    plain = statistics.median(_wall(call.run) for _ in range(5))
    result: dict[str, Any] = {}
    start = time.perf_counter()
    tool.load()
    result["import_ms"] = (time.perf_counter() - start) * 1e3
    try:
        start = time.perf_counter()
        tool.start()
        result["init_ms"] = (time.perf_counter() - start) * 1e3
    except Exception as exc:
        return result | {"init_ms": failure(exc), "first_call_ms": failure(exc), "first_call_extra_ms": failure(exc)}
    try:
        first = _wall(call.run)
        result["first_call_ms"] = first * 1e3
        result["first_call_extra_ms"] = (first - plain) * 1e3
    except Exception as exc:
        result["first_call_ms"] = result["first_call_extra_ms"] = failure(exc)
    return result


def summarise(case: Case, reps: int, plain: list[float], instrumented: list[float], ok: bool) -> dict[str, Any]:
    return stats.summary(case.chunks, reps, plain, instrumented, ok)


def usable_cases(switch: Switch, all_cases: list[Case]) -> tuple[dict[str, float], dict[str, Any]]:
    """Warm every case up on both sides: ({case: seconds of one plain plus one instrumented call},
    {case: {"annotated": ...}}). A case the tool breaks is recorded as failing and left out."""
    usable: dict[str, float] = {}
    results: dict[str, Any] = {}
    for case in all_cases:
        warm_ups = 1 if case.chunks else 5
        try:
            switch.set(True)
            for _ in range(warm_ups):
                out = case.run()
            instrumented = timed_batch(case.run, 1)
            switch.set(False)
            for _ in range(warm_ups):
                case.run()
            usable[case.name] = timed_batch(case.run, 1) + instrumented
        except Exception as exc:
            results[case.name] = failure(exc)
            continue
        results[case.name] = {"annotated": annotated(out)}
    # Everything alive now (SDKs, registry, clients) is out of the collector's sight from here on, so the
    # collection before each batch takes microseconds, not the tens of milliseconds of a full one.
    gc.freeze()
    return usable, results


def plan(case: Case, pair: float, seconds: float, spec: dict[str, Any]) -> tuple[int, int]:
    """(rounds, reps) for a case whose plain and instrumented calls take ``pair`` s together: batches of about
    ``batch_ms`` (one stream at least), as many rounds as fit in ``seconds`` and at least ``call_rounds`` for a
    non-stream call, within ``min_rounds`` .. ``max_rounds``."""
    reps = 1 if case.chunks else max(1, round(spec["batch_ms"] / 1e3 / (pair / 2)))
    # A round switches once on average (the side going first alternates), and each switch is followed by its
    # settle calls (one stream for a stream case).
    settle = 1 if case.chunks else SETTLE_CALLS
    rounds = int(seconds / (reps * pair + settle * pair / 2))
    if not case.chunks:
        rounds = max(rounds, spec["call_rounds"])
    return max(spec["min_rounds"], min(spec["max_rounds"], rounds)), reps


def alternating(switch: Switch, case: Case, rounds: int, reps: int, settle: int) -> tuple[list[float], list[float]]:
    """(plain, instrumented) seconds per call of ``rounds`` rounds of a batch of ``reps`` calls a side, the side
    going first alternating every round; ``settle`` untimed calls after each switch."""
    plain: list[float] = []
    instrumented: list[float] = []
    for round_index in range(rounds):
        for on in (False, True) if round_index % 2 == 0 else (True, False):
            switch.set(on, settle=case.run, times=settle)
            (instrumented if on else plain).append(timed_batch(case.run, reps))
    return plain, instrumented


def steady(spec: dict[str, Any], tool: Tool, all_cases: list[Case]) -> dict[str, Any]:
    """Each case: plain vs instrumented in short rounds, the side that goes first alternating every round."""
    switch = Switch(tool, on=True)
    usable, results = usable_cases(switch, all_cases)
    for case in all_cases:
        if case.name not in usable:
            continue
        seconds = spec["seconds_per_long_case"] if case.chunks else spec["seconds_per_case"]
        rounds, reps = plan(case, usable[case.name], seconds, spec)
        try:
            plain, instrumented = alternating(switch, case, rounds, reps, 1 if case.chunks else SETTLE_CALLS)
        except Exception as exc:
            results[case.name] = failure(exc)
            continue
        results[case.name] = summarise(case, reps, plain, instrumented, results[case.name]["annotated"])
    switch.set(False)
    return results


def _per_call(times: tuple[float, float], reps: int) -> tuple[float, float]:
    return times[0] / reps, times[1] / reps


def export_worker(spec: dict[str, Any]) -> dict[str, Any]:
    """Records a second through the export pipeline's worker to the JSONL exporter: the events of real
    instrumented OpenAI chat calls (collected by a listener), queued at once, timed until ``flush()`` returns
    (wall clock: the worker thread's whole work on them). The median of 5 batches of ``records`` events."""
    from genai_footprint._export._pipeline import ExportPipeline, build_exporter
    from genai_footprint._setup import current_runtime

    call = cases("openai", spec["chunks"])[0]
    tool = Ours("openai")
    tool.load()
    tool.start()
    runtime = current_runtime()
    assert runtime is not None
    events: list[Any] = []
    runtime.listeners = (events.append,)
    for _ in range(spec["records"]):
        call.run()
    runtime.listeners = ()
    if len(events) != spec["records"] or any(event.impacts is None for event in events):
        raise RuntimeError("the calls gave no events with impacts")
    rates: list[float] = []
    with tempfile.TemporaryDirectory() as directory:
        pipeline = ExportPipeline(
            [build_exporter("jsonl", {"path": str(Path(directory) / "calls.jsonl")})], queue_size=len(events) + 1
        )
        for _ in range(6):  # the first batch warms up and is dropped
            gc.collect()
            start = time.perf_counter()
            for event in events:
                pipeline.listener(event)
            if not pipeline.flush(timeout=120):
                raise RuntimeError("the export worker did not finish in time")
            rates.append(len(events) / (time.perf_counter() - start))
        pipeline.close()
        exported = (Path(directory) / "calls.jsonl").read_text().count("\n")
    if exported != 6 * len(events):
        raise RuntimeError(f"{exported} records written of {6 * len(events)}")
    return {"records_per_s": statistics.median(rates[1:]), "records": len(events)}


def tracker(spec: dict[str, Any]) -> dict[str, Any]:
    """OpenAI chat calls: plain, instrumented, and instrumented inside ``track()`` with the export pipeline and
    its JSONL exporter attached. The tracked batch ends with a flush, so the worker thread's export of the
    batch counts in it (the clock is the whole process's CPU time)."""
    import genai_footprint as gf
    from genai_footprint._export._pipeline import ExportPipeline, build_exporter
    from genai_footprint._setup import current_runtime

    call = cases("openai", spec["chunks"])[0]
    tool = Ours("openai")
    tool.load()
    tool.start()
    runtime = current_runtime()
    assert runtime is not None
    with tempfile.TemporaryDirectory() as directory:
        pipeline = ExportPipeline([build_exporter("jsonl", {"path": str(Path(directory) / "calls.jsonl")})])
        switch = Switch(tool, on=True)
        usable, _ = usable_cases(switch, [call])
        # Batches as long as the export worker's own (it wakes when 256 events wait): the flush that ends a
        # tracked batch — so the worker's CPU counts in that batch — then costs what it costs an application,
        # once per batch of records, not once every few calls.
        seconds = spec["seconds_per_long_case"] * 2 / 3  # three sides, a round of each a batch of tracked calls
        reps = WORKER_BATCH
        rounds = int(seconds / (reps * usable[call.name]))
        rounds = max(spec["min_rounds"], min(spec["max_rounds"], max(rounds, spec["tracker_rounds"])))
        seen: list[int] = []

        def tracked() -> None:
            runtime.listeners = (pipeline.listener,)  # as init() attaches it
            try:
                with gf.track("bench") as run:
                    for _ in range(reps):
                        call.run()
                pipeline.flush()
            finally:
                runtime.listeners = ()
            seen.append(run.calls)

        arms: dict[str, Callable[[], tuple[float, float]]] = {
            "plain": lambda: timed_batch_clocks(call.run, reps),
            "instrumented": lambda: timed_batch_clocks(call.run, reps),
            "tracked": lambda: _per_call(timed_batch_clocks(tracked, 1), reps),
        }
        times: dict[str, list[tuple[float, float]]] = {name: [] for name in arms}
        orders = itertools.cycle(itertools.permutations(arms))
        for round_index in range(rounds + 1):  # the first round warms up and is dropped
            for name in next(orders):
                switch.set(name != "plain", settle=call.run)
                elapsed = arms[name]()
                if round_index:
                    times[name].append(elapsed)
        switch.set(False)
        pipeline.close()
        exported = (Path(directory) / "calls.jsonl").read_text().count("\n")
    out: dict[str, Any] = {
        "exporter": "ExportPipeline with the jsonl exporter",
        "calls_seen_by_tracker": seen[-1] if seen else 0,
        "records_exported": exported,
        "dropped": pipeline.dropped,
    }
    process, thread = 0, 1
    plain = [t[process] for t in times["plain"]]
    out["instrumented"] = summarise(call, reps, plain, [t[process] for t in times["instrumented"]], True)
    # All the process's CPU, the export worker's included; then only the calling thread's (the request path).
    out["tracked"] = summarise(call, reps, plain, [t[process] for t in times["tracked"]], True)
    out["tracked_request_path"] = summarise(
        call, reps, [t[thread] for t in times["plain"]], [t[thread] for t in times["tracked"]], True
    )
    return out


def callgrind(spec: dict[str, Any], tool: Tool, all_cases: list[Case]) -> dict[str, Any]:
    """Each batch between ``bench_zero()`` and ``bench_dump("case|on|reps")``: one dump file per batch."""
    marks = ctypes.CDLL(spec["marks_library"])
    marks.bench_dump.argtypes = [ctypes.c_char_p]
    tool.load()
    try:
        tool.start()
    except Exception as exc:
        return {case.name: failure(exc) for case in all_cases}
    switch = Switch(tool, on=True)
    usable, results = usable_cases(switch, all_cases)
    for round_index in range(spec["rounds"]):
        for case in all_cases:
            if case.name not in usable:
                continue
            reps = spec["streams"] if case.chunks else spec["calls"]
            for on in (False, True) if round_index % 2 == 0 else (True, False):
                switch.set(on, settle=case.run, times=1 if case.chunks else SETTLE_CALLS)
                gc.collect()
                gc.disable()
                marks.bench_zero()
                for _ in range(reps):
                    case.run()
                marks.bench_dump(f"{case.name}|{int(on)}|{reps}".encode())
                gc.enable()
    switch.set(False)
    for case in all_cases:
        if case.name in usable:
            results[case.name] |= {"chunks": case.chunks}
    return results


def main() -> None:
    spec: dict[str, Any] = json.loads(sys.argv[1])
    job = spec["job"]
    if job == "tracker":
        print(json.dumps(tracker(spec)))
        return
    if job == "export_worker":
        print(json.dumps(export_worker(spec)))
        return
    all_cases = cases(spec["provider"], spec["chunks"])
    tool = make_tool(spec["tool"], spec["provider"])
    if job == "callgrind":
        if spec["tool"] == "genai_footprint":
            all_cases += replay_cases(spec["provider"], spec["chunks"])
        print(json.dumps(callgrind(spec, tool, all_cases)))
        return
    result = fresh(tool, all_cases)
    if job == "steady":
        if isinstance(result["init_ms"], str):
            result["cases"] = {case.name: result["init_ms"] for case in all_cases}
        else:
            result["cases"] = steady(spec, tool, all_cases)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
