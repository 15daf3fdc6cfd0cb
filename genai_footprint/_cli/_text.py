"""Text shared by the commands, the report and the demo: the program's name, error lines, aligned tables, numbers."""

from __future__ import annotations

import sys
from collections.abc import Sequence

PROG = "genai-footprint"


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


def table(header: Sequence[str], rows: Sequence[Sequence[str]], right: Sequence[int] = ()) -> list[str]:
    """Rows of text as aligned columns; columns whose index is in ``right`` are right-aligned."""
    widths = [max(len(str(row[i])) for row in (header, *rows)) for i in range(len(header))]

    def line(row: Sequence[str]) -> str:
        cells = [
            cell.rjust(w) if i in right else cell.ljust(w) for i, (cell, w) in enumerate(zip(row, widths, strict=True))
        ]
        return "  ".join(cells).rstrip()

    return [line(header), line(["-" * w for w in widths]), *(line(row) for row in rows)]
