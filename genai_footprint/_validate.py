"""The checks every input goes through — ``estimate()``, ``register_model()`` and the configuration alike.

Each raises ``InvalidInputError`` naming the argument (or setting) at fault and the value refused.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from numbers import Real
from typing import Any, Protocol

from genai_footprint._errors import InvalidInputError, UnknownZoneError


def number(name: str, value: object, *, allow_zero: bool = True) -> float:
    """A finite, non-negative real number (positive with ``allow_zero=False``) as a float; bools are refused."""
    if isinstance(value, bool) or not isinstance(value, Real):
        raise InvalidInputError(name, f"expected a number, got {type(value).__name__} {value!r}")
    result = float(value)
    if not math.isfinite(result):
        raise InvalidInputError(name, f"must be finite, got {value!r}")
    if result < 0 or (result == 0 and not allow_zero):
        raise InvalidInputError(name, f"must be {'>= 0' if allow_zero else '> 0'}, got {value!r}")
    return result


def optional_number(name: str, value: object, *, allow_zero: bool = True) -> float | None:
    return None if value is None else number(name, value, allow_zero=allow_zero)


def bounds(name: str, value: object, *, allow_zero: bool = True) -> tuple[float, float]:
    """A number or a ``(min, max)`` pair (a list, a tuple, or anything with ``min`` and ``max``) as checked
    ``(min, max)``: each bound as ``number()`` checks it, and min at most max."""
    if hasattr(value, "min") and hasattr(value, "max") and not isinstance(value, (Real, str)):
        value = (value.min, value.max)
    if isinstance(value, (tuple, list)):
        if len(value) != 2:
            raise InvalidInputError(name, f"a range is a (min, max) pair, got {value!r}")
        low = number(f"{name}[min]", value[0], allow_zero=allow_zero)
        high = number(f"{name}[max]", value[1], allow_zero=allow_zero)
        if low > high:
            raise InvalidInputError(name, f"inverted range: min {low!r} is greater than max {high!r}")
        return low, high
    single = number(name, value, allow_zero=allow_zero)
    return single, single


def token_count(name: str, value: object, *, maximum: int | None = None, limit: str = "max_output_tokens") -> int:
    """A count of tokens: a whole number (an ``int``, not a bool or a float) from 0 to ``maximum`` (the setting
    or rule named ``limit``)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInputError(name, f"expected a whole number of tokens, got {type(value).__name__} {value!r}")
    if value < 0:
        raise InvalidInputError(name, f"must be >= 0, got {value!r}")
    if maximum is not None and value > maximum:
        raise InvalidInputError(name, f"must be at most {maximum:,} ({limit}), got {value!r}")
    return value


class ZoneTable(Protocol):
    """What a zone check needs of the registry: its zones (``mixes``, keyed by code), and suggestions for a miss."""

    @property
    def mixes(self) -> Mapping[str, Any]: ...

    def zone_suggestions(self, zone: str) -> Sequence[str]: ...


def zone(name: str, value: object, table: ZoneTable) -> str:
    """A registered electricity-mix zone code (ISO 3166-1 alpha-3, or ``WOR``), upper-cased."""
    if not isinstance(value, str) or not value.strip():
        raise InvalidInputError(name, f"expected a zone code such as 'FRA', got {value!r}")
    code = value.strip().upper()
    if code not in table.mixes:
        raise UnknownZoneError(value, name, table.zone_suggestions(code))
    return code
