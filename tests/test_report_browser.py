"""The HTML report rendered by a real headless Chromium: every number on the page is the CLI's number.

Chromium is required, not optional: without it this test fails and says how to install it (CI installs it).
"""

from __future__ import annotations

import json
import shutil
import struct
import subprocess
import sys
import zlib
from html.parser import HTMLParser
from pathlib import Path

import pytest
from test_report import expected_cells, text_cells, write_sample_log

from genai_footprint._criteria import NAMES

CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
WINDOW = (1280, 2000)


def chromium() -> str:
    path = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)
    if path is None:
        pytest.fail(
            "Chromium is needed to render the HTML report: install Debian's package with "
            "`apt-get update && apt-get install -y chromium` (.ci/run does this before the tests)",
            pytrace=False,
        )
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
    """The text of every element carrying a ``data-key`` attribute."""

    VOID = frozenset({"meta", "link", "br", "img", "input", "hr", "area", "base", "col", "source", "wbr"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str | None] = []
        self.text: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.VOID:
            return
        key = dict(attrs).get("data-key")
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


def test_the_page_chromium_renders_shows_the_cli_numbers(tmp_path: Path) -> None:
    log = write_sample_log(tmp_path / "calls.jsonl")
    page = tmp_path / "report.html"
    text = cli(tmp_path, "report", str(log), "--html", str(page))
    assert text.stderr == f"genai-footprint: wrote {page}\n"
    data = json.loads(cli(tmp_path, "report", str(log), "--json").stdout)

    dom = run_chromium(tmp_path, "--dump-dom", page.as_uri()).stdout
    assert "<h1>GenAI footprint report</h1>" in dom
    parser = KeyedText()
    parser.feed(dom)
    shown = parser.text

    # The tables: exactly the cells of the text report, which are the JSON totals rounded for reading.
    tables = {k: v for k, v in shown.items() if not k.startswith(("header:", "chart:"))}
    expected = text_cells(text.stdout)
    assert len(expected) == 9 * (3 + 6 + 5 + 2 + 1)  # 9 columns; providers, models, trackers, days, total
    assert tables == expected
    assert tables == expected_cells(data)

    # The header: the grand total of each criterion.
    for c in NAMES:
        assert shown[f"header:{c}"] == expected[f"total:all:{c}"]

    # The charts: gwp and energy by model and by day, one label per estimated row, equal to the table cell.
    charts = {k: v for k, v in shown.items() if k.startswith("chart:")}
    labels = {}
    for grouping in ("model", "day"):
        for row in data["groups"][grouping]:
            if row["impacts"] is None:
                continue
            for c in ("gwp", "energy"):
                labels[f"chart:{grouping}:{row['key']}:{c}"] = expected[f"{grouping}:{row['key']}:{c}"]
    assert charts == labels
    assert "chart:model:my-local-model:gwp" not in charts  # no estimate, no bar

    shot = tmp_path / "report.png"
    run_chromium(tmp_path, f"--screenshot={shot}", f"--window-size={WINDOW[0]},{WINDOW[1]}", page.as_uri())
    width, height, pixels = png_size_and_pixels(shot)
    assert (width, height) == WINDOW
    assert len(set(pixels)) > 50  # drawn, not a blank page
