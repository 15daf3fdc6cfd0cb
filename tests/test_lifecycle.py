"""``init()`` / ``shutdown()``: every import ordering, exact restoration, version gating, the public surface.

Orderings run in fresh interpreters (all started at once, then awaited one per test): each script asserts
its own invariants against the real OpenAI SDK over ``httpx2.MockTransport`` and prints a JSON summary.
"""

from __future__ import annotations

import dataclasses
import importlib
import importlib.metadata
import logging
import textwrap
import time
from collections.abc import Iterator
from typing import Any

import lifecycle_helpers as h
import pytest

import genai_footprint as gf
from genai_footprint import _setup
from genai_footprint._context import ACTIVE_TRACKERS
from genai_footprint._errors import InstrumentationError, InvalidInputError
from genai_footprint._instrument import _openai
from genai_footprint._instrument._instrumentor import Instrumentor, instrumentor
from genai_footprint._instrument._wrappers import installed
from genai_footprint._settings import InstrumentationSettings

# Shared by every ordering script. Importing it loads neither openai nor any provider module of ours that
# would import an SDK: the script decides when the SDK is imported.
PRELUDE = """
import asyncio, importlib, json, sys
import lifecycle_helpers as h
import genai_footprint as gf
from genai_footprint import _setup
from genai_footprint._instrument import _openai
from genai_footprint._instrument._instrumentor import instrumentor, unusable
from genai_footprint._instrument._wrappers import installed

KEYS = [(t.module, t.owner, t.method) for t in _openai.SPEC.targets]  # the stream-helper seams too
assert "openai" not in sys.modules, "the prelude must not import the SDK"

def owner(key):
    return getattr(importlib.import_module(key[0]), key[1])

def current(keys=KEYS):
    return {key: owner(key).__dict__[key[2]] for key in keys}

def plain(keys=KEYS):
    found = current(keys)
    wrapped = [k for k, v in found.items() if installed(v)]
    assert not wrapped, f"still wrapped: {wrapped}"
    return found

def assert_restored(originals):
    now = current(list(originals))
    changed = [k for k in originals if now[k] is not originals[k]]
    assert not changed, f"not restored exactly: {changed}"

def assert_wrapped_once(originals):
    for key, value in current(list(originals)).items():
        assert installed(value), (key, type(value))
        assert value.__wrapped__ is originals[key], (key, "wraps something else")
        assert not installed(value.__wrapped__), (key, "wrapped twice")

def expected_patched(keys=KEYS):
    return sorted(f"{owner(k).__module__}.{owner(k).__qualname__}.{k[2]}" for k in keys)

def chat(client, **kwargs):
    return client.chat.completions.create(model=h.MODEL, messages=h.MESSAGES, **kwargs)

def has_impacts(result):
    return getattr(result, "impacts", None) is not None

def listen():
    calls = []
    runtime = _setup.current_runtime()
    runtime.listeners = (lambda event: calls.append(event.impacts),)
    return calls

def done(**results):
    print(json.dumps(results))
"""

