"""A local OpenAI-compatible server (Ollama, vLLM, ...): charged to the world mix and a default PUE with a
warning, until ``[provider.local]`` (or its environment variables) gives its zone, PUE and WUE."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import openai
import pytest

import genai_footprint as gf

BODY = {
    "id": "chatcmpl-local",
    "object": "chat.completion",
    "created": 1765000000,
    "model": "llama3.1:8b",
    "choices": [{"index": 0, "message": {"role": "assistant", "content": "ok"}, "finish_reason": "stop"}],
    "usage": {"prompt_tokens": 5, "completion_tokens": 3, "total_tokens": 8},
}


@pytest.fixture(autouse=True)
def _shut_down() -> Iterator[None]:
    yield
    gf.shutdown()


def _call() -> Any:
    transport = httpx2.MockTransport(lambda request: httpx2.Response(200, json=BODY))
    client = openai.OpenAI(
        api_key="unused", base_url="http://localhost:11434/v1", http_client=httpx2.Client(transport=transport)
    )
    return client.chat.completions.create(model="llama3.1:8b", messages=[{"role": "user", "content": "hi"}])


def test_without_figures_the_world_defaults_apply_with_warnings() -> None:
    gf.init(providers=["openai"])
    impacts = _call().impacts
    inputs = impacts.inputs
    assert (inputs.provider, inputs.zone, inputs.model_resolved) == ("local", "WOR", "llama-3.1-8b-instruct")
    assert {"provider-site-default", "provider-zone-unknown"} <= {w.code for w in impacts.warnings}


def test_a_provider_local_section_supplies_the_figures(tmp_path: Path) -> None:
    config = tmp_path / "genai-footprint.toml"
    config.write_text('[provider.local]\nzone = "FRA"\npue = 1.3\nwue = 0.0\n', encoding="utf-8")
    gf.init(providers=["openai"], config_file=config)
    impacts = _call().impacts
    inputs = impacts.inputs
    assert (inputs.provider, inputs.zone, inputs.pue.min, inputs.pue.max, inputs.wue.max) == (
        "local",
        "FRA",
        1.3,
        1.3,
        0.0,
    )
    codes = {w.code for w in impacts.warnings}
    assert "provider-site-default" not in codes and "provider-zone-unknown" not in codes


def test_a_zone_alone_keeps_the_site_warning(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GENAI_FOOTPRINT_LOCAL_ZONE", "DEU")
    gf.init(providers=["openai"])
    impacts = _call().impacts
    codes = {w.code for w in impacts.warnings}
    assert impacts.inputs.zone == "DEU" and "provider-site-default" in codes and "provider-zone-unknown" not in codes
