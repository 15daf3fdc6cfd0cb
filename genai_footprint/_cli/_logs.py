"""Reading call logs: JSON Lines of records, each checked against the record schema, one line at a time.

``LogReader`` streams the calls of any number of files without holding them, so a report's memory does not
grow with the log. Each line goes first through a pydantic schema of the fields the report reads (parsed and
checked in pydantic-core, about four times as fast as ``json.loads``); a line it refuses goes through
``parse_record``, the reference check, which says what is wrong. ``read_logs`` collects a small log whole.
"""

from __future__ import annotations

import datetime as _dt
import functools
import json
import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import chain
from operator import gt, itemgetter
from pathlib import Path
from typing import TYPE_CHECKING, Any

from genai_footprint._criteria import NAMES
from genai_footprint._errors import InvalidInputError
from genai_footprint._export._record import SCHEMA

if TYPE_CHECKING:
    from pydantic import TypeAdapter

UNKNOWN_MODEL = "(unknown)"


@dataclass(slots=True)
class LoggedCall:
    """What the report needs of one record. Not frozen: a report builds one a record, and a frozen dataclass
    takes five times as long to build."""

    provider: str
    model: str  # resolved, else requested, else served, else "(unknown)"
    trackers: tuple[str, ...]  # outermost first
    time: _dt.datetime  # the record's timestamp, in UTC
    output_tokens: float | None
    bounds: tuple[float, ...] | None  # (min, max) of each criterion in NAMES order; None when unestimated
    methodology_version: str | None
    model_requested: str | None = None
    tags: Mapping[str, str] = field(default_factory=dict)
    zone: str | None = None
    latency_s: float | None = None
    input_tokens: float | None = None  # cached ones included; None when not recorded
    cached_input_tokens: float | None = None

    @property
    def day(self) -> str:
        """The UTC date of the call, ISO 8601."""
        return self.time.date().isoformat()


@dataclass(frozen=True, slots=True)
class Log:
    """The calls read from one or more log files."""

    calls: tuple[LoggedCall, ...]
    sources: tuple[str, ...]
    skipped: int = 0  # bad lines skipped (``skip_bad=True``)
    first_skipped: str | None = None  # the first skipped line's problem, "FILE:LINE: message"


# -- the reference check --------------------------------------------------------------------------------


def _number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _text(record: Mapping[str, Any], key: str) -> str:
    value = record.get(key)
    if not isinstance(value, str) or not value:
        raise ValueError(f"{key!r} must be a non-empty string, got {value!r}")
    return value


def _optional_text(record: Mapping[str, Any], key: str) -> str | None:
    return None if record.get(key) is None else _text(record, key)


def utc_time(stamp: str) -> _dt.datetime:
    """An ISO 8601 time stamp in UTC; records are written in UTC, so a naive time is read as UTC too."""
    try:
        when = _dt.datetime.fromisoformat(stamp)
    except ValueError:
        raise ValueError(f"'timestamp' is not an ISO 8601 date-time: {stamp!r}") from None
    if when.tzinfo is None:
        return when.replace(tzinfo=_dt.UTC)
    return when if when.tzinfo is _dt.UTC else when.astimezone(_dt.UTC)


def _tags(record: Mapping[str, Any]) -> dict[str, str]:
    tags = record.get("tags")
    if tags is None:
        return {}
    if not isinstance(tags, dict) or not all(isinstance(v, str) for v in tags.values()):
        raise ValueError(f"'tags' must be an object of strings, got {tags!r}")
    return tags


def _optional_number(record: Mapping[str, Any], key: str) -> float | None:
    value = record.get(key)
    if value is not None and not (_number(value) and value >= 0):
        raise ValueError(f"{key!r} must be a number >= 0 or null, got {value!r}")
    return None if value is None else float(value)


def _latency(value: object) -> float | None:
    """A recorded latency, shown in the report's table of calls; one that is no time shows as missing."""
    return float(value) if _number(value) and value >= 0 else None  # type: ignore[operator,arg-type]


