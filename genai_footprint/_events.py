"""``CallEvent``: one finished generation call, as trackers, listeners and exporters receive it."""

from __future__ import annotations

import contextvars
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from genai_footprint._impacts import Impacts


@dataclass(frozen=True, slots=True)
class TokenDetails:
    """The counts a provider reports besides the output tokens; None for one it did not report, never 0.

    ``input_tokens`` counts every input token, cached and cache-written ones included, whatever the provider's
    own convention (Anthropic reports the three apart). Read from a response, the counts are as sent; the
    runtime checks them when the call ends (whole numbers, consistent) before anything records them."""

    input_tokens: Any = None
    cached_input_tokens: Any = None  # of the input, read from the provider's prompt cache
    cache_write_input_tokens: Any = None  # of the input, written to it
    reasoning_tokens: Any = None  # generated reasoning; part of the output tokens as recorded


DETAIL_NAMES = ("input_tokens", "cached_input_tokens", "cache_write_input_tokens", "reasoning_tokens")


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
    details: TokenDetails  # input, cached, cache-write and reasoning tokens, as checked
    latency_s: float
    ttft_s: float | None  # measured time to first item (streams)
    stream: bool
    trackers: tuple[str, ...]  # the names of the enclosing track() runs, outermost first
    impacts: Impacts | None
    # The context the call began in (its OpenTelemetry span, ...): a stream may end in another thread or task.
    context: contextvars.Context | None = None


CallListener = Callable[[CallEvent], None]
