"""``CallEvent``: one finished generation call, as trackers, listeners and exporters receive it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from genai_footprint._impacts import Impacts


@dataclass(frozen=True, slots=True)
class CallEvent:
    """One finished generation call: no prompt, no completion, no key.

    ``impacts`` is the very ``Impacts`` the call's response carries (None when the model is not in the
    registry); the other fields are what the call told us either way.
    """

    timestamp: float  # time.time() when the call ended (end of the stream for streams)
    provider: str
    model_requested: str | None
    model_served: str | None  # the model the response names, if any
    model_resolved: str | None  # the registry row used; None when unestimated
    zone: str | None  # the serving zone used for the estimate; None when unestimated
    output_tokens: float | None
    tokens_source: str | None
    latency_s: float
    ttft_s: float | None  # measured time to first item (streams)
    stream: bool
    trackers: tuple[str, ...]  # the names of the enclosing track() runs, outermost first
    impacts: Impacts | None


CallListener = Callable[[CallEvent], None]