SCRIPTS: dict[str, str] = {
    "sdk_imported_before_init": """
        import openai
        originals = plain()  # imports every target module
        client = h.client()
        gf.init(providers=["openai"])
        assert_wrapped_once(originals)
        assert instrumentor().patched() == expected_patched()
        result = chat(client)
        assert has_impacts(result) and result.impacts.inputs.output_tokens == 7
        done(installed=sorted({installed(v) for v in current().values()}))
    """,
    "init_before_sdk_import": """
        gf.init(providers=["openai"])
        gf.init()
        assert "openai" not in sys.modules, "init() must not import the SDK"
        assert instrumentor().patched() == []
        import openai
        client = h.client()
        result = chat(client)  # the chat module is imported lazily, on first use: the hook fires then
        assert has_impacts(result), "post-import hook did not patch chat completions"
        late = "openai.resources.responses.responses"
        assert late not in sys.modules, "pick a module openai has not imported yet"
        current()  # imports every remaining target module now
        wrappers = current()
        assert all(installed(v) for v in wrappers.values()), wrappers
        assert instrumentor().patched() == expected_patched()
        done(late_module_patched=installed(wrappers[(late, "Responses", "create")]))
    """,
    "client_created_before_init": """
        import openai
        client = h.client()
        aclient = h.client(asynchronous=True)
        before = chat(client)
        gf.init(providers=["openai"])
        assert not hasattr(before, "impacts")
        sync_result = chat(client)
        async_result = asyncio.run(aclient.chat.completions.create(model=h.MODEL, messages=h.MESSAGES))
        stream = chat(client, stream=True)
        chunks = list(stream)
        raw = client.chat.completions.with_raw_response.create(model=h.MODEL, messages=h.MESSAGES).parse()
        assert has_impacts(sync_result) and has_impacts(async_result) and has_impacts(raw)
        assert has_impacts(stream) and stream.impacts.inputs.output_tokens == 5
        assert all(c.choices for c in chunks), "the injected usage chunk must stay hidden"
        done(chunks=len(chunks))
    """,
    "init_shutdown_init": """
        import openai
        originals = plain()
        client = h.client()
        gf.init(providers=["openai"])
        calls = listen()
        assert has_impacts(chat(client)) and len(calls) == 1
        gf.shutdown()
        assert_restored(originals)
        assert not hasattr(chat(client), "impacts") and len(calls) == 1
        assert _setup.current_runtime() is None
        gf.init(providers=["openai"])
        assert_wrapped_once(originals)
        calls = listen()
        results = [chat(client) for _ in range(3)]
        assert all(has_impacts(r) for r in results) and len(calls) == 3, len(calls)
        assert instrumentor().patched() == expected_patched()
        gf.shutdown()
        assert_restored(originals)
        done(ok=True)
    """,
    "shutdown_before_sdk_import": """
        gf.shutdown()  # never initialised: a no-op
        gf.init(providers=["openai"])
        gf.shutdown()
        import openai
        originals = plain()  # the hooks registered by init() fire on import but must patch nothing
        assert instrumentor().patched() == []
        client = h.client()
        assert not hasattr(chat(client), "impacts")
        assert not hasattr(client.chat.completions.with_raw_response.create(
            model=h.MODEL, messages=h.MESSAGES).parse(), "impacts")
        gf.init(providers=["openai"])  # and instrumenting afterwards still works
        assert_wrapped_once(originals)
        assert has_impacts(chat(client))
        done(ok=True)
    """,
    "init_twice_wraps_once": """
        import openai
        from openai.resources.chat.completions.completions import Completions
        original = Completions.__dict__["create"]
        chat_keys = [k for k in KEYS if k[0] == "openai.resources.chat.completions.completions"]
        originals = plain(chat_keys)
        gf.init(providers=["openai"])
        first = current(chat_keys)
        gf.init(providers=["openai"], zone="FRA")
        gf.init(providers="openai")
        assert all(current(chat_keys)[k] is first[k] for k in first), "init() again re-wrapped"
        assert installed(Completions.__dict__["create"])
        assert Completions.__dict__["create"].__wrapped__ is original
        assert_wrapped_once(originals)
        late_keys = [k for k in KEYS if k not in chat_keys and k[0] not in sys.modules]
        assert late_keys, "some target modules must still be unimported here"
        late = current(late_keys)  # imported after three init() calls: patched by the hook, once
        gf.init(providers=["openai"], zone="FRA")
        for key, value in current(late_keys).items():
            assert value is late[key], (key, "re-wrapped")
            assert installed(value), key
            assert not installed(value.__wrapped__), key
        calls = listen()
        client = h.client()
        result = chat(client)
        raw = client.chat.completions.with_raw_response.create(model=h.MODEL, messages=h.MESSAGES).parse()
        streamed = list(chat(client, stream=True))
        assert len(calls) == 3, f"listener called {len(calls)} times for 3 calls"
        assert result.impacts.calls == 1 and raw.impacts.calls == 1
        assert result.impacts.inputs.zone == "FRA", "the last init() settings apply"
        done(calls=len(calls))
    """,
    "narrow_then_all_providers": """
        import openai
        plain()
        gf.init(providers=["openai"])
        first = current()
        inst = instrumentor()
        assert inst.enabled == {"openai"}
        gf.init(providers=None)
        usable = {name for name, spec in inst.specs.items() if unusable(spec) is None}
        assert inst.enabled == usable, (inst.enabled, usable)
        again = current()
        assert all(again[k] is first[k] for k in first), "openai re-wrapped"
        calls = listen()
        chat(h.client())
        assert len(calls) == 1
        done(enabled=sorted(inst.enabled))
    """,
    "shutdown_restores_exactly": """
        import openai
        originals = plain()  # captured before init, every target module imported
        client = h.client()
        aclient = h.client(asynchronous=True)
        gf.init(providers=["openai"])
        assert_wrapped_once(originals)
        raw_api = client.chat.completions.with_raw_response  # created while instrumented
        pending = raw_api.create(model=h.MODEL, messages=h.MESSAGES)  # a raw response not parsed yet
        streaming_api = client.chat.completions.with_streaming_response
        assert has_impacts(raw_api.create(model=h.MODEL, messages=h.MESSAGES).parse())
        gf.shutdown()
        assert_restored(originals)
        assert instrumentor().patched() == []
        assert _setup.current_runtime() is None
        assert not hasattr(chat(client), "impacts")
        assert not hasattr(asyncio.run(aclient.chat.completions.create(model=h.MODEL, messages=h.MESSAGES)), "impacts")
        stream = chat(client, stream=True)
        chunks = list(stream)
        assert not hasattr(stream, "impacts") and len(chunks) == 4, "no usage asked for once shut down"
        parsed = raw_api.create(model=h.MODEL, messages=h.MESSAGES).parse()
        assert type(parsed).__name__ == "ChatCompletion" and not hasattr(parsed, "impacts")
        late = pending.parse()
        assert type(late).__name__ == "ChatCompletion" and not hasattr(late, "impacts")
        with streaming_api.create(model=h.MODEL, messages=h.MESSAGES) as response:
            assert not hasattr(response.parse(), "impacts")
        done(ok=True)
    """,
    # A client's with_raw_response is cached on first access and holds the bound method it saw then.
    "reinit_instruments_cached_raw_wrappers": """
        import openai
        client = h.client()
        gf.init(providers=["openai"])
        raw_api = client.chat.completions.with_raw_response
        assert has_impacts(raw_api.create(model=h.MODEL, messages=h.MESSAGES).parse())
        gf.shutdown()
        gf.init(providers=["openai"])
        calls = listen()
        parsed = raw_api.create(model=h.MODEL, messages=h.MESSAGES).parse()
        assert has_impacts(parsed) and len(calls) == 1, (
            "after init/shutdown/init, a raw-response wrapper cached by the client in the first session is "
            f"silently uninstrumented: impacts={getattr(parsed, 'impacts', 'missing')!r}, listener calls={len(calls)}"
        )
        done(ok=True)
    """,
}

