"""The commands of ``genai-footprint``: each is an ``add_*`` function declaring its arguments, a ``run_*``
function taking the parsed arguments and returning the exit code, and one ``Command`` row in ``COMMANDS``.

The registry, pydantic, the methodology, the report and the demo are imported inside the commands that use
them, so that ``--help`` and argument errors cost no more than argparse.
"""

from __future__ import annotations

import argparse
import json
import sys
import textwrap
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NamedTuple

from genai_footprint._cli import _args
from genai_footprint._cli._text import (
    MAX_WIDTH,
    PROG,
    add_units_argument,
    equivalents_json,
    fail,
    format_equivalents,
    one_line,
    table,
)
from genai_footprint._cli._validate import add_validate, run_validate
from genai_footprint._cli._zones import add_zones, run_zones
from genai_footprint._criteria import BY_NAME, EMBODIED_NAMES, LABELS, NAMES, display_unit, format_quantity
from genai_footprint._errors import InvalidInputError

if TYPE_CHECKING:
    from genai_footprint import EstimateInputs, Impacts, Range
    from genai_footprint._registry import Bounds, ModelRow, Registry

# How the usage and embodied lines of ``estimate`` name the criteria they break down.
_BREAKDOWN_LABELS = {"gwp": "GHG", "pe": "primary energy", "adpe": "abiotic"}


# -- estimate ------------------------------------------------------------------------------------------


def add_estimate(p: argparse.ArgumentParser) -> None:
    p.add_argument("--provider", help="provider, e.g. openai, anthropic, mistralai (sets zone, PUE and WUE)")
    p.add_argument("--model", help="model name as sent to the API, e.g. gpt-4o-mini")
    p.add_argument("--output-tokens", type=_args.count, required=True, metavar="N", help="tokens generated")
    p.add_argument(
        "--input-tokens", type=_args.count, metavar="N", help="input tokens of the request, cached ones included"
    )
    p.add_argument("--cached-input-tokens", type=_args.count, metavar="N", help="of those, read from the cache")
    p.add_argument("--quantization-bits", type=_args.number, metavar="BITS", help="bits per weight as served")
    p.add_argument(
        "--methodology", default="ecologits-0.11", metavar="VERSION", help="ecologits-0.11 or genai-footprint-2026.12"
    )
    p.add_argument("--latency", type=_args.number, metavar="SECONDS", help="measured wall-clock time of the request")
    p.add_argument("--zone", help="electricity-mix zone, ISO 3166-1 alpha-3 (e.g. FRA) or WOR")
    rng = "a number or a range MIN:MAX"
    ranged = _args.number_or_range
    p.add_argument("--active-params", type=ranged, metavar="B", help=f"active parameters, billions; {rng}")
    p.add_argument("--total-params", type=ranged, metavar="B", help=f"total parameters, billions; {rng}")
    p.add_argument("--tps", type=_args.number, help="the deployment's output tokens per second")
    p.add_argument("--ttft", type=_args.number, metavar="SECONDS", help="the deployment's time to first token")
    p.add_argument("--pue", type=ranged, help=f"datacenter power usage effectiveness; {rng}")
    p.add_argument("--wue", type=ranged, metavar="L/kWh", help=f"on-site water usage effectiveness; {rng}")
    p.add_argument(
        "--mix", type=_args.mix, metavar="gwp=..,pe=..,adpe=..,wue=..", help="custom electricity factors per kWh"
    )
    add_units_argument(p)
    p.add_argument("--equivalents", action="store_true", help="also show everyday equivalents, with their sources")
    p.add_argument("--json", action="store_true", help="print the full Impacts as JSON")


def run_estimate(args: argparse.Namespace) -> int:
    from genai_footprint import estimate

    impacts = estimate(
        args.provider,
        args.model,
        output_tokens=args.output_tokens,
        input_tokens=args.input_tokens,
        cached_input_tokens=args.cached_input_tokens,
        latency_s=args.latency,
        zone=args.zone,
        active_params=args.active_params,
        total_params=args.total_params,
        tps=args.tps,
        ttft=args.ttft,
        pue=args.pue,
        wue=args.wue,
        mix=args.mix,
        quantization_bits=args.quantization_bits,
        methodology=args.methodology,
    )
    if args.json and args.equivalents:
        print(
            json.dumps({"impacts": impacts.model_dump(mode="json"), "equivalents": equivalents_json(impacts)}, indent=2)
        )
    else:
        print(impacts.model_dump_json(indent=2) if args.json else format_impacts(impacts, args.units, args.equivalents))
    return 0


