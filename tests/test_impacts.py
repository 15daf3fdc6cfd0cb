"""The result types: Range, Impacts (a frozen model whose ranges are fields), sums and serialisation."""

from __future__ import annotations

import copy
import dataclasses
import json
import math
import pickle
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

import genai_footprint as gf
from genai_footprint._criteria import EMBODIED_NAMES, USAGE_NAMES
from genai_footprint._export._record import to_record
from genai_footprint._impacts import ALL_KEYS, EstimateInputs, from_parts, range_at, sum_impacts


def _estimate(tokens: float = 400, model: str = "gpt-4o-mini") -> gf.Impacts:
    return gf.estimate(provider="openai", model=model, output_tokens=tokens, latency_s=2.1)


def _flat(impacts: gf.Impacts) -> tuple[float, ...]:
    """Every bound of ``impacts``, in ``ALL_KEYS`` order (min then max)."""
    return tuple(bound for key in ALL_KEYS for bound in (range_at(impacts, key).min, range_at(impacts, key).max))


def test_every_range_is_a_field_with_its_unit() -> None:
    impacts = _estimate()
    assert len(ALL_KEYS) == 13 and len(_flat(impacts)) == 26
    for key in ALL_KEYS:
        r = range_at(impacts, key)
        assert isinstance(r, gf.Range), key
        assert 0 < r.min <= r.max, key
    assert impacts.energy.unit == "kWh" and impacts.gwp.unit == "kgCO2eq" and impacts.pe.unit == "MJ"
    assert impacts.adpe.unit == "kgSbeq" and impacts.wcf.unit == "L"
    # Totals: energy and water are their usage part; gwp, pe and adpe are usage plus embodied.
    assert impacts.energy == impacts.usage.energy and impacts.wcf == impacts.usage.wcf
    for c in ("gwp", "pe", "adpe"):
        total, usage, embodied = getattr(impacts, c), getattr(impacts.usage, c), getattr(impacts.embodied, c)
        assert total.min == usage.min + embodied.min and total.max == usage.max + embodied.max
    # Built once, then the same object.
    assert impacts.gwp is impacts.gwp and impacts.usage is impacts.usage
    with pytest.raises(KeyError):
        range_at(impacts, "usage")


def test_json_round_trip_loses_nothing() -> None:
    impacts = _estimate()
    dumped = impacts.model_dump_json()
    back = gf.Impacts.model_validate_json(dumped)
    assert back == impacts
    assert back.model_dump() == impacts.model_dump()
    assert _flat(back) == _flat(impacts)
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
    assert a is not b
    assert a == b
    assert a != _estimate(401)


def test_pickle_and_copy_keep_every_range() -> None:
    impacts = _estimate()
    for clone in (pickle.loads(pickle.dumps(impacts)), copy.copy(impacts), copy.deepcopy(impacts)):
        assert clone == impacts
        assert _flat(clone) == _flat(impacts)
        assert clone.embodied.adpe == impacts.embodied.adpe
        assert clone.inputs == impacts.inputs and clone.warnings == impacts.warnings


def test_model_copy_with_update_leaves_the_original_and_its_siblings_alone() -> None:
    first, second = _estimate(400), _estimate(400)
    total = first.model_copy(update={"calls": 3})
    inputs = first.inputs
    assert inputs is not None
    moved = inputs.model_copy(update={"zone": "FRA"})
    wider = dataclasses.replace(first.gwp, max=first.gwp.max * 2)

    assert (total.calls, first.calls, second.calls) == (3, 1, 1)
    assert total.energy == first.energy
    assert (moved.zone, inputs.zone) == ("FRA", second.inputs.zone if second.inputs else None)
    assert wider.max == 2 * second.gwp.max and first.gwp == second.gwp
    # What each object records as explicitly set is its own.
    assert first.model_fields_set == second.model_fields_set
    assert inputs.model_fields_set == (second.inputs.model_fields_set if second.inputs else None)


# Every way an Impacts is used: an estimate and its validated JSON copy must be interchangeable in each.
OPERATIONS = {
    "flat": _flat,
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
    "sum": lambda i: _flat(i + i),
}


