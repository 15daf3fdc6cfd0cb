"""``track()``: add up the impacts of every instrumented call made inside a block or a function.

Built on contextvars: concurrent asyncio tasks and threads never mix their trackers. A tracker keeps one
running total per model, not per call, so a million calls cost no more memory than one.

A call is added as it ends, and cheaply: an instrumented call's bounds are not computed (they stay pending
until someone reads them, see ``PendingBounds``). The methodology's bounds are linear forms in output tokens
and modelled generation time, so the tracker keeps, per estimating kernel (one per model and serving zone),
the call count and the sums of tokens and of the two bounds' generation times; a reading of the run turns
each such sum into bounds once. Impacts whose bounds are already computed (``Run.add`` by hand, an estimate
beyond the lazy range) are added bound by bound. Either way a total equals the sum of its calls' bounds up to
floating-point rounding.
"""

from __future__ import annotations

import functools
import inspect
import operator
import threading
from collections.abc import Callable, Iterable
from types import TracebackType
from typing import Any, ParamSpec, TypeVar

from genai_footprint._context import ACTIVE_TRACKERS
from genai_footprint._errors import InvalidInputError
from genai_footprint._impacts import (
    ALL_KEYS,
    Impacts,
    ImpactWarning,
    PendingBounds,
    flat_bounds,
    impacts_from_flat,
)

_add = operator.add

# Kernels a run keeps sums for; past this many (live grid intensities make new kernels over a long run),
# the sums are turned into bounds and added to the per-model totals, and counting starts afresh.
MAX_KERNELS = 256

P = ParamSpec("P")
R = TypeVar("R")


class _Totals:
    """Running bound sums of every range, plus call counts and methodology versions."""

    __slots__ = ("bounds", "calls", "last_warnings", "versions", "warnings")

    def __init__(self) -> None:
        self.bounds = [0.0] * (2 * len(ALL_KEYS))
        self.calls = 0
        self.versions: set[str] = set()
        self.warnings: dict[str, ImpactWarning] = {}
        self.last_warnings: tuple[ImpactWarning, ...] = ()

    def add(
        self,
        flat: tuple[float, ...] | list[float],
        calls: int,
        versions: Iterable[str],
        warnings: tuple[ImpactWarning, ...],
    ) -> None:
        """Add ``calls`` calls whose bounds sum to ``flat``, of these methodology versions and warnings."""
        self.bounds = list(map(_add, self.bounds, flat))  # bound by bound, in C
        self.calls += calls
        self.versions.update(versions)
        if warnings and warnings is not self.last_warnings:  # calls of one model share their warnings tuple
            self.last_warnings = _kept(self.warnings, warnings)

    def merged(self, other: _Totals) -> None:
        self.add(other.bounds, other.calls, other.versions, tuple(other.warnings.values()))

    def impacts(self) -> Impacts | None:
        if not self.calls:
            return None
        versions = sorted(self.versions)
        return impacts_from_flat(
            tuple(self.bounds),
            methodology_version=versions[0] if len(versions) == 1 else "mixed:" + "+".join(versions),
            inputs=None,
            warnings=tuple(self.warnings.values()),
            calls=self.calls,
        )


class _KernelSums:
    """The calls one kernel estimated, without their bounds: their count, summed output tokens and summed
    generation times at the lower and the upper bound (see the module's docstring)."""

    __slots__ = (
        "at_times",
        "calls",
        "key",
        "last_warnings",
        "provider",
        "time_hi",
        "time_lo",
        "times",
        "tokens",
        "version",
        "warnings",
    )

    def __init__(self, provider: str, key: str, version: str, linear: Any) -> None:
        self.provider = provider
        self.key = key  # "provider/model" of the by-model breakdown
        self.version = version
        self.times, self.at_times = linear
        self.calls = 0
        self.tokens: float = 0
        self.time_lo = 0.0
        self.time_hi = 0.0
        self.warnings: dict[str, ImpactWarning] = {}
        self.last_warnings: tuple[ImpactWarning, ...] = ()

    def add_to(self, by_model: dict[str, _Totals]) -> None:
        """Add these calls, their bounds computed from the sums, to their model's totals in ``by_model``."""
        flat: tuple[float, ...] = self.at_times(self.tokens, self.time_lo, self.time_hi)
        _totals_of(by_model, self.key).add(flat, self.calls, (self.version,), tuple(self.warnings.values()))


def _kept(seen: dict[str, ImpactWarning], warnings: tuple[ImpactWarning, ...]) -> tuple[ImpactWarning, ...]:
    """Note each warning's first occurrence by code in ``seen``; returns ``warnings`` (the last tuple seen)."""
    for warning in warnings:
        seen.setdefault(warning.code, warning)
    return warnings


def _totals_of(by_model: dict[str, _Totals], key: str) -> _Totals:
    totals = by_model.get(key)
    if totals is None:
        totals = by_model[key] = _Totals()
    return totals


