"""The result types: Range, Impacts (ranges held as bounds, built on access), sums and serialisation."""

from __future__ import annotations

import copy
import json
import math
import pickle
from concurrent.futures import ThreadPoolExecutor

import pytest
from pydantic import BaseModel, ValidationError

import genai_footprint as gf
from genai_footprint._impacts import (
    ALL_KEYS,
    EstimateInputs,
    PendingBounds,
    flat_bounds,
    impacts_from_flat,
    range_at,
)


def _estimate(tokens: float = 400, model: str = "gpt-4o-mini") -> gf.Impacts:
    return gf.estimate(provider="openai", model=model, output_tokens=tokens, latency_s=2.1)


def test_ranges_are_read_from_the_bounds_in_order() -> None:
    impacts = _estimate()
    flat = flat_bounds(impacts)
    assert len(flat) == 2 * len(ALL_KEYS) == 26
    for index, key in enumerate(ALL_KEYS):
        r = range_at(impacts, key)
        assert (r.min, r.max) == flat[2 * index : 2 * index + 2], key
        assert isinstance(r, gf.Range)
    assert impacts.energy.unit == "kWh" and impacts.gwp.unit == "kgCO2eq" and impacts.pe.unit == "MJ"
    assert impacts.adpe.unit == "kgSbeq" and impacts.wcf.unit == "L"
    # Totals: energy and water are their usage part; gwp, pe and adpe are usage plus embodied.
    assert impacts.energy == impacts.usage.energy and impacts.wcf == impacts.usage.wcf
    for c in ("gwp", "pe", "adpe"):
        total, usage, embodied = getattr(impacts, c), getattr(impacts.usage, c), getattr(impacts.embodied, c)
        assert total.min == usage.min + embodied.min and total.max == usage.max + embodied.max
    # Built once, then the same object.
    assert impacts.gwp is impacts.gwp and impacts.usage is impacts.usage


def test_json_round_trip_loses_nothing() -> None:
    impacts = _estimate()
    dumped = impacts.model_dump_json()
    back = gf.Impacts.model_validate_json(dumped)
    assert back == impacts
    assert back.model_dump() == impacts.model_dump()
    assert flat_bounds(back) == flat_bounds(impacts)
    assert back.inputs == impacts.inputs and back.warnings == impacts.warnings
    data = json.loads(dumped)
    assert set(data) == {"energy", "gwp", "pe", "adpe", "wcf", "usage", "embodied"} | {
        "methodology_version",
        "inputs",
        "warnings",
        "calls",
    }
    assert data["usage"]["energy"] == {"min": impacts.energy.min, "max": impacts.energy.max, "unit": "kWh"}
    # model_validate of the Python dump, and the keyword constructor, too.
    assert gf.Impacts.model_validate(impacts.model_dump()) == impacts
    assert gf.Impacts(**impacts.model_dump()) == impacts


def test_equality_follows_the_numbers() -> None:
    a, b = _estimate(400), _estimate(400)
    assert a.energy is not None  # one side materialised, the other not
    assert a == b
    assert a != _estimate(401)


def test_pickle_and_copy_keep_every_range() -> None:
    impacts = _estimate()
    for clone in (pickle.loads(pickle.dumps(impacts)), copy.copy(impacts), copy.deepcopy(impacts)):
        assert clone == impacts
        assert clone.embodied.adpe == impacts.embodied.adpe


def test_model_copy_with_update_leaves_the_original_and_its_siblings_alone() -> None:
    first, second = _estimate(400), _estimate(400)
    total = first.model_copy(update={"calls": 3})
    inputs = first.inputs
    assert inputs is not None
    moved = inputs.model_copy(update={"zone": "FRA"})
    wider = first.gwp.model_copy(update={"max": first.gwp.max * 2})

    assert (total.calls, first.calls, second.calls) == (3, 1, 1)
    assert total.energy == first.energy
    assert (moved.zone, inputs.zone) == ("FRA", second.inputs.zone if second.inputs else None)
    assert wider.max == 2 * second.gwp.max and first.gwp == second.gwp
    # What each object records as explicitly set is its own.
    assert first.model_fields_set == second.model_fields_set
    assert inputs.model_fields_set == (second.inputs.model_fields_set if second.inputs else None)


def _pending(impacts: gf.Impacts) -> bool:
    return isinstance(impacts.__pydantic_private__["_bounds"], PendingBounds)  # type: ignore[index]


