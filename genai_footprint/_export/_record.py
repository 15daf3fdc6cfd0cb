"""The record: one finished call as exporters write it. Plain JSON types only; no prompt, completion or key.

A record holds the call's metadata at the top level, the impact ranges, and — under ``methodology_version``
and ``inputs`` exactly as ``Impacts`` serialises them — everything needed to recompute the estimate, so a
log line can be handed to ``genai_footprint.reproduce`` (or ``genai-footprint reproduce``) as it is.
"""

from __future__ import annotations

import datetime as _dt
import math
import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from genai_footprint._impacts import ALL_KEYS, EMBODIED_KEYS, UNITS, USAGE_KEYS, flat_bounds

if TYPE_CHECKING:
    from genai_footprint._impacts import EstimateInputs
    from genai_footprint._instrument._spec import CallEvent

SCHEMA = "genai-footprint.record/1"
CRITERIA = USAGE_KEYS  # the five criteria, in the order records list them


def to_record(
    event: CallEvent, tags: Mapping[str, str] | None = None, inputs: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The record of one call event (see ``docs/exporters.md`` for the field list). ``inputs``: the event's
    ``impacts.inputs.model_dump(mode="json")`` when the caller has it already (see ``InputsDumps``)."""
    impacts = event.impacts
    record: dict[str, Any] = {
        "schema": SCHEMA,
        "record_id": record_id(),  # stable across retries and spills: receivers deduplicate on it
        "timestamp": utc_timestamp(event.timestamp),
        "provider": event.provider,
        "model_requested": event.model_requested,
        "model_served": event.model_served,
        "model_resolved": event.model_resolved,
        "zone": event.zone,
        "output_tokens": event.output_tokens,
        "tokens_source": event.tokens_source,
        "latency_s": event.latency_s,
        "ttft_s": event.ttft_s,
        "stream": event.stream,
        "trackers": list(event.trackers),
        "tags": dict(tags or {}),
        "estimated": impacts is not None,
    }
    if impacts is None:
        record.update(
            {
                "methodology_version": None,
                "impacts": None,
                "usage": None,
                "embodied": None,
                "warnings": [],
                "inputs": None,
            }
        )
        return record
    # Straight from the bounds (ALL_KEYS order): the same numbers model_dump() gives, without building objects.
    b = flat_bounds(impacts)
    r = [{"min": b[i], "max": b[i + 1], "unit": unit} for i, unit in _UNIT_AT]
    record["methodology_version"] = impacts.methodology_version
    # The criteria written out (CRITERIA, EMBODIED_KEYS; checked at import): a dict display costs a fifth of
    # dict(zip(...)), and the export worker builds three a call.
    record["impacts"] = {"energy": r[0], "gwp": r[1], "pe": r[2], "adpe": r[3], "wcf": r[4]}
    record["usage"] = {"energy": r[5], "gwp": r[6], "pe": r[7], "adpe": r[8], "wcf": r[9]}
    record["embodied"] = {"gwp": r[10], "pe": r[11], "adpe": r[12]}
    record["warnings"] = [{"code": w.code, "message": w.message} for w in impacts.warnings]
    if inputs is None and impacts.inputs is not None:
        inputs = impacts.inputs.model_dump(mode="json")
    record["inputs"] = inputs
    return record


_UNIT_AT = [(2 * i, UNITS[key.rpartition(".")[2]]) for i, key in enumerate(ALL_KEYS)]  # (index of min, unit)
if (CRITERIA, EMBODIED_KEYS) != (("energy", "gwp", "pe", "adpe", "wcf"), ("gwp", "pe", "adpe")):  # ALL_KEYS' order
    raise ImportError("to_record() writes the criteria out by name: update it with the new ones")


class InputsDumps:
    """``inputs.model_dump(mode="json")`` for the inputs of instrumented calls, the export worker's way.

    The inputs of the calls estimated from one preparation (see ``compute_positional``) differ only in the
    fields of ``PER_CALL``: the whole dump is made once per preparation, then copied with those fields written
    over. Dumps share their nested dicts (ranges, mix): records are read, never modified (see ``Exporter``).
    """

    def __init__(self) -> None:
        self._by_preparation: dict[int, tuple[Any, dict[str, Any]]] = {}

    def dump(self, prepared: Any, inputs: EstimateInputs) -> dict[str, Any]:
        """The dump of ``inputs``, which were estimated from ``prepared`` (as ``compute_positional`` does)."""
        values = inputs.__dict__
        entry = self._by_preparation.get(id(prepared))
        if entry is not None and entry[0] is prepared:
            dumped = entry[1].copy()
            for name, expected in PER_CALL:
                value = values[name]
                kind = type(value)
                if kind is int and expected is float:
                    value = float(value)  # as pydantic writes an int held by a float field
                elif value is not None and (kind is not expected or (kind is float and not math.isfinite(value))):
                    return inputs.model_dump(mode="json")  # anything else: pydantic's own dump, as is
                dumped[name] = value
            return dumped
        dumped = inputs.model_dump(mode="json")
        if len(self._by_preparation) > 256:
            self._by_preparation.clear()
        # The entry holds the preparation: its id cannot be reused by another while the entry lives.
        self._by_preparation[id(prepared)] = (prepared, dumped)
        return dumped.copy()


# The fields compute_positional() sets per call, and the type each is dumped as; every other field of an
# instrumented call's inputs comes from its preparation's fixed inputs.
PER_CALL: tuple[tuple[str, type], ...] = (
    ("model_requested", str),
    ("model_served", str),
    ("output_tokens", float),
    ("tokens_source", str),
    ("latency_s", float),
    ("measured_ttft_s", float),
    ("stream", bool),
)


# -- the parts of a record that are costly to build the general way (the export worker builds one per call) ----


def record_id() -> str:
    """A random (version 4) UUID as 32 hex digits: ``uuid.uuid4().hex``, without building a UUID object."""
    value = int.from_bytes(os.urandom(16), "big")
    value = (value & ~(0xC000 << 48)) | (0x8000 << 48)  # the RFC 4122 variant
    value = (value & ~(0xF000 << 64)) | (4 << 76)  # version 4
    return f"{value:032x}"


_SECOND: list[tuple[float, str]] = [(-1.0, "")]  # the last whole second formatted: calls come many a second


def utc_timestamp(timestamp: float) -> str:
    """``datetime.fromtimestamp(timestamp, UTC).isoformat(timespec="microseconds")``, the date and time of day
    formatted once a second: microseconds rounded half to even, as ``datetime`` rounds them."""
    fraction, whole = math.modf(timestamp)
    micro = round(fraction * 1e6)
    if micro >= 1_000_000:
        whole, micro = whole + 1.0, micro - 1_000_000
    elif micro < 0:
        whole, micro = whole - 1.0, micro + 1_000_000
    second = _SECOND[0]  # one read: another thread may replace it meanwhile
    if second[0] != whole:
        text = _dt.datetime.fromtimestamp(whole, _dt.UTC).isoformat(timespec="seconds")
        second = _SECOND[0] = (whole, text[:-6])  # "+00:00" goes after the microseconds
    return f"{second[1]}.{micro:06d}+00:00"
