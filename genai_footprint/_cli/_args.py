"""Argument types of the command line: numbers, ranges and electricity mixes as the options spell them.

Each raises ``argparse.ArgumentTypeError``, which argparse reports naming the option; the values themselves
(signs, order of bounds, which mix factors) are checked by ``estimate()``.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import re


def number(text: str) -> float:
    """``"3.2"`` → 3.2."""
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None


def count(text: str) -> int:
    """A count of tokens: a whole number >= 0."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number of tokens, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 0, got {text!r}")
    return value


def number_or_range(text: str) -> float | tuple[float, float]:
    """``"7"`` → 7.0; ``"10:35"`` or ``"10-35"`` → (10.0, 35.0)."""
    text = text.strip()
    try:
        return float(text)
    except ValueError:
        pass
    if ":" in text:
        lo, _, hi = text.partition(":")
        try:
            return float(lo), float(hi)
        except ValueError:
            pass
    else:
        # "MIN-MAX": try each '-' as the separator, so "1e-3-2e-3" and "-1-2" split where both sides are numbers.
        for match in re.finditer("-", text):
            try:
                return float(text[: match.start()]), float(text[match.end() :])
            except ValueError:
                continue
    raise argparse.ArgumentTypeError(f"expected a number or a range MIN:MAX (or MIN-MAX), got {text!r}")


def mix(text: str) -> dict[str, float]:
    """``"gwp=0.05,pe=9.3,adpe=4.9e-8,wue=3.7"`` → a dict of the factors per kWh."""
    factors: dict[str, float] = {}
    for item in text.split(","):
        key, sep, value = item.partition("=")
        key = key.strip().lower()
        if not sep or not key:
            raise argparse.ArgumentTypeError(f"expected gwp=..,pe=..,adpe=..,wue=.., got {item.strip()!r} in {text!r}")
        if key in factors:
            raise argparse.ArgumentTypeError(f"{key} given twice in {text!r}")
        try:
            factors[key] = float(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{key}: expected a number, got {value.strip()!r}") from None
    return factors


# -- the report's filters ------------------------------------------------------------------------------


def moment(text: str) -> _dt.date | _dt.datetime:
    """``"2026-11-20"`` → a date; ``"2026-11-20T09:30"`` (UTC) or ``"...+02:00"`` → an aware date-time."""
    text = text.strip()
    try:
        if len(text) == 10:
            return _dt.date.fromisoformat(text)
        when = _dt.datetime.fromisoformat(text)
    except ValueError:
        example = "2026-11-20, 2026-11-20T09:30 or 2026-11-20T09:30+01:00"
        raise argparse.ArgumentTypeError(f"expected an ISO 8601 date or date-time ({example}), got {text!r}") from None
    return when.replace(tzinfo=_dt.UTC) if when.tzinfo is None else when


def key_value(text: str) -> tuple[str, str]:
    """``"team=search"`` → ("team", "search")."""
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    return key.strip(), value