def parse_record(record: object) -> LoggedCall:
    """Check one decoded log line against the record schema; raises ValueError saying what is wrong."""
    if not isinstance(record, dict):
        raise ValueError(f"expected a JSON object, got {type(record).__name__}")
    schema = record.get("schema")
    if schema != SCHEMA:
        raise ValueError(f"not a genai-footprint record: schema {schema!r}, expected {SCHEMA!r}")
    provider = _text(record, "provider")
    requested = _optional_text(record, "model_requested")
    names = (_optional_text(record, key) for key in ("model_resolved", "model_requested", "model_served"))
    model = next((name for name in names if name), UNKNOWN_MODEL)
    time = utc_time(_text(record, "timestamp"))
    trackers = record.get("trackers", [])
    if not isinstance(trackers, list) or not all(isinstance(t, str) and t for t in trackers):
        raise ValueError(f"'trackers' must be a list of tracker names, got {trackers!r}")
    tokens = _optional_number(record, "output_tokens")
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
    zone = record.get("zone")
    return LoggedCall(
        provider=provider,
        model=model,
        trackers=tuple(trackers),
        time=time,
        output_tokens=tokens,
        bounds=bounds,
        methodology_version=version,
        model_requested=requested,
        tags=_tags(record),
        zone=zone if isinstance(zone, str) else None,
        latency_s=_latency(record.get("latency_s")),
        input_tokens=_optional_number(record, "input_tokens"),
        cached_input_tokens=_optional_number(record, "cached_input_tokens"),
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


# -- the fast path --------------------------------------------------------------------------------------


@functools.cache
def record_schema() -> TypeAdapter[dict[str, Any]]:
    """The fields ``parse_record`` reads, as a pydantic schema no more lenient than it (other fields skipped).

    What a schema cannot say (a timestamp's format, min <= max, which fields go with ``estimated``) is checked
    by ``parse_line`` after it.
    """
    from typing import Annotated, Literal, NotRequired

    from pydantic import Field, TypeAdapter
    from typing_extensions import TypedDict

    name = Annotated[str, Field(strict=True, min_length=1)]
    number = Annotated[float, Field(strict=True, allow_inf_nan=False)]
    count = Annotated[float, Field(strict=True, allow_inf_nan=False, ge=0)]
    bounds = TypedDict("bounds", dict.fromkeys(("min", "max"), number))  # type: ignore[misc]
    impacts = TypedDict("impacts", dict.fromkeys(NAMES, bounds))  # type: ignore[misc]
    fields = {
        "schema": Literal[SCHEMA],
        "timestamp": name,
        "provider": name,
        "estimated": Annotated[bool, Field(strict=True)],
        **dict.fromkeys(("model_resolved", "model_requested", "model_served"), NotRequired[name | None]),
        "methodology_version": NotRequired[name | None],
        "trackers": NotRequired[list[name]],
        "tags": NotRequired[dict[str, Annotated[str, Field(strict=True)]] | None],
        "zone": NotRequired[Annotated[str, Field(strict=True)] | None],
        "output_tokens": NotRequired[count | None],
        "input_tokens": NotRequired[count | None],
        "cached_input_tokens": NotRequired[count | None],
        "latency_s": NotRequired[count | None],
        "impacts": NotRequired[impacts | None],
    }
    return TypeAdapter(TypedDict("record", fields))  # type: ignore[operator]


_RANGES = itemgetter(*NAMES)
_MIN_MAX = itemgetter("min", "max")
_TAIL = b',"usage":'  # what records list after the fields the report reads (breakdowns, warnings, inputs)


def _checked(fields: dict[str, Any]) -> LoggedCall | None:
    """The call of a line that fits ``record_schema``; None when a check beyond the schema fails."""
    get = fields.get
    impacts, estimated, version = get("impacts"), fields["estimated"], get("methodology_version")
    bounds: tuple[float, ...] | None = None
    if impacts is not None:
        bounds = tuple(chain.from_iterable(map(_MIN_MAX, _RANGES(impacts))))
        if not estimated or version is None or any(map(gt, bounds[::2], bounds[1::2])):
            return None
    elif estimated:
        return None
    try:
        time = utc_time(fields["timestamp"])
    except ValueError:
        return None
    requested = get("model_requested")
    return LoggedCall(
        fields["provider"],
        get("model_resolved") or requested or get("model_served") or UNKNOWN_MODEL,
        tuple(get("trackers", ())),
        time,
        get("output_tokens"),
        bounds,
        version if estimated else None,
        requested,
        get("tags") or {},
        get("zone"),
        get("latency_s"),
        get("input_tokens"),
        get("cached_input_tokens"),
    )


def parse_line(line: bytes | str) -> LoggedCall:
    """The call of one log line; raises ValueError saying what is wrong (``json.JSONDecodeError`` included).

    A line as our exporters write it is read up to the fields the report needs, which come first: the rest
    (breakdowns, warnings, inputs: two thirds of a line) is only checked to end the object. A cut anywhere but
    between the record's own fields leaves an unclosed bracket, which the schema refuses; then, or when the
    fields come in another order, the whole line is read.
    """
    data = line.encode() if isinstance(line, str) else line
    end = data.find(_TAIL) if data.endswith((b"}\n", b"}")) else -1
    call = _read(data[:end] + b"}") if end > 0 else None
    if call is None:
        call = _read(data)
    return parse_record(json.loads(data)) if call is None else call


def _read(data: bytes) -> LoggedCall | None:
    try:
        fields = record_schema().validator.validate_json(data)
    except ValueError:  # pydantic's ValidationError is one: ``parse_record`` will name the problem
        return None
    return _checked(fields)


# -- files ----------------------------------------------------------------------------------------------


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


def _binary_lines(path: Path) -> Iterator[tuple[int, bytes]]:
    """The lines of ``path`` as bytes, numbered from 1 (each is decoded, and checked, as it is parsed)."""
    try:
        with path.open("rb") as file:
            yield from enumerate(file, start=1)
    except FileNotFoundError:
        raise InvalidInputError(str(path), "no such file") from None
    except OSError as exc:
        raise InvalidInputError(str(path), f"cannot read it: {exc.strerror or exc}") from None


class LogReader:
    """The calls of the JSON Lines files ``paths``, read one line at a time; blank lines are ignored.

    A line that is not JSON or not a record raises ``InvalidInputError`` naming ``FILE:LINE``, or, with
    ``skip_bad``, is counted in ``skipped`` and left out. Iterate once.
    """

    def __init__(self, paths: Sequence[str | Path], *, skip_bad: bool = False) -> None:
        self.sources = tuple(str(p) for p in paths)
        self.skip_bad = skip_bad
        self.skipped = 0
        self.first_skipped: str | None = None  # "FILE:LINE: message"

    def __iter__(self) -> Iterator[LoggedCall]:
        for path in map(Path, self.sources):
            for number, line in _binary_lines(path):
                try:
                    call = parse_line(line)
                except ValueError as exc:  # json.JSONDecodeError and UnicodeDecodeError are ValueErrors
                    if line.strip():
                        self._bad(f"{path}:{number}", exc)
                    continue
                yield call

    def _bad(self, where: str, exc: ValueError) -> None:
        if not self.skip_bad:
            raise InvalidInputError(where, str(exc)) from None
        self.skipped += 1
        self.first_skipped = self.first_skipped or f"{where}: {exc}"


def read_logs(paths: Sequence[str | Path], *, skip_bad: bool = False) -> Log:
    """Every record of the JSON Lines files ``paths`` at once (see ``LogReader``); for small logs."""
    reader = LogReader(paths, skip_bad=skip_bad)
    calls = tuple(reader)
    return Log(calls, reader.sources, reader.skipped, reader.first_skipped)