@pytest.mark.parametrize("operation", sorted(OPERATIONS))
def test_an_estimate_and_its_validated_copy_behave_alike(operation: str) -> None:
    computed = _estimate()
    validated = gf.Impacts.model_validate_json(computed.model_dump_json())
    ours, theirs = OPERATIONS[operation](computed), OPERATIONS[operation](validated)
    if operation == "==":
        assert computed == validated and validated == computed
    elif operation == "model_copy":
        assert ours == theirs and ours.calls == 2 and _flat(ours) == _flat(theirs)
    else:
        assert ours == theirs
    assert _flat(computed) == _flat(validated)


def test_estimates_that_would_not_be_finite_are_refused() -> None:
    over = _estimate(tokens=2e12)
    assert all(math.isfinite(bound) for bound in _flat(over))
    with pytest.raises(ValueError, match="finite bounds"):
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
        (lambda d: d.pop("energy"), r"\nenergy\n  Field required"),
        (lambda d: d["usage"].pop("pe"), r"\nusage\.pe\n  Field required"),
        (
            lambda d: d["embodied"].update(gwp={"min": 2.0, "max": 1.0, "unit": "kgCO2eq"}),
            r"\nembodied\.gwp\n  Value error, a range needs finite bounds with min <= max, got min 2\.0, max 1\.0",
        ),
        (lambda d: d["gwp"].update(max=math.inf), r"\ngwp\n  Value error, a range needs finite bounds.*max inf"),
        (lambda d: d["usage"]["gwp"].update(min=math.nan), r"\nusage\.gwp\n  Value error, .*got min nan"),
        (lambda d: d["wcf"].update(min="many"), r"\nwcf\.min\n  Input should be a valid number"),
    ],
)
def test_bad_serialised_ranges_are_refused_by_name(mutate: Any, message: str) -> None:
    data = _estimate().model_dump()
    mutate(data)
    with pytest.raises(ValidationError, match=message):
        gf.Impacts.model_validate(data)


def _impacts_of_record(record: dict[str, Any]) -> dict[str, Any]:
    """The ``Impacts`` payload an exporter record holds (its totals under ``impacts``)."""
    keys = ("methodology_version", "usage", "embodied", "warnings", "inputs")
    return {**record["impacts"], **{key: record[key] for key in keys}}


@pytest.mark.parametrize("key", ALL_KEYS)
def test_a_record_with_an_inverted_range_is_refused_naming_the_field(key: str) -> None:
    from export_helpers import event

    record = json.loads(json.dumps(to_record(dataclasses.replace(event(), impacts=_estimate()))))
    assert gf.Impacts.model_validate(_impacts_of_record(record)) == _estimate()
    group, _, name = key.rpartition(".")
    found = record[group or "impacts"][name]
    found["min"], found["max"] = found["max"] * 2, found["max"]
    with pytest.raises(ValidationError, match="\n" + key.replace(".", r"\.") + r"\n  Value error, .*min <= max"):
        gf.Impacts.model_validate(_impacts_of_record(record))
    # The same through JSON.
    with pytest.raises(ValidationError, match="\n" + key.replace(".", r"\.") + r"\n  Value error, .*min <= max"):
        gf.Impacts.model_validate_json(json.dumps(_impacts_of_record(record)))


def test_sums_are_exact_bound_by_bound() -> None:
    parts = [_estimate(t) for t in (10, 400, 4096)]
    total = sum(parts)
    assert isinstance(total, gf.Impacts) and total.calls == 3 and total.inputs is None
    exact = sum_impacts(parts)
    assert exact.calls == 3 and exact.inputs is None and exact.warnings == parts[0].warnings
    # Each usage and embodied bound is the exact sum of the parts' (sum() adds two at a time: (a + b) + c).
    breakdown = [key for key in ALL_KEYS if "." in key]
    for key in breakdown:
        a, b, c = (range_at(p, key) for p in parts)
        got, pairwise = range_at(exact, key), range_at(total, key)
        assert (got.min, got.max) == (math.fsum((a.min, b.min, c.min)), math.fsum((a.max, b.max, c.max))), key
        assert (pairwise.min, pairwise.max) == ((a.min + b.min) + c.min, (a.max + b.max) + c.max), key
    # The totals of a sum are its usage plus its embodied, as in every Impacts.
    for summed in (total, exact):
        assert summed.energy == summed.usage.energy and summed.wcf == summed.usage.wcf
        for c in ("gwp", "pe", "adpe"):
            assert getattr(summed, c) == getattr(summed.usage, c) + getattr(summed.embodied, c)
    assert (parts[0] + parts[1]).calls == 2
    assert parts[0] + 0 is parts[0]
    assert sum_impacts([parts[0]]) is parts[0]
    with pytest.raises(ValueError, match="at least one"):
        sum_impacts([])


