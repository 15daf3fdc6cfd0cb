"""Context shared by the instrumentation and the trackers: which ``track()`` blocks enclose the code."""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any

# The enclosing trackers, outermost first. A call captures this when it starts, so a stream that ends
# later (or in another task) still counts in the trackers that enclosed the call.
ACTIVE_TRACKERS: ContextVar[tuple[Any, ...]] = ContextVar("genai_footprint_trackers", default=())
