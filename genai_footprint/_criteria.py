"""The impact criteria: one table of names, labels, units and display scales, used everywhere they appear.

Impacts, records, the CLI, the report and OpenTelemetry all read the criteria from here, in this order.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Criterion:
    """One impact criterion: ``name`` is the ``Impacts`` field and record key; ``unit`` the unit of its values."""

    name: str
    label: str  # for people: table headers, chart titles
    unit: str  # the unit values are computed, recorded and exported in
    ucum: str  # the same unit in UCUM, for OpenTelemetry instruments
    description: str  # a sentence fragment: "Electricity used by GenAI calls"
    # Display units from largest to smallest, each with its size in ``unit`` (SI prefixes).
    scales: tuple[tuple[str, float], ...]


CRITERIA: tuple[Criterion, ...] = (
    Criterion(
        "energy",
        "Energy",
        "kWh",
        "kW.h",
        "Electricity used by GenAI calls",
        (("MWh", 1e3), ("kWh", 1.0), ("Wh", 1e-3), ("mWh", 1e-6), ("µWh", 1e-9)),
    ),
    Criterion(
        "gwp",
        "GHG emissions",
        "kgCO2eq",
        "kg{CO2eq}",
        "Global warming potential of GenAI calls",
        (("tCO2eq", 1e3), ("kgCO2eq", 1.0), ("gCO2eq", 1e-3), ("mgCO2eq", 1e-6), ("µgCO2eq", 1e-9)),
    ),
    Criterion(
        "pe",
        "Primary energy",
        "MJ",
        "MJ",
        "Primary energy used by GenAI calls",
        (("GJ", 1e3), ("MJ", 1.0), ("kJ", 1e-3), ("J", 1e-6), ("mJ", 1e-9)),
    ),
    Criterion(
        "adpe",
        "Abiotic resources",
        "kgSbeq",
        "kg{Sbeq}",
        "Abiotic resource depletion (elements) of GenAI calls",
        (("kgSbeq", 1.0), ("gSbeq", 1e-3), ("mgSbeq", 1e-6), ("µgSbeq", 1e-9), ("ngSbeq", 1e-12)),
    ),
    Criterion(
        "wcf",
        "Water",
        "L",
        "L",
        "Water consumed by GenAI calls",
        (("m³", 1e3), ("L", 1.0), ("mL", 1e-3), ("µL", 1e-6)),
    ),
)

BY_NAME: dict[str, Criterion] = {c.name: c for c in CRITERIA}
NAMES: tuple[str, ...] = tuple(BY_NAME)  # energy, gwp, pe, adpe, wcf
UNITS: dict[str, str] = {c.name: c.unit for c in CRITERIA}
LABELS: dict[str, str] = {c.name: c.label for c in CRITERIA}

# The breakdown of a total: electricity use (every criterion) and manufacturing (no energy, no water).
USAGE_NAMES: tuple[str, ...] = NAMES
EMBODIED_NAMES: tuple[str, ...] = ("gwp", "pe", "adpe")


def sig3(value: float) -> str:
    """3 significant figures, without an exponent for large numbers (``12,300`` rather than ``1.23e+04``)."""
    text = f"{value:.3g}"
    if "e+" in text:
        return f"{float(text):,.0f}"
    return text


def format_quantity(criterion: str, low: float, high: float) -> str:
    """A min–max range of ``criterion`` (in its ``unit``) in the SI-prefixed unit that reads best, e.g.
    ``1.2 – 3.4 mWh``. The unit is the largest in which the upper bound shows as at least 1; both bounds use it.
    A range whose bounds round to the same figures shows one number."""
    found = BY_NAME[criterion]
    if high == 0:
        return f"0 {found.unit}"
    unit, size = found.scales[-1]
    for candidate, candidate_size in found.scales:
        if float(f"{high / candidate_size:.3g}") >= 1:
            unit, size = candidate, candidate_size
            break
    lo, hi = sig3(low / size), sig3(high / size)
    return f"{hi} {unit}" if lo == hi else f"{lo} – {hi} {unit}"
