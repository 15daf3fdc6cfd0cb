"""``genai-footprint validate``: every methodology version beside the public reference figures.

Text for a terminal, or ``--markdown``: the table of ``docs/validation.md`` (a test regenerates it and fails
when a number drifts).
"""

from __future__ import annotations

import argparse
import textwrap
from typing import TYPE_CHECKING

from genai_footprint._cli._text import MAX_WIDTH
from genai_footprint._criteria import format_quantity

if TYPE_CHECKING:
    from genai_footprint._validation import Result

MARKDOWN_START = "<!-- validate:start (genai-footprint validate --markdown) -->"
MARKDOWN_END = "<!-- validate:end -->"


def add_validate(p: argparse.ArgumentParser) -> None:
    p.add_argument("--markdown", action="store_true", help="print the table of docs/validation.md")


def run_validate(args: argparse.Namespace) -> int:
    from genai_footprint import _validation

    results = _validation.run_all()
    choice = _validation.default_choice(results)
    print(markdown(results, choice.version, choice.reason) if args.markdown else text(results, choice.reason))
    return 0


def _verdict(result: Result) -> str:
    return "overlaps" if result.overlaps else ("above" if result.ratio > 1 else "below")


def text(results: list[list[Result]], reason: str) -> str:
    """One block per reference: the figure, then each version's range, ratio and verdict."""
    lines: list[str] = []
    for row in results:
        case = row[0].case
        figure = format_quantity(case.criterion, case.figure.min, case.figure.max)
        assumed = "" if case.inputs_known else " (inputs assumed)"
        lines += _wrapped(f"{case.reference}{assumed}", "")
        lines += _wrapped(f"reference  {figure}   ({case.figure_note})", "  ")
        for result in row:
            ours = format_quantity(case.criterion, result.ours.min, result.ours.max)
            lines.append(f"  {result.version:<24} {ours:<24} x{result.ratio:<6.2f} {_verdict(result)}")
        lines += [*_wrapped(f"scope: {case.scope}", "  "), ""]
    lines += _wrapped(f"Default version: {reason}.", "")
    return "\n".join(lines)


def _wrapped(text: str, indent: str) -> list[str]:
    """``text`` in lines of at most ``MAX_WIDTH`` columns, each indented, the following ones a little more."""
    return textwrap.wrap(text, MAX_WIDTH, initial_indent=indent, subsequent_indent=indent + "  ")


def markdown(results: list[list[Result]], default: str, reason: str) -> str:
    """The table of ``docs/validation.md``, between its markers."""
    versions = [result.version for result in results[0]]
    header = ["Reference", "Inputs", "Figure", *(f"`{v}`" for v in versions), "Scope"]
    lines = [MARKDOWN_START, "", "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in results:
        case = row[0].case
        figure = format_quantity(case.criterion, case.figure.min, case.figure.max)
        inputs = case.inputs_note if case.inputs_known else f"*assumed:* {case.inputs_note}"
        cells = [
            f"{case.reference} ({_source(case.source)})",
            inputs,
            f"{figure} ({case.figure_note})",
            *(f"{format_quantity(case.criterion, r.ours.min, r.ours.max)}, ×{r.ratio:.2f}, {_verdict(r)}" for r in row),
            case.scope,
        ]
        lines.append("| " + " | ".join(cell.replace("|", "/") for cell in cells) + " |")
    lines += ["", f"Default version: `{default}`: {reason}.", "", MARKDOWN_END]
    return "\n".join(lines)


def _source(source: str) -> str:
    """A source note, its leading address as a link."""
    address, _, rest = source.partition(" ")
    if not address.startswith("https://"):
        return source
    return f"[source]({address}) {rest}".rstrip()