def _eager_twin(impacts: gf.Impacts) -> gf.Impacts:
    """The same estimate with its bounds computed at once (as impacts_from_flat builds it)."""
    assert impacts.inputs is not None
    inputs = impacts.inputs
    kernel = impacts.__pydantic_private__["_bounds"][0]  # type: ignore[index]
    flat = kernel(inputs.output_tokens, inputs.latency_s)
    return impacts_from_flat(
        flat, methodology_version=impacts.methodology_version, inputs=inputs, warnings=impacts.warnings
    )


OPERATIONS = {
    "flat_bounds": flat_bounds,
    "==": lambda i: i,
    "hash": hash,
    "copy": copy.copy,
    "deepcopy": copy.deepcopy,
    "pickle": lambda i: pickle.loads(pickle.dumps(i)),
    "model_copy": lambda i: i.model_copy(update={"calls": 2}),
    "model_dump": lambda i: i.model_dump(),
    "model_dump_json": lambda i: json.loads(i.model_dump_json()),
    "repr": repr,
    "energy": lambda i: i.energy,
    "sum": lambda i: flat_bounds(i + i),
}


@pytest.mark.parametrize("operation", sorted(OPERATIONS))
def test_bounds_left_to_first_read_behave_as_computed_ones(operation: str) -> None:
    fresh, twin = _estimate(), _estimate()
    assert _pending(fresh) and _pending(twin)  # an estimate leaves its bounds to be computed when read
    eager = _eager_twin(twin)
    assert not _pending(eager)
    ours, theirs = OPERATIONS[operation](fresh), OPERATIONS[operation](eager)
    if operation == "==":
        assert fresh == eager and eager == fresh
    elif operation == "model_copy":
        assert ours == theirs and ours.calls == 2 and flat_bounds(ours) == flat_bounds(theirs)
    else:
        assert ours == theirs
    if operation != "hash":  # a hash is of the fields: it needs no bounds
        assert not _pending(fresh)  # computed once, then kept
    assert flat_bounds(fresh) == flat_bounds(eager)


def test_bounds_left_to_first_read_are_computed_once_across_threads() -> None:
    impacts = _estimate()
    assert _pending(impacts)
    with ThreadPoolExecutor(8) as pool:
        seen = list(pool.map(lambda _: flat_bounds(impacts), range(64)))
    assert all(flat == seen[0] for flat in seen)
    assert flat_bounds(impacts) is flat_bounds(impacts)


def test_bounds_are_computed_at_once_where_they_might_fail() -> None:
    """Beyond what the kernel is sure to keep finite, the bounds are computed and checked in the call."""
    from genai_footprint._estimate import prepare

    over = _estimate(tokens=2e12)
    assert not _pending(over) and math.isfinite(over.energy.max)
    huge = prepare(None, None, active_params=1e300, total_params=1e300, pue=1.2, wue=0.5, zone="FRA")
    assert huge.ordered and huge.lazy_tokens == 0.0  # inf at 1e12 tokens: never left for later
    with pytest.raises(ValueError, match="26 finite"):
        gf.estimate(active_params=1e300, total_params=1e300, pue=1.2, wue=0.5, zone="FRA", output_tokens=10**9)


def test_nested_in_an_application_model() -> None:
    class Report(BaseModel):
        step: str
        impacts: gf.Impacts

    report = Report(step="plan", impacts=_estimate())
    back = Report.model_validate_json(report.model_dump_json())
    assert back == report
    assert json.loads(report.model_dump_json())["impacts"]["gwp"]["max"] == report.impacts.gwp.max


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d.pop("energy"), "energy: missing"),
        (lambda d: d["usage"].pop("pe"), "usage.pe: missing"),
        (lambda d: d["embodied"].update(gwp={"min": 2.0, "max": 1.0, "unit": "kgCO2eq"}), "embodied.gwp"),
        (lambda d: d["gwp"].update(max=math.inf), "gwp: bounds must be finite"),
        (lambda d: d["wcf"].update(min="many"), "wcf"),
    ],
)
def test_bad_serialised_ranges_are_refused_by_name(mutate: object, message: str) -> None:
    data = _estimate().model_dump()
    mutate(data)  # type: ignore[operator]
    with pytest.raises(ValidationError, match=message.replace(".", r"\.")):
        gf.Impacts.model_validate(data)


def test_sums_are_exact_bound_by_bound() -> None:
    parts = [_estimate(t) for t in (10, 400, 4096)]
    total = sum(parts)
    assert isinstance(total, gf.Impacts) and total.calls == 3 and total.inputs is None
    a, b, c = (flat_bounds(p) for p in parts)
    assert flat_bounds(total) == tuple((x + y) + z for x, y, z in zip(a, b, c, strict=True))
    assert (parts[0] + parts[1]).calls == 2
    assert parts[0] + 0 is parts[0]


