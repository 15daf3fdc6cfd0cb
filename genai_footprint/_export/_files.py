"""JSON Lines and CSV exporters: append-only files that many threads and processes can share.

Each batch is written with a single ``os.write`` on an ``O_APPEND`` descriptor, under an exclusive
``fcntl.flock`` where the platform has one (POSIX) and a per-path lock between the threads of a process.
"""

from __future__ import annotations

import contextlib
import csv
import io
import os
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from pydantic_core import to_json

from genai_footprint._criteria import NAMES as CRITERIA
from genai_footprint._errors import InvalidInputError
from genai_footprint._events import DETAIL_NAMES

try:
    import fcntl
except ImportError:  # Windows: threads of one process are serialised, processes rely on O_APPEND alone
    fcntl = None  # type: ignore[assignment]

_FLAGS = os.O_RDWR | os.O_APPEND | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)

_path_locks: dict[str, threading.Lock] = {}
_path_locks_guard = threading.Lock()
# Descriptors open on a shared file (they may hold its flock). A flock belongs to the open file, which a fork
# shares with the child: a child that kept its copy would hold the lock for as long as it lives, and every
# append of the parent would wait. So a child closes its copies at once, before it runs any code of its own.
_open_fds: set[int] = set()
_open_fds_guard = threading.Lock()  # held only around open/close (never across a write), and across a fork


def _before_fork() -> None:
    _open_fds_guard.acquire()  # no descriptor is half-registered at the fork


def _after_fork_in_parent() -> None:
    _open_fds_guard.release()


def _after_fork_in_child() -> None:
    # Locks held by other threads at fork time would stay held forever in the child: new ones.
    global _path_locks, _path_locks_guard, _open_fds, _open_fds_guard
    for fd in _open_fds:
        with contextlib.suppress(OSError):
            os.close(fd)
    _open_fds = set()
    _open_fds_guard = threading.Lock()
    _path_locks = {}
    _path_locks_guard = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(before=_before_fork, after_in_parent=_after_fork_in_parent, after_in_child=_after_fork_in_child)


def open_shared(path: str, flags: int) -> int:
    """``os.open`` for a file shared under a lock: a process forked while it is open closes its copy."""
    with _open_fds_guard:
        fd = os.open(path, flags, 0o666)
        _open_fds.add(fd)
    return fd


def close_shared(fd: int) -> None:
    """Close a descriptor from ``open_shared`` (releasing its flock)."""
    with _open_fds_guard:
        _open_fds.discard(fd)
        os.close(fd)


def _thread_lock(path: str) -> threading.Lock:
    with _path_locks_guard:
        lock = _path_locks.get(path)
        if lock is None:
            lock = _path_locks[path] = threading.Lock()
        return lock


def _open_locked(path: str, flags: int) -> int:
    """A descriptor on ``path`` holding its exclusive lock; reopens if the file was replaced meanwhile."""
    while True:
        fd = open_shared(path, flags)
        if fcntl is None:
            return fd
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            if os.path.samestat(os.fstat(fd), os.stat(path)):
                return fd
        except FileNotFoundError:
            pass  # removed or replaced while we waited for the lock: open the new file
        except BaseException:
            close_shared(fd)
            raise
        close_shared(fd)


@contextmanager
def locked_file(path: Path, *, create: bool = True) -> Iterator[int]:
    """An append-mode, readable descriptor on ``path``, held under an exclusive lock until the block ends.

    With ``create=False`` a missing file raises ``FileNotFoundError``; otherwise it and its parent
    directories are created.
    """
    name = os.fspath(path)
    with _thread_lock(name):
        if create:
            path.parent.mkdir(parents=True, exist_ok=True)
        fd = _open_locked(name, _FLAGS | (os.O_CREAT if create else 0))
        try:
            yield fd
        finally:
            close_shared(fd)  # releases the flock


