"""``genai-footprint zones``: the electricity mixes by zone, found by code or by country name
(``registry/zone_names.json``, from ISO 3166-1)."""

from __future__ import annotations

import argparse
import functools
import json
import textwrap
from typing import TYPE_CHECKING

from genai_footprint._cli._text import MAX_WIDTH, PROG, fail, g, table
from genai_footprint._errors import RegistryError

if TYPE_CHECKING:
    from genai_footprint._registry import MixRow

NAMES_FILE = "zone_names.json"


@functools.cache
def zone_names() -> dict[str, tuple[str, ...]]:
    """Zone code → its names, the common name first (``"FRA"`` → ``("France", "French Republic")``)."""
    from genai_footprint._registry import data_dir

    path = data_dir() / NAMES_FILE
    try:
        names = json.loads(path.read_text(encoding="utf-8"))["names"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise RegistryError(f"{path}: cannot read the zone names: {exc}") from exc
    return {code: tuple(spellings) for code, spellings in names.items()}


def matches(code: str, search: str) -> bool:
    """Whether ``search`` (any case) is part of the zone's code or of one of its names."""
    search = search.strip().lower()
    return search in code.lower() or any(search in name.lower() for name in zone_names().get(code, ()))


def add_zones(p: argparse.ArgumentParser) -> None:
    p.add_argument("search", nargs="?", default="", help="case-insensitive part of a zone code or country name")
    p.add_argument("--json", action="store_true", help="print the rows as JSON")


def run_zones(args: argparse.Namespace) -> int:
    """List the zones matching ``args.search``; 1 with a message on stderr when none does."""
    from genai_footprint._registry import get_registry

    registry = get_registry()
    rows = [z for code, z in sorted(registry.mixes.items()) if matches(code, args.search)]
    if args.json:
        zones = [{**z.model_dump(mode="json"), "name": _name(z.zone)} for z in rows]
        document = {"registry_version": registry.version, "sources": registry.mix_sources, "zones": zones}
        print(json.dumps(document, indent=2))
        return 0 if rows else 1
    if not rows:
        fail(f"no zone code or country name matches {args.search!r}; list every zone with '{PROG} zones'")
        return 1
    print("\n".join(table(_header(), [_row(z) for z in rows], right=(2, 3, 4, 5), drop=(6,), width=MAX_WIDTH)))
    sources = "; ".join(f"{factor}: {source}" for factor, source in registry.mix_sources.items())
    print(
        "\n".join(textwrap.wrap(f"Sources (registry {registry.version}): {sources}", MAX_WIDTH, break_long_words=False))
    )
    return 0


def _name(code: str) -> str:
    return next(iter(zone_names().get(code, ())), "")


def _header() -> list[str]:
    return ["Zone", "Name", "GWP kgCO2eq/kWh", "PE MJ/kWh", "ADPe kgSbeq/kWh", "WUE L/kWh", "World value used for"]


def _row(z: MixRow) -> list[str]:
    fallback = ", ".join(z.world_fallback) or "-"
    return [z.zone, _name(z.zone) or "-", g(z.gwp), g(z.pe), g(z.adpe), g(z.wue), fallback]
