"""``track()``: add up the impacts of every instrumented call made inside a block or a function.

Built on contextvars: concurrent asyncio tasks and threads never mix their trackers. A tracker keeps one
running total per model, not per call, so a million calls cost no more memory than one: the calls that
finished since the totals were last brought up to date wait in a short queue (at most ``FOLD_AT``), and are
added in the order they finished, when the queue is full or the run is read.
"""

from __future__ import annotations

import collections
import contextlib
import functools
import inspect
import operator
import threading
from collections.abc import Callable, Iterator
from types import TracebackType
from typing import Any, ParamSpec, TypeVar

from genai_footprint._context import ACTIVE_TRACKERS
from genai_footprint._errors import InvalidInputError
from genai_footprint._impacts import ALL_KEYS, Impacts, ImpactWarning, flat_bounds, impacts_from_flat

_add = operator.add

# Finished calls a run holds before adding them into its totals. Adding 64 at a time, in one loop, costs a
# call less than adding each as it ends (the totals' code and objects stay warm); the sums are the same,
# bit for bit, since the calls are added one by one in the order they finished.
FOLD_AT = 64

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

    def add(self, flat: tuple[float, ...], fields: dict[str, Any]) -> None:
        """Add one Impacts, given its 26 bounds and its fields (its ``__dict__``), read once by the caller."""
        self.bounds = list(map(_add, self.bounds, flat))  # bound by bound, in C
        self.calls += fields["calls"]
        self.versions.add(fields["methodology_version"])
        warnings = fields["warnings"]
        if warnings and warnings is not self.last_warnings:  # calls of one model share their warnings tuple
            for warning in warnings:
                self.warnings.setdefault(warning.code, warning)
            self.last_warnings = warnings

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


class Run:
    """The totals of one tracked block: ``impacts`` (None until a call is estimated), ``calls``,
    ``unestimated_calls`` (models not in the registry) and a per-model breakdown ``by_model``."""

    def __init__(self, name: str, parents: tuple[str, ...]) -> None:
        self.name = name
        self.path = (*parents, name)  # enclosing tracker names, outermost first
        self._lock = threading.Lock()
        self._total = _Totals()
        self._by_model: dict[str, _Totals] = {}
        self._unestimated: dict[str, int] = {}
        # Calls not added into the totals yet: (provider, model, impacts), in the order they finished.
        self._pending: collections.deque[tuple[str, str | None, Impacts | None]] = collections.deque()

    def add(self, provider: str, model: str | None, impacts: Impacts | None) -> None:
        """Count one finished call (called by the instrumentation; usable for impacts you computed)."""
        if impacts is not None and not isinstance(impacts, Impacts):
            raise InvalidInputError("impacts", f"expected an Impacts or None, got {impacts!r}")
        pending = self._pending
        pending.append((provider, model, impacts))  # atomic: no lock on the request path
        if len(pending) >= FOLD_AT:
            with self._lock:
                self._fold()

    def _fold(self) -> None:
        """Add the waiting calls into the totals, oldest first (the caller holds the lock)."""
        pending = self._pending
        for _ in range(len(pending)):  # calls appended meanwhile wait for the next fold
            provider, model, impacts = pending.popleft()
            if impacts is None:
                key = f"{provider}/{model or '?'}"
                self._unestimated[key] = self._unestimated.get(key, 0) + 1
                continue
            flat, fields = flat_bounds(impacts), impacts.__dict__
            self._total.add(flat, fields)
            inputs = fields["inputs"]
            resolved = inputs.model_resolved if inputs is not None else None
            key = f"{provider}/{resolved or model or '?'}"
            totals = self._by_model.get(key)
            if totals is None:
                totals = self._by_model[key] = _Totals()
            totals.add(flat, fields)

    @contextlib.contextmanager
    def _folded(self) -> Iterator[None]:
        """Hold the lock, with every finished call added into the totals (what each reading of the run sees)."""
        with self._lock:
            self._fold()
            yield

    @property
    def impacts(self) -> Impacts | None:
        with self._folded():
            return self._total.impacts()

    @property
    def calls(self) -> int:
        """Every instrumented call that finished inside the block, estimated or not."""
        with self._folded():
            return self._total.calls + sum(self._unestimated.values())

    @property
    def estimated_calls(self) -> int:
        with self._folded():
            return self._total.calls

    @property
    def unestimated_calls(self) -> int:
        with self._folded():
            return sum(self._unestimated.values())

    @property
    def unestimated_models(self) -> dict[str, int]:
        with self._folded():
            return dict(self._unestimated)

    @property
    def by_model(self) -> dict[str, Impacts]:
        """``"provider/model"`` → that model's total impacts (``.calls`` says how many calls)."""
        with self._folded():
            out = {key: totals.impacts() for key, totals in self._by_model.items()}
        return {key: value for key, value in out.items() if value is not None}

    def __repr__(self) -> str:
        impacts = self.impacts
        energy = f", energy={impacts.energy}" if impacts is not None else ""
        return f"Run({self.name!r}, calls={self.calls}{energy})"


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