def write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def read_all(fd: int) -> bytes:
    os.lseek(fd, 0, os.SEEK_SET)
    chunks = []
    while chunk := os.read(fd, 1 << 20):
        chunks.append(chunk)
    return b"".join(chunks)


def append(path: Path, data: Callable[[bool], bytes]) -> None:
    """Append ``data(file_is_empty)`` to ``path`` in one write under the file's lock, on a line of its own: a
    file that ends in a torn line (a crash in the middle of a write) gets a newline first, so the torn line
    stays alone and the new records stay whole."""
    with locked_file(path) as fd:
        size = os.fstat(fd).st_size
        torn = size > 0 and os.pread(fd, 1, size - 1) != b"\n"
        write_all(fd, (b"\n" if torn else b"") + data(size == 0))


def jsonl(records: Sequence[Mapping[str, Any]]) -> bytes:
    """Records as JSON Lines: one compact JSON object per line (pydantic-core's serialiser: ~6x the stdlib's)."""
    return b"".join(to_json(record) + b"\n" for record in records)


def file_path(argument: str, value: object) -> Path:
    """A file path option, its parent directory created now so a bad path fails at set-up."""
    if not isinstance(value, (str, os.PathLike)) or not os.fspath(value):
        raise InvalidInputError(argument, f"expected a file path, got {value!r}")
    path = Path(os.fspath(value)).expanduser().absolute()
    if path.is_dir():
        raise InvalidInputError(argument, f"{str(path)!r} is a directory, expected a file path")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InvalidInputError(argument, f"cannot create the directory of {str(path)!r}: {exc}") from exc
    return path


class JSONLExporter:
    """Appends one JSON object per record, one per line, to ``path`` (the full record, nested)."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = file_path("path", path)

    def export(self, records: Sequence[Mapping[str, Any]]) -> None:
        data = jsonl(records)
        append(self.path, lambda empty: data)


_BOUNDS = tuple(f"{criterion}_{bound}" for criterion in CRITERIA for bound in ("min", "max"))
CSV_COLUMNS = (
    "record_id",
    "timestamp",
    "provider",
    "model_requested",
    "model_served",
    "model_resolved",
    "zone",
    "output_tokens",
    "tokens_source",
    "latency_s",
    "ttft_s",
    "stream",
    "estimated",
    "methodology_version",
    *_BOUNDS,
    "warnings",
    "trackers",
    "tags",
    # Added after the first release: last, so rows appended to an older file keep its columns in place.
    *DETAIL_NAMES,
)


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return value


def csv_row(record: Mapping[str, Any]) -> list[Any]:
    """The flat CSV row of a record, in ``CSV_COLUMNS`` order."""
    impacts = record.get("impacts") or {}
    bounds = [(impacts.get(criterion) or {}).get(bound) for criterion in CRITERIA for bound in ("min", "max")]
    warnings = ";".join(str(w.get("code", "")) for w in record.get("warnings") or ())
    trackers = "/".join(record.get("trackers") or ())
    tags = ";".join(f"{key}={value}" for key, value in (record.get("tags") or {}).items())
    head = [record.get(column) for column in CSV_COLUMNS[: CSV_COLUMNS.index(_BOUNDS[0])]]
    details = [record.get(name) for name in DETAIL_NAMES]
    return [_cell(value) for value in (*head, *bounds, warnings, trackers, tags, *details)]


class CSVExporter:
    """Appends one flat row per record to ``path``; the header is written once, by whoever finds it empty."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = file_path("path", path)

    def export(self, records: Sequence[Mapping[str, Any]]) -> None:
        rows = [csv_row(record) for record in records]

        def data(empty: bool) -> bytes:
            buffer = io.StringIO()
            writer = csv.writer(buffer, lineterminator="\n")
            if empty:
                writer.writerow(CSV_COLUMNS)
            writer.writerows(rows)
            return buffer.getvalue().encode()

        append(self.path, data)
