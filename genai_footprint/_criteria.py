"""The impact criteria: one table of names, labels, units and display scales, used everywhere they appear.

Impacts, records, the CLI, the report and OpenTelemetry all read the criteria from here, in this order.
"""

from __future__ import annotations

import re
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


UNIT_STYLES: tuple[str, ...] = ("si", "base")  # how the CLI's --units shows quantities


def sig3(value: float) -> str:
    """3 significant figures, without an exponent for large numbers (``12,300`` rather than ``1.23e+04``)."""
    text = f"{value:.3g}"
    if "e+" in text:
        return f"{float(text):,.0f}"
    return text


def find_unit(unit: str) -> tuple[Criterion, str, float] | None:
    """The criterion measured in ``unit`` (its base unit or one of its display units), the unit as the table spells
    it and its size in the base unit; None for a unit of no criterion. ``u`` stands for ``µ`` and ``m3`` for ``m³``."""
    spelled = "µ" + unit[1:] if unit.startswith("u") else unit.replace("m3", "m³")
    for criterion in CRITERIA:
        for name, size in criterion.scales:
            if name == spelled:
                return criterion, name, size
    return None


def display_unit(criterion: Criterion, units: str, high: float) -> tuple[str, float]:
    """(unit, size in the base unit) to show a range up to ``high`` (base unit) in: ``units`` is "si", "base" or a
    unit of ``criterion``. In "si", the largest unit in which ``high`` shows as at least 1."""
    if units == "base":
        return criterion.unit, 1.0
    if units == "si":
        if high == 0:
            return criterion.unit, 1.0
        for name, size in criterion.scales:
            if float(f"{high / size:.3g}") >= 1:
                return name, size
        return criterion.scales[-1]
    found = find_unit(units)
    if found is None or found[0] is not criterion:
        allowed = ", ".join(name for name, _ in criterion.scales)
        raise ValueError(
            f"unknown unit {units!r} for {criterion.label.lower()}: use one of {allowed} (or 'si', 'base')"
        )
    return found[1], found[2]


def format_number(value: float, spec: str = "") -> str:
    """``value`` with a format spec (``".2f"``, ``",.1f"``, ``".3e"``); 3 significant figures without one. A value
    that is not 0 never shows as 0 (``0.00``): it gets the same number of significant figures instead."""
    if not spec:
        return sig3(value)
    text = format(value, spec)
    if value != 0 and not any(digit in "123456789" for digit in text.split("e")[0].split("E")[0]):
        precision = re.search(r"\.(\d+)", spec)
        text = format(value, f".{max(int(precision[1]) if precision else 3, 1)}g")
    return text


def format_quantity(criterion: str, low: float, high: float, units: str = "si", spec: str = "") -> str:
    """A min–max range of ``criterion`` (in its ``unit``) for people, e.g. ``1.2 – 3.4 mWh``.

    ``units``: "si" (default) picks the SI-prefixed unit that reads best, the largest in which the upper bound
    shows as at least 1; "base" keeps the criterion's unit in scientific notation (``2.88e-05 kWh``); or a unit of
    the criterion (``"Wh"``). ``spec`` formats each number (``".2f"``); 3 significant figures by default. A range
    whose bounds show the same figures shows one number. Raises ValueError for a unit of another criterion.
    """
    found = BY_NAME[criterion]
    unit, size = display_unit(found, units, high)
    if high == 0 and low == 0:
        return f"0 {unit}"
    if units == "base" and not spec:
        spec = ".2e"
    lo, hi = format_number(low / size, spec), format_number(high / size, spec)
    return f"{hi} {unit}" if lo == hi else f"{lo} – {hi} {unit}"


# fill and align and width apply to the whole text; the rest of a format spec to each number.
_SPEC = re.compile(
    r"(?:(?P<fill>.)?(?P<align>[<>=^]))?(?P<number1>[-+ ]?z?#?)(?P<zero>0)?(?P<width>\d+)?"
    r"(?P<number2>[,_]?(?:\.\d+)?[eEfFgGn]?)"
)


def split_spec(spec: str) -> tuple[str, str, str]:
    """A range's format spec as (unit, number spec, text spec): ``"Wh:>20.2f"`` → ``("Wh", ".2f", ">20")``.

    ``spec`` is ``[UNIT][:NUMBER]`` or ``NUMBER`` (a Python float spec); UNIT is a unit, ``si`` or ``base``.
    """
    unit, sep, number = spec.partition(":")
    if not sep and _SPEC.fullmatch(spec):
        unit, number = "", spec
    match = _SPEC.fullmatch(number)
    if match is None:
        raise ValueError(f"invalid format spec {number!r} for a range; expected e.g. '.2f', 'Wh' or 'Wh:.2f'")
    fill, align = match["fill"] or "", match["align"] or ""
    if match["zero"] and not align:
        fill, align = "0", ">"
    text = f"{fill}{'>' if align == '=' else align}{match['width'] or ''}"
    return unit, match["number1"] + match["number2"], text


def format_range(low: float, high: float, unit: str, spec: str = "") -> str:
    """A range in ``unit`` with a format spec (see ``split_spec``): SI-prefixed by default when ``unit`` is a
    criterion's; otherwise the numbers as they are, 3 significant figures by default."""
    target, number, text = split_spec(spec)
    found = find_unit(unit)
    if found is None:
        if target not in ("", "si", "base", unit):
            raise ValueError(f"cannot show a range in {unit!r} in {target!r}: {unit!r} is no impact criterion's unit")
        lo, hi = format_number(low, number), format_number(high, number)
        shown = (hi if lo == hi else f"{lo} – {hi}") + (f" {unit}" if unit else "")
    else:
        # A range converted to a unit (``r.to("Wh")``) stays in it; one in the base unit reads best SI-prefixed.
        criterion, name, size = found
        default = "si" if name == criterion.unit else name
        shown = format_quantity(criterion.name, low * size, high * size, target or default, number)
    return format(shown, text)