# "After shutdown() every class we touched has exactly the vars() it had before init()": one fresh interpreter
# per SDK (lifecycle_helpers.class_vars_report), so no earlier init() in the process has seen those classes.
VARS_PROVIDERS = ["anthropic", "mistralai", "openai"]
VARS_SCRIPT = """
import json
import lifecycle_helpers as h
print(json.dumps(h.class_vars_report({provider!r})))
"""

LAZY_IMPORT_SCRIPT = """
import json, sys
import genai_footprint
heavy = ["pydantic", "openai", "anthropic", "mistralai", "wrapt", "httpx2", "genai_footprint._registry"]
print(json.dumps({"loaded": [m for m in heavy if m in sys.modules], "version": genai_footprint.__version__}))
"""


@pytest.fixture(scope="module")
def processes() -> Iterator[dict[str, Any]]:
    started = {name: h.run_script(PRELUDE + textwrap.dedent(code)) for name, code in SCRIPTS.items()}
    started["lazy_import"] = h.run_script(LAZY_IMPORT_SCRIPT)
    for provider in VARS_PROVIDERS:
        started[f"vars:{provider}"] = h.run_script(VARS_SCRIPT.format(provider=provider))
    yield started
    for process in started.values():
        if process.poll() is None:
            process.kill()
            process.communicate()


