"""The ``report`` command: its options, and the run that streams the logs through the filter into a report."""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING

from genai_footprint._cli._report_filters import add_filter_arguments
from genai_footprint._cli._text import PROG, add_units_argument, fail, one_line
from genai_footprint._criteria import NAMES
from genai_footprint._errors import InvalidInputError

if TYPE_CHECKING:
    from genai_footprint._cli._report import Report


def add_report_arguments(p: argparse.ArgumentParser) -> None:
    """The options of ``genai-footprint report``."""
    p.add_argument("logs", nargs="+", metavar="LOG.jsonl", help="call logs written by the JSON Lines exporter")
    p.add_argument(
        "--by", default="provider,model,tracker,day", metavar="GROUPINGS", help="tables to show, from: %(default)s"
    )
    p.add_argument(
        "--criterion", default=",".join(NAMES), metavar="CRITERIA", help="criteria to show, from: %(default)s"
    )
    p.add_argument("--json", action="store_true", help="print the totals as JSON (exact sums, all criteria)")
    add_units_argument(p)
    p.add_argument("--html", metavar="OUT.html", help="also write a self-contained page with charts")
    p.add_argument("--skip-bad", action="store_true", help="skip (and count) lines that are not records")
    add_filter_arguments(p)


def run_report(args: argparse.Namespace) -> int:
    """Print the report of ``args.logs`` (and write the page); 2 on any bad option, line or file."""
    from genai_footprint._cli import _report
    from genai_footprint._cli._logs import LogReader
    from genai_footprint._cli._report_filters import call_filter

    try:
        by = _report.parse_choices(args.by, _report.GROUPINGS, "--by")
        criteria = _report.parse_choices(args.criterion, NAMES, "--criterion")
        keep = call_filter(args.since, args.until, args.provider, args.model, args.tracker, args.tag)
        reader = LogReader(args.logs, skip_bad=args.skip_bad)
        builder = _report.ReportBuilder()
        calls = filter(keep.matches, reader) if keep.active else reader
        for call in calls:
            builder.add(call)
        report = builder.report(reader.sources, reader.skipped, by, keep.describe())
        if args.html:
            _write_html(report, criteria, args.html)
    except InvalidInputError as exc:
        return fail(one_line(str(exc)))  # str(exc) names the file and line as they are
    if reader.skipped:
        print(f"{PROG}: skipped {reader.skipped} bad line(s); first: {reader.first_skipped}", file=sys.stderr)
    if args.html:
        print(f"{PROG}: wrote {args.html}", file=sys.stderr)
    text = _report.format_report(report, criteria, args.units)
    print(json.dumps(_report.report_json(report), indent=2) if args.json else text)
    return 0


def _write_html(report: Report, criteria: tuple[str, ...], path: str) -> None:
    from pathlib import Path

    from genai_footprint._cli._report_html import render_html

    out = Path(path)
    try:
        out.write_text(render_html(report, criteria), encoding="utf-8")
    except OSError as exc:
        raise InvalidInputError("--html", f"cannot write {out}: {exc.strerror or exc}") from None