def test_sum_of_many_is_exact_where_naive_addition_is_not() -> None:
    # One big call and many small ones: adding the small ones one by one to the big one would lose them all.
    big = gf.estimate(active_params=1e6, total_params=1e6, pue=1.2, wue=0.5, zone="FRA", output_tokens=1e9)
    small = _estimate(1)
    items = [big, *[small] * 1000]
    total = sum_impacts(items)
    for key in ALL_KEYS:
        if "." not in key:
            continue
        got = range_at(total, key)
        for bound in ("min", "max"):
            values = [getattr(range_at(i, key), bound) for i in items]
            plain = 0.0
            for value in values:
                plain += value
            assert plain != math.fsum(values), (key, bound)  # plain addition loses the small ones
            assert getattr(got, bound) == math.fsum(values), (key, bound)
    assert total.calls == 1001


def test_from_parts_refuses_what_is_not_a_range() -> None:
    good = _estimate()
    usage = {name: (r.min, r.max) for name, r in ((n, getattr(good.usage, n)) for n in USAGE_NAMES)}
    embodied = {name: (r.min, r.max) for name, r in ((n, getattr(good.embodied, n)) for n in EMBODIED_NAMES)}
    rebuilt = from_parts(usage, embodied, methodology_version=good.methodology_version, inputs=good.inputs)
    assert rebuilt == good.model_copy(update={"warnings": ()})
    for bad in ((math.nan, 1.0), (0.0, math.inf), (2.0, 1.0), (-math.inf, 0.0)):
        with pytest.raises(ValueError, match="finite bounds with min <= max"):
            from_parts({**usage, "pe": bad}, embodied, methodology_version="x", inputs=None)
        with pytest.raises(ValueError, match="finite bounds with min <= max"):
            from_parts(usage, {**embodied, "adpe": bad}, methodology_version="x", inputs=None)


