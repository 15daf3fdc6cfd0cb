"""``genai-footprint demo``: the agent's calls on the fake providers, their table, their log and its total.

The demo runs in-process through ``main()`` and as a subprocess; its log is checked record by record and
against ``report`` and ``reproduce``. ``--live`` is only exercised up to its missing-key error: no test calls
a real API.
"""

from __future__ import annotations

import importlib.util
import json
import math
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anthropic.resources.messages.messages as anthropic_messages
import mistralai.client.chat as mistral_chat
import openai.resources.chat.completions.completions as openai_chat
import openai.resources.responses.responses as openai_responses
import pytest

import genai_footprint as gf
from genai_footprint._cli import main
from genai_footprint._cli._demo_agent import MODELS, convert_units, run_tool
from genai_footprint._cli._demo_fake import FakeProviders
from genai_footprint._criteria import NAMES
from genai_footprint._errors import InvalidInputError
from genai_footprint._setup import current_runtime

STEPS = (  # (step, tracker, provider, resolved model, stream) in call order
    ("plan", "step-plan", "openai", "gpt-4o-mini-2024-07-18", False),
    ("tool call", "step-tool-call", "anthropic", "claude-haiku-4-5-20251001", False),
    ("answer", "step-answer", "mistralai", "mistral-small-latest", True),
    ("summary", "step-summary", "openai", "gpt-4o-mini-2024-07-18", False),
)
LABELS = ("├─ step-plan", "├─ step-tool-call", "├─ step-answer", "└─ step-summary")  # the tracker tree
SHAPES = ("sync", "sync", "streamed", "async")
KEYS = ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "MISTRAL_API_KEY")
PATCHED = (  # (owner, method) the demo's calls go through
    (openai_chat.Completions, "create"),
    (openai_responses.AsyncResponses, "create"),
    (anthropic_messages.Messages, "create"),
    (mistral_chat.Chat, "stream"),
)


def originals() -> list[Any]:
    return [owner.__dict__[method] for owner, method in PATCHED]


@pytest.fixture(autouse=True)
def _sdks_untouched() -> Iterator[None]:
    """Every test leaves the SDK methods as they were and instrumentation off."""
    assert current_runtime() is None
    before = originals()
    yield
    assert current_runtime() is None
    assert all(a is b for a, b in zip(originals(), before, strict=True))


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def records(log: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines() if line.strip()]


def row(out: str, label: str) -> list[str]:
    """The cells of the table row starting with ``label`` (cells are separated by 2+ spaces)."""
    rows = [line for line in out.splitlines() if line.startswith(label + "  ")]
    assert len(rows) == 1, f"expected one row for {label!r} in:\n{out}"
    return re.split(r"\s{2,}", rows[0].strip())


