"""Reading the token counts of a provider's usage object into ``TokenDetails`` (input, cached input, cache
writes, reasoning), one function per usage shape. Counts are taken as sent: the runtime checks them when the
call ends. A field the provider did not send stays None, never 0."""

from __future__ import annotations

from typing import Any

from genai_footprint._events import TokenDetails
from genai_footprint._instrument._reading import attr, given


def field_of(obj: Any, name: str) -> Any:
    """``obj.name`` or ``obj[name]`` (usage details arrive as SDK models, or as plain dicts among extras)."""
    if obj is None or not given(obj):
        return None
    if isinstance(obj, dict):
        return obj.get(name)
    return attr(obj, name)


def sent_field(obj: Any, name: str) -> Any:
    """A field the provider actually sent: None when an SDK model only holds its default (Mistral's usage
    models default missing counts to 0)."""
    if obj is None or not given(obj):
        return None
    sent = getattr(obj, "model_fields_set", None)
    if sent is not None and name not in sent:
        extra = getattr(obj, "__pydantic_extra__", None) or {}
        return extra.get(name)
    value = field_of(obj, name)
    return value if given(value) else None


def openai_style_details(usage: Any, prefix: str, output: str) -> TokenDetails:
    """Usage of the OpenAI shape: ``{prefix}_tokens`` (cached ones included), ``{prefix}_tokens_details.
    cached_tokens`` and ``{output}_tokens_details.reasoning_tokens``."""
    return TokenDetails(
        input_tokens=sent_field(usage, f"{prefix}_tokens"),
        cached_input_tokens=field_of(sent_field(usage, f"{prefix}_tokens_details"), "cached_tokens"),
        reasoning_tokens=field_of(sent_field(usage, f"{output}_tokens_details"), "reasoning_tokens"),
    )


def chat_completion_details(usage: Any) -> TokenDetails:
    """Chat / completion usage (OpenAI and the many APIs of its shape): ``prompt_tokens``, its details, and
    ``completion_tokens_details``."""
    return openai_style_details(usage, "prompt", "completion")


def responses_details(usage: Any) -> TokenDetails:
    """Responses-API usage (OpenAI, Mistral): ``input_tokens``, its details, and ``output_tokens_details``."""
    return openai_style_details(usage, "input", "output")


def anthropic_details(usage: Any, earlier: TokenDetails | None = None) -> TokenDetails:
    """Anthropic usage: ``input_tokens`` excludes the cache reads and writes, reported apart
    (``cache_read_input_tokens``, ``cache_creation_input_tokens``); the input recorded is their sum. In a stream,
    ``message_start`` reports them and a later ``message_delta`` may report them again: ``earlier`` holds what
    was read before, and a count not sent again keeps it."""
    earlier = earlier or TokenDetails()
    uncached = field_of(usage, "input_tokens")
    read = field_of(usage, "cache_read_input_tokens")
    written = field_of(usage, "cache_creation_input_tokens")
    if uncached is None and read is None and written is None:
        return earlier
    if read is None:
        read = earlier.cached_input_tokens
    if written is None:
        written = earlier.cache_write_input_tokens
    if uncached is None:
        uncached = _uncached(earlier)
    return TokenDetails(
        input_tokens=_sum_counts(uncached, read, written),
        cached_input_tokens=read,
        cache_write_input_tokens=written,
    )


def _uncached(details: TokenDetails) -> Any:
    """The uncached part of an Anthropic input read before (the recorded total less its cache parts)."""
    total = details.input_tokens
    if not _is_count(total):
        return total
    for part in (details.cached_input_tokens, details.cache_write_input_tokens):
        if _is_count(part):
            total -= part
    return total


def _is_count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _sum_counts(*counts: Any) -> Any:
    """The sum of the counts sent; a count that is no whole number is passed on as it is, to be refused."""
    for count in counts:
        if count is not None and not _is_count(count):
            return count
    present = [count for count in counts if count is not None]
    return sum(present) if present else None
