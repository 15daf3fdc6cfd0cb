"""The LiteLLM callback (``genai_footprint.litellm.FootprintLogger``) through LiteLLM's own callback machinery:
one estimate per call, exported; none again when the instrumentation measured the call; ``usage.carbon`` in
OpenGateLLM's shape from the proxy's post-call hook. (LiteLLM's proxy app itself needs ``litellm[proxy]``,
which cannot be installed for litellm 1.110: its ``litellm-proxy`` distribution is not published.)"""

from __future__ import annotations

import os

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

import asyncio
import time
from collections.abc import Iterator
from typing import Any

import provider_checks as checks
import pytest

litellm = pytest.importorskip("litellm")

import genai_footprint  # noqa: E402
from genai_footprint import Impacts, _setup  # noqa: E402
from genai_footprint._events import CallEvent  # noqa: E402

MESSAGES = [{"role": "user", "content": "What is the capital of France?"}]


# Imported when the tests run, not when pytest collects them: importing the module makes ``genai_footprint.litellm``
# an attribute of the package, which test_lifecycle's check of the public names would see.
FootprintLogger: Any = None
carbon_usage: Any = None
footprint_logger: Any = None


@pytest.fixture(autouse=True)
def _callback_module() -> None:
    global FootprintLogger, carbon_usage, footprint_logger
    from genai_footprint.litellm import FootprintLogger, carbon_usage, footprint_logger


@pytest.fixture(autouse=True)
def _clean(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    # LiteLLM copies its callbacks into these lists: fresh ones, put back after the test.
    for name in ("callbacks", "success_callback", "_async_success_callback", "failure_callback"):
        monkeypatch.setattr(litellm, name, [])
    for name in ("_async_failure_callback", "input_callback"):
        monkeypatch.setattr(litellm, name, [])
    yield
    genai_footprint.shutdown()


def listen(providers: list[str]) -> list[CallEvent]:
    return checks.listen(providers)


async def _settle() -> None:
    for _ in range(20):  # LiteLLM runs async success callbacks in tasks of their own
        await asyncio.sleep(0.01)


async def test_uninstrumented_calls_are_estimated_once_by_the_callback() -> None:
    events = listen(["openai"])  # LiteLLM itself not patched: the callback is the only measurement
    litellm.callbacks = [FootprintLogger()]
    response = await litellm.acompletion(model="anthropic/claude-sonnet-4-5", messages=MESSAGES, mock_response="Paris")
    await _settle()
    # LiteLLM's logging worker may still deliver success events of earlier tests' calls: only ours count here.
    ours = [event for event in events if event.provider == "anthropic"]
    assert len(ours) == 1
    assert isinstance(response.impacts, Impacts) and ours[0].impacts is response.impacts
    assert ours[0].output_tokens == 20


async def test_instrumented_calls_are_not_counted_again() -> None:
    events = listen(["litellm"])
    litellm.callbacks = [FootprintLogger()]
    sync = litellm.completion(model="openai/gpt-4o-mini", messages=MESSAGES, mock_response="Paris")
    response = await litellm.acompletion(model="openai/gpt-4o-mini", messages=MESSAGES, mock_response="Paris")
    stream = litellm.completion(model="openai/gpt-4o-mini", messages=MESSAGES, mock_response="Paris", stream=True)
    list(stream)
    await _settle()
    time.sleep(0.2)  # the sync stream's success callback runs in a thread
    assert len(events) == 3 and events[2].impacts is stream.impacts
    events.pop()
    assert [e.impacts for e in events] == [sync.impacts, response.impacts]


def test_an_openai_call_through_litellm_is_counted_once_with_only_the_openai_sdk_patched() -> None:
    """LiteLLM not patched, the OpenAI SDK patched: LiteLLM 1.110 posts through the OpenAI client's transport, not
    through ``chat.completions.create``, so the SDK's patch does not see the call and the callback is its one
    measurement (never zero, never two)."""
    import lifecycle_helpers as h

    events = listen(["openai"])
    litellm.callbacks = [FootprintLogger()]
    litellm.completion(model="openai/gpt-4o-mini", messages=MESSAGES, client=h.client())
    time.sleep(0.3)  # a sync call's success callback runs in a thread of LiteLLM's
    ours = [event for event in events if event.provider == "openai"]
    assert len(ours) == 1 and ours[0].impacts is not None


async def test_usage_carbon_in_the_opengatellm_shape() -> None:
    listen(["litellm"])
    logger = FootprintLogger(usage_carbon=True)
    response = await litellm.acompletion(model="openai/gpt-4o-mini", messages=MESSAGES, mock_response="Paris")
    answered = await logger.async_post_call_success_hook({}, None, response)
    assert answered is response
    carbon = response.model_dump()["usage"]["carbon"]
    impacts = response.impacts
    assert carbon == {
        "kWh": {"min": impacts.energy.min, "max": impacts.energy.max},
        "kgCO2eq": {"min": impacts.gwp.min, "max": impacts.gwp.max},
        "methodology": impacts.methodology_version,
    }
    assert 0 < carbon["kWh"]["min"] <= carbon["kWh"]["max"]


async def test_usage_carbon_is_off_by_default_and_the_callback_never_raises() -> None:
    listen(["litellm"])
    response = await litellm.acompletion(model="openai/gpt-4o-mini", messages=MESSAGES, mock_response="Paris")
    assert await footprint_logger.async_post_call_success_hook({}, None, response) is response
    assert "carbon" not in response.model_dump()["usage"]
    odd: Any = object()
    assert await FootprintLogger(usage_carbon=True).async_post_call_success_hook({}, None, odd) is odd
    FootprintLogger().log_success_event("not a dict", odd, None, None)


def test_the_callback_initialises_genai_footprint_when_the_process_has_not() -> None:
    genai_footprint.shutdown()
    logger = FootprintLogger(providers=["openai"])
    litellm.callbacks = [logger]
    response = litellm.completion(model="openai/gpt-4o-mini", messages=MESSAGES, mock_response="Paris")
    for _ in range(100):  # LiteLLM runs sync success callbacks in a thread of its own
        if getattr(response, "impacts", None) is not None:
            break
        time.sleep(0.01)
    assert _setup.current_runtime() is not None
    assert isinstance(response.impacts, Impacts)
    assert carbon_usage(response.impacts)["methodology"] == response.impacts.methodology_version
