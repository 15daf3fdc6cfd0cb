"""Flush the exports on SIGTERM (what ``docker stop`` and Kubernetes send) without taking the signal away.

The handler is installed only over the default action, or in front of a Python handler the application set
(which it then calls); over ``SIG_IGN`` or a handler set outside Python it is not installed. After the flush,
a default action is restored and the signal raised again, so the process ends exactly as it would have.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
from collections.abc import Callable
from types import FrameType
from typing import Any

logger = logging.getLogger("genai_footprint")

FLUSH_S = 5.0  # the longest a SIGTERM waits for the flush: well within Docker's 10 s before SIGKILL

Flush = Callable[[float], object]  # flush(timeout_s)


class SigtermFlush:
    """The SIGTERM handler: flush (at most ``FLUSH_S``), then what the signal did before we came."""

    def __init__(self, flush: Flush | None, previous: Callable[[int, FrameType | None], Any] | None) -> None:
        self.flush = flush  # None: pass the signal through untouched (after a shutdown() off the main thread)
        self.previous = previous  # the application's handler; None: the default action

    def __call__(self, signum: int, frame: FrameType | None) -> None:
        flush = self.flush
        if flush is not None:
            # From a thread of its own: the main thread, which runs this handler, may hold a lock the flush needs.
            worker = threading.Thread(target=_flush, args=(flush,), name="genai-footprint-sigterm", daemon=True)
            worker.start()
            worker.join(FLUSH_S + 0.5)
        if self.previous is not None:
            self.previous(signum, frame)
            return
        signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), signum)


def _flush(flush: Flush) -> None:
    try:
        flush(FLUSH_S)
    except Exception:
        logger.debug("genai_footprint: the flush on SIGTERM failed", exc_info=True)


def install(flush: Flush) -> bool:
    """Flush with ``flush`` on SIGTERM; True when the handler is in place (it can be set from the main thread only)."""
    if sys.platform == "win32":  # there, SIGTERM is no signal another process sends: it terminates outright
        return False
    current = signal.getsignal(signal.SIGTERM)
    if isinstance(current, SigtermFlush):
        current.flush = flush
        return True
    if threading.current_thread() is not threading.main_thread():
        return False
    if current is signal.SIG_DFL:
        previous = None
    elif callable(current):
        previous = current
    else:  # ignored, or a handler set outside Python: not ours to wrap
        return False
    signal.signal(signal.SIGTERM, SigtermFlush(flush, previous))
    return True


def uninstall() -> None:
    """Put back what SIGTERM did before ``install`` (off the main thread: the handler passes the signal through)."""
    if sys.platform == "win32":
        return
    current = signal.getsignal(signal.SIGTERM)
    if not isinstance(current, SigtermFlush):
        return
    current.flush = None
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, current.previous or signal.SIG_DFL)