@pytest.mark.parametrize("ordering", sorted(SCRIPTS))
def test_import_ordering(processes: dict[str, Any], ordering: str) -> None:
    result = h.finish(processes[ordering])
    assert "Traceback" not in result["_stderr"]
    if ordering == "sdk_imported_before_init":
        assert result["installed"] == [True]
    if ordering == "init_before_sdk_import":
        assert result["late_module_patched"] is True


def test_import_is_lazy(processes: dict[str, Any]) -> None:
    result = h.finish(processes["lazy_import"])
    assert result["loaded"] == []
    assert result["version"] == gf.__version__


# The SDK classes each report must cover at least (response, stream, item, raw, helper and final classes, found
# by the calls): a scenario silently dropped shrinks the coverage and fails here.
MIN_SDK_CLASSES = {"anthropic": 30, "mistralai": 8, "openai": 30}


@pytest.mark.parametrize("provider", VARS_PROVIDERS)
def test_after_shutdown_every_class_we_touched_has_exactly_the_vars_it_had_before_init(
    processes: dict[str, Any], provider: str
) -> None:
    """Snapshot ``dict(vars(cls))`` of every target owner and every response / stream / item / helper class (and
    their bases) before init(); init(), the same real calls over the fake server, shutdown(): every class holds
    the same keys, each bound to the very same object. Nothing of ours is left on (or was ever put on) a class."""
    report = h.finish(processes[f"vars:{provider}"])
    assert "Traceback" not in report["_stderr"], report["_stderr"]
    skipped = report["skipped"]
    assert len(skipped) <= report["modules"] // 4, f"most target modules must import: {skipped}"
    if not skipped:
        spec = {"openai": _openai.SPEC, **_other_specs()}[provider]
        assert report["targets"] == len(spec.targets)
    assert report["sdk_classes"] >= MIN_SDK_CLASSES[provider], report
    assert report["unexpected_impacts"] == [], "uninstrumented calls carry impacts: the snapshot is not pristine"
    assert report["not_wrapped"] == [], f"not installed(...) while instrumented: {report['not_wrapped']}"
    assert report["without_impacts"] == [] and report["impacts_none"] == [], (
        "instrumented calls not measured: the snapshot would cover nothing we touched",
        report["without_impacts"],
        report["impacts_none"],
    )
    assert report["not_snapshotted"] == [], f"classes touched while instrumented but not snapshotted: {report}"
    assert report["still_wrapped"] == [], f"still installed(...) after shutdown(): {report['still_wrapped']}"
    changed = [
        f"{name}: " + ", ".join(f"{kind} {keys}" for kind, keys in changes.items() if keys)
        for name, changes in report["changed"].items()
    ]
    assert not changed, f"{len(changed)} of {report['classes']} classes differ after shutdown():\n" + "\n".join(changed)


def _other_specs() -> dict[str, Any]:
    from genai_footprint._instrument import _anthropic, _mistralai

    return {"anthropic": _anthropic.SPEC, "mistralai": _mistralai.SPEC}


# -- in-process: init() arguments and version gating ------------------------------------------------------


@pytest.fixture(autouse=True)
def _clean() -> Iterator[None]:
    gf.shutdown()
    yield
    gf.shutdown()


def _warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "genai_footprint" and r.levelno >= logging.WARNING]


@pytest.fixture
def openai_version(monkeypatch: pytest.MonkeyPatch) -> Any:
    """Pretend the installed openai distribution has another version."""
    real = importlib.metadata.version

    def use(version: str) -> None:
        def fake(name: str) -> str:
            return version if name == "openai" else real(name)

        monkeypatch.setattr(importlib.metadata, "version", fake)

    return use


