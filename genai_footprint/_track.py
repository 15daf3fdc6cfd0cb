"""``track()``: add up the impacts of every instrumented call made inside a block or a function.

Built on contextvars: concurrent asyncio tasks and threads never mix their trackers. A tracker keeps one
running total per model, not per call, so a million calls cost no more memory than one. Each bound is summed
with compensation (Neumaier's variant of Kahan summation), so a total stays within a few units in the last
place of the exact sum of its calls' bounds (``math.fsum``), however many calls it holds.
"""

from __future__ import annotations

import functools
import inspect
import math
import threading
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Any, ParamSpec, TypeVar

from genai_footprint._context import ACTIVE_TRACKERS
from genai_footprint._criteria import EMBODIED_NAMES, USAGE_NAMES
from genai_footprint._errors import InvalidInputError
from genai_footprint._events import DETAIL_NAMES, TokenDetails
from genai_footprint._impacts import LABEL_WIDTH, Impacts, ImpactWarning, from_parts, merge_versions, summary_rows

P = ParamSpec("P")
R = TypeVar("R")


def _bounds(impacts: Impacts) -> list[float]:
    """The min and max of every usage range, then of every embodied range (the totals are their sums)."""
    ranges = [getattr(impacts.usage, name) for name in USAGE_NAMES]
    ranges += [getattr(impacts.embodied, name) for name in EMBODIED_NAMES]
    return [bound for found in ranges for bound in (found.min, found.max)]


class _Totals:
    """One model's running totals: the sum of each bound of its calls (see ``_bounds``), kept with the rounding
    error of each addition (Neumaier's compensated summation), the call count, the methodology versions and the
    warnings (the first of each code)."""

    def __init__(self) -> None:
        size = 2 * (len(USAGE_NAMES) + len(EMBODIED_NAMES))
        self.sums = [0.0] * size
        self.errors = [0.0] * size  # what rounding took from each sum, added back when read
        self.calls = 0
        self.versions: set[str] = set()
        self.warnings: dict[str, ImpactWarning] = {}

    def add(self, impacts: Impacts) -> None:
        for index, value in enumerate(_bounds(impacts)):
            total = self.sums[index]
            new_total = total + value
            if abs(total) >= abs(value):
                self.errors[index] += (total - new_total) + value
            else:
                self.errors[index] += (value - new_total) + total
            self.sums[index] = new_total
        self.calls += impacts.calls
        self.versions.add(impacts.methodology_version)
        for warning in impacts.warnings:
            self.warnings.setdefault(warning.code, warning)

    def bounds(self) -> list[float]:
        return [total + error for total, error in zip(self.sums, self.errors, strict=True)]

    def impacts(self) -> Impacts:
        return _total([self])


def _total(totals: list[_Totals]) -> Impacts:
    """The impacts of every call in ``totals`` (one model's, or a run's across its models)."""
    bounds = [math.fsum(column) for column in zip(*(t.bounds() for t in totals), strict=True)]
    pairs = iter(zip(bounds[0::2], bounds[1::2], strict=True))
    warnings: dict[str, ImpactWarning] = {}
    for t in totals:
        for code, warning in t.warnings.items():
            warnings.setdefault(code, warning)
    return from_parts(
        {name: next(pairs) for name in USAGE_NAMES},
        {name: next(pairs) for name in EMBODIED_NAMES},
        methodology_version=merge_versions(v for t in totals for v in t.versions),
        inputs=None,
        warnings=tuple(warnings.values()),
        calls=sum(t.calls for t in totals),
    )


@dataclass(frozen=True, slots=True)
class TokenTotals:
    """Token counts added up over one model's calls (``Run.tokens_by_model``): ``output_tokens`` over its
    estimated calls, the others over every call that reported them; a count no call reported stays None."""

    calls: int = 0
    output_tokens: float | None = None
    input_tokens: int | None = None
    cached_input_tokens: int | None = None
    cache_write_input_tokens: int | None = None
    reasoning_tokens: int | None = None

    def plus(self, output_tokens: float | None, details: TokenDetails) -> TokenTotals:
        """These totals with one more call."""
        counts = {"output_tokens": output_tokens, **{name: getattr(details, name) for name in DETAIL_NAMES}}
        added = {
            name: getattr(self, name) if value is None else (getattr(self, name) or 0) + value
            for name, value in counts.items()
        }
        return TokenTotals(calls=self.calls + 1, **added)


