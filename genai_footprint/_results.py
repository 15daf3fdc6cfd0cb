"""``impacts_of()``: the impacts of whatever an instrumented call returned, including responses that cannot
carry an attribute (boto3's plain dicts)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from genai_footprint._instrument import _bedrock

if TYPE_CHECKING:
    from genai_footprint._impacts import Impacts


def impacts_of(response: Any) -> Impacts | None:
    """The ``Impacts`` of the instrumented call that returned ``response``: its ``impacts`` attribute, or, for a
    Bedrock response (a ``dict``), the impacts measured for its request id among the last calls. None when the
    call was not estimated (an unknown model, a stream not finished) or not instrumented."""
    if isinstance(response, dict):
        return _bedrock.impacts_of(response)
    found = getattr(response, "impacts", None)
    from genai_footprint._impacts import Impacts

    return found if isinstance(found, Impacts) else None
