"""The ``genai-footprint`` command line: the parser, the dispatch to a command, and errors as one line.

Exit codes: 0 on success, 2 on any usage or input error, reported as one ``genai-footprint: error: ...``
line on stderr; ``reproduce`` exits 1 when a recorded estimate is not reproduced. Only argparse and the error
classes are imported at start-up; each command imports what it needs when it runs.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Callable
from typing import NoReturn

from genai_footprint._cli._commands import COMMANDS
from genai_footprint._cli._text import PROG, fail, one_line
from genai_footprint._errors import GenAIFootprintError, InvalidInputError, UnknownModelError, UnknownZoneError
from genai_footprint._version import __version__


class UsageError(Exception):
    """A command-line mistake found by argparse; reported as one line, exit code 2."""


class Parser(argparse.ArgumentParser):
    """An ArgumentParser that raises instead of printing the usage and exiting, so main() owns the output."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see '{self.prog} --help')")


# The library names arguments as in estimate(); on the command line they are options.
_OPTION_OF = {
    "output_tokens": "--output-tokens",
    "input_tokens": "--input-tokens",
    "cached_input_tokens": "--cached-input-tokens",
    "quantization_bits": "--quantization-bits",
    "methodology_version": "--methodology",
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


def option_name(argument: str) -> str:
    """``"mix['gwp']"`` → ``"--mix gwp"``, ``"pue[min]"`` → ``"--pue (min)"``, ``"latency_s"`` → ``"--latency"``."""
    text = re.sub(r"\['(\w+)'\]", r" \1", argument)
    text = re.sub(r"\[(\w+)\]", r" (\1)", text)
    return re.sub(r"\b[a-z_]+\b", lambda m: _OPTION_OF.get(m[0], m[0]), text)


def error_message(exc: Exception) -> str:
    """One line saying what was wrong, in the command line's own terms."""
    if isinstance(exc, UnknownModelError):
        where = f" for provider {exc.provider!r}" if exc.provider else ""
        hint = f"; closest registered names: {', '.join(exc.suggestions)}" if exc.suggestions else ""
        message = (
            f"--model: unknown model {exc.model!r}{where}{hint}. "
            f"List the models with '{PROG} models', or give --active-params and --total-params instead."
        )
    elif isinstance(exc, InvalidInputError):
        message = f"{option_name(exc.argument)}: {str(exc).removeprefix(f'{exc.argument}: ')}"
        if isinstance(exc, UnknownZoneError):
            message += f"; list the zones with '{PROG} zones'"
    elif (first := _first_validation_error(exc)) is not None:
        message = first
    else:
        message = str(exc) or type(exc).__name__
    return one_line(message)  # whatever the message held


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


def build_parser() -> argparse.ArgumentParser:
    """The parser of every command; each subparser's ``run`` default is the command to call."""
    parser = Parser(
        prog=PROG,
        description="The environmental footprint (energy, GHG, primary energy, abiotic resources, water) of LLM calls.",
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for command in COMMANDS:
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
            names = ", ".join(c.name for c in COMMANDS)
            return fail(f"choose a command: {names} (see '{PROG} --help')")
        return run(args)
    except SystemExit as exc:  # --help and --version
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
    except UsageError as exc:
        return fail(str(exc))
    except (GenAIFootprintError, ValueError) as exc:
        return fail(error_message(exc))
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
