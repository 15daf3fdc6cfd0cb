"""The ``genai-footprint`` command line: estimate a request's impacts, browse the models and electricity mixes.

Each subcommand is one ``_cmd_*`` function taking the parsed arguments and returning an exit code, plus one
``_Command`` entry in ``_COMMANDS`` that adds its arguments. Only argparse and the error classes are imported
at start-up; the registry, pydantic and the methodology are imported inside the subcommands that need them.

Exit codes: 0 on success, 2 on any usage or input error, reported as one ``genai-footprint: error: ...``
line on stderr; ``reproduce`` exits 1 when a recorded estimate is not reproduced.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, NamedTuple, NoReturn

from genai_footprint._errors import GenAIFootprintError, InvalidInputError, UnknownModelError, UnknownZoneError
from genai_footprint._version import __version__

if TYPE_CHECKING:
    from genai_footprint._impacts import Impacts, Range
    from genai_footprint._registry import Bounds, Registry

PROG = "genai-footprint"


# -- errors --------------------------------------------------------------------------------------------


class _UsageError(Exception):
    """A command-line mistake found by argparse; reported as one line, exit code 2."""


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser that raises instead of printing the usage and exiting, so main() owns the output."""

    def error(self, message: str) -> NoReturn:
        raise _UsageError(f"{message} (see '{self.prog} --help')")


# The library names arguments as in estimate(); on the command line they are options.
_OPTION_OF = {
    "output_tokens": "--output-tokens",
    "latency_s": "--latency",
    "zone": "--zone",
    "active_params": "--active-params",
    "total_params": "--total-params",
    "tps": "--tps",
    "ttft": "--ttft",
    "pue": "--pue",
    "wue": "--wue",
    "mix": "--mix",
    "model": "--model",
    "provider": "--provider",
}


def _option_name(argument: str) -> str:
    """``"mix['gwp']"`` → ``"--mix gwp"``, ``"pue[min]"`` → ``"--pue (min)"``, ``"latency_s"`` → ``"--latency"``."""
    text = re.sub(r"\['(\w+)'\]", r" \1", argument)
    text = re.sub(r"\[(\w+)\]", r" (\1)", text)
    return re.sub(r"\b[a-z_]+\b", lambda m: _OPTION_OF.get(m[0], m[0]), text)


def _error_message(exc: Exception) -> str:
    """One line saying what was wrong, in the command line's own terms."""
    if isinstance(exc, UnknownModelError):
        where = f" for provider {exc.provider!r}" if exc.provider else ""
        hint = f"; closest registered names: {', '.join(exc.suggestions)}" if exc.suggestions else ""
        message = (
            f"--model: unknown model {exc.model!r}{where}{hint}. "
            f"List the models with '{PROG} models', or give --active-params and --total-params instead."
        )
    elif isinstance(exc, InvalidInputError):
        message = f"{_option_name(exc.argument)}: {str(exc).removeprefix(f'{exc.argument}: ')}"
        if isinstance(exc, UnknownZoneError):
            message += f"; list the zones with '{PROG} zones'"
    elif (first := _first_validation_error(exc)) is not None:
        message = first
    else:
        message = str(exc) or type(exc).__name__
    return " ".join(message.split())  # one line, whatever the message held


def _first_validation_error(exc: Exception) -> str | None:
    """A pydantic ValidationError's first problem (its full text spans many lines), else None."""
    if "pydantic" not in sys.modules:  # it cannot be one: pydantic was never imported
        return None
    from pydantic import ValidationError

    if not isinstance(exc, ValidationError) or not exc.errors():
        return None
    first = exc.errors()[0]
    loc = ".".join(str(part) for part in first["loc"])
    return f"{loc}: {first['msg']}" if loc else first["msg"]


def _fail(message: str) -> int:
    print(f"{PROG}: error: {message}", file=sys.stderr)
    return 2


# -- argument types ------------------------------------------------------------------------------------


def _number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None


