"""The documentation site: it builds with ``mkdocs build --strict``, lists every page, and covers the public
API, the command line and the methodology's constants; the quickstart's Python runs as written."""

from __future__ import annotations

import inspect
import json
import os
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml
from openai_fakes import chat_chunks, chat_completion, sse_events
from pydantic import BaseModel

import genai_footprint
from genai_footprint._cli import _COMMANDS, build_parser
from genai_footprint._methodology import ecologits_0_11

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
CONFIG = ROOT / "mkdocs.yml"


def _nav_pages(node: Any) -> Iterator[str]:
    """Every page file named in a mkdocs ``nav`` (a list of pages, ``{title: page}`` and sections)."""
    if isinstance(node, str):
        yield node
    elif isinstance(node, list):
        for item in node:
            yield from _nav_pages(item)
    elif isinstance(node, dict):
        for value in node.values():
            yield from _nav_pages(value)


def _sections(markdown: str) -> dict[str, str]:
    """Each heading's text (level 2 or deeper) mapped to the body under it, up to the next heading."""
    out: dict[str, str] = {}
    parts = re.split(r"^(#{2,6} .+)$", markdown, flags=re.MULTILINE)
    for heading, body in zip(parts[1::2], parts[2::2], strict=True):
        out[heading.lstrip("#").strip()] = body
    return out


def _python_blocks(markdown: str) -> list[str]:
    return re.findall(r"^```python\n(.*?)^```", markdown, flags=re.MULTILINE | re.DOTALL)


# -- the build -------------------------------------------------------------------------------------------


def test_site_builds_strictly(tmp_path: Path) -> None:
    site = tmp_path / "site"
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--config-file", str(CONFIG), "--site-dir", str(site)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    for page in _nav_pages(yaml.safe_load(CONFIG.read_text(encoding="utf-8"))["nav"]):
        assert (site / page).with_suffix(".html").is_file(), page


def test_every_page_is_in_the_nav_once() -> None:
    config = yaml.safe_load(CONFIG.read_text(encoding="utf-8"))
    assert config["docs_dir"] == "docs"
    assert config.get("strict") is True
    nav = list(_nav_pages(config["nav"]))
    assert len(nav) == len(set(nav)), f"a page is listed twice: {nav}"
    pages = sorted(str(p.relative_to(DOCS)) for p in DOCS.rglob("*.md"))
    assert sorted(nav) == pages


# -- the reference pages cover what the code has -----------------------------------------------------------


def test_api_page_has_a_section_per_public_name() -> None:
    sections = _sections((DOCS / "api.md").read_text(encoding="utf-8"))
    titles = {re.sub(r"[`()]", "", title).split()[0]: body for title, body in sections.items()}
    missing = [name for name in genai_footprint.__all__ if name not in titles]
    assert not missing, f"docs/api.md has no section for {missing}"


@pytest.mark.parametrize("name", genai_footprint.__all__)
def test_api_section_names_every_parameter_and_field(name: str) -> None:
    sections = _sections((DOCS / "api.md").read_text(encoding="utf-8"))
    body = next(b for t, b in sections.items() if re.sub(r"[`()]", "", t).split()[0] == name)
    obj = getattr(genai_footprint, name)
    if isinstance(obj, type) and issubclass(obj, BaseModel):
        expected = [*obj.model_fields, *obj.model_computed_fields]
    elif isinstance(obj, type) and issubclass(obj, Exception):
        expected = []
    elif isinstance(obj, type):  # Run, track: the constructor and the public attributes
        expected = [p for p in inspect.signature(obj).parameters if p != "self"]
        expected += [a for a in vars(obj) if not a.startswith("_")]
    elif callable(obj):
        expected = list(inspect.signature(obj).parameters)
    else:
        expected = []
    missing = [e for e in expected if not re.search(rf"\b{re.escape(e)}\b", body)]
    assert not missing, f"docs/api.md, section {name}: {missing} not described"


def test_cli_page_has_every_subcommand_and_option() -> None:
    sections = _sections((DOCS / "cli.md").read_text(encoding="utf-8"))
    parser = build_parser()
    subparsers = next(a for a in parser._actions if isinstance(a.choices, dict))
    assert [c.name for c in _COMMANDS] == list(subparsers.choices)
    for command in _COMMANDS:
        title = f"genai-footprint {command.name}"
        body = next((b for t, b in sections.items() if t.strip("`") == title), None)
        assert body is not None, f"docs/cli.md has no section '## `{title}`'"
        for action in subparsers.choices[command.name]._actions:
            for option in action.option_strings:
                if option not in ("-h", "--help"):
                    assert re.search(rf"{re.escape(option)}\b", body), f"{title}: option {option} not described"


def test_methodology_page_lists_every_constant() -> None:
    text = (DOCS / "methodology.md").read_text(encoding="utf-8")
    values: list[object] = []
    for value in ecologits_0_11.CONSTANTS.values():
        values += value.values() if isinstance(value, dict) else [value]
    for value in values:
        assert isinstance(value, int | float)
        spellings = {repr(value), f"{value:g}", f"{value:,}"}
        if float(value).is_integer():
            spellings |= {str(int(value)), f"{int(value):,}"}
        assert any(re.search(rf"(?<![\d.]){re.escape(s)}(?![\d])", text) for s in spellings), value
    assert ecologits_0_11.VERSION in text


# -- the quickstart runs ----------------------------------------------------------------------------------


class _FakeOpenAI(ThreadingHTTPServer):
    """The OpenAI chat endpoint on 127.0.0.1: a canned reply, or its stream (usage chunk included)."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.daemon_threads = True
        self.requests: list[dict[str, Any]] = []


class _Handler(BaseHTTPRequestHandler):
    server: _FakeOpenAI

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.server.requests.append({"path": self.path, **body})
        if body.get("stream"):
            payload = b"".join(sse_events(chat_chunks(include_usage=True)))
            content_type = "text/event-stream"
        else:
            payload = json.dumps(chat_completion()).encode()
            content_type = "application/json"
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def fake_openai() -> Iterator[_FakeOpenAI]:
    server = _FakeOpenAI()
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join()


def test_quickstart_python_runs_as_written(tmp_path: Path, fake_openai: _FakeOpenAI) -> None:
    blocks = _python_blocks((DOCS / "quickstart.md").read_text(encoding="utf-8"))
    assert len(blocks) >= 5
    # One process, the blocks in order, as a reader would paste them; the SDK talks to the local server.
    env = {
        **os.environ,
        "OPENAI_BASE_URL": f"http://127.0.0.1:{fake_openai.server_address[1]}/v1",
        "OPENAI_API_KEY": "sk-test",
    }
    result = subprocess.run(
        [sys.executable, "-c", "\n".join(blocks)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert [r["path"] for r in fake_openai.requests] == ["/v1/chat/completions"] * 5
    assert [bool(r.get("stream")) for r in fake_openai.requests] == [False, True, False, False, False]
    assert "kgCO2eq" in result.stdout