def format_impacts(impacts: Impacts, units: str = "si", equivalents: bool = False) -> str:
    """The human-readable report of one estimate: one row per criterion, the breakdown, where it came from and,
    with ``equivalents``, everyday equivalents with their sources. ``units``: "si" or "base" (``format_quantity``)."""
    rows = []
    for name in NAMES:
        r: Range = getattr(impacts, name)
        unit, _ = display_unit(BY_NAME[name], units, r.max)
        shown = unit if units == "si" else units  # the midpoint in the range's unit
        rows.append(
            [LABELS[name], format_quantity(name, r.min, r.max, units), format_quantity(name, r.mid, r.mid, shown)]
        )
    lines = table(["Criterion", "Range (min – max)", "Midpoint"], rows, right=(1, 2), width=MAX_WIDTH)

    def parts(obj: object) -> str:
        return ", ".join(
            f"{_BREAKDOWN_LABELS[n]} {format_quantity(n, getattr(obj, n).mid, getattr(obj, n).mid, units)}"
            for n in EMBODIED_NAMES
        )

    lines += [
        "",
        f"Usage (electricity):  {parts(impacts.usage)}",
        f"Embodied (hardware):  {parts(impacts.embodied)}",
        "Energy and water are usage only. Midpoints are the centres of the ranges, not expected values.",
        "",
    ]
    footer = _provenance(impacts)
    width = max(len(k) for k, _ in footer) + 2
    lines += [f"{k + ':':<{width}}{v}" for k, v in footer]
    if impacts.warnings:
        lines.append("Warnings:")
        for w in impacts.warnings:
            lines += textwrap.wrap(f"{w.code}: {w.message}", MAX_WIDTH, initial_indent="  - ", subsequent_indent="    ")
    if equivalents:
        lines += ["", *format_equivalents(impacts)]
    return "\n".join(lines)


def _provenance(impacts: Impacts) -> list[tuple[str, str]]:
    """(label, text) of what the estimate came from: the model, parameters, zone, tokens, methodology."""
    inputs = impacts.inputs
    if inputs is None:
        return [("Methodology", impacts.methodology_version), ("Calls", str(impacts.calls))]
    if inputs.model_resolved is not None:
        model = f"{inputs.model_requested} → {inputs.model_resolved} ({inputs.provider})"
    else:
        model = "none given" + (f" (provider {inputs.provider})" if inputs.provider else "")
    params = f"active {_params(inputs.active_params)} B, total {_params(inputs.total_params)} B"
    mix = inputs.mix
    zone = inputs.zone
    if mix.source == "user":
        factors = f"gwp {mix.gwp:g}, pe {mix.pe:g}, adpe {mix.adpe:g}, wue {mix.wue:g} per kWh"
        zone = f"custom mix ({factors})" if zone == "custom" else f"{zone}, custom mix ({factors})"
    latency = f"{inputs.latency_s:g} s" if inputs.latency_s is not None else "not given (generation time not capped)"
    return [
        ("Model", model),
        ("Parameters", params),
        ("Zone", zone),
        ("Output tokens", f"{inputs.output_tokens:g}"),
        ("Input tokens", _input_tokens(inputs)),
        ("Latency", latency),
        ("Methodology", impacts.methodology_version),
        ("Registry", inputs.registry_version or "not used"),
    ]


def _input_tokens(inputs: EstimateInputs) -> str:
    if inputs.input_tokens is None:
        return "not given"
    cached = f" ({inputs.cached_input_tokens} cached)" if inputs.cached_input_tokens else ""
    return f"{inputs.input_tokens}{cached}"


def _params(value: float | Bounds | Range) -> str:
    """A parameter count, or its range: ``"8"``, ``"8–28"``."""
    low, high = _bounds(value)
    return f"{low:g}" if low == high else f"{low:g}–{high:g}"


def _bounds(value: float | Bounds | Range) -> tuple[float, float]:
    """(min, max) of a registry figure, which is a number or a ``{"min", "max"}`` pair, or of a range."""
    if isinstance(value, (int, float)):
        return value, value
    return value.min, value.max


# -- models and zones ----------------------------------------------------------------------------------


def add_models(p: argparse.ArgumentParser) -> None:
    p.add_argument("search", nargs="?", default="", help="case-insensitive part of a model name or alias")
    p.add_argument("--provider", help="only this provider's models")
    p.add_argument("--json", action="store_true", help="print the rows as JSON")


def _registry() -> Registry:
    from genai_footprint._registry import get_registry

    return get_registry()


def run_models(args: argparse.Namespace) -> int:
    registry = _registry()
    provider: str | None = None
    if args.provider is not None:
        provider = registry.provider_name(args.provider)
        if provider is None:
            raise InvalidInputError(
                "provider", f"unknown provider {args.provider!r}; known: {', '.join(registry.providers)}"
            )
    search = args.search.strip().lower()
    rows = [
        m
        for m in registry.models(provider)
        if not search or search in m.name.lower() or any(search in a.lower() for a in m.aliases)
    ]
    if args.json:
        out = [_model_json(m) for m in rows]
        print(json.dumps({"registry_version": registry.version, "models": out}, indent=2))
        return 0 if rows else 1
    if not rows:
        where = f" for provider {provider}" if provider else ""
        fail(f"no model name or alias matches {args.search!r}{where}; list every model with '{PROG} models'")
        return 1
    header = ["Provider", "Model", "Arch", "Active (B)", "Total (B)", "TPS", "Aliases"]
    print("\n".join(table(header, [_model_row(m) for m in rows], right=(3, 4, 5), width=MAX_WIDTH)))
    print(f"{len(rows)} model(s), registry {registry.version}.")
    return 0


