"""What the provider tests share: token counting kept offline, ``init()`` with a listener that keeps what every
finished call reports, and the checks of the impacts a call carries."""

from __future__ import annotations

import importlib
import importlib.metadata
import logging
from collections.abc import Iterator
from typing import Any

import pytest

import genai_footprint
from genai_footprint import Impacts, _setup
from genai_footprint._instrument import _tokens

FIGURES = ("energy", "gwp", "pe", "adpe", "wcf", "usage", "embodied")


@pytest.fixture(autouse=True)
def offline_counting(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Autouse in the modules that take it in (``offline_counting = checks.offline_counting``): token counting
    (streams without usage) fetches no tiktoken encoding but counts by approximation, and the test starts and
    ends with no runtime."""
    monkeypatch.setattr(_tokens, "_loader", lambda model: None)
    monkeypatch.setattr(_tokens, "_encoders", {})
    genai_footprint.shutdown()
    yield
    genai_footprint.shutdown()


def listen(providers: list[str], **kwargs: Any) -> list[Any]:
    """``init(providers=..., strict=True)``; returns the list every finished call appends its event to."""
    genai_footprint.init(providers=providers, strict=True, **kwargs)
    runtime = _setup.current_runtime()
    assert runtime is not None
    events: list[Any] = []
    runtime.listeners = (*runtime.listeners, events.append)
    return events


def listen_for_impacts(provider: str, **kwargs: Any) -> list[Impacts | None]:
    """``init(providers=[provider], strict=True)``; returns the list every finished call appends its impacts to."""
    genai_footprint.init(providers=[provider], strict=True, **kwargs)
    runtime = _setup.current_runtime()
    assert runtime is not None
    finished: list[Impacts | None] = []
    runtime.listeners = (*runtime.listeners, lambda event: finished.append(event.impacts))
    return finished


def provider_fixtures(provider: str) -> tuple[Any, Any]:
    """The fixtures of a provider's test module: ``offline_counting`` (autouse), and ``finished``, which calls
    ``init(providers=[provider])`` and gives the list every finished call appends its impacts to."""

    @pytest.fixture(name="finished")
    def finished() -> list[Impacts | None]:
        return listen_for_impacts(provider)

    return offline_counting, finished


def measured_inputs(impacts: Any, *, provider: str, tokens: float, stream: bool, source: str = "usage") -> Any:
    """The inputs of ``impacts``, checked: a call to ``provider``, its output tokens and where they came from,
    whether it streamed."""
    assert isinstance(impacts, Impacts)
    inputs = impacts.inputs
    assert inputs is not None
    assert inputs.provider == provider
    assert inputs.output_tokens == tokens
    assert inputs.tokens_source == source
    assert inputs.stream is stream
    return inputs


def assert_timed(inputs: Any, *, stream: bool, ttft_only_on_streams: bool = False) -> None:
    """A latency; on a stream a time to first token within it (``ttft_only_on_streams``: and none otherwise)."""
    assert inputs.latency_s is not None and inputs.latency_s > 0
    if stream:
        assert inputs.measured_ttft_s is not None and 0 < inputs.measured_ttft_s <= inputs.latency_s
    elif ttft_only_on_streams:
        assert inputs.measured_ttft_s is None


def assert_as_estimated(impacts: Impacts, provider: str, model: str, **inputs: Any) -> None:
    """Every figure of ``impacts`` equals that of ``estimate()`` with the same inputs."""
    expected = genai_footprint.estimate(provider, model, **inputs)
    for name in FIGURES:
        assert getattr(impacts, name) == getattr(expected, name), name


def methods_of(targets: Any) -> dict[Any, Any]:
    """The method each patch target names, as its class holds it now (wrapped or not)."""
    return {t: getattr(importlib.import_module(t.module), t.owner).__dict__[t.method] for t in targets}


def read_then_break(stream: Any, items: int) -> None:
    """Reads the first ``items`` items of ``stream`` and leaves the rest, as an early ``break`` does."""
    for _ in zip(range(items), stream, strict=False):  # range first: no item is read past the last one kept
        pass


def closed_after_a_break(stream: Any, body: Any) -> Any:
    """Closes ``stream``, left after an early break, twice, and returns its impacts: none before the close; after
    it the served ``body`` closed with the rest unread, and impacts of the partial stream, its tokens counted."""
    assert stream.impacts is None
    stream.close()
    assert body.closed
    assert body.sent < len(body.events)  # the rest was never read
    impacts = stream.impacts
    assert isinstance(impacts, Impacts) and impacts.inputs is not None
    assert {w.code for w in impacts.warnings} >= {"stream-partial", "tokens-counted"}
    assert impacts.inputs.tokens_source == "approximation"
    stream.close()  # closing again neither raises nor counts again (the caller checks what its listener heard)
    assert stream.impacts is impacts
    return impacts


async def closed_after_an_async_break(stream: Any, body: Any) -> Impacts:
    """Closes the async ``stream``, left after an early break, and returns its impacts: the served ``body``
    closed, and impacts of a partial stream."""
    await stream.close()
    assert body.closed
    impacts = stream.impacts
    assert isinstance(impacts, Impacts)
    assert "stream-partial" in {w.code for w in impacts.warnings}
    return impacts


def assert_untested_version_skipped(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, *, provider: str, sdk: str, version: str
) -> None:
    """The distribution ``sdk`` at an untested ``version``: ``init(providers=[provider])`` patches nothing and
    logs one warning about ``sdk`` that names the version."""
    real = importlib.metadata.version
    monkeypatch.setattr(importlib.metadata, "version", lambda name: version if name == sdk else real(name))
    with caplog.at_level(logging.WARNING, logger="genai_footprint"):
        genai_footprint.init(providers=[provider])
    assert provider not in _setup.instrumentor().enabled
    messages = [r.getMessage() for r in caplog.records if sdk in r.getMessage()]
    assert len(messages) == 1 and version in messages[0]