@pytest.mark.parametrize("providers", [["openai"], None])
@pytest.mark.parametrize("version", ["2.9.0", "3.53.9", "4.0.0", "4.0.0rc1", "3.53rc1"])
def test_untested_version_patches_nothing_with_one_warning(
    openai_version: Any, caplog: pytest.LogCaptureFixture, version: str, providers: list[str] | None
) -> None:
    import openai  # noqa: F401  (so that a wrongly accepted version would patch at once)

    openai_version(version)
    caplog.set_level(logging.DEBUG, logger="genai_footprint")
    gf.init(providers=providers)
    assert "openai" not in instrumentor().enabled
    assert not [p for p in instrumentor().patched() if p.startswith("openai")]
    warnings = [w for w in _warnings(caplog) if "openai" in w]
    assert len(warnings) == 1, warnings
    assert version in warnings[0] and ">=3.54,<4" in warnings[0]


@pytest.mark.parametrize("version", ["3.54.0", "3.54.0.post1", "3.99.1", "3.60.0b2"])
def test_tested_version_is_instrumented(openai_version: Any, caplog: pytest.LogCaptureFixture, version: str) -> None:
    openai_version(version)
    caplog.set_level(logging.WARNING, logger="genai_footprint")
    gf.init(providers=["openai"])
    assert instrumentor().enabled == {"openai"}
    assert _warnings(caplog) == []


def test_untested_version_strict_raises(openai_version: Any) -> None:
    openai_version("4.1.0")
    with pytest.raises(InstrumentationError, match=r"4\.1\.0.*>=3\.54,<4"):
        gf.init(providers=["openai"], strict=True)
    assert instrumentor().patched() == []
    assert issubclass(InstrumentationError, gf.GenAIFootprintError)


def _fresh(**changes: Any) -> Instrumentor:
    return Instrumentor([dataclasses.replace(_openai.SPEC, **changes)])


def test_copied_spec_outside_tested_range(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="genai_footprint")
    inst = _fresh(tested=((1,), (2,)))
    try:
        inst.init(InstrumentationSettings(providers=("openai",)))
        assert inst.patched() == [] and inst.enabled == frozenset()
        (warning,) = _warnings(caplog)
        assert importlib.metadata.version("openai") in warning and ">=1,<2" in warning
        with pytest.raises(InstrumentationError, match=r">=1,<2"):
            inst.init(InstrumentationSettings(providers=("openai",), strict=True))
    finally:
        inst.shutdown()


def test_named_provider_not_installed(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="genai_footprint")
    inst = _fresh(import_name="genai_footprint_no_such_sdk")
    try:
        inst.init(InstrumentationSettings(providers=("openai",)))
        (warning,) = _warnings(caplog)
        assert "not installed" in warning and "openai" in warning
        with pytest.raises(InstrumentationError, match="not installed"):
            inst.init(InstrumentationSettings(providers=("openai",), strict=True))
        assert inst.patched() == []
    finally:
        inst.shutdown()


def test_all_providers_skips_missing_sdk_silently(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="genai_footprint")
    inst = _fresh(import_name="genai_footprint_no_such_sdk")
    try:
        inst.init(InstrumentationSettings())
        inst.init(InstrumentationSettings(strict=True))  # strict applies to named providers only
        assert _warnings(caplog) == []
        assert inst.patched() == [] and inst.enabled == frozenset()
    finally:
        inst.shutdown()


def test_bad_zone_names_the_argument_and_patches_nothing() -> None:
    with pytest.raises(InvalidInputError) as info:
        gf.init(zone="XXX")
    assert info.value.argument == "zone" and "XXX" in str(info.value)
    assert instrumentor().patched() == [] and _setup.current_runtime() is None
    with pytest.raises(InvalidInputError) as info:
        gf.init(providers=[42])  # type: ignore[list-item]
    assert info.value.argument == "providers"