def _number_or_range(text: str) -> float | tuple[float, float]:
    """``"7"`` → 7.0; ``"10:35"`` or ``"10-35"`` → (10.0, 35.0). Values are checked by estimate() itself."""
    text = text.strip()
    try:
        return float(text)
    except ValueError:
        pass
    if ":" in text:
        lo, _, hi = text.partition(":")
        try:
            return float(lo), float(hi)
        except ValueError:
            pass
    else:
        # "MIN-MAX": try each '-' as the separator, so "1e-3-2e-3" and "-1-2" split where both sides are numbers.
        for match in re.finditer("-", text):
            try:
                return float(text[: match.start()]), float(text[match.end() :])
            except ValueError:
                continue
    raise argparse.ArgumentTypeError(f"expected a number or a range MIN:MAX (or MIN-MAX), got {text!r}")


def _mix(text: str) -> dict[str, float]:
    """``"gwp=0.05,pe=9.3,adpe=4.9e-8,wue=3.7"`` → a dict; which keys are needed is checked by estimate()."""
    mix: dict[str, float] = {}
    for item in text.split(","):
        key, sep, value = item.partition("=")
        key = key.strip().lower()
        if not sep or not key:
            raise argparse.ArgumentTypeError(f"expected gwp=..,pe=..,adpe=..,wue=.., got {item.strip()!r} in {text!r}")
        if key in mix:
            raise argparse.ArgumentTypeError(f"{key} given twice in {text!r}")
        try:
            mix[key] = float(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{key}: expected a number, got {value.strip()!r}") from None
    return mix


# -- formatting ----------------------------------------------------------------------------------------


def _g(value: float) -> str:
    """A number to 3 significant figures, the precision every table shows."""
    return f"{value:.3g}"


def _span(r: Range) -> str:
    return f"{_g(r.min)} – {_g(r.max)}"


def _params(value: float | Bounds) -> str:
    if isinstance(value, (int, float)):
        return f"{value:g}"
    return f"{value.min:g}" if value.min == value.max else f"{value.min:g}–{value.max:g}"


def _table(header: Sequence[str], rows: Sequence[Sequence[str]], right: Sequence[int] = ()) -> list[str]:
    """Rows of text as aligned columns; columns whose index is in ``right`` are right-aligned."""
    widths = [max(len(str(row[i])) for row in (header, *rows)) for i in range(len(header))]

    def line(row: Sequence[str]) -> str:
        cells = [
            cell.rjust(w) if i in right else cell.ljust(w) for i, (cell, w) in enumerate(zip(row, widths, strict=True))
        ]
        return "  ".join(cells).rstrip()

    return [line(header), line(["-" * w for w in widths]), *(line(row) for row in rows)]


CRITERIA = (  # (Impacts field, label, unit)
    ("energy", "Energy", "kWh"),
    ("gwp", "GHG emissions", "kgCO2eq"),
    ("pe", "Primary energy", "MJ"),
    ("adpe", "Abiotic resources", "kgSbeq"),
    ("wcf", "Water", "L"),
)
BREAKDOWN = (("gwp", "GHG", "kgCO2eq"), ("pe", "primary energy", "MJ"), ("adpe", "abiotic", "kgSbeq"))


def format_impacts(impacts: Impacts) -> str:
    """The human-readable report of one estimate: one row per criterion, the breakdown, then where it came from."""
    rows = []
    for field, label, unit in CRITERIA:
        r: Range = getattr(impacts, field)
        rows.append([label, unit, _g(r.mid), _span(r)])
    lines = _table(["Criterion", "Unit", "Value", "Range (min – max)"], rows, right=(2,))

    def parts(obj: object) -> str:
        return ", ".join(f"{label} {_g(getattr(obj, field).mid)} {unit}" for field, label, unit in BREAKDOWN)

    lines += [
        "",
        f"Usage (electricity):  {parts(impacts.usage)}",
        f"Embodied (hardware):  {parts(impacts.embodied)}",
        "Energy and water are usage only. Values are range midpoints, not expected values.",
        "",
    ]

    inputs = impacts.inputs
    if inputs is not None:
        if inputs.model_resolved is not None:
            model = f"{inputs.model_requested} → {inputs.model_resolved} ({inputs.provider})"
        else:
            model = "none given" + (f" (provider {inputs.provider})" if inputs.provider else "")
        params = f"active {_span_params(inputs.active_params)} B, total {_span_params(inputs.total_params)} B"
        mix = inputs.mix
        zone = inputs.zone
        if mix.source == "user":
            factors = f"gwp {mix.gwp:g}, pe {mix.pe:g}, adpe {mix.adpe:g}, wue {mix.wue:g} per kWh"
            zone = f"custom mix ({factors})" if zone == "custom" else f"{zone}, custom mix ({factors})"
        latency = (
            f"{inputs.latency_s:g} s" if inputs.latency_s is not None else "not given (generation time not capped)"
        )
        footer = [
            ("Model", model),
            ("Parameters", params),
            ("Zone", zone),
            ("Output tokens", f"{inputs.output_tokens:g}"),
            ("Latency", latency),
            ("Methodology", impacts.methodology_version),
            ("Registry", inputs.registry_version or "not used"),
        ]
    else:
        footer = [("Methodology", impacts.methodology_version), ("Calls", str(impacts.calls))]
    width = max(len(k) for k, _ in footer) + 2
    lines += [f"{k + ':':<{width}}{v}" for k, v in footer]
    if impacts.warnings:
        lines.append("Warnings:")
        lines += [f"  - {w.code}: {w.message}" for w in impacts.warnings]
    return "\n".join(lines)


def _span_params(r: Range) -> str:
    return f"{r.min:g}" if r.is_exact else f"{r.min:g}–{r.max:g}"


# -- subcommands ---------------------------------------------------------------------------------------


def _add_estimate(p: argparse.ArgumentParser) -> None:
    p.add_argument("--provider", help="provider, e.g. openai, anthropic, mistralai (sets zone, PUE and WUE)")
    p.add_argument("--model", help="model name as sent to the API, e.g. gpt-4o-mini")
    p.add_argument("--output-tokens", type=_number, required=True, metavar="N", help="tokens generated")
    p.add_argument("--latency", type=_number, metavar="SECONDS", help="measured wall-clock time of the request")
    p.add_argument("--zone", help="electricity-mix zone, ISO 3166-1 alpha-3 (e.g. FRA) or WOR")
    rng = "a number or a range MIN:MAX"
    p.add_argument("--active-params", type=_number_or_range, metavar="B", help=f"active parameters, billions; {rng}")
    p.add_argument("--total-params", type=_number_or_range, metavar="B", help=f"total parameters, billions; {rng}")
    p.add_argument("--tps", type=_number, help="the deployment's output tokens per second")
    p.add_argument("--ttft", type=_number, metavar="SECONDS", help="the deployment's time to first token")
    p.add_argument("--pue", type=_number_or_range, help=f"datacenter power usage effectiveness; {rng}")
    p.add_argument("--wue", type=_number_or_range, metavar="L/kWh", help=f"on-site water usage effectiveness; {rng}")
    p.add_argument("--mix", type=_mix, metavar="gwp=..,pe=..,adpe=..,wue=..", help="custom electricity factors per kWh")
    p.add_argument("--json", action="store_true", help="print the full Impacts as JSON")


def _cmd_estimate(args: argparse.Namespace) -> int:
    from genai_footprint._estimate import estimate

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


def _add_models(p: argparse.ArgumentParser) -> None:
    p.add_argument("search", nargs="?", default="", help="case-insensitive part of a model name or alias")
    p.add_argument("--provider", help="only this provider's models")
    p.add_argument("--json", action="store_true", help="print the rows as JSON")


def _registry() -> Registry:
    from genai_footprint._registry import get_registry

    return get_registry()


def _cmd_models(args: argparse.Namespace) -> int:
    from genai_footprint._registry import as_range

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
        out = []
        for m in rows:
            active, total = as_range(m.active_params_b, ""), as_range(m.total_params_b, "")
            out.append(
                {
                    "provider": m.provider,
                    "name": m.name,
                    "architecture": m.architecture,
                    "active_params_b": {"min": active.min, "max": active.max},
                    "total_params_b": {"min": total.min, "max": total.max},
                    "tps": m.tps,
                    "ttft_s": m.ttft_s,
                    "aliases": list(m.aliases),
                    "warnings": list(m.warnings),
                    "sources": list(m.sources),
                }
            )
        print(json.dumps({"registry_version": registry.version, "models": out}, indent=2))
        return 0
    if not rows:
        print(f"No model matches {args.search!r}" + (f" for provider {provider}." if provider else "."))
        return 0
    table = [
        [
            m.provider,
            m.name,
            m.architecture,
            _params(m.active_params_b),
            _params(m.total_params_b),
            f"{m.tps:g}" if m.tps is not None else "-",
            ", ".join(m.aliases),
        ]
        for m in rows
    ]
    header = ["Provider", "Model", "Arch", "Active (B)", "Total (B)", "TPS", "Aliases"]
    print("\n".join(_table(header, table, right=(3, 4, 5))))
    print(f"{len(rows)} model(s), registry {registry.version}.")
    return 0


def _add_zones(p: argparse.ArgumentParser) -> None:
    p.add_argument("search", nargs="?", default="", help="case-insensitive part of a zone code, e.g. FRA")
    p.add_argument("--json", action="store_true", help="print the rows as JSON")


def _cmd_zones(args: argparse.Namespace) -> int:
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
        table = [[z.zone, _g(z.gwp), _g(z.pe), _g(z.adpe), _g(z.wue), ", ".join(z.world_fallback) or "-"] for z in rows]
        header = ["Zone", "GWP kgCO2eq/kWh", "PE MJ/kWh", "ADPe kgSbeq/kWh", "WUE L/kWh", "World value used for"]
        print("\n".join(_table(header, table, right=(1, 2, 3, 4))))
    sources = "; ".join(f"{factor}: {source}" for factor, source in registry.mix_sources.items())
    print(f"Sources (registry {registry.version}): {sources}")
    return 0


def _add_report(p: argparse.ArgumentParser) -> None:
    p.add_argument("logs", nargs="+", metavar="LOG.jsonl", help="call logs written by the JSON Lines exporter")
    p.add_argument(
        "--by", default="provider,model,tracker,day", metavar="GROUPINGS", help="tables to show, from: %(default)s"
    )
    p.add_argument(
        "--criterion", default="energy,gwp,pe,adpe,wcf", metavar="CRITERIA", help="criteria to show, from: %(default)s"
    )
    p.add_argument("--json", action="store_true", help="print the totals as JSON (exact sums, all criteria)")
    p.add_argument("--html", metavar="OUT.html", help="also write a self-contained page with charts")
    p.add_argument("--skip-bad", action="store_true", help="skip (and count) lines that are not records")


def _cmd_report(args: argparse.Namespace) -> int:
    from pathlib import Path

    from genai_footprint import _report
    from genai_footprint._export._record import CRITERIA as RECORD_CRITERIA

    try:
        by = _report.parse_choices(args.by, _report.GROUPINGS, "--by")
        criteria = _report.parse_choices(args.criterion, RECORD_CRITERIA, "--criterion")
        log = _report.read_logs(args.logs, skip_bad=args.skip_bad)
        report = _report.build_report(log, by)
        if args.html:
            from genai_footprint._report_html import render_html

            out = Path(args.html)
            try:
                out.write_text(render_html(report, criteria), encoding="utf-8")
            except OSError as exc:
                raise InvalidInputError("--html", f"cannot write {out}: {exc.strerror or exc}") from None
    except InvalidInputError as exc:
        return _fail(" ".join(str(exc).split()))  # str(exc) names the file and line as they are
    if log.skipped:
        print(f"{PROG}: skipped {log.skipped} bad line(s); first: {log.first_skipped}", file=sys.stderr)
    if args.html:
        print(f"{PROG}: wrote {args.html}", file=sys.stderr)
    print(json.dumps(_report.report_json(report), indent=2) if args.json else _report.format_report(report, criteria))
    return 0


def _add_reproduce(p: argparse.ArgumentParser) -> None:
    p.add_argument("record", metavar="RECORD", help="a JSON file (a record or an Impacts JSON), LOG.jsonl:N, or -")
    p.add_argument("--json", action="store_true", help="print the comparison as JSON")


def _cmd_reproduce(args: argparse.Namespace) -> int:
    from genai_footprint import _report

    try:
        source, record = _report.load_record(args.record, sys.stdin)
        result = _report.reproduce_record(record, source)
    except InvalidInputError as exc:
        return _fail(" ".join(str(exc).split()))
    text = json.dumps(_report.reproduction_json(result), indent=2) if args.json else _report.format_reproduction(result)
    print(text)
    return 0 if result.ok else 1


def _add_config(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config-file", metavar="PATH", help="read this file, not the project file (as init(config_file))")
    p.add_argument("--json", action="store_true", help="print the settings as JSON")


def _cmd_config(args: argparse.Namespace) -> int:
    from genai_footprint._config import load_config
    from genai_footprint._errors import ConfigError

    try:
        config = load_config({"config_file": args.config_file} if args.config_file else {})
    except ConfigError as exc:  # its message already names the setting, the value and the source
        return _fail(" ".join(str(exc).split()))
    if args.json:
        print(json.dumps(config.as_json(), indent=2))
        return 0
    print("\n".join(_table(["Setting", "Value", "Source"], config.describe())))
    print("Files read: " + ("; ".join(config.files) or "none"))
    return 0


def _add_demo(p: argparse.ArgumentParser) -> None:
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


def _cmd_demo(args: argparse.Namespace) -> int:
    from genai_footprint import _demo

    if args.live and args.fast:
        raise InvalidInputError("--fast", "only applies to the fake providers, not with --live")
    result = _demo.run_demo(args.log, live=args.live, paced=not args.fast)
    print(json.dumps(_demo.demo_json(result), indent=2) if args.json else _demo.format_demo(result))
    return 0


class _Command(NamedTuple):
    name: str
    help: str
    add_arguments: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]


_COMMANDS: tuple[_Command, ...] = (
    _Command("demo", "run a short agent on OpenAI, Anthropic and Mistral; show its impacts", _add_demo, _cmd_demo),
    _Command("estimate", "estimate the impacts of one text-generation request", _add_estimate, _cmd_estimate),
    _Command("models", "list the registry's models", _add_models, _cmd_models),
    _Command("zones", "list the electricity mixes by zone", _add_zones, _cmd_zones),
    _Command("config", "show the effective settings and where each comes from", _add_config, _cmd_config),
    _Command("report", "total logged calls by provider, model, tracker and day", _add_report, _cmd_report),
    _Command("reproduce", "recompute a logged estimate from its recorded inputs", _add_reproduce, _cmd_reproduce),
)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog=PROG,
        description="The environmental footprint (energy, GHG, primary energy, abiotic resources, water) of LLM calls.",
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for command in _COMMANDS:
        p = sub.add_parser(
            command.name, help=command.help, description=command.help[:1].upper() + command.help[1:] + "."
        )
        command.add_arguments(p)
        p.set_defaults(run=command.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit code (0 success, 2 usage or input error)."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        run: Callable[[argparse.Namespace], int] | None = getattr(args, "run", None)
        if run is None:
            names = ", ".join(c.name for c in _COMMANDS)
            return _fail(f"choose a command: {names} (see '{PROG} --help')")
        return run(args)
    except SystemExit as exc:  # --help and --version
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
    except _UsageError as exc:
        return _fail(str(exc))
    except (GenAIFootprintError, ValueError) as exc:
        return _fail(_error_message(exc))
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # e.g. `genai-footprint models | head`: stop quietly
        _silence_stdout()
        return 1


def _silence_stdout() -> None:
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass


if __name__ == "__main__":
    sys.exit(main())
