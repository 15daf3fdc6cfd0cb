"""Which logged calls a report counts: ``--since``, ``--until``, ``--provider``, ``--model``, ``--tracker``, ``--tag``.

Options of one kind given several times widen the choice (any of the providers); options of different kinds
narrow it (a provider *and* a model). The text, JSON and HTML reports all count the same filtered calls.
"""

from __future__ import annotations

import argparse
import datetime as _dt
from collections.abc import Sequence
from dataclasses import dataclass

from genai_footprint._cli._args import key_value, moment
from genai_footprint._cli._logs import LoggedCall
from genai_footprint._errors import InvalidInputError


def add_filter_arguments(p: argparse.ArgumentParser) -> None:
    """The filter options of ``genai-footprint report``."""
    p.add_argument(
        "--since",
        type=moment,
        metavar="WHEN",
        help="only calls at or after WHEN: an ISO date or date-time (UTC unless it has an offset)",
    )
    p.add_argument(
        "--until", type=moment, metavar="WHEN", help="only calls before WHEN; a date alone includes that day"
    )
    p.add_argument("--provider", action="append", metavar="NAME", help="only calls to this provider (repeatable)")
    p.add_argument(
        "--model", action="append", metavar="NAME", help="only calls of this model, resolved or requested (repeatable)"
    )
    p.add_argument(
        "--tracker",
        action="append",
        metavar="NAME",
        help="only calls made inside this tracker, at any depth (repeatable)",
    )
    p.add_argument(
        "--tag",
        action="append",
        type=key_value,
        metavar="KEY=VALUE",
        help="only calls with this tag (repeatable; all must match)",
    )


def _start(when: _dt.date | _dt.datetime) -> _dt.datetime:
    if isinstance(when, _dt.datetime):
        return when
    return _dt.datetime.combine(when, _dt.time(), tzinfo=_dt.UTC)


def _end(when: _dt.date | _dt.datetime) -> _dt.datetime:
    """The first moment after ``--until``: a date alone ends at the next midnight (UTC)."""
    if isinstance(when, _dt.datetime):
        return when
    return _start(when) + _dt.timedelta(days=1)


@dataclass(frozen=True, slots=True)
class CallFilter:
    """What a call must be to count; an empty field lets every call through."""

    since: _dt.datetime | None = None  # inclusive, aware
    until: _dt.datetime | None = None  # exclusive, aware
    providers: frozenset[str] = frozenset()
    models: frozenset[str] = frozenset()
    trackers: frozenset[str] = frozenset()
    tags: tuple[tuple[str, str], ...] = ()

    @property
    def active(self) -> bool:
        return self != CallFilter()

    def matches(self, call: LoggedCall) -> bool:
        """Whether ``call`` counts."""
        if self.since is not None and call.time < self.since:
            return False
        if self.until is not None and call.time >= self.until:
            return False
        if self.providers and call.provider not in self.providers:
            return False
        if self.models and call.model not in self.models and call.model_requested not in self.models:
            return False
        if self.trackers and self.trackers.isdisjoint(call.trackers):
            return False
        return all(call.tags.get(key) == value for key, value in self.tags)

    def describe(self) -> str:
        """The filter as the command line spells it, e.g. ``--provider openai --since 2026-11-20T00:00:00+00:00``."""
        words: list[str] = []
        if self.since is not None:
            words += ["--since", self.since.isoformat()]
        if self.until is not None:
            words += ["--until", self.until.isoformat()]
        for option, values in (("--provider", self.providers), ("--model", self.models), ("--tracker", self.trackers)):
            for value in sorted(values):
                words += [option, value]
        for key, value in self.tags:
            words += ["--tag", f"{key}={value}"]
        return " ".join(words)


def call_filter(
    since: _dt.date | _dt.datetime | None = None,
    until: _dt.date | _dt.datetime | None = None,
    providers: Sequence[str] | None = None,
    models: Sequence[str] | None = None,
    trackers: Sequence[str] | None = None,
    tags: Sequence[tuple[str, str]] | None = None,
) -> CallFilter:
    """The filter of the options as parsed; ``InvalidInputError`` naming the option if they cannot all hold."""
    start = None if since is None else _start(since)
    end = None if until is None else _end(until)
    if start is not None and end is not None and end <= start:
        raise InvalidInputError("--until", f"{end.isoformat()} is not after --since {start.isoformat()}")
    for option, names in (("--provider", providers), ("--model", models), ("--tracker", trackers)):
        if any(not name.strip() for name in names or ()):
            raise InvalidInputError(option, "expected a name, got an empty string")
    return CallFilter(
        since=start,
        until=end,
        providers=frozenset(providers or ()),
        models=frozenset(models or ()),
        trackers=frozenset(trackers or ()),
        tags=tuple(dict.fromkeys(tags or ())),
    )