def test_unknown_provider_warns_or_raises(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="genai_footprint")
    gf.init(providers=["nope"])
    (warning,) = _warnings(caplog)
    assert "'nope'" in warning and "openai" in warning
    assert instrumentor().patched() == []
    with pytest.raises(InstrumentationError, match="'nope'"):
        gf.init(providers=["nope"], strict=True)


def test_provider_aliases() -> None:
    gf.init(providers=["Azure"])
    assert instrumentor().enabled == {"openai"}


# -- the public surface -------------------------------------------------------------------------------------


def test_all_is_sorted_and_complete() -> None:
    assert gf.__all__ == sorted(gf.__all__)
    assert len(set(gf.__all__)) == len(gf.__all__)
    for name in gf.__all__:
        assert getattr(gf, name) is not None, name
    import genai_footprint.litellm  # a public submodule (the LiteLLM proxy callback): an attribute once imported

    public = {n for n in dir(gf) if not n.startswith("_")} - {"annotations", "importlib", "TYPE_CHECKING", "Any"}
    submodules = {"litellm"}
    assert public - submodules <= set(gf.__all__) | {"__version__"}, public - set(gf.__all__)
    assert genai_footprint.litellm.__all__ and set(genai_footprint.litellm.__all__) <= set(dir(genai_footprint.litellm))
    assert set(gf._LAZY) | {"__version__"} == set(gf.__all__)
    with pytest.raises(AttributeError):
        _ = gf.no_such_name  # type: ignore[attr-defined]


def test_errors_raised_by_init_are_exported() -> None:
    """``init(strict=True)`` raises InstrumentationError: users must be able to name it to catch it."""
    exported = {getattr(gf, name) for name in gf.__all__}
    assert InstrumentationError in exported, "InstrumentationError is raised by init() but not in __all__"


def test_lifecycle_module_exports_are_the_public_ones() -> None:
    assert gf.init is _setup.init and gf.shutdown is _setup.shutdown


# -- what a replaced method still tells ------------------------------------------------------------------


def _every_target() -> list[tuple[Any, Any, Any]]:
    """(target, original, replacement) of every importable target of the three providers, after init()."""
    from genai_footprint._instrument import _anthropic, _mistralai

    originals: dict[Any, Any] = {}
    targets = [*_openai.SPEC.targets, *_anthropic.SPEC.targets, *_mistralai.SPEC.targets]
    for target in targets:
        try:
            owner = getattr(importlib.import_module(target.module), target.owner)
        except ImportError:  # mistralai.gcp needs google-auth
            continue
        originals[target] = (owner, owner.__dict__[target.method])
    gf.init(providers=["openai", "anthropic", "mistralai"])
    return [(t, original, owner.__dict__[t.method]) for t, (owner, original) in originals.items()]


def test_replaced_methods_keep_what_inspect_and_callers_see() -> None:
    import inspect

    found = _every_target()
    assert len(found) > 40
    for target, original, replacement in found:
        assert installed(replacement) and replacement is not original, target
        assert replacement.__wrapped__ is original, target
        for name in ("__name__", "__qualname__", "__doc__", "__module__"):
            assert getattr(replacement, name) == getattr(original, name), (target, name)
        assert inspect.signature(replacement) == inspect.signature(original), target
        # An async method stays a coroutine function; a sync one (even one returning a coroutine) stays not one.
        assert inspect.iscoroutinefunction(replacement) == inspect.iscoroutinefunction(original), target
    gf.shutdown()
    for target, original, _ in found:
        owner = getattr(importlib.import_module(target.module), target.owner)
        assert owner.__dict__[target.method] is original, target


def test_a_replaced_method_called_without_its_instance_raises_the_sdk_error() -> None:
    from openai.resources.chat.completions.completions import Completions

    original = Completions.__dict__["create"]
    with pytest.raises(TypeError) as plain:
        original()
    gf.init(providers=["openai"])
    assert installed(Completions.__dict__["create"])
    with pytest.raises(TypeError) as instrumented:
        Completions.create()
    assert str(instrumented.value) == str(plain.value)