def test_the_table_lists_every_step_and_the_log_holds_one_record_per_call(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    log = tmp_path / "calls.jsonl"
    code, out, err = run(capsys, "demo", "--fast", "--log", str(log))
    assert code == 0, err
    lines = out.splitlines()
    header = next(n for n, line in enumerate(lines) if line.startswith("Tracker  "))
    assert lines[header + 2].startswith("demo-agent  ")  # the root, then its trackers in call order
    assert [line.split("  ")[0] for line in lines[header + 3 : header + 7]] == list(LABELS)
    assert max(len(line) for line in lines[header : header + 7]) <= 100
    for label, (_, tracker, provider, _, _), shape in zip(LABELS, STEPS, SHAPES, strict=True):
        cells = row(out, label)
        assert cells[1] == MODELS[provider]
        assert all(re.search(r"\d", cell) for cell in cells[2:5])  # energy, GHG, water
        detail = next(line for line in lines if line.startswith(f"  {tracker}:"))
        assert f"{provider} {MODELS[provider]}, {shape}," in detail
        assert re.search(r", \d+\.\d\d s, zone (USA|SWE)$", detail)  # the registry's zones for these providers
    total = row(out, "demo-agent")
    assert total[1] == "4 calls"
    assert "(497 output tokens)" in out  # 142 + 71 + 236 + 48
    assert "convert_units(value=854, from_unit='km', to_unit='mi') → 854 km = 530.65 mi" in out
    assert f"Log: {log} (4 records) — see `genai-footprint report {log}`" in out

    logged = records(log)
    assert len(logged) == 4
    for record, (_, tracker, provider, model, stream) in zip(logged, STEPS, strict=True):
        assert record["provider"] == provider
        assert record["model_requested"] == MODELS[provider]
        assert record["model_resolved"] == model
        assert record["trackers"] == ["demo-agent", tracker]
        assert record["stream"] is stream
        assert record["estimated"] is True
        assert record["tokens_source"] == "usage"
    assert [r["output_tokens"] for r in logged] == [142, 71, 236, 48]

    # The report of the log shows the same total, formatted the same way.
    code, report, err = run(capsys, "report", str(log), "--by", "provider", "--criterion", "energy,gwp,wcf")
    assert code == 0, err
    all_calls = row(report, "all")
    assert all_calls[1:5] == ["4", "4", "0", "497"] and all_calls[6:] == total[2:]
    assert re.fullmatch(r"[\d,]+", all_calls[5])  # the input tokens the fake providers reported


def test_the_total_is_the_sum_of_the_records_and_the_report_agrees(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    log = tmp_path / "calls.jsonl"
    code, out, err = run(capsys, "demo", "--fast", "--json", "--log", str(log))
    assert code == 0, err
    shown = json.loads(out)
    assert shown["schema"] == "genai-footprint.demo/1"
    assert shown["mode"] == "fake"
    assert shown["log"] == {"path": str(log), "records": 4}
    logged = records(log)
    assert [c["step"] for c in shown["calls"]] == [s[0] for s in STEPS]
    assert [c["async"] for c in shown["calls"]] == [False, False, False, True]
    for call, record in zip(shown["calls"], logged, strict=True):
        assert call["impacts"] == record["impacts"]  # the very numbers the log holds
        assert call["latency_s"] == record["latency_s"]

    total = shown["total"]
    assert (total["calls"], total["estimated_calls"], total["output_tokens"]) == (4, 4, 497)
    for criterion in NAMES:
        for bound in ("min", "max"):
            # The tracker's total is the sum of the logged calls, up to floating-point rounding (it sums each
            # model's tokens and generation times, then takes the bounds of the sums: see _track).
            exact = math.fsum(record["impacts"][criterion][bound] for record in logged)
            assert exact > 0
            assert math.isclose(total["impacts"][criterion][bound], exact, rel_tol=1e-13), (criterion, bound)

    code, out, err = run(capsys, "report", str(log), "--json")
    assert code == 0, err
    report = json.loads(out)["total"]
    assert (report["calls"], report["output_tokens"]) == (4, 497)
    for criterion in NAMES:
        for bound in ("min", "max"):
            # The report sums with math.fsum (exact), the tracker as calls end: equal to the last bits.
            assert math.isclose(report["impacts"][criterion][bound], total["impacts"][criterion][bound], rel_tol=1e-12)
    by_tracker = {row["key"]: row["calls"] for row in json.loads(out)["groups"]["tracker"]}
    assert by_tracker == {"demo-agent": 4, "step-plan": 1, "step-tool-call": 1, "step-answer": 1, "step-summary": 1}

    for line in range(1, 5):
        code, out, err = run(capsys, "reproduce", f"{log}:{line}")
        assert code == 0, out + err
        assert "Reproduced" in out


def test_as_a_command_with_the_default_log_and_simulated_latency(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in KEYS}
    done = subprocess.run(
        [sys.executable, "-m", "genai_footprint._cli", "demo"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    for label in LABELS:
        assert label in done.stdout
    assert "Log: genai-footprint-demo.jsonl (4 records)" in done.stdout
    logged = records(tmp_path / "genai-footprint-demo.jsonl")
    assert [r["provider"] for r in logged] == [s[2] for s in STEPS]
    assert all(r["latency_s"] > 0 for r in logged)


def test_a_second_run_replaces_the_log_of_the_first(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    log = tmp_path / "calls.jsonl"
    assert run(capsys, "demo", "--fast", "--log", str(log))[0] == 0
    first = {r["record_id"] for r in records(log)}
    code, out, _ = run(capsys, "demo", "--fast", "--log", str(log))
    assert code == 0
    assert "(4 records)" in out
    second = records(log)
    assert len(second) == 4
    assert not first & {r["record_id"] for r in second}


@pytest.mark.parametrize("content", ['{"not": "a record"}\n', "plain text\n"])
def test_a_file_that_is_not_a_demo_log_is_refused_and_kept(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str
) -> None:
    log = tmp_path / "mine.jsonl"
    log.write_text(content, encoding="utf-8")
    code, out, err = run(capsys, "demo", "--fast", "--log", str(log))
    assert code == 2
    assert out == ""
    assert err == (
        f"genai-footprint: error: --log: {log} exists and is not a log of this demo; choose another path or remove it\n"
    )
    assert log.read_text(encoding="utf-8") == content


def test_a_log_of_other_calls_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    log = tmp_path / "calls.jsonl"
    assert run(capsys, "demo", "--fast", "--log", str(log))[0] == 0
    lines = log.read_text(encoding="utf-8").splitlines()
    foreign = json.loads(lines[0])
    foreign["trackers"] = ["my-app"]
    log.write_text("\n".join([*lines, json.dumps(foreign)]) + "\n", encoding="utf-8")
    code, _, err = run(capsys, "demo", "--fast", "--log", str(log))
    assert code == 2
    assert "is not a log of this demo" in err
    assert len(records(log)) == 5


def test_a_directory_as_log_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "demo", "--fast", "--log", str(tmp_path))
    assert code == 2
    assert err == f"genai-footprint: error: --log: {tmp_path} is a directory or a special file, not a log file\n"


def test_live_without_keys_names_the_missing_variables(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for key in KEYS:
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-only-this-one")
    monkeypatch.setenv("ANTHROPIC_API_KEY", "")  # empty counts as missing
    log = tmp_path / "calls.jsonl"
    code, out, err = run(capsys, "demo", "--live", "--log", str(log))
    assert code == 2
    assert out == ""
    assert err == (
        "genai-footprint: error: --live: missing ANTHROPIC_API_KEY, MISTRAL_API_KEY: "
        "set the API keys in the environment to call the real APIs\n"
    )
    assert not log.exists()


def test_fast_is_refused_with_live(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "demo", "--live", "--fast")
    assert code == 2
    assert err == "genai-footprint: error: --fast: only applies to the fake providers, not with --live\n"


def test_a_missing_sdk_is_named_with_the_install_command(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    real = importlib.util.find_spec

    def find_spec(name: str, package: str | None = None) -> Any:
        return None if name.startswith("mistralai") else real(name, package)

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)
    log = tmp_path / "calls.jsonl"
    code, _, err = run(capsys, "demo", "--fast", "--log", str(log))
    assert code == 2
    assert err == (
        "genai-footprint: error: the demo needs the openai, anthropic and mistralai SDKs; not installed: mistralai "
        "(pip install 'genai-footprint[all]')\n"
    )
    assert not log.exists()


def test_refused_while_instrumentation_is_on(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    gf.init(providers=["openai"])
    try:
        patched = openai_chat.Completions.__dict__["create"]
        code, _, err = run(capsys, "demo", "--fast", "--log", str(tmp_path / "calls.jsonl"))
        assert code == 2
        assert "instrumentation is already on in this process" in err
        assert openai_chat.Completions.__dict__["create"] is patched  # the user's set-up is left as it was
    finally:
        gf.shutdown()


def test_the_sdks_are_restored_when_a_step_fails(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(self: FakeProviders, request: Any) -> Any:
        raise RuntimeError("the fake provider broke")

    monkeypatch.setattr(FakeProviders, "_route", broken)
    with pytest.raises(RuntimeError, match="the fake provider broke"):
        main(["demo", "--fast", "--log", str(tmp_path / "calls.jsonl")])
    # the autouse fixture checks that instrumentation is off and every SDK method is the original


def test_the_tool_converts_lengths_and_names_a_bad_unit() -> None:
    assert convert_units(854, "km", "mi") == 530.65
    assert convert_units(1, "mi", "ft") == 5280.0
    with pytest.raises(InvalidInputError, match=r"^to_unit: unknown unit 'yd'"):
        convert_units(1, "km", "yd")
    assert run_tool({"value": 2, "from_unit": "km", "to_unit": "m"}) == "2 km = 2000 m"
    assert run_tool({"value": "far", "from_unit": "km", "to_unit": "m"}).startswith("error: value:")
