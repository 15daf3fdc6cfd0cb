"""Every test runs without the developer's own genai-footprint configuration leaking in."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from genai_footprint import _registry as registry_module
from genai_footprint._registry import Registry, data_dir


@pytest.fixture(autouse=True)
def _no_outside_configuration(
    monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[None]:
    # init() reads the user config directory and GENAI_FOOTPRINT_* variables: point the first at an empty
    # directory and drop the second, so a developer's machine and CI see the same defaults.
    home: Path = tmp_path_factory.mktemp("config-home")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home))
    monkeypatch.setenv("XDG_CACHE_HOME", str(home / "cache"))
    for name in list(os.environ):
        if name.startswith("GENAI_FOOTPRINT_"):
            monkeypatch.delenv(name)
    yield


@pytest.fixture
def fresh_registry() -> Iterator[Registry]:
    """A process-wide registry of the test's own, so models it registers never leak into other tests."""
    saved = registry_module._registry
    registry_module._registry = Registry(data_dir())
    try:
        yield registry_module._registry
    finally:
        registry_module._registry = saved
