"""The rule every wrapper follows: only the SDK's own call may raise to the user. What we add runs in a
``try`` whose ``except`` calls ``internal_error``: it logs at debug level and steps aside.

Also here: how impacts are attached to what the SDK returned (into the instance's ``__dict__``, nothing on
its class), and the instrumented call in progress in this thread or task."""

from __future__ import annotations

import functools
import logging
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from genai_footprint._impacts import Impacts
    from genai_footprint._instrument._spec import Call

logger = logging.getLogger("genai_footprint")

IMPACTS_ATTRIBUTE = "impacts"

# The instrumented call in progress in this thread or task. A wrapped method called while one is in progress
# (e.g. a parse() built on create()) passes through: only the outermost call counts. Hooks deeper in the SDK
# (the response parser, where headers are visible) add what they see to it.
CURRENT_CALL: ContextVar[Call | None] = ContextVar("genai_footprint_call", default=None)


def internal_error(where: str) -> None:
    logger.debug("genai_footprint: internal error in %s; the SDK call is unaffected", where, exc_info=True)


@functools.lru_cache(maxsize=256)
def _declares_impacts(cls: type[object]) -> bool:
    """Whether ``cls`` has an ``impacts`` of its own (a class attribute or property, a pydantic or dataclass
    field): then an instance's ``impacts`` is not ours to set. Cached, as ``_wrappers.result_kind``."""
    return (
        hasattr(cls, IMPACTS_ATTRIBUTE)
        or IMPACTS_ATTRIBUTE in (getattr(cls, "__pydantic_fields__", None) or ())
        or IMPACTS_ATTRIBUTE in (getattr(cls, "__dataclass_fields__", None) or ())
    )


def _holds_impacts(obj: Any) -> bool:
    """Whether ``obj`` can take an ``impacts`` of ours: it has an instance dict, and its class no ``impacts``."""
    # mypy takes no class for Hashable, hence the ignore.
    return hasattr(obj, "__dict__") and not _declares_impacts(type(obj))  # type: ignore[arg-type]


def attach(obj: Any, impacts: Impacts | None) -> None:
    """Put ``impacts`` in ``obj``'s instance dict, as ``object.__setattr__`` would: past pydantic's
    ``__setattr__`` (which refuses unknown fields on some SDKs), leaving its fields, ``model_dump()``, ``==``
    and ``repr`` untouched. An object whose class has an ``impacts`` of its own, or that cannot hold attributes
    (no ``__dict__``: a generator, a ``str``, a ``dict``), is left alone. Never raises."""
    try:
        if _holds_impacts(obj):
            object.__setattr__(obj, IMPACTS_ATTRIBUTE, impacts)
    except Exception:
        internal_error("attach")


def attach_none(obj: Any) -> None:
    """After a failure of ours: ``obj.impacts`` reads None rather than raising AttributeError."""
    try:
        if _holds_impacts(obj) and IMPACTS_ATTRIBUTE not in obj.__dict__:
            object.__setattr__(obj, IMPACTS_ATTRIBUTE, None)
    except Exception:
        internal_error("attach")


def impacts_of(obj: Any) -> Any:
    """What ``attach`` put on ``obj`` (None if nothing)."""
    return getattr(obj, "__dict__", {}).get(IMPACTS_ATTRIBUTE)
