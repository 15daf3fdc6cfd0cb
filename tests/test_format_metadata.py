"""What a person reads before the code: the package metadata, the quickstart's list of dependencies, and the
names that ``genai-footprint zones`` searches."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

import pytest

from genai_footprint._cli._zones import matches, zone_names
from genai_footprint._registry import get_registry

ROOT = Path(__file__).resolve().parent.parent
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
ISO_CODES = Path("/usr/share/iso-codes/json/iso_3166-1.json")


def test_classifiers_urls_and_keywords() -> None:
    trove = pytest.importorskip("trove_classifiers")
    classifiers = PROJECT["classifiers"]
    assert [c for c in classifiers if c not in trove.classifiers] == []
    assert "Typing :: Typed" in classifiers and any(c.startswith("Development Status ::") for c in classifiers)
    assert not any(c.startswith("License ::") for c in classifiers)  # the SPDX `license` field says it
    minimum = re.fullmatch(r">=3\.(\d+)", PROJECT["requires-python"])
    assert minimum is not None and f"Programming Language :: Python :: 3.{minimum[1]}" in classifiers
    assert {"Homepage", "Documentation", "Source", "Issues"} <= set(PROJECT["urls"])
    assert all(url.startswith("https://") for url in PROJECT["urls"].values())
    assert len(PROJECT["keywords"]) == len(set(PROJECT["keywords"])) >= 8


def test_the_quickstart_names_every_runtime_dependency() -> None:
    text = (ROOT / "docs" / "quickstart.md").read_text(encoding="utf-8")
    for requirement in PROJECT["dependencies"]:
        name = re.match(r"[A-Za-z0-9_.-]+", requirement)
        assert name is not None
        assert f"`{name[0]}`" in text, f"docs/quickstart.md does not name the dependency {name[0]}"


def test_every_zone_has_a_name_and_names_are_searched() -> None:
    names = zone_names()
    assert [zone for zone in get_registry().mixes if not names.get(zone)] == []
    assert names["FRA"][0] == "France" and names["WOR"] == ("World",)
    assert matches("FRA", "france") and matches("FRA", "FR") and matches("GBR", "United Kingdom")
    assert not matches("FRA", "germany")


@pytest.mark.skipif(not ISO_CODES.is_file(), reason="Debian's iso-codes is not installed")
def test_zone_names_are_those_of_iso_codes() -> None:
    rows = json.loads(ISO_CODES.read_text(encoding="utf-8"))["3166-1"]
    names = zone_names()
    for row in rows:
        assert names[row["alpha_3"]][0] == row.get("common_name", row["name"])
        assert row["name"] in names[row["alpha_3"]]