def _model_row(m: ModelRow) -> list[str]:
    tps = f"{m.tps:g}" if m.tps is not None else "-"
    active, total = _params(m.active_params_b), _params(m.total_params_b)
    return [m.provider, m.name, m.architecture, active, total, tps, ", ".join(m.aliases)]


def _model_json(m: ModelRow) -> dict[str, Any]:
    (active_min, active_max), (total_min, total_max) = (_bounds(m.active_params_b), _bounds(m.total_params_b))
    return {
        "provider": m.provider,
        "name": m.name,
        "architecture": m.architecture,
        "active_params_b": {"min": active_min, "max": active_max},
        "total_params_b": {"min": total_min, "max": total_max},
        "tps": m.tps,
        "ttft_s": m.ttft_s,
        "aliases": list(m.aliases),
        "warnings": list(m.warnings),
        "sources": list(m.sources),
    }


# -- config --------------------------------------------------------------------------------------------


def add_config(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config-file", metavar="PATH", help="read this file, not the project file (as init(config_file))")
    p.add_argument("--json", action="store_true", help="print the settings as JSON")


def run_config(args: argparse.Namespace) -> int:
    from genai_footprint._config import load_config
    from genai_footprint._errors import ConfigError

    try:
        config = load_config({"config_file": args.config_file} if args.config_file else {})
    except ConfigError as exc:  # its message already names the setting, the value and the source
        return fail(one_line(str(exc)))
    if args.json:
        print(json.dumps(config.as_json(), indent=2))
        return 0
    print("\n".join(table(["Setting", "Value", "Source"], config.describe())))  # paths are never wrapped
    print("Files read: " + ("; ".join(config.files) or "none"))
    return 0


# -- report and reproduce ------------------------------------------------------------------------------


def add_report(p: argparse.ArgumentParser) -> None:
    from genai_footprint._cli._report_command import add_report_arguments

    add_report_arguments(p)


def run_report(args: argparse.Namespace) -> int:
    from genai_footprint._cli._report_command import run_report as run

    return run(args)


def add_reproduce(p: argparse.ArgumentParser) -> None:
    p.add_argument("record", metavar="RECORD", help="a JSON file (a record or an Impacts JSON), LOG.jsonl:N, or -")
    add_units_argument(p)
    p.add_argument("--equivalents", action="store_true", help="also show everyday equivalents of the estimate")
    p.add_argument("--json", action="store_true", help="print the comparison as JSON")


def run_reproduce(args: argparse.Namespace) -> int:
    from genai_footprint._cli import _reproduce

    try:
        source, record = _reproduce.load_record(args.record, sys.stdin)
        result = _reproduce.reproduce_record(record, source)
    except InvalidInputError as exc:
        return fail(one_line(str(exc)))
    if args.json:
        shown = _reproduce.reproduction_json(result)
        if args.equivalents:
            shown["equivalents"] = equivalents_json(result.impacts)
        print(json.dumps(shown, indent=2))
    else:
        print(_reproduce.format_reproduction(result, args.units, args.equivalents))
    return 0 if result.ok else 1


# -- demo ----------------------------------------------------------------------------------------------


def add_demo(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--log",
        default="genai-footprint-demo.jsonl",
        metavar="PATH",
        help="the JSON Lines log of the calls, replaced if it holds an earlier demo run (default: %(default)s)",
    )
    p.add_argument(
        "--live",
        action="store_true",
        help="call the real APIs (needs OPENAI_API_KEY, ANTHROPIC_API_KEY and MISTRAL_API_KEY)",
    )
    p.add_argument("--json", action="store_true", help="print the calls and the total as JSON")
    p.add_argument("--fast", action="store_true", help="the fake providers answer at once (no simulated latency)")
    add_units_argument(p)


def run_demo(args: argparse.Namespace) -> int:
    from genai_footprint._cli import _demo

    if args.live and args.fast:
        raise InvalidInputError("--fast", "only applies to the fake providers, not with --live")
    result = _demo.run_demo(args.log, live=args.live, paced=not args.fast)
    print(json.dumps(_demo.demo_json(result), indent=2) if args.json else _demo.format_demo(result, args.units))
    return 0


# -- the table of commands -----------------------------------------------------------------------------


class Command(NamedTuple):
    name: str
    help: str
    add_arguments: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]


COMMANDS: tuple[Command, ...] = (  # in the order --help lists them
    Command("demo", "run a short agent on OpenAI, Anthropic and Mistral; show its impacts", add_demo, run_demo),
    Command("estimate", "estimate the impacts of one text-generation request", add_estimate, run_estimate),
    Command("models", "list the registry's models", add_models, run_models),
    Command("zones", "list the electricity mixes by zone", add_zones, run_zones),
    Command("config", "show the effective settings and where each comes from", add_config, run_config),
    Command("report", "total logged calls by provider, model, tracker and day", add_report, run_report),
    Command("reproduce", "recompute a logged estimate from its recorded inputs", add_reproduce, run_reproduce),
    Command("validate", "set each methodology version beside public reference figures", add_validate, run_validate),
)
