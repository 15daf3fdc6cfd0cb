"""Exact running sums for the report: a ``Tally`` takes calls one at a time in bounded memory.

A sum of many floats rounded once at the end (``math.fsum``) does not depend on the order of the terms; a
running float sum does. A tally buffers a few hundred calls, then folds them into a handful of floats whose
exact sum is the exact sum so far (``exact_parts``), so its totals equal ``math.fsum`` over every call, to the
last bit, while it holds at most ``FOLD_CALLS`` calls' values.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from genai_footprint._criteria import NAMES

FOLD_CALLS = 256  # calls a tally buffers before folding them into its exact parts
TOKEN_COLUMNS = ("output_tokens", "input_tokens", "cached_input_tokens")
_COLUMNS = len(TOKEN_COLUMNS) + 2 * len(NAMES)  # the token counts, then (min, max) of each criterion


@dataclass(frozen=True, slots=True)
class Totals:
    """What a set of calls adds up to. ``impacts`` holds exact sums (``math.fsum``) of the bounds."""

    calls: int
    estimated_calls: int
    output_tokens: float  # of the calls that reported a count, estimated or not
    impacts: Mapping[str, tuple[float, float]] | None  # criterion → (min, max); None when nothing was estimated
    input_tokens: float = 0.0  # of the calls that reported them (cached ones included)
    cached_input_tokens: float = 0.0

    @property
    def unestimated_calls(self) -> int:
        return self.calls - self.estimated_calls


NO_CALLS = Totals(0, 0, 0.0, None)


def exact_parts(values: Iterable[float]) -> list[float]:
    """A few floats whose exact sum is the exact sum of ``values``: the rounded sum, then what rounding left out.

    ``math.fsum`` rounds the exact sum once; the remainder, exact sum minus the parts found so far, is again
    summed by ``fsum``, until it is zero. Each part is far below the one before, so a handful suffice.
    """
    terms = list(values)
    parts: list[float] = []
    while rest := math.fsum(terms):
        parts.append(rest)
        terms.append(-rest)
    return parts


class Tally:
    """The running totals of the calls added to it: counts, token counts and every bound, summed exactly."""

    __slots__ = ("_bounds", "_parts", "_tokens", "calls", "estimated")

    def __init__(self) -> None:
        self.calls = 0
        self.estimated = 0
        self._parts: list[list[float]] = [[] for _ in range(_COLUMNS)]  # exact parts: tokens, then each bound
        self._tokens: list[tuple[float, ...]] = []  # of the calls not folded yet (a missing count as 0)
        self._bounds: list[tuple[float, ...]] = []  # of the calls not folded yet

    def add(self, tokens: tuple[float | None, ...], bounds: tuple[float, ...] | None) -> None:
        """Count one call: its token counts in ``TOKEN_COLUMNS`` order (None: not reported) and bounds (None: not
        estimated)."""
        self.calls += 1
        if any(count is not None for count in tokens):
            self._tokens.append(tuple(count or 0.0 for count in tokens))
        if bounds is not None:
            self.estimated += 1
            self._bounds.append(bounds)
        if self.calls % FOLD_CALLS == 0:
            self._fold()

    def _fold(self) -> None:
        columns: list[Sequence[float]] = [*zip(*self._tokens, strict=True), *zip(*self._bounds, strict=True)]
        if not self._tokens:
            columns = [[] for _ in TOKEN_COLUMNS] + columns
        for i, column in enumerate(columns):
            if column:
                self._parts[i] = exact_parts([*self._parts[i], *column])
        self._tokens, self._bounds = [], []

    def merge(self, other: Tally) -> None:
        """Add ``other``'s calls to this tally (``other`` is left as it is)."""
        other._fold()
        self._fold()
        self.calls += other.calls
        self.estimated += other.estimated
        self._parts = [exact_parts([*mine, *theirs]) for mine, theirs in zip(self._parts, other._parts, strict=True)]

    def totals(self) -> Totals:
        """The totals so far; every sum is exact, whatever the order in which the calls came."""
        self._fold()
        sums = [math.fsum(parts) for parts in self._parts]
        first = len(TOKEN_COLUMNS)
        impacts = None
        if self.estimated:
            impacts = {c: (sums[first + 2 * i], sums[first + 1 + 2 * i]) for i, c in enumerate(NAMES)}
        return Totals(self.calls, self.estimated, sums[0], impacts, input_tokens=sums[1], cached_input_tokens=sums[2])


def combined(tallies: Iterable[Tally]) -> Tally:
    """One tally of the calls of all ``tallies``."""
    result = Tally()
    for tally in tallies:
        result.merge(tally)
    return result
