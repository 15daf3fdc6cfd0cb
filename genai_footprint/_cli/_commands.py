"""The commands of ``genai-footprint``: each is an ``add_*`` function declaring its arguments, a ``run_*``
function taking the parsed arguments and returning the exit code, and one ``Command`` row in ``COMMANDS``.

The registry, pydantic, the methodology, the report and the demo are imported inside the commands that use
them, so that ``--help`` and argument errors cost no more than argparse.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NamedTuple

from genai_footprint._cli import _args
from genai_footprint._cli._text import PROG, fail, g, one_line, table
from genai_footprint._criteria import EMBODIED_NAMES, LABELS, NAMES, UNITS
from genai_footprint._errors import InvalidInputError

if TYPE_CHECKING:
    from genai_footprint import Impacts, Range
    from genai_footprint._cli._report import Report
    from genai_footprint._registry import Bounds, ModelRow, Registry

# How the usage and embodied lines of ``estimate`` name the criteria they break down.
_BREAKDOWN_LABELS = {"gwp": "GHG", "pe": "primary energy", "adpe": "abiotic"}


# -- estimate ------------------------------------------------------------------------------------------


def add_estimate(p: argparse.ArgumentParser) -> None:
    p.add_argument("--provider", help="provider, e.g. openai, anthropic, mistralai (sets zone, PUE and WUE)")
    p.add_argument("--model", help="model name as sent to the API, e.g. gpt-4o-mini")
    p.add_argument("--output-tokens", type=_args.number, required=True, metavar="N", help="tokens generated")
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
    p.add_argument("--json", action="store_true", help="print the full Impacts as JSON")


def run_estimate(args: argparse.Namespace) -> int:
    from genai_footprint import estimate

    impacts = estimate(
        args.provider,
        args.model,
        output_tokens=args.output_tokens,
        latency_s=args.latency,
        zone=args.zone,
        active_params=args.active_params,
        total_params=args.total_params,
        tps=args.tps,
        ttft=args.ttft,
        pue=args.pue,
        wue=args.wue,
        mix=args.mix,
    )
    print(impacts.model_dump_json(indent=2) if args.json else format_impacts(impacts))
    return 0


def format_impacts(impacts: Impacts) -> str:
    """The human-readable report of one estimate: one row per criterion, the breakdown, then where it came from."""
    rows = []
    for name in NAMES:
        r: Range = getattr(impacts, name)
        rows.append([LABELS[name], UNITS[name], g(r.mid), f"{g(r.min)} – {g(r.max)}"])
    lines = table(["Criterion", "Unit", "Value", "Range (min – max)"], rows, right=(2,))

    def parts(obj: object) -> str:
        return ", ".join(f"{_BREAKDOWN_LABELS[n]} {g(getattr(obj, n).mid)} {UNITS[n]}" for n in EMBODIED_NAMES)

    lines += [
        "",
        f"Usage (electricity):  {parts(impacts.usage)}",
        f"Embodied (hardware):  {parts(impacts.embodied)}",
        "Energy and water are usage only. Values are range midpoints, not expected values.",
        "",
    ]
    footer = _provenance(impacts)
    width = max(len(k) for k, _ in footer) + 2
    lines += [f"{k + ':':<{width}}{v}" for k, v in footer]
    if impacts.warnings:
        lines.append("Warnings:")
        lines += [f"  - {w.code}: {w.message}" for w in impacts.warnings]
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
        ("Latency", latency),
        ("Methodology", impacts.methodology_version),
        ("Registry", inputs.registry_version or "not used"),
    ]


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
        return 0
    if not rows:
        print(f"No model matches {args.search!r}" + (f" for provider {provider}." if provider else "."))
        return 0
    header = ["Provider", "Model", "Arch", "Active (B)", "Total (B)", "TPS", "Aliases"]
    print("\n".join(table(header, [_model_row(m) for m in rows], right=(3, 4, 5))))
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


def add_zones(p: argparse.ArgumentParser) -> None:
    p.add_argument("search", nargs="?", default="", help="case-insensitive part of a zone code, e.g. FRA")
    p.add_argument("--json", action="store_true", help="print the rows as JSON")


def run_zones(args: argparse.Namespace) -> int:
    registry = _registry()
    search = args.search.strip().upper()
    rows = [z for code, z in sorted(registry.mixes.items()) if search in code]
    if args.json:
        zones = [z.model_dump(mode="json") for z in rows]
        print(
            json.dumps(
                {"registry_version": registry.version, "sources": registry.mix_sources, "zones": zones}, indent=2
            )
        )
        return 0
    if not rows:
        print(f"No zone matches {args.search!r}.")
    else:
        lines = [[z.zone, g(z.gwp), g(z.pe), g(z.adpe), g(z.wue), ", ".join(z.world_fallback) or "-"] for z in rows]
        header = ["Zone", "GWP kgCO2eq/kWh", "PE MJ/kWh", "ADPe kgSbeq/kWh", "WUE L/kWh", "World value used for"]
        print("\n".join(table(header, lines, right=(1, 2, 3, 4))))
    sources = "; ".join(f"{factor}: {source}" for factor, source in registry.mix_sources.items())
    print(f"Sources (registry {registry.version}): {sources}")
    return 0


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
    print("\n".join(table(["Setting", "Value", "Source"], config.describe())))
    print("Files read: " + ("; ".join(config.files) or "none"))
    return 0


# -- report and reproduce ------------------------------------------------------------------------------


def add_report(p: argparse.ArgumentParser) -> None:
    p.add_argument("logs", nargs="+", metavar="LOG.jsonl", help="call logs written by the JSON Lines exporter")
    p.add_argument(
        "--by", default="provider,model,tracker,day", metavar="GROUPINGS", help="tables to show, from: %(default)s"
    )
    p.add_argument(
        "--criterion", default=",".join(NAMES), metavar="CRITERIA", help="criteria to show, from: %(default)s"
    )
    p.add_argument("--json", action="store_true", help="print the totals as JSON (exact sums, all criteria)")
    p.add_argument("--html", metavar="OUT.html", help="also write a self-contained page with charts")
    p.add_argument("--skip-bad", action="store_true", help="skip (and count) lines that are not records")


def run_report(args: argparse.Namespace) -> int:
    from genai_footprint._cli import _report
    from genai_footprint._cli._logs import read_logs

    try:
        by = _report.parse_choices(args.by, _report.GROUPINGS, "--by")
        criteria = _report.parse_choices(args.criterion, NAMES, "--criterion")
        log = read_logs(args.logs, skip_bad=args.skip_bad)
        report = _report.build_report(log, by)
        if args.html:
            _write_html(report, criteria, args.html)
    except InvalidInputError as exc:
        return fail(one_line(str(exc)))  # str(exc) names the file and line as they are
    if log.skipped:
        print(f"{PROG}: skipped {log.skipped} bad line(s); first: {log.first_skipped}", file=sys.stderr)
    if args.html:
        print(f"{PROG}: wrote {args.html}", file=sys.stderr)
    print(json.dumps(_report.report_json(report), indent=2) if args.json else _report.format_report(report, criteria))
    return 0


def _write_html(report: Report, criteria: tuple[str, ...], path: str) -> None:
    from pathlib import Path

    from genai_footprint._cli._report_html import render_html

    out = Path(path)
    try:
        out.write_text(render_html(report, criteria), encoding="utf-8")
    except OSError as exc:
        raise InvalidInputError("--html", f"cannot write {out}: {exc.strerror or exc}") from None


def add_reproduce(p: argparse.ArgumentParser) -> None:
    p.add_argument("record", metavar="RECORD", help="a JSON file (a record or an Impacts JSON), LOG.jsonl:N, or -")
    p.add_argument("--json", action="store_true", help="print the comparison as JSON")


def run_reproduce(args: argparse.Namespace) -> int:
    from genai_footprint._cli import _reproduce

    try:
        source, record = _reproduce.load_record(args.record, sys.stdin)
        result = _reproduce.reproduce_record(record, source)
    except InvalidInputError as exc:
        return fail(one_line(str(exc)))
    if args.json:
        print(json.dumps(_reproduce.reproduction_json(result), indent=2))
    else:
        print(_reproduce.format_reproduction(result))
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


def run_demo(args: argparse.Namespace) -> int:
    from genai_footprint._cli import _demo

    if args.live and args.fast:
        raise InvalidInputError("--fast", "only applies to the fake providers, not with --live")
    result = _demo.run_demo(args.log, live=args.live, paced=not args.fast)
    print(json.dumps(_demo.demo_json(result), indent=2) if args.json else _demo.format_demo(result))
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
)