class Run:
    """The totals of one tracked block: ``impacts`` (None until a call is estimated), ``calls``,
    ``unestimated_calls`` (models not in the registry) and a per-model breakdown ``by_model``."""

    def __init__(self, name: str, parents: tuple[str, ...]) -> None:
        self.name = name
        self.path = (*parents, name)  # enclosing tracker names, outermost first
        self._lock = threading.Lock()
        self._sums: dict[Any, _KernelSums] = {}  # kernel -> its calls' sums
        self._by_model: dict[str, _Totals] = {}  # "provider/model" -> bounds added as bounds
        self._unestimated: dict[str, int] = {}

    def add(self, provider: str, model: str | None, impacts: Impacts | None) -> None:
        """Count one finished call (called by the instrumentation; usable for impacts you computed)."""
        if impacts is None:
            key = f"{provider}/{model or '?'}"
            with self._lock:
                self._unestimated[key] = self._unestimated.get(key, 0) + 1
            return
        if not isinstance(impacts, Impacts):
            raise InvalidInputError("impacts", f"expected an Impacts or None, got {impacts!r}")
        fields = impacts.__dict__
        # Straight from pydantic's private-attribute slot (``impacts._bounds`` goes through __getattr__).
        pending = impacts.__pydantic_private__["_bounds"]  # type: ignore[index]
        inputs = fields["inputs"]
        resolved = None if inputs is None else inputs.model_resolved
        if type(pending) is PendingBounds and fields["calls"] == 1:  # (a copy may say otherwise)
            kernel, tokens, latency_s = pending
            if self._add_pending(
                provider,
                model,
                kernel,
                tokens,
                latency_s,
                fields["methodology_version"],
                fields["warnings"],
                resolved,
            ):
                return
        # Computed bounds, a kernel without a linear form, or one whose sums belong to another provider name.
        flat = flat_bounds(impacts)
        key = _model_key(provider, model, resolved)
        with self._lock:
            _totals_of(self._by_model, key).add(
                flat, fields["calls"], (fields["methodology_version"],), fields["warnings"]
            )

    def _add_pending(
        self,
        provider: str,
        model: str | None,
        kernel: Any,
        tokens: float,
        latency_s: float | None,
        version: str,
        warnings: tuple[ImpactWarning, ...],
        model_resolved: str | None,
    ) -> bool:
        """Count one call whose bounds are ``kernel(tokens, latency_s)``, without computing them. False, and
        nothing counted, when the kernel has no linear form or its sums belong to another provider name."""
        with self._lock:
            sums = self._sums.get(kernel)
            if sums is None:
                sums = self._new_sums(provider, model, kernel, version, model_resolved)
            if sums is None or sums.provider != provider:
                return False
            time_lo, time_hi = sums.times(tokens, latency_s)
            sums.calls += 1
            sums.tokens += tokens
            sums.time_lo += time_lo
            sums.time_hi += time_hi
            if warnings and warnings is not sums.last_warnings:  # a model's calls share one tuple
                sums.last_warnings = _kept(sums.warnings, warnings)
            return True

    def _new_sums(
        self, provider: str, model: str | None, kernel: Any, version: str, model_resolved: str | None
    ) -> _KernelSums | None:
        """Sums for a kernel first seen (None if it has no linear form: its calls are added as bounds). The
        caller holds the lock."""
        linear = getattr(kernel, "__dict__", {}).get("linear")
        if linear is None:
            return None
        if len(self._sums) >= MAX_KERNELS:
            self._settle()
        sums = self._sums[kernel] = _KernelSums(provider, _model_key(provider, model, model_resolved), version, linear)
        return sums

    def _settle(self) -> None:
        """Turn every kernel's sums into bounds added to its model's totals (the caller holds the lock)."""
        for sums in self._sums.values():
            sums.add_to(self._by_model)
        self._sums.clear()

    def _models(self) -> dict[str, _Totals]:
        """Every model's totals as of now: its bounds added so far plus its kernels' sums turned into bounds."""
        with self._lock:
            out: dict[str, _Totals] = {}
            for key, totals in self._by_model.items():
                out[key] = copy = _Totals()
                copy.merged(totals)
            for sums in self._sums.values():
                sums.add_to(out)
            return out

    @property
    def impacts(self) -> Impacts | None:
        total = _Totals()
        for totals in self._models().values():
            total.merged(totals)
        return total.impacts()

    @property
    def calls(self) -> int:
        """Every instrumented call that finished inside the block, estimated or not."""
        with self._lock:
            return self._estimated() + sum(self._unestimated.values())

    def _estimated(self) -> int:
        return sum(t.calls for t in self._by_model.values()) + sum(s.calls for s in self._sums.values())

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
        out = {key: totals.impacts() for key, totals in self._models().items()}
        return {key: value for key, value in out.items() if value is not None}

    def __repr__(self) -> str:
        impacts = self.impacts
        energy = f", energy={impacts.energy}" if impacts is not None else ""
        return f"Run({self.name!r}, calls={self.calls}{energy})"


def _model_key(provider: str, model: str | None, model_resolved: str | None) -> str:
    """The by-model key of a call: ``provider/model``, the registry's name when the estimate resolved one."""
    return f"{provider}/{model_resolved or model or '?'}"


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
