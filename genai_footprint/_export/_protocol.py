"""The exporter protocol: what the export pipeline calls, and what a user's own exporter implements."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol


class Exporter(Protocol):
    """Receives finished-call records in batches, on the pipeline's worker thread (never the caller's).

    ``export`` is the only required method. If the exporter also has ``flush()`` (push out anything it
    buffers) or ``close()`` (release its resources), the pipeline calls them on ``flush()`` / ``close()``.
    The pipeline calls one exporter from one thread at a time. Records are shared between exporters, and the
    dicts nested in them between records (e.g. the ``inputs`` of calls of one model): read them, do not modify
    them.
    """

    def export(self, records: Sequence[Mapping[str, Any]]) -> None: ...