def test_a_listener_event_carries_every_field_of_the_call() -> None:
    """The event a listener gets holds what the call told us, every field of it (a field added to ``CallEvent``
    and forgotten here, or left unset by the runtime, fails), and the very ``Impacts`` the response carries."""
    from genai_footprint._events import CallEvent, TokenDetails

    gf.init(providers=["openai"], zone="FRA")
    runtime = _setup.current_runtime()
    assert runtime is not None
    events: list[CallEvent] = []
    runtime.listeners = (events.append,)
    with gf.track("outer"), gf.track("inner"):
        response = h.client().chat.completions.create(model=h.MODEL, messages=h.MESSAGES)
    (event,) = events
    impacts = response.impacts
    assert isinstance(event, CallEvent) and event.impacts is impacts and impacts is not None
    expected = {
        "provider": "openai",
        "model_requested": h.MODEL,
        "model_served": h.SERVED,
        "model_resolved": impacts.inputs.model_resolved,
        "zone": "FRA",
        "output_tokens": 7.0,
        "tokens_source": "usage",
        "details": TokenDetails(input_tokens=3),  # the fake's usage: prompt_tokens 3, no cache or reasoning
        "latency_s": impacts.inputs.latency_s,
        "ttft_s": None,
        "stream": False,
        "trackers": ("outer", "inner"),
        "impacts": impacts,
        "context": event.context,  # checked below: the context the call began in
    }
    fields = {f.name for f in dataclasses.fields(CallEvent)}
    assert fields - {"timestamp"} == set(expected), "a CallEvent field this test does not check"
    assert {name: getattr(event, name) for name in expected} == expected
    assert event.model_resolved is not None and event.model_resolved.startswith(h.MODEL)
    assert event.latency_s > 0 and abs(event.timestamp - time.time()) < 60
    # The context the call began in: inside both trackers.
    assert event.context is not None and [run.name for run in event.context.run(ACTIVE_TRACKERS.get)] == [
        "outer",
        "inner",
    ]


# -- SDKs added later (Groq, Cohere): the same vars()-after-shutdown check, one fresh interpreter each --------

LATER_VARS_PROVIDERS = {"groq": 7, "cohere": 14}  # provider -> the SDK classes its report must cover at least


@pytest.mark.parametrize("provider", sorted(LATER_VARS_PROVIDERS))
def test_after_shutdown_the_classes_of_later_sdks_have_exactly_the_vars_they_had_before_init(provider: str) -> None:
    pytest.importorskip(provider)
    from genai_footprint._setup import instrumentor

    report = h.finish(h.run_script(VARS_SCRIPT.format(provider=provider)))
    assert "Traceback" not in report["_stderr"], report["_stderr"]
    assert report["skipped"] == {}
    assert report["targets"] == len(instrumentor().specs[provider].targets)
    assert report["sdk_classes"] >= LATER_VARS_PROVIDERS[provider], report
    assert report["unexpected_impacts"] == []
    assert report["not_wrapped"] == [] and report["still_wrapped"] == []
    assert report["without_impacts"] == [] and report["impacts_none"] == [], report
    assert report["not_snapshotted"] == [], report
    assert report["changed"] == {}, report["changed"]


# -- Amazon Bedrock: botocore's BaseClient._make_api_call is the one seam; the same check ------------------------


def test_after_shutdown_the_classes_bedrock_touched_have_exactly_the_vars_they_had_before_init() -> None:
    pytest.importorskip("boto3")
    report = h.finish(h.run_script(VARS_SCRIPT.format(provider="bedrock")))
    assert "Traceback" not in report["_stderr"], report["_stderr"]
    assert report["skipped"] == {} and report["targets"] == 1
    # the dict, EventStream, StreamingBody (boto3 generates a new client class per client: BaseClient stands in)
    assert report["sdk_classes"] >= 3, report
    assert report["unexpected_impacts"] == []
    assert report["not_wrapped"] == [] and report["still_wrapped"] == []
    assert report["without_impacts"] == [] and report["impacts_none"] == [], report
    assert report["not_snapshotted"] == [], report
    assert report["changed"] == {}, report["changed"]
