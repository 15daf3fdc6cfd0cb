"""Reading call logs: JSON Lines of records, each checked against the record schema.

Only the standard library and the record's schema name are needed here; ``read_logs`` names the file and
line of anything that is not a record.
"""

from __future__ import annotations

import datetime as _dt
import json
import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from genai_footprint._criteria import NAMES
from genai_footprint._errors import InvalidInputError
from genai_footprint._export._record import SCHEMA


@dataclass(frozen=True, slots=True)
class LoggedCall:
    """What the report needs of one record."""

    provider: str
    model: str  # resolved, else requested, else served, else "(unknown)"
    trackers: tuple[str, ...]  # outermost first
    day: str  # UTC date of the timestamp, ISO 8601
    output_tokens: float | None
    bounds: tuple[float, ...] | None  # (min, max) of each criterion in NAMES order; None when unestimated
    methodology_version: str | None


@dataclass(frozen=True, slots=True)
class Log:
    """The calls read from one or more log files."""

    calls: tuple[LoggedCall, ...]
    sources: tuple[str, ...]
    skipped: int = 0  # bad lines skipped (``skip_bad=True``)
    first_skipped: str | None = None  # the first skipped line's problem, "FILE:LINE: message"


def _number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _text(record: Mapping[str, Any], key: str) -> str:
    value = record.get(key)
    if not isinstance(value, str) or not value:
        raise ValueError(f"{key!r} must be a non-empty string, got {value!r}")
    return value


def _optional_text(record: Mapping[str, Any], key: str) -> str | None:
    return None if record.get(key) is None else _text(record, key)


def _utc_day(stamp: str) -> str:
    """The UTC date of an ISO 8601 time stamp; records are written in UTC, so a naive time is read as UTC too."""
    try:
        when = _dt.datetime.fromisoformat(stamp)
    except ValueError:
        raise ValueError(f"'timestamp' is not an ISO 8601 date-time: {stamp!r}") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=_dt.UTC)
    return when.astimezone(_dt.UTC).date().isoformat()


def parse_record(record: object) -> LoggedCall:
    """Check one decoded log line against the record schema; raises ValueError saying what is wrong."""
    if not isinstance(record, dict):
        raise ValueError(f"expected a JSON object, got {type(record).__name__}")
    schema = record.get("schema")
    if schema != SCHEMA:
        raise ValueError(f"not a genai-footprint record: schema {schema!r}, expected {SCHEMA!r}")
    provider = _text(record, "provider")
    names = (_optional_text(record, key) for key in ("model_resolved", "model_requested", "model_served"))
    model = next((name for name in names if name), "(unknown)")
    day = _utc_day(_text(record, "timestamp"))
    trackers = record.get("trackers", [])
    if not isinstance(trackers, list) or not all(isinstance(t, str) and t for t in trackers):
        raise ValueError(f"'trackers' must be a list of tracker names, got {trackers!r}")
    tokens = record.get("output_tokens")
    if tokens is not None and not (_number(tokens) and tokens >= 0):
        raise ValueError(f"'output_tokens' must be a number >= 0 or null, got {tokens!r}")
    estimated = record.get("estimated")
    if not isinstance(estimated, bool):
        raise ValueError(f"'estimated' must be true or false, got {estimated!r}")
    impacts = record.get("impacts")
    bounds: tuple[float, ...] | None = None
    version: str | None = None
    if estimated:
        version = _text(record, "methodology_version")
        bounds = _recorded_bounds(impacts, "impacts")
    elif impacts is not None:
        raise ValueError("an unestimated record ('estimated': false) must have 'impacts': null")
    return LoggedCall(
        provider=provider,
        model=model,
        trackers=tuple(trackers),
        day=day,
        output_tokens=None if tokens is None else float(tokens),
        bounds=bounds,
        methodology_version=version,
    )


def read_range(value: object, where: str) -> tuple[float, float]:
    """A recorded ``{"min": .., "max": ..}`` as a pair; raises ValueError naming ``where``."""
    if not isinstance(value, dict) or not _number(value.get("min")) or not _number(value.get("max")):
        raise ValueError(f"{where!r} must be a range {{'min': number, 'max': number}}, got {value!r}")
    low, high = float(value["min"]), float(value["max"])
    if low > high:
        raise ValueError(f"{where!r}: min {low!r} is above max {high!r}")
    return low, high


def _recorded_bounds(impacts: object, where: str) -> tuple[float, ...]:
    if not isinstance(impacts, dict):
        raise ValueError(f"{where!r} must hold the ranges {', '.join(NAMES)}, got {impacts!r}")
    return tuple(bound for c in NAMES for bound in read_range(impacts.get(c), f"{where}.{c}"))


def read_lines(path: Path) -> Iterator[tuple[int, str]]:
    """The lines of the text file ``path``, numbered from 1; ``InvalidInputError`` naming it if it cannot be read."""
    try:
        with path.open(encoding="utf-8") as file:
            yield from enumerate(file, start=1)
    except FileNotFoundError:
        raise InvalidInputError(str(path), "no such file") from None
    except UnicodeDecodeError as exc:
        raise InvalidInputError(str(path), f"not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except OSError as exc:
        raise InvalidInputError(str(path), f"cannot read it: {exc.strerror or exc}") from None


def read_logs(paths: Sequence[str | Path], *, skip_bad: bool = False) -> Log:
    """Read every record of the JSON Lines files ``paths``; blank lines are ignored.

    A line that is not JSON or not a record raises ``InvalidInputError`` naming ``FILE:LINE``, or, with
    ``skip_bad``, is counted in ``Log.skipped`` and left out.
    """
    calls: list[LoggedCall] = []
    skipped = 0
    first_skipped: str | None = None
    for path in map(Path, paths):
        for number, line in read_lines(path):
            if not line.strip():
                continue
            try:
                calls.append(parse_record(json.loads(line)))
            except ValueError as exc:  # json.JSONDecodeError is a ValueError
                where = f"{path}:{number}"
                if not skip_bad:
                    raise InvalidInputError(where, str(exc)) from None
                skipped += 1
                first_skipped = first_skipped or f"{where}: {exc}"
    return Log(tuple(calls), tuple(str(p) for p in paths), skipped, first_skipped)