def test_impacts_from_flat_checks_what_it_cannot_trust() -> None:
    good = flat_bounds(_estimate())
    with pytest.raises(ValueError, match="26 finite"):
        impacts_from_flat(good[:-1], methodology_version="x", inputs=None)
    with pytest.raises(ValueError, match="26 finite"):
        impacts_from_flat((math.nan, *good[1:]), methodology_version="x", inputs=None)
    with pytest.raises(ValueError, match="inverted"):
        impacts_from_flat((good[1], good[0], *good[2:]), methodology_version="x", inputs=None)

    # ordered=True (the kernel's pairs ordered by construction) skips the comparisons, never the finite check.
    swapped = (good[1], good[0], *good[2:])
    assert flat_bounds(impacts_from_flat(swapped, methodology_version="x", inputs=None, ordered=True)) == swapped
    with pytest.raises(ValueError, match="26 finite"):
        impacts_from_flat((math.inf, *good[1:]), methodology_version="x", inputs=None, ordered=True)


_KERNEL_ARGS = {
    "active_params_b": (8.0, 20.0),
    "total_params_b": (8.0, 20.0),
    "tps": None,
    "ttft_s": 0.4,
    "pue": (1.1, 1.2),
    "wue_onsite": (0.2, 0.5),
    "mix_gwp": 0.38,
    "mix_pe": 9.7,
    "mix_adpe": 9.9e-8,
    "mix_wue": 3.1,
}


def test_kernel_says_ordered_only_when_its_coefficients_are() -> None:
    from genai_footprint._methodology import ecologits_0_11 as method

    assert method.kernel(**_KERNEL_ARGS).__dict__["ordered"] is True
    for name, value in (
        ("pue", (1.2, 1.1)),
        ("wue_onsite", (2.0, 0.2)),  # on-site plus PUE times the mix: 5.41 > 3.92
        ("mix_gwp", -0.1),
        ("mix_wue", -1.0),
        ("active_params_b", (20.0, 8.0)),
        ("ttft_s", -1.0),
    ):
        assert method.kernel(**{**_KERNEL_ARGS, name: value}).__dict__["ordered"] is False, name


def test_every_registry_estimate_is_ordered_by_construction_and_in_fact() -> None:
    """The per-call path trusts ``ordered``: every registry model's kernel is ordered, and its pairs are."""
    from genai_footprint._estimate import prepared_from_registry
    from genai_footprint._registry import get_registry

    registry = get_registry()
    models = [(row.provider, row) for row in registry.models()]
    assert len(models) > 100
    for provider, row in models:
        prepared = prepared_from_registry(registry, provider, row.name)
        assert prepared.ordered, (provider, row.name)
        for tokens, latency in ((0, None), (1, 0.0), (400, 2.1), (4096, None), (10**9, 1e-6), (7, 1e6)):
            b = prepared.kernel(tokens, latency)
            assert all(b[i] <= b[i + 1] for i in range(0, 26, 2)), (provider, row.name, tokens, latency)


def test_range_rules() -> None:
    assert gf.Range(min=1, max=2, unit="kWh") + gf.Range(min=3, max=4, unit="kWh") == gf.Range(min=4, max=6, unit="kWh")
    with pytest.raises(ValidationError, match="must be <= max"):
        gf.Range(min=2, max=1)
    with pytest.raises(ValueError, match="cannot add"):
        gf.Range(min=1, max=1, unit="kWh") + gf.Range(min=1, max=1, unit="L")
    assert gf.Range.of(3.0).is_exact and gf.Range.of((1.0, 3.0)).mid == 2.0


def test_reproduce_matches_the_estimate() -> None:
    impacts = _estimate()
    assert impacts.inputs is not None
    again = gf.reproduce(impacts.inputs, impacts.methodology_version)
    assert flat_bounds(again) == flat_bounds(impacts)


def test_inputs_built_on_the_request_path_are_those_validation_builds() -> None:
    """An estimate's inputs are assembled without validation: every field set, in the model's order, and the same
    object in every respect (repr, dump, fields set) as validating the same values."""
    inputs = _estimate().inputs
    assert inputs is not None
    validated = EstimateInputs.model_validate(inputs.model_dump())
    assert list(inputs.__dict__) == list(EstimateInputs.model_fields)
    assert repr(inputs) == repr(validated)
    assert inputs == validated
    assert inputs.model_dump() == validated.model_dump()
    assert inputs.model_fields_set == set(EstimateInputs.model_fields)
