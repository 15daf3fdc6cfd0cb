"""A Prometheus scrape endpoint (``/metrics``) serving the OpenTelemetry impact counters of this process.

Imported only when the ``prometheus`` exporter is built (it needs ``opentelemetry-exporter-prometheus``).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from opentelemetry.exporter.prometheus import PrometheusMetricReader
from opentelemetry.sdk.metrics import MeterProvider
from prometheus_client import REGISTRY, CollectorRegistry, start_http_server

from genai_footprint._errors import InvalidInputError
from genai_footprint._export._otel import OTelExporter

logger = logging.getLogger("genai_footprint")

DEFAULT_HOST = "localhost"  # the OpenTelemetry SDK's defaults for its Prometheus exporter
DEFAULT_PORT = 9464


def _reader() -> tuple[PrometheusMetricReader, CollectorRegistry]:
    """A reader in a registry of its own (only our counters on the endpoint); before the reader took a
    ``registry`` argument (opentelemetry-exporter-prometheus 0.63b0 and older), the global one."""
    registry = CollectorRegistry()
    try:
        return PrometheusMetricReader(registry=registry), registry
    except TypeError:
        return PrometheusMetricReader(), REGISTRY


class PrometheusExporter:
    """Counts every record in its own OpenTelemetry meter provider and serves the counters for Prometheus.

    The counters are the ``otel`` exporter's (see ``OTelExporter``), scraped at ``http://host:port/metrics``.
    ``port=0`` takes a free port: ``port`` then says which. The server runs on a daemon thread until
    ``close()``.
    """

    def __init__(self, *, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT) -> None:
        reader, registry = _reader()
        self._provider = MeterProvider(metric_readers=[reader])
        try:
            self._server, self._thread = start_http_server(port, addr=host, registry=registry)
        except OSError as exc:  # e.g. the port is taken: by another worker of a pre-forking server, say
            self._provider.shutdown()
            raise InvalidInputError("port", f"cannot serve Prometheus metrics on {host}:{port}: {exc}") from exc
        self.host = host
        self.port: int = self._server.server_address[1]
        self._counters = OTelExporter(meter_provider=self._provider)
        self._closed = False
        logger.info("genai_footprint: Prometheus metrics at http://%s:%d/metrics", host, self.port)

    @property
    def url(self) -> str:
        """Where the metrics are served."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/metrics"

    def export(self, records: Sequence[Mapping[str, Any]]) -> None:
        self._counters.export(records)

    def close(self) -> None:
        """Stop serving and shut the meter provider down. Idempotent."""
        if self._closed:
            return
        self._closed = True
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5.0)
        self._provider.shutdown()
