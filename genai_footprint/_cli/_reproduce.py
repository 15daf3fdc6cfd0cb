"""``genai-footprint reproduce``: recompute one logged estimate from its recorded inputs and compare every bound.

pydantic and the methodology are loaded by ``reproduce_record`` only.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from genai_footprint._cli._logs import read_lines, read_range
from genai_footprint._cli._text import MAX_WIDTH, format_equivalents, table
from genai_footprint._criteria import BY_NAME, EMBODIED_NAMES, NAMES, USAGE_NAMES, display_unit, format_quantity
from genai_footprint._errors import InvalidInputError
from genai_footprint._export._record import SCHEMA
from genai_footprint._impacts import ALL_KEYS, range_at

if TYPE_CHECKING:
    from genai_footprint import EstimateInputs, Impacts

RELATIVE_TOLERANCE = 1e-9
# Every range an estimate holds, as ``Impacts`` names them: the totals, then "usage.x" and "embodied.x".
_LINE_REF = re.compile(r"^(?P<path>.+):(?P<line>\d+)$")


# -- reading the record --------------------------------------------------------------------------------


def load_record(spec: str, stdin: TextIO) -> tuple[str, object]:
    """The JSON object named by ``spec`` and where it came from.

    ``spec`` is a JSON file (a record or an ``Impacts`` JSON), ``LOG.jsonl:N`` (line N, from 1), or ``-``
    (one JSON object on ``stdin``).
    """
    if spec == "-":
        return "<stdin>", _decode(stdin.read(), "<stdin>")
    path = Path(spec)
    match = _LINE_REF.match(spec)
    if match and not path.exists():
        path, number = Path(match["path"]), int(match["line"])
        where = f"{path}:{number}"
        if number == 0:
            raise InvalidInputError(where, "lines count from 1")
        count = records = 0
        for count, line in read_lines(path):
            records += bool(line.strip())
            if count == number:
                if not line.strip():
                    raise InvalidInputError(where, "the line is blank")
                return where, _decode(line, where)
        if count == 0:
            raise InvalidInputError(where, "the log is empty")
        raise InvalidInputError(
            where,
            f"past the end of the log, which has {records} record(s) on {count} line(s); name a line from 1 to {count}",
        )
    text = "".join(line for _, line in read_lines(path))
    try:
        return spec, json.loads(text)
    except ValueError as exc:
        lines = [line for line in text.splitlines() if line.strip()]
        if len(lines) > 1 and _is_json_object(lines[0]):  # a log: one record a line
            raise InvalidInputError(
                spec, f"holds {len(lines)} lines, not one JSON object; name one as {spec}:N"
            ) from None
        raise InvalidInputError(spec, f"not valid JSON ({exc})") from None


def _is_json_object(text: str) -> bool:
    try:
        return isinstance(json.loads(text), dict)
    except ValueError:
        return False


def _decode(text: str, where: str) -> object:
    try:
        return json.loads(text)
    except ValueError as exc:
        raise InvalidInputError(where, f"not valid JSON ({exc})") from None


def _estimate_part(obj: dict[str, Any], source: str) -> tuple[dict[str, Any], str]:
    """Where the totals are (the record's ``impacts``, or the ``Impacts`` JSON itself) and their key prefix."""
    schema = obj.get("schema")
    if schema is not None:
        if schema != SCHEMA:
            raise InvalidInputError(source, f"schema {schema!r} is not supported; expected {SCHEMA!r}")
        if obj.get("estimated") is not True or obj.get("impacts") is None or obj.get("inputs") is None:
            model = obj.get("model_requested") or obj.get("model_served")
            raise InvalidInputError(
                source, f"an unestimated call (model {model!r} not in the registry): it has no estimate to reproduce"
            )
        return obj["impacts"], "impacts."
    if {"methodology_version", "energy", "usage", "embodied"} <= obj.keys():
        if obj.get("inputs") is None:
            calls = obj.get("calls")
            raise InvalidInputError(
                source, f"a total of {calls} calls has no inputs of its own: reproduce each call's record instead"
            )
        return obj, ""
    raise InvalidInputError(
        source, f"neither a genai-footprint record (a 'schema': {SCHEMA!r} key) nor an Impacts JSON"
    )


def _recorded_ranges(obj: dict[str, Any], totals: object, prefix: str) -> dict[str, tuple[float, float]]:
    """Every recorded range, keyed as ``ALL_KEYS``; raises ValueError naming the first that is not one."""
    if not isinstance(totals, dict):
        raise ValueError(f"{prefix.rstrip('.') or 'the record'!r} must be an object")
    ranges = {name: read_range(totals.get(name), prefix + name) for name in NAMES}
    for part, names in (("usage", USAGE_NAMES), ("embodied", EMBODIED_NAMES)):
        section = obj.get(part)
        if not isinstance(section, dict):
            raise ValueError(f"{part!r} must be an object, got {section!r}")
        for name in names:
            ranges[f"{part}.{name}"] = read_range(section.get(name), f"{part}.{name}")
    return ranges


def _recorded(obj: dict[str, Any], source: str) -> tuple[str, dict[str, Any], dict[str, tuple[float, float]]]:
    """The methodology version, the inputs and every recorded range of a record or an ``Impacts`` JSON."""
    totals, prefix = _estimate_part(obj, source)
    version = obj.get("methodology_version")
    if not isinstance(version, str) or not version:
        raise InvalidInputError(source, f"'methodology_version' must be a string, got {version!r}")
    inputs = obj["inputs"]
    if not isinstance(inputs, dict):
        raise InvalidInputError(source, f"'inputs' must be an object, got {type(inputs).__name__}")
    try:
        ranges = _recorded_ranges(obj, totals, prefix)
    except ValueError as exc:
        raise InvalidInputError(source, str(exc)) from None
    return version, inputs, ranges


# -- comparing -----------------------------------------------------------------------------------------


def _close(recorded: float, recomputed: float) -> bool:
    return math.isclose(recorded, recomputed, rel_tol=RELATIVE_TOLERANCE, abs_tol=0.0)


@dataclass(frozen=True, slots=True)
class BoundCheck:
    """One recorded range beside its recomputed value."""

    key: str  # as ``Impacts`` names it: "energy", "usage.gwp", "embodied.pe", ...
    unit: str
    recorded: tuple[float, float]
    recomputed: tuple[float, float]

    @property
    def matches(self) -> bool:
        return all(_close(a, b) for a, b in zip(self.recorded, self.recomputed, strict=True))


@dataclass(frozen=True, slots=True)
class Reproduction:
    """The outcome of recomputing a recorded estimate from its recorded inputs."""

    source: str
    methodology_version: str
    inputs: EstimateInputs
    checks: tuple[BoundCheck, ...]
    impacts: Impacts  # the recomputed estimate

    @property
    def mismatches(self) -> tuple[str, ...]:
        return tuple(c.key for c in self.checks if not c.matches)

    @property
    def ok(self) -> bool:
        return not self.mismatches


def reproduce_record(obj: object, source: str) -> Reproduction:
    """Recompute the estimate of a record (or ``Impacts`` JSON) from its inputs and compare every range.

    Raises ``InvalidInputError`` naming ``source`` when there is nothing to reproduce or it cannot be read
    (an unestimated call, missing ranges, invalid inputs, an unknown methodology version).
    """
    from pydantic import ValidationError

    from genai_footprint import reproduce

    if not isinstance(obj, dict):
        raise InvalidInputError(source, f"expected a JSON object, got {type(obj).__name__}")
    version, raw_inputs, recorded = _recorded(obj, source)
    try:
        impacts = reproduce(raw_inputs, version)
    except ValidationError as exc:  # the recorded inputs, checked before anything is computed
        first = exc.errors()[0]
        loc = ".".join(str(part) for part in ("inputs", *first["loc"]))
        raise InvalidInputError(source, f"{loc}: {first['msg']}") from None
    except InvalidInputError as exc:
        raise InvalidInputError(source, str(exc)) from None
    if impacts.inputs is None:  # reproduce() always records the inputs it ran on
        raise InvalidInputError(source, "the recomputed estimate holds no inputs")
    checks = []
    for key in ALL_KEYS:
        again = range_at(impacts, key)
        checks.append(BoundCheck(key, again.unit, recorded[key], (again.min, again.max)))
    return Reproduction(source, version, impacts.inputs, tuple(checks), impacts)


# -- output --------------------------------------------------------------------------------------------


def _pairs(check: BoundCheck, units: str) -> tuple[str, str]:
    """The recorded and recomputed ranges of ``check`` in one unit, to 6 significant figures."""
    criterion = check.key.rpartition(".")[2]
    unit, _ = display_unit(BY_NAME[criterion], units, check.recorded[1])
    spec = ".5e" if units == "base" else ".6g"
    return (
        format_quantity(criterion, *check.recorded, unit, spec),
        format_quantity(criterion, *check.recomputed, unit, spec),
    )


def format_reproduction(result: Reproduction, units: str = "si", equivalents: bool = False) -> str:
    """The comparison as text: what was recomputed, one row per range, the verdict and, with ``equivalents``,
    the everyday equivalents of the recomputed estimate. ``units``: "si" or "base"."""
    inputs = result.inputs
    model = inputs.model_resolved or inputs.model_requested or "parameters given"
    lines = [
        f"Record:       {result.source}",
        f"Call:         {inputs.provider or '-'} {model}, zone {inputs.zone}, {inputs.output_tokens:g} output tokens",
        f"Methodology:  {result.methodology_version} (registry {inputs.registry_version or 'not used'})",
        "",
    ]
    rows = [[c.key, *_pairs(c, units), "✓" if c.matches else "✗"] for c in result.checks]
    lines += table(
        ["Criterion", "Recorded (min – max)", "Recomputed (min – max)", "Match"], rows, right=(1, 2), width=MAX_WIDTH
    )
    lines.append("")
    bounds = 2 * len(result.checks)
    if result.ok:
        lines.append(
            f"Reproduced: all {bounds} bounds match within {RELATIVE_TOLERANCE:g} relative, "
            "recomputed from the recorded inputs alone."
        )
    else:
        lines.append(f"NOT reproduced. Mismatches (recorded ≠ recomputed): {', '.join(result.mismatches)}.")
        for c in result.checks:
            for side, a, b in (("min", c.recorded[0], c.recomputed[0]), ("max", c.recorded[1], c.recomputed[1])):
                if not _close(a, b):
                    lines.append(f"  {c.key} {side}: recorded {a!r}, recomputed {b!r} {c.unit}")
    if equivalents:
        lines += ["", *format_equivalents(result.impacts)]
    return "\n".join(lines)


def reproduction_json(result: Reproduction) -> dict[str, Any]:
    """The comparison as plain JSON types."""
    return {
        "source": result.source,
        "methodology_version": result.methodology_version,
        "reproduced": result.ok,
        "relative_tolerance": RELATIVE_TOLERANCE,
        "mismatches": list(result.mismatches),
        "checks": [
            {
                "key": c.key,
                "unit": c.unit,
                "recorded": {"min": c.recorded[0], "max": c.recorded[1]},
                "recomputed": {"min": c.recomputed[0], "max": c.recomputed[1]},
                "match": c.matches,
            }
            for c in result.checks
        ],
    }
