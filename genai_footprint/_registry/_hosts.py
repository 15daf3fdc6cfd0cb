"""The API hosts of ``providers.json`` (``api_hosts``): which provider serves behind an OpenAI-compatible host, and
whether its chat streams may be asked for their usage."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from genai_footprint._errors import RegistryError
from genai_footprint._registry._schema import HostRow, ProviderRow


@dataclass(frozen=True, slots=True)
class ApiHost:
    """What a recognised host tells about a call: who serves it, and whether its streams report usage on request."""

    provider: str
    stream_usage: bool


class HostTable:
    """Host rows by name; a row covers its host and every subdomain of it (``api.openai.com`` covers
    ``eu.api.openai.com``), and a row with a port covers that port only. The most specific row wins."""

    def __init__(self, path: Path, rows: Iterable[HostRow], providers: Mapping[str, ProviderRow]) -> None:
        self._rows: dict[tuple[str, int | None], ApiHost] = {}
        for row in rows:
            prov = providers.get(row.provider)
            if prov is None:
                raise RegistryError(f"{path}: api_hosts: {row.host!r}: unknown provider {row.provider!r}")
            key = (row.host, row.port)
            if key in self._rows:
                raise RegistryError(f"{path}: api_hosts: {row.host!r} (port {row.port}) appears twice")
            usage = prov.stream_usage if row.stream_usage is None else row.stream_usage
            self._rows[key] = ApiHost(row.provider, usage)

    def find(self, host: str, port: int | None = None) -> ApiHost | None:
        """The row of ``host`` (lower case, as a URL gives it) on ``port``; None for a host we do not know."""
        host = host.strip().strip("[]").rstrip(".")
        if not host:
            return None
        labels = host.split(".")
        for start in range(len(labels)):  # the host itself first, then each parent domain
            suffix = ".".join(labels[start:])
            for key in ((suffix, port), (suffix, None)) if port is not None else ((suffix, None),):
                if key in self._rows:
                    return self._rows[key]
        return None

    def __len__(self) -> int:
        return len(self._rows)
