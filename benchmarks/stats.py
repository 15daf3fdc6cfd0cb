"""The summary of a plain-vs-instrumented comparison, from its rounds; shared by ``measure.py`` (one process)
and ``run.py`` (the rounds of several processes put together)."""

from __future__ import annotations

import math
import statistics
from typing import Any

CI_LEVEL = 0.95


def quartiles(values: list[float]) -> tuple[float, float, float]:
    """(first quartile, median, third quartile)."""
    if len(values) < 2:
        return values[0], values[0], values[0]
    q1, median, q3 = statistics.quantiles(values, n=4, method="inclusive")
    return q1, median, q3


def median_ci(values: list[float], level: float = CI_LEVEL) -> tuple[float, float] | None:
    """A distribution-free confidence interval of the median: the order statistics whose ranks the binomial
    distribution B(n, 1/2) puts at least ``level`` between (coverage >= ``level`` whatever the distribution of
    the rounds). None when there are too few values for one (fewer than 6 at 95 %)."""
    n = len(values)
    tail = (1.0 - level) / 2
    # j: the largest rank with P(B(n, 1/2) < j) <= tail; the interval is then [x(j), x(n + 1 - j)] (1-based).
    log_all = math.lgamma(n + 1) - n * math.log(2)  # log(n! / 2^n): P(B = j) = exp(log_all - log(j! (n - j)!))
    j, below = 0, 0.0
    while j <= n:
        below += math.exp(log_all - math.lgamma(j + 1) - math.lgamma(n - j + 1))
        if below > tail:
            break
        j += 1
    if j == 0:
        return None
    ordered = sorted(values)
    return ordered[j - 1], ordered[n - j]


def summary(chunks: int, reps: int, plain: list[float], instrumented: list[float], annotated: bool) -> dict[str, Any]:
    """Medians of each side (s per call, one entry a round), and the median, quartiles and the median's 95 %
    confidence interval (None: too few rounds) of the per-round differences (µs); ``samples`` keeps the rounds
    themselves, for ``pooled``."""
    diffs = [(i - p) * 1e6 for p, i in zip(plain, instrumented, strict=True)]
    q1, median, q3 = quartiles(diffs)
    ci = median_ci(diffs)
    plain_us = statistics.median(plain) * 1e6
    out: dict[str, Any] = {
        "rounds": len(diffs),
        "reps": reps,
        "chunks": chunks,
        "annotated": annotated,
        "plain_us": plain_us,
        "instrumented_us": statistics.median(instrumented) * 1e6,
        "extra_us": median,
        "extra_q1_us": q1,
        "extra_q3_us": q3,
        "extra_pct": median / plain_us * 100,
        "extra_q1_pct": q1 / plain_us * 100,
        "extra_q3_pct": q3 / plain_us * 100,
        "extra_ci_us": ci,
        "extra_ci_pct": None if ci is None else (ci[0] / plain_us * 100, ci[1] / plain_us * 100),
    }
    if chunks:
        out |= {
            "plain_per_chunk_us": plain_us / chunks,
            "extra_per_chunk_us": median / chunks,
            "extra_per_chunk_q1_us": q1 / chunks,
            "extra_per_chunk_q3_us": q3 / chunks,
            "extra_per_chunk_ci_us": None if ci is None else (ci[0] / chunks, ci[1] / chunks),
        }
    return out | {"samples": {"plain": plain, "instrumented": instrumented}}


def pooled(parts: list[dict[str, Any]]) -> dict[str, Any]:
    """One case measured in several processes: the summary of all their rounds together, with the number of
    processes and the lowest and highest of their own medians (how much a process's memory layout moves the
    figure). Without ``samples``."""
    plain = [value for part in parts for value in part["samples"]["plain"]]
    instrumented = [value for part in parts for value in part["samples"]["instrumented"]]
    first = parts[0]
    out = summary(first["chunks"], first["reps"], plain, instrumented, all(part["annotated"] for part in parts))
    del out["samples"]
    medians = [part["extra_us"] for part in parts]
    return out | {"processes": len(parts), "extra_process_min_us": min(medians), "extra_process_max_us": max(medians)}
