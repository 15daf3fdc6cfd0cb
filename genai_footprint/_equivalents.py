"""Everyday equivalents of impacts (smartphone charges, LED-bulb minutes, km by car, glasses of water), each from a
sourced row of ``registry/equivalents.json``: a sense of scale for people, never an offset."""

from __future__ import annotations

import functools
import json
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from genai_footprint._criteria import BY_NAME, UNITS, format_number
from genai_footprint._data import data_dir
from genai_footprint._errors import RegistryError

if TYPE_CHECKING:
    from genai_footprint._impacts import Impacts

FILE_NAME = "equivalents.json"


@dataclass(frozen=True, slots=True)
class EquivalentRow:
    """One row of the table: ``per`` is how much of ``criterion`` (in its unit) one of the things stands for."""

    name: str
    label: str
    criterion: str
    per: float
    source: str


@dataclass(frozen=True, slots=True)
class Equivalent:
    """How many of an everyday thing an impact range amounts to: ``min`` to ``max`` ``label``, computed from the
    impacts' ``criterion`` at ``per`` (in the criterion's unit) each; ``source`` says where ``per`` comes from."""

    name: str  # "smartphone_charges"
    label: str  # "smartphone charges"
    criterion: str  # the Impacts field it comes from: "energy", "gwp", "wcf"
    min: float
    max: float
    per: float
    source: str

    def __str__(self) -> str:
        low, high = plain(self.min), plain(self.max)
        return f"{high if low == high else f'{low} – {high}'} {self.label}"


def plain(count: float) -> str:
    """A count to 3 significant figures, without an exponent down to a millionth: ``0.0000439``, ``1,230``."""
    if count == 0 or abs(count) >= 100 or abs(count) < 1e-6:
        return format_number(count)
    return f"{count:.{2 - math.floor(math.log10(abs(count)))}f}".rstrip("0").rstrip(".")


def parse_rows(document: Any, where: str) -> tuple[EquivalentRow, ...]:
    """The rows of an equivalents document, each checked; RegistryError naming ``where`` and the row otherwise."""
    rows = document.get("equivalents") if isinstance(document, dict) else None
    if not isinstance(rows, list) or not rows:
        raise RegistryError(f"{where}: expected a non-empty 'equivalents' list")
    found = []
    for index, row in enumerate(rows):
        at = f"{where}: equivalents[{index}]"
        if not isinstance(row, dict) or set(row) != {"name", "label", "criterion", "per", "source"}:
            raise RegistryError(f"{at}: expected exactly the keys name, label, criterion, per, source")
        if row["criterion"] not in BY_NAME:
            raise RegistryError(f"{at}: unknown criterion {row['criterion']!r}; expected one of {', '.join(UNITS)}")
        per = row["per"]
        if isinstance(per, bool) or not isinstance(per, int | float) or not (0 < per < math.inf):
            raise RegistryError(f"{at}: 'per' must be a number > 0, got {per!r}")
        if not all(isinstance(row[key], str) and row[key].strip() for key in ("name", "label", "source")):
            raise RegistryError(f"{at}: name, label and source must be non-empty strings")
        found.append(EquivalentRow(row["name"], row["label"], row["criterion"], float(per), row["source"]))
    return tuple(found)


@functools.cache
def table() -> tuple[EquivalentRow, ...]:
    """The equivalents, read once."""
    path = data_dir() / FILE_NAME
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise RegistryError(f"{path}: cannot read: {exc}") from exc
    return parse_rows(document, str(path))


def equivalents_of(impacts: Impacts) -> tuple[Equivalent, ...]:
    """Each everyday equivalent of ``impacts``, in the table's order."""
    out = []
    for row in table():
        found = getattr(impacts, row.criterion)
        low, high = found.min / row.per, found.max / row.per
        out.append(Equivalent(row.name, row.label, row.criterion, low, high, row.per, row.source))
    return tuple(out)
