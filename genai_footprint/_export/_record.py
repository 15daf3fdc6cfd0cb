"""The record: one finished call as exporters write it. Plain JSON types only; no prompt, completion or key.

A record holds the call's metadata at the top level, the impact ranges, and — under ``methodology_version``
and ``inputs`` exactly as ``Impacts`` serialises them — everything needed to recompute the estimate, so a
log line can be handed to ``genai_footprint.reproduce`` (or ``genai-footprint reproduce``) as it is.
"""

from __future__ import annotations

import datetime as _dt
import uuid
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from genai_footprint._criteria import EMBODIED_NAMES, NAMES, USAGE_NAMES
from genai_footprint._events import DETAIL_NAMES

if TYPE_CHECKING:
    from genai_footprint._events import CallEvent
    from genai_footprint._impacts import Range

SCHEMA = "genai-footprint.record/1"
CRITERIA = NAMES  # the five criteria, in the order records list them


def _range(found: Range) -> dict[str, Any]:
    return {"min": found.min, "max": found.max, "unit": found.unit}


def to_record(event: CallEvent, tags: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The record of one call event (see ``docs/exporters.md`` for the field list)."""
    impacts = event.impacts
    record: dict[str, Any] = {
        "schema": SCHEMA,
        "record_id": uuid.uuid4().hex,  # stable across retries and spills: receivers deduplicate on it
        "timestamp": _dt.datetime.fromtimestamp(event.timestamp, _dt.UTC).isoformat(timespec="microseconds"),
        "provider": event.provider,
        "model_requested": event.model_requested,
        "model_served": event.model_served,
        "model_resolved": event.model_resolved,
        "zone": event.zone,
        "output_tokens": event.output_tokens,
        "tokens_source": event.tokens_source,
        **{name: getattr(event.details, name) for name in DETAIL_NAMES},
        "latency_s": event.latency_s,
        "ttft_s": event.ttft_s,
        "stream": event.stream,
        "trackers": list(event.trackers),
        "tags": dict(tags or {}),
        "estimated": impacts is not None,
    }
    if impacts is None:
        unestimated = {"methodology_version": None, "impacts": None, "usage": None, "embodied": None}
        return {**record, **unestimated, "warnings": [], "inputs": None}
    record["methodology_version"] = impacts.methodology_version
    record["impacts"] = {name: _range(getattr(impacts, name)) for name in NAMES}
    record["usage"] = {name: _range(getattr(impacts.usage, name)) for name in USAGE_NAMES}
    record["embodied"] = {name: _range(getattr(impacts.embodied, name)) for name in EMBODIED_NAMES}
    record["warnings"] = [{"code": w.code, "message": w.message} for w in impacts.warnings]
    record["inputs"] = None if impacts.inputs is None else impacts.inputs.model_dump(mode="json")
    return record
