"""The HTML report rendered by a real headless Chromium at 400, 820 and 1280 px: nothing overflows the page,
and every number on the page is the CLI's number (the tables' cells, the header, the charts, the calls).

Chromium is looked up on the PATH (and at /usr/bin/chromium). Without it the test skips, saying how to
install it, except in CI (``CI`` set), where it fails: CI installs Chromium, so there the test must run.

Chromium's window cannot be narrower than 500 px, so the page is rendered in an ``iframe`` of each width
inside a wrapper page; a probe script in the wrapper measures the framed page when it has loaded and writes
what it found into the wrapper, which ``--dump-dom`` prints.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import struct
import subprocess
import sys
import zlib
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from test_report import expected_cells, sample_records, text_cells, write_log

from genai_footprint._criteria import NAMES, format_quantity

CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--allow-file-access-from-files",  # the wrapper page reads the framed report (both file:// URLs)
)
WIDTHS = (400, 820, 1280)
LONG_NAME = "a-self-hosted-model-with-a-very-long-name-that-must-wrap-on-a-phone"

# Runs in the wrapper page once the framed report has loaded: every element of the report with a box must lie
# within the frame's width, unless it sits in a container that scrolls (or clips) horizontally, and no element
# whose overflow shows may hold content wider than itself.
PROBE = """
<script>
document.getElementById("frame").addEventListener("load", () => {
  const doc = document.getElementById("frame").contentDocument;
  const view = doc.defaultView;
  const width = doc.documentElement.clientWidth;
  const clipped = (el) => {
    for (let p = el.parentElement; p; p = p.parentElement) {
      if (["auto", "scroll", "hidden", "clip"].includes(view.getComputedStyle(p).overflowX)) return true;
    }
    return false;
  };
  const name = (el) => el.tagName.toLowerCase() + (el.className && el.className.baseVal === undefined ?
    "." + el.className : "") + ": " + (el.textContent || "").trim().slice(0, 40);
  const problems = [];
  for (const el of doc.body.querySelectorAll("*")) {
    const box = el.getBoundingClientRect();
    if (box.width === 0 && box.height === 0) continue;
    if (clipped(el)) continue;
    if (box.left < -0.5 || box.right > width + 0.5) problems.push(`${name(el)} spans ${box.left}..${box.right}`);
    const style = view.getComputedStyle(el);
    const wider = el.scrollWidth > el.clientWidth + 1;
    if (style.overflowX === "visible" && style.display !== "inline" && el.clientWidth > 0 && wider) {
      problems.push(`${name(el)} holds ${el.scrollWidth} px in ${el.clientWidth}`);
    }
  }
  const out = document.createElement("pre");
  out.id = "probe";
  out.textContent = JSON.stringify({width, pageWidth: doc.documentElement.scrollWidth, problems});
  document.body.appendChild(out);
});
</script>
"""


def chromium() -> str:
    path = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)
    if path is None:
        reason = (
            "Chromium is needed to render the HTML report: install Debian's package with "
            "`apt-get update && apt-get install -y chromium` (.ci/run does this before the tests)"
        )
        if os.environ.get("CI", "").lower() not in ("", "0", "false"):
            pytest.fail(f"{reason}; CI is set, so this test must run", pytrace=False)
        pytest.skip(reason)
    return path


def run_chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    profile = tmp_path / "chromium-profile"
    done = subprocess.run(
        [chromium(), *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done


def cli(tmp_path: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [sys.executable, "-m", "genai_footprint._cli", *argv],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=tmp_path,
        encoding="utf-8",
    )
    assert done.returncode == 0, done.stderr
    return done


class KeyedText(HTMLParser):
    """The text of every element carrying a ``data-key`` attribute, and the probe's report."""

    VOID = frozenset({"meta", "link", "br", "img", "input", "hr", "area", "base", "col", "source", "wbr"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str | None] = []
        self.text: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.VOID:
            return
        found = dict(attrs)
        key = found.get("data-key") or ("probe" if found.get("id") == "probe" else None)
        if key is not None:
            assert key not in self.text, f"data-key {key!r} appears twice"
            self.text[key] = ""
        self.stack.append(key)

    def handle_endtag(self, tag: str) -> None:
        if tag not in self.VOID:
            self.stack.pop()

    def handle_data(self, data: str) -> None:
        key = next((k for k in reversed(self.stack) if k is not None), None)
        if key is not None:
            self.text[key] += data


def keyed_text(html: str) -> dict[str, str]:
    parser = KeyedText()
    parser.feed(html)
    return parser.text


def png_size_and_pixels(path: Path) -> tuple[int, int, bytes]:
    """A PNG's width, height and decompressed scanlines (raises if it is not a well-formed PNG)."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG file"
    pos, width, height, idat = 8, 0, 0, b""
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            width, height = struct.unpack(">II", body[:8])
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    return width, height, zlib.decompress(idat)


def browser_records() -> list[dict[str, Any]]:
    """The sample calls, and one with a long model name and long trackers, unestimated (the page must wrap it)."""
    records = sample_records()
    long = {**records[-1], "model_requested": LONG_NAME, "model_served": LONG_NAME}
    long["trackers"] = ["an-agent-with-a-long-name", "a-nested-step-with-an-even-longer-name-than-that"]
    return [*records, long]


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The page, the CLI's text and JSON for the same log, and what Chromium shows at each width."""
    tmp_path = tmp_path_factory.mktemp("browser")
    records = browser_records()
    log = write_log(tmp_path / "calls.jsonl", records)
    page = tmp_path / "report.html"
    text = cli(tmp_path, "report", str(log), "--html", str(page))
    assert text.stderr == f"genai-footprint: wrote {page}\n"
    data = json.loads(cli(tmp_path, "report", str(log), "--json").stdout)
    shown = {}
    for width in WIDTHS:
        wrapper = tmp_path / f"at-{width}.html"
        wrapper.write_text(
            f'<!DOCTYPE html><html><body style="margin:0"><iframe id="frame" src="{page.name}" '
            f'style="border:0;width:{width}px;height:2000px"></iframe>{PROBE}</body></html>',
            encoding="utf-8",
        )
        shown[width] = run_chromium(tmp_path, "--window-size=1400,2000", "--dump-dom", wrapper.as_uri()).stdout
    return {"tmp": tmp_path, "page": page, "records": records, "text": text.stdout, "data": data, "shown": shown}


@pytest.mark.parametrize("width", WIDTHS)
def test_nothing_overflows_the_page(rendered: dict[str, Any], width: int) -> None:
    probe = json.loads(keyed_text(rendered["shown"][width])["probe"])
    assert probe["width"] <= width
    assert probe["width"] >= width - 20  # the frame's width, less a scrollbar at most
    assert probe["pageWidth"] <= probe["width"], "the page scrolls sideways"
    assert probe["problems"] == []


def test_the_page_shows_the_cli_numbers(rendered: dict[str, Any]) -> None:
    data, records = rendered["data"], rendered["records"]
    page = keyed_text(rendered["page"].read_text(encoding="utf-8"))
    shown = {key: text for key, text in page.items() if key != "probe"}

    # The grouping tables and the total: exactly the cells of the text report, the JSON totals rounded.
    expected = text_cells(rendered["text"])
    assert len(expected) == 10 * (3 + 7 + 7 + 2 + 1)  # 10 columns; providers, models, trackers, days, total
    grouped = {k: v for k, v in shown.items() if k.split(":", 1)[0] in ("provider", "model", "tracker", "day", "total")}
    assert grouped == expected == expected_cells(data)

    # The header: the number of calls and the grand total of each criterion.
    assert shown["header:calls"] == str(len(records))
    for c in NAMES:
        assert shown[f"header:{c}"] == expected[f"total:all:{c}"]

    # The charts: every criterion by model, one label per estimated model, equal to the table cell.
    charts = {k: v for k, v in shown.items() if k.startswith("chart:")}
    estimated = [row["key"] for row in data["groups"]["model"] if row["impacts"] is not None]
    assert charts == {f"chart:model:{m}:{c}": expected[f"model:{m}:{c}"] for m in estimated for c in NAMES}

    # The time series (the sample spans less than two days: by the hour), from the records themselves.
    assert data["series"]["step"] == "hour"
    for row in data["series"]["rows"]:
        hour = row["key"].replace(" ", "T")[:13]
        members = [r for r in records if r["timestamp"].startswith(hour) and r["estimated"]]
        assert shown[f"series:{row['key']}:calls"] == f"{row['calls']:,}"
        for c in NAMES:
            if not members:
                assert shown[f"series:{row['key']}:{c}"] == "-"
                continue
            low = math.fsum(r["impacts"][c]["min"] for r in members)
            high = math.fsum(r["impacts"][c]["max"] for r in members)
            assert shown[f"series:{row['key']}:{c}"] == format_quantity(c, low, high)

    # The calls, one by one, latest first: call N is line N of the log.
    for number, record in enumerate(records, start=1):
        assert shown[f"call:{number}:provider"] == record["provider"]
        assert shown[f"call:{number}:output_tokens"] == f"{record['output_tokens']:,}"
        for c in NAMES:
            want = (
                "-"
                if not record["estimated"]
                else format_quantity(c, record["impacts"][c]["min"], record["impacts"][c]["max"])
            )
            assert shown[f"call:{number}:{c}"] == want


@pytest.mark.parametrize("width", WIDTHS)
def test_chromium_shows_the_same_numbers_as_the_file(rendered: dict[str, Any], width: int) -> None:
    """The numbers survive rendering: the framed page's DOM is not in the dump, but the wrapper's probe ran on
    it; here the page file is rendered on its own (no frame) and its keyed text compared with the file's."""
    dom = run_chromium(
        rendered["tmp"], f"--window-size={max(width, 500)},2000", "--dump-dom", rendered["page"].as_uri()
    )
    in_file = keyed_text(rendered["page"].read_text(encoding="utf-8"))
    assert keyed_text(dom.stdout) == in_file


def test_the_page_draws_something(rendered: dict[str, Any]) -> None:
    shot = rendered["tmp"] / "report.png"
    run_chromium(rendered["tmp"], f"--screenshot={shot}", "--window-size=1280,2000", rendered["page"].as_uri())
    width, height, pixels = png_size_and_pixels(shot)
    assert (width, height) == (1280, 2000)
    assert len(set(pixels)) > 50  # drawn, not a blank page