_METHODOLOGY_ARGS = {
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


def test_inputs_that_invert_a_range_fail_instead_of_giving_it() -> None:
    """The methodology computes each end from each input's end; inputs whose ends do not order the results (a
    PUE given max first, a negative factor) never yield an inverted range: building the Impacts fails."""
    from genai_footprint._methodology import ecologits_0_11 as method

    def build(**changes: Any) -> gf.Impacts:
        bounds = method.compute(output_tokens=400, latency_s=None, **{**_METHODOLOGY_ARGS, **changes})
        return from_parts(bounds.usage, bounds.embodied, methodology_version=method.VERSION, inputs=None)

    assert all(r.min <= r.max for r in (range_at(build(), key) for key in ALL_KEYS))
    exact_size = {"active_params_b": (8.0, 8.0), "total_params_b": (8.0, 8.0)}  # so only the change shows
    for name, value in (
        ("pue", (1.2, 1.1)),
        ("wue_onsite", (2.0, 0.2)),  # on-site plus PUE times the mix: 5.41 > 3.92
        ("mix_gwp", -0.1),
        ("active_params_b", (20.0, 8.0)),
    ):
        changes = {**exact_size, name: value}
        with pytest.raises(ValueError, match="min <= max"):
            build(**changes)


def test_every_registry_estimate_is_ordered() -> None:
    from genai_footprint._estimate import compute, prepare
    from genai_footprint._registry import get_registry

    registry = get_registry()
    models = [(row.provider, row) for row in registry.models()]
    assert len(models) > 100
    for provider, row in models:
        prepared = prepare(provider, row.name)
        for tokens, latency in ((0, None), (1, 0.0), (400, 2.1), (4096, None), (10**9, 1e-6), (7, 1e6)):
            impacts = compute(prepared, output_tokens=tokens, latency_s=latency)
            for key in ALL_KEYS:
                r = range_at(impacts, key)
                assert 0 <= r.min <= r.max < math.inf, (provider, row.name, tokens, latency, key)


def test_range_rules() -> None:
    assert gf.Range(min=1, max=2, unit="kWh") + gf.Range(min=3, max=4, unit="kWh") == gf.Range(min=4, max=6, unit="kWh")
    with pytest.raises(ValueError, match="cannot add"):
        gf.Range(min=1, max=1, unit="kWh") + gf.Range(min=1, max=1, unit="L")
    assert gf.Range.of(3.0).is_exact and gf.Range.of((1.0, 3.0)).mid == 2.0
    assert gf.Range.of(gf.Range(1.0, 2.0, "L"), "kWh") == gf.Range(1.0, 2.0, "kWh")
    assert sum([gf.Range(1.0, 2.0, "L"), gf.Range(0.5, 0.5, "L")]) == gf.Range(1.5, 2.5, "L")
    with pytest.raises(dataclasses.FrozenInstanceError):
        gf.Range(1.0, 2.0).min = 3.0  # type: ignore[misc]


@pytest.mark.parametrize(
    ("low", "high", "shown"),
    [
        (2.0, 1.0, "got min 2.0, max 1.0"),
        (math.nan, 1.0, "got min nan, max 1.0"),
        (0.0, math.nan, "got min 0.0, max nan"),
        (math.nan, math.nan, "got min nan, max nan"),
        (0.0, math.inf, "got min 0.0, max inf"),
        (-math.inf, 0.0, "got min -inf, max 0.0"),
        (math.inf, math.inf, "got min inf, max inf"),
        (-math.inf, -math.inf, "got min -inf, max -inf"),
    ],
)
def test_range_refuses_inverted_nan_and_infinite_bounds(low: float, high: float, shown: str) -> None:
    with pytest.raises(ValueError, match=r"^a range needs finite bounds with min <= max, " + shown + "$"):
        gf.Range(min=low, max=high, unit="kWh")
    with pytest.raises(ValueError, match="finite bounds with min <= max"):
        gf.Range.of((low, high))


def test_range_refuses_bounds_that_are_not_numbers() -> None:
    with pytest.raises(TypeError):
        gf.Range(min="1", max=2.0)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        gf.Range(min=None, max=None)  # type: ignore[arg-type]


def test_range_round_trips() -> None:
    r = gf.Range(min=0.25, max=1.5, unit="kgCO2eq")
    assert pickle.loads(pickle.dumps(r)) == r and copy.deepcopy(r) == r and copy.copy(r) == r
    assert gf.Range(**dataclasses.asdict(r)) == r
    assert hash(r) == hash(gf.Range(0.25, 1.5, "kgCO2eq"))
    assert f"{r}" == "0.25 – 1.5 kgCO2eq" and f"{gf.Range.of(2.0, 'L')}" == "2 L"


def test_impacts_is_frozen() -> None:
    impacts = _estimate()
    with pytest.raises(ValidationError, match="frozen"):
        impacts.calls = 2  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        impacts.usage.energy = impacts.usage.gwp  # type: ignore[misc]


def test_reproduce_matches_the_estimate() -> None:
    impacts = _estimate()
    assert impacts.inputs is not None
    again = gf.reproduce(impacts.inputs, impacts.methodology_version)
    assert _flat(again) == _flat(impacts)
    assert again.inputs == impacts.inputs
    assert gf.reproduce(impacts.inputs.model_dump(mode="json"), impacts.methodology_version) == again


def test_inputs_of_an_estimate_are_those_validation_builds() -> None:
    """An estimate's inputs have every field set, in the model's order, and are the same object in every respect
    (repr, dump, fields set) as validating the same values."""
    inputs = _estimate().inputs
    assert inputs is not None
    validated = EstimateInputs.model_validate(inputs.model_dump())
    assert list(inputs.__dict__) == list(EstimateInputs.model_fields)
    assert repr(inputs) == repr(validated)
    assert inputs == validated
    assert inputs.model_dump() == validated.model_dump()
    assert inputs.model_fields_set == set(EstimateInputs.model_fields)
