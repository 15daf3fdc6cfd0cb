"""register_model() names the argument at fault, with estimate()'s rules for figures."""

from __future__ import annotations

import pytest

import genai_footprint as gf
from genai_footprint._registry import Registry


@pytest.fixture(autouse=True)
def _own_registry(fresh_registry: Registry) -> None:
    """Every test here gets a registry of its own."""


def test_negative_active_params_names_active_params() -> None:
    # total_params defaults to active_params; ModelRow declares total first, so the error blames total_params.
    with pytest.raises(gf.InvalidInputError) as info:
        gf.register_model("openai", "bad", active_params=-1)
    assert info.value.argument == "active_params"


def test_inverted_range_names_active_params_and_says_inverted() -> None:
    with pytest.raises(gf.InvalidInputError) as info:
        gf.register_model("openai", "bad", active_params=(20, 10))
    assert info.value.argument == "active_params"
    assert "greater than max" in str(info.value)


def test_inverted_pue_range_says_inverted() -> None:
    with pytest.raises(gf.InvalidInputError) as info:
        gf.register_model("openai", "bad", active_params=5, pue=(1.5, 1.1))
    assert info.value.argument == "pue"
    assert "greater than max" in str(info.value)


def test_active_above_total_names_an_argument() -> None:
    with pytest.raises(gf.InvalidInputError) as info:
        gf.register_model("openai", "bad", active_params=50, total_params=10)
    assert info.value.argument in {"active_params", "total_params"}


@pytest.mark.parametrize("value", [True, "5"])
def test_non_numbers_are_refused_like_estimate_does(value: object) -> None:
    with pytest.raises(gf.InvalidInputError):
        gf.estimate(active_params=value, total_params=5, output_tokens=1, zone="WOR", pue=1.2, wue=0.5)
    with pytest.raises(gf.InvalidInputError) as info:
        gf.register_model("openai", "bad", active_params=value, total_params=5)
    assert info.value.argument == "active_params"