class Run:
    """The totals of one tracked block: ``impacts`` (None until a call is estimated), ``calls``,
    ``unestimated_calls`` (models not in the registry), a per-model breakdown ``by_model`` and the token
    counts per model, ``tokens_by_model``."""

    def __init__(self, name: str, parents: tuple[str, ...]) -> None:
        self.name = name
        self.path = (*parents, name)  # enclosing tracker names, outermost first
        self._lock = threading.Lock()
        self._by_model: dict[str, _Totals] = {}  # "provider/model" -> its calls' totals
        self._unestimated: dict[str, int] = {}
        self._tokens: dict[str, TokenTotals] = {}

    def add(
        self, provider: str, model: str | None, impacts: Impacts | None, details: TokenDetails | None = None
    ) -> None:
        """Count one finished call (called by the instrumentation; usable for impacts you computed).
        ``details``: the call's other token counts, as checked (``impacts.inputs`` holds them when estimated)."""
        if impacts is None:
            key = f"{provider}/{model or '?'}"
            with self._lock:
                self._unestimated[key] = self._unestimated.get(key, 0) + 1
                self._count_tokens(key, None, details or TokenDetails())
            return
        if not isinstance(impacts, Impacts):
            raise InvalidInputError("impacts", f"expected an Impacts or None, got {impacts!r}")
        inputs = impacts.inputs
        resolved = None if inputs is None else inputs.model_resolved
        key = f"{provider}/{resolved or model or '?'}"
        if details is None and inputs is not None:
            details = TokenDetails(**{name: getattr(inputs, name) for name in DETAIL_NAMES})
        with self._lock:
            self._count_tokens(key, None if inputs is None else inputs.output_tokens, details or TokenDetails())
            totals = self._by_model.get(key)
            if totals is None:
                totals = self._by_model[key] = _Totals()
            totals.add(impacts)

    def _count_tokens(self, key: str, output_tokens: float | None, details: TokenDetails) -> None:
        self._tokens[key] = self._tokens.get(key, TokenTotals()).plus(output_tokens, details)

    @property
    def tokens_by_model(self) -> dict[str, TokenTotals]:
        """``"provider/model"`` → the token counts of its calls, estimated or not."""
        with self._lock:
            return dict(self._tokens)

    @property
    def impacts(self) -> Impacts | None:
        with self._lock:
            totals = [t for t in self._by_model.values() if t.calls]
            return _total(totals) if totals else None

    def _estimated(self) -> int:
        return sum(t.calls for t in self._by_model.values())

    @property
    def calls(self) -> int:
        """Every instrumented call that finished inside the block, estimated or not."""
        with self._lock:
            return self._estimated() + sum(self._unestimated.values())

    @property
    def estimated_calls(self) -> int:
        with self._lock:
            return self._estimated()

    @property
    def unestimated_calls(self) -> int:
        with self._lock:
            return sum(self._unestimated.values())

    @property
    def unestimated_models(self) -> dict[str, int]:
        with self._lock:
            return dict(self._unestimated)

    @property
    def by_model(self) -> dict[str, Impacts]:
        """``"provider/model"`` → that model's total impacts (``.calls`` says how many calls)."""
        with self._lock:
            return {key: totals.impacts() for key, totals in self._by_model.items() if totals.calls}

    def __repr__(self) -> str:
        impacts = self.impacts
        energy = f", energy={impacts.energy}" if impacts is not None else ""
        return f"Run({self.name!r}, calls={self.calls}{energy})"

    def __str__(self) -> str:
        """A short summary: the tracker, its calls, each criterion SI-prefixed, then energy and GHG per model."""
        impacts, by_model, unestimated = self.impacts, self.by_model, self.unestimated_calls
        skipped = f", {unestimated} without an estimate (model not in the registry)" if unestimated else ""
        lines = [f"Run {' › '.join(self.path)}: {self.calls} call(s){skipped}"]
        if impacts is not None:
            lines += [f"  {label + ':':<{LABEL_WIDTH}}{text}" for label, text in summary_rows(impacts)[:5]]
            lines += [f"  {'Methodology:':<{LABEL_WIDTH}}{impacts.methodology_version}"]
        if len(by_model) > 1:
            lines.append("  By model:")
            lines += [
                f"    {key} ({total.calls} call(s)): {total.energy}, {total.gwp}" for key, total in by_model.items()
            ]
        return "\n".join(lines)


