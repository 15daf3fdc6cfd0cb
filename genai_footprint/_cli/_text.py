"""Text shared by the commands, the report and the demo: the program's name, error lines, aligned tables that fit
the screen, tracker trees, numbers and the ``--units`` switch."""

from __future__ import annotations

import argparse
import dataclasses
import sys
import textwrap
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from genai_footprint._criteria import UNIT_STYLES

if TYPE_CHECKING:
    from genai_footprint._impacts import Impacts

PROG = "genai-footprint"
MAX_WIDTH = 100  # text tables never run wider than this many columns
MIN_WRAP = 12  # a column is not wrapped narrower than this
UNITS_HELP = (
    "si: SI-prefixed units that read best (1.2 mWh, 350 µL; the default); "
    "base: kWh, kgCO2eq, MJ, kgSbeq, L in scientific notation"
)


def fail(message: str) -> int:
    """Print ``message`` as the one ``genai-footprint: error: ...`` line on stderr; returns the exit code, 2."""
    print(f"{PROG}: error: {message}", file=sys.stderr)
    return 2


def one_line(text: str) -> str:
    """``text`` with every run of whitespace, newlines included, as one space."""
    return " ".join(text.split())


def g(value: float) -> str:
    """A number to 3 significant figures, the precision every table shows."""
    return f"{value:.3g}"


def format_count(value: float) -> str:
    """A count of calls or tokens: whole, with thousands separators."""
    return f"{value:,.0f}"


def add_units_argument(p: argparse.ArgumentParser) -> None:
    """The ``--units si|base`` option of every command that shows impacts; pass ``args.units`` to
    ``_criteria.format_quantity(criterion, low, high, args.units)``."""
    p.add_argument("--units", choices=UNIT_STYLES, default="si", help=UNITS_HELP)


def tree_labels(paths: Sequence[tuple[str, ...]]) -> list[str]:
    """Each path of nested names (tracker paths, parents listed before their children, in their order) as a line
    of a tree: ``demo-agent``, ``├─ step-plan``, ``└─ step-summary``."""
    labels = []
    for index, path in enumerate(paths):
        prefix = ""
        for depth in range(1, len(path)):
            last = not any(other[:depth] == path[:depth] for other in paths[index + 1 :])
            if depth == len(path) - 1:
                prefix += "└─ " if last else "├─ "
            else:
                prefix += "   " if last else "│  "
        labels.append(prefix + path[-1])
    return labels


def table(
    header: Sequence[str],
    rows: Sequence[Sequence[str]],
    right: Sequence[int] = (),
    *,
    width: int | None = None,
    drop: Sequence[int] = (),
) -> list[str]:
    """Rows of text as aligned columns; columns whose index is in ``right`` are right-aligned. With a ``width``
    (commands pass ``MAX_WIDTH``), at most that wide: while too wide, the columns in ``drop`` are left out, first
    listed first; then the widest left-aligned columns wrap onto more lines."""
    keep = list(range(len(header)))
    widths = [max(len(str(row[i])) for row in (header, *rows)) for i in keep]
    width = sum(widths) + 2 * len(widths) if width is None else width

    def total(columns: list[int]) -> int:
        return sum(widths[i] for i in columns) + 2 * (len(columns) - 1)

    for column in drop:
        if total(keep) <= width:
            break
        keep.remove(column)
    shown = {i: widths[i] for i in keep}
    wrappable = [i for i in keep if i not in right]
    while wrappable and sum(shown.values()) + 2 * (len(keep) - 1) > width:
        widest = max(wrappable, key=lambda i: shown[i])
        if shown[widest] <= MIN_WRAP:
            break
        shown[widest] -= 1

    def lines(row: Sequence[str]) -> list[str]:
        cells = {
            i: [str(row[i])] if len(str(row[i])) <= shown[i] else textwrap.wrap(str(row[i]), shown[i]) for i in keep
        }
        height = max(len(cell) for cell in cells.values())
        out = []
        for n in range(height):
            parts = [
                (cells[i][n] if n < len(cells[i]) else "").rjust(shown[i])
                if i in right
                else (cells[i][n] if n < len(cells[i]) else "").ljust(shown[i])
                for i in keep
            ]
            out.append("  ".join(parts).rstrip())
        return out

    rule = "  ".join("-" * shown[i] for i in keep)
    return [*lines(header), rule, *(line for row in rows for line in lines(row))]


def format_equivalents(impacts: Impacts) -> list[str]:
    """Lines naming the everyday equivalents of ``impacts``, each numbered by its source, then the sources."""
    found = impacts.equivalents()
    lines = ["Everyday equivalents (a sense of scale, not an offset):"]
    lines += [f"  {item} [{n}]" for n, item in enumerate(found, start=1)]
    lines.append("Sources:")
    for n, item in enumerate(found, start=1):
        lines += textwrap.wrap(
            item.source,
            MAX_WIDTH,
            initial_indent=f"  [{n}] ",
            subsequent_indent="      ",
            break_long_words=False,  # addresses stay whole
            break_on_hyphens=False,
        )
    return lines


def equivalents_json(impacts: Impacts) -> list[dict[str, Any]]:
    """The everyday equivalents of ``impacts`` as plain JSON types."""
    return [dataclasses.asdict(item) for item in impacts.equivalents()]
