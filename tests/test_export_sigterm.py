"""SIGTERM (``docker stop``, Kubernetes): queued records are flushed, and the process ends as the signal says."""

from __future__ import annotations

import json
import os
import signal
import sys
from pathlib import Path

import pytest
from export_helpers import start_python

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="SIGTERM is no catchable signal on Windows")

CALLS = 2000

SCRIPT = """
import signal, sys, time
from export_helpers import event
import genai_footprint as gf
from genai_footprint import _setup


class Slow:  # an exporter that keeps records queued when the signal comes (a slow collector, say)
    def export(self, records):
        time.sleep(0.2)


if sys.argv[1] == "chained":
    def handler(signum, frame):
        print("the application's handler ran", flush=True)
        sys.exit(3)

    signal.signal(signal.SIGTERM, handler)
gf.init(providers=[], exporters=["jsonl", Slow()])
for n in range({calls}):
    _setup._services.pipeline.listener(event(n))
print("ready", flush=True)
time.sleep(60)
"""


def run_until_sigterm(tmp_path: Path, mode: str, **env: str) -> tuple[int, str, int]:
    """(exit status, stdout, records written) of the script, sent SIGTERM once its calls are made."""
    path = tmp_path / "calls.jsonl"
    saved = dict(os.environ)
    os.environ.update({"GENAI_FOOTPRINT_JSONL_PATH": str(path), **env})
    try:
        child = start_python(SCRIPT.format(calls=CALLS), mode)
    finally:
        os.environ.clear()
        os.environ.update(saved)
    try:
        assert child.stdout is not None
        first = child.stdout.readline()
        assert first == "ready\n", first + child.communicate(timeout=30)[1]
        child.send_signal(signal.SIGTERM)
        rest, _ = child.communicate(timeout=30)
    finally:
        child.kill()
        child.wait(30)
    written = len(path.read_text().splitlines()) if path.exists() else 0
    return child.returncode, rest, written


def test_sigterm_flushes_every_queued_record_then_ends_the_process_by_the_signal(tmp_path: Path) -> None:
    status, _, written = run_until_sigterm(tmp_path, "default")
    assert written == CALLS
    assert status == -signal.SIGTERM  # as without us: killed by the signal


def test_sigterm_chains_to_the_applications_own_handler(tmp_path: Path) -> None:
    status, out, written = run_until_sigterm(tmp_path, "chained")
    assert written == CALLS
    assert "the application's handler ran" in out and status == 3


def test_flush_on_sigterm_can_be_switched_off(tmp_path: Path) -> None:
    status, _, written = run_until_sigterm(tmp_path, "default", GENAI_FOOTPRINT_FLUSH_ON_SIGTERM="false")
    assert status == -signal.SIGTERM
    assert written < CALLS  # what was queued is lost: the default action, untouched


def test_the_handler_is_only_installed_over_the_default_from_the_main_thread_and_removed_at_shutdown() -> None:
    from export_helpers import run_python

    out = run_python("""
        import json, signal, threading
        import genai_footprint as gf
        from genai_footprint._export._sigterm import SigtermFlush

        def installed():
            return isinstance(signal.getsignal(signal.SIGTERM), SigtermFlush)

        seen = {}
        gf.init(providers=[], exporters={"jsonl": {"path": "/dev/null"}})
        seen["init"] = installed()
        gf.shutdown()
        seen["shutdown"] = signal.getsignal(signal.SIGTERM) is signal.SIG_DFL
        gf.init(providers=[])  # nothing to export: nothing to flush
        seen["no exporter"] = installed()
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        gf.init(providers=[], exporters={"jsonl": {"path": "/dev/null"}})
        seen["ignored stays ignored"] = signal.getsignal(signal.SIGTERM) is signal.SIG_IGN
        gf.shutdown()
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        options = {"providers": [], "exporters": {"jsonl": {"path": "/dev/null"}}}
        thread = threading.Thread(target=gf.init, kwargs=options)
        thread.start()
        thread.join()
        seen["from another thread"] = installed()
        gf.shutdown()
        print(json.dumps(seen))
    """)  # fmt: skip
    assert json.loads(out) == {
        "init": True,
        "shutdown": True,
        "no exporter": False,
        "ignored stays ignored": True,
        "from another thread": False,
    }
