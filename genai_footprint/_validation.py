"""Every methodology version beside public reference figures (``registry/validation.json``).

For each case: the inputs assumed, each version's range, the reference, their ratio (the centre of our range
over the centre of the reference), whether the ranges overlap, and the scope difference in a sentence. Nothing
is tuned per case: the inputs are the ones the reference states (or, marked as assumed, a stated guess), and
the constants are each version's own. ``default_choice()`` applies the rule for the default version.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

from genai_footprint import _methodology
from genai_footprint._criteria import UNITS
from genai_footprint._estimate import estimate
from genai_footprint._impacts import Range
from genai_footprint._registry import data_dir

# A published figure's unit: the criterion it measures and the factor to our unit.
_FIGURE_UNITS: dict[str, tuple[str, float]] = {
    "J": ("energy", 1 / 3.6e6),
    "Wh": ("energy", 1e-3),
    "gCO2e": ("gwp", 1e-3),
    "mL": ("wcf", 1e-3),
    "mg Sb eq": ("adpe", 1e-6),
}
BASE = "ecologits-0.11"
CANDIDATE = "genai-footprint-2026.12"  # the version the default rule weighs against BASE


@dataclass(frozen=True, slots=True)
class Case:
    """One reference figure and the inputs we estimate it with."""

    id: str
    reference: str
    source: str
    criterion: str
    figure: Range  # in our unit of the criterion
    figure_note: str
    inputs: dict[str, Any]
    inputs_known: bool
    inputs_note: str
    scope: str
    long_input: bool  # 10k input tokens or more
    quantized: bool  # weights under 16 bits


@dataclass(frozen=True, slots=True)
class Result:
    """One case under one methodology version."""

    case: Case
    version: str
    ours: Range
    ratio: float  # centre of ours over centre of the reference
    overlaps: bool

    @property
    def distance(self) -> float:
        """How far from the reference, in orders of magnitude either way."""
        return abs(math.log10(self.ratio))


def load_cases() -> list[Case]:
    """The cases of ``validation.json`` in the registry folder, their figures converted to our units."""
    data = json.loads((data_dir() / "validation.json").read_text(encoding="utf-8"))
    return [_case(raw) for raw in data["cases"]]


def _case(raw: dict[str, Any]) -> Case:
    figure = raw["figure"]
    criterion, factor = _FIGURE_UNITS[figure["unit"]]
    if criterion != figure["criterion"]:
        raise ValueError(f"validation case {raw['id']!r}: unit {figure['unit']!r} does not measure {criterion!r}")
    inputs: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v for k, v in raw["inputs"].items()}
    output_tokens: float = inputs["output_tokens"]
    input_tokens: int = inputs.get("input_tokens") or 0
    bits: float = inputs.get("quantization_bits", 16)
    if figure.get("per_output_token"):
        factor *= output_tokens
    return Case(
        id=raw["id"],
        reference=raw["reference"],
        source=raw["source"],
        criterion=criterion,
        figure=Range(figure["min"] * factor, figure["max"] * factor, UNITS[criterion]),
        figure_note=raw["figure_note"],
        inputs=inputs,
        inputs_known=raw["inputs_known"],
        inputs_note=raw["inputs_note"],
        scope=raw["scope"],
        long_input=input_tokens >= 10_000,
        quantized=bits < 16,
    )


def run_case(case: Case, version: str) -> Result:
    impacts = estimate(methodology=version, **case.inputs)
    ours: Range = getattr(impacts, case.criterion)
    ratio = ours.mid / case.figure.mid
    overlaps = ours.min <= case.figure.max and case.figure.min <= ours.max
    return Result(case=case, version=version, ours=ours, ratio=ratio, overlaps=overlaps)


def run_all(versions: tuple[str, ...] | None = None) -> list[list[Result]]:
    """Each case's results, one per version (every version by default, in ``methodology_versions()`` order)."""
    versions = versions or _methodology.methodology_versions()
    return [[run_case(case, version) for version in versions] for case in load_cases()]


@dataclass(frozen=True, slots=True)
class DefaultChoice:
    version: str
    reason: str


def default_choice(results: list[list[Result]]) -> DefaultChoice:
    """The rule: the candidate becomes the default only if it is at least as close as ``ecologits-0.11`` on
    every case with known inputs, and closer on the long-input and quantized ones."""
    base = BASE
    worse, not_closer = [], []
    for row in results:
        by_version = {r.version: r for r in row}
        old, new = by_version[base], by_version[CANDIDATE]
        case = old.case
        if case.inputs_known and new.distance > old.distance + 1e-9:
            worse.append(case.id)
        if (case.long_input or case.quantized) and not new.distance < old.distance:
            not_closer.append(case.id)
    if not worse and not not_closer:
        return DefaultChoice(
            CANDIDATE,
            f"{CANDIDATE} is at least as close on every case with known inputs, and "
            "closer on every long-input and quantized one",
        )
    parts = [
        f"farther on {', '.join(worse)}" if worse else "",
        f"not closer on {', '.join(not_closer)}" if not_closer else "",
    ]
    return DefaultChoice(base, f"{CANDIDATE} is " + "; ".join(p for p in parts if p))