class track:
    """Aggregate every instrumented call made inside, sync or async; streams count once they end.

    ``with genai_footprint.track("agent") as run: ...`` then ``run.impacts``, ``run.calls``,
    ``run.unestimated_calls``, ``run.by_model``. As a decorator, each call of the function is one run;
    the latest is ``function.last_run``. Trackers nest: a call counts in every enclosing tracker.
    """

    def __init__(self, name: str) -> None:
        if not isinstance(name, str) or not name:
            raise InvalidInputError("name", f"a tracker needs a non-empty name, got {name!r}")
        self.name = name
        self.run: Run | None = None  # the latest run entered through this object

    def _enter(self) -> Run:
        stack = ACTIVE_TRACKERS.get()
        run = Run(self.name, tuple(r.name for r in stack))
        ACTIVE_TRACKERS.set((*stack, run))
        self.run = run
        return run

    def _exit(self) -> None:
        # No token kept on the object: one track() may be entered by several threads or tasks at once, and
        # `with` nests properly within each context, so leaving drops this context's innermost run.
        ACTIVE_TRACKERS.set(ACTIVE_TRACKERS.get()[:-1])

    def __enter__(self) -> Run:
        return self._enter()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._exit()

    async def __aenter__(self) -> Run:
        return self._enter()

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._exit()

    def __call__(self, function: Callable[P, R]) -> Callable[P, R]:
        name = self.name
        if inspect.isgeneratorfunction(function) or inspect.isasyncgenfunction(function):
            raise InvalidInputError(
                "track",
                f"cannot decorate the generator function {function.__qualname__!r} (its body runs after the "
                "call returns); use `with genai_footprint.track(...)` inside it instead",
            )
        if inspect.iscoroutinefunction(function):

            @functools.wraps(function)
            async def run_async(*args: P.args, **kwargs: P.kwargs) -> Any:
                with track(name) as run:
                    run_async.last_run = run  # type: ignore[attr-defined]
                    return await function(*args, **kwargs)

            run_async.last_run = None  # type: ignore[attr-defined]
            return run_async  # type: ignore[return-value]

        @functools.wraps(function)
        def run_sync(*args: P.args, **kwargs: P.kwargs) -> R:
            with track(name) as run:
                run_sync.last_run = run  # type: ignore[attr-defined]
                return function(*args, **kwargs)

        run_sync.last_run = None  # type: ignore[attr-defined]
        return run_sync


def carry(function: Callable[P, R]) -> Callable[P, R]:
    """Run ``function`` (e.g. in a thread pool) inside the trackers that enclose this call to ``carry``.

    contextvars do not follow work into ``ThreadPoolExecutor`` threads: ``pool.submit(carry(work), x)``.
    """
    stack = ACTIVE_TRACKERS.get()

    @functools.wraps(function)
    def carried(*args: P.args, **kwargs: P.kwargs) -> R:
        token = ACTIVE_TRACKERS.set(stack)
        try:
            return function(*args, **kwargs)
        finally:
            ACTIVE_TRACKERS.reset(token)

    return carried


def current_run() -> Run | None:
    """The innermost active run, if any."""
    stack = ACTIVE_TRACKERS.get()
    return stack[-1] if stack else None
