"""The HTTP exporter's spill file: records not yet delivered, on disk, shared by every process that uses it.

The spill is JSON Lines, appended to under the file's lock. A small state file beside it (``<spill>.state``)
keeps how far the spill has been delivered (a byte offset, moved on after each acknowledged batch, so a
resend after a crash starts after what the collector acknowledged) and which sender holds the next batch (a
claim with a time limit, so two senders sharing the spill never send the same batch). Locks are held only
for local reads and writes, never while a request is on the wire. Past ``max_bytes`` of records waiting, the
oldest are dropped, counted and logged. Memory stays bounded by one batch whatever the spill's size.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import threading
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from genai_footprint._export._files import jsonl, locked_file, write_all

logger = logging.getLogger("genai_footprint")

_CHUNK = 1 << 16  # bytes read at a time
_COMPACT_AT = 8 << 20  # a delivered head this large (and over half the file) is cut off the spill
_KEEP_AFTER_DROP = 0.75  # dropping for room leaves the spill at this share of max_bytes


@dataclass
class _State:
    """What the state file holds. ``generation`` changes whenever offsets change meaning (the spill is cut or
    emptied); ``cut`` turns an offset of the ``previous`` generation into one of this one."""

    ino: int  # the spill file described (st_ino)
    generation: str
    acked: int = 0  # bytes at the head of the spill delivered, refused or dropped
    previous: str = ""
    cut: int = 0
    owner: str = ""  # the sender holding the claim on [acked, claim_end)
    claim_end: int = 0
    claim_until: float = 0.0  # time.time() after which the claim lapses (its holder hangs)
    claim_pid: int = 0  # the holder's process: once it has ended, the claim lapses at once


@dataclass(frozen=True)
class Batch:
    """Records taken from the spill for one request: ``end`` is the offset just past them in ``generation``."""

    records: list[dict[str, Any]]
    generation: str
    end: int
    at_end: bool  # the batch reached the end of the spill as it was


class Spill:
    """A spill file of at most ``max_bytes`` of waiting records; claims last ``claim_s`` seconds."""

    def __init__(self, path: Path, *, max_bytes: int, claim_s: float) -> None:
        self.path = path
        self.state_path = path.with_name(path.name + ".state")
        self.max_bytes = max_bytes
        self.claim_s = claim_s
        self.owner = uuid.uuid4().hex  # this sender; a forked child takes a new one (renew())
        self.dropped = 0  # records this process dropped to keep the spill under max_bytes

    def renew(self) -> None:
        """A new sender identity, and no count carried over (in a forked child)."""
        self.owner = uuid.uuid4().hex
        self.dropped = 0

    # -- adding ----------------------------------------------------------------------------------------------

    def add(self, records: Sequence[Mapping[str, Any]]) -> None:
        """Append ``records`` on a line of their own; past ``max_bytes`` the oldest waiting records are dropped."""
        data = jsonl(records)
        with locked_file(self.path) as fd:
            size = os.fstat(fd).st_size
            if size + len(data) <= self.max_bytes:
                torn = size > 0 and os.pread(fd, 1, size - 1) != b"\n"
                write_all(fd, (b"\n" if torn else b"") + data)
                return
            state = self._load(fd, size)
            if size - state.acked + len(data) <= self.max_bytes:
                self._append_or_compact(fd, state, size, data)
                return
            self._make_room(fd, state, size, data)

    def _append_or_compact(self, fd: int, state: _State, size: int, data: bytes) -> None:
        # Over the limit only because of what was delivered: cut it off rather than grow the file.
        if self._claimed_by_other(state):
            torn = size > 0 and os.pread(fd, 1, size - 1) != b"\n"
            write_all(fd, (b"\n" if torn else b"") + data)
        else:
            self._compact(fd, state, state.acked, size, data)

    def _make_room(self, fd: int, state: _State, size: int, data: bytes) -> None:
        keep = int(self.max_bytes * _KEEP_AFTER_DROP)
        dropped = 0
        if len(data) > keep:  # the new records alone are too many: keep the newest of them
            lines = data.splitlines(keepends=True)
            total = len(data)
            while dropped < len(lines) and total > keep:
                total -= len(lines[dropped])
                dropped += 1
            data = b"".join(lines[dropped:])
        start = _line_start_after(fd, max(state.acked, size - max(0, keep - len(data))), size)
        dropped += _count_lines(fd, state.acked, start)
        self._compact(fd, state, start, size, data)
        self.dropped += dropped
        logger.warning(
            "genai_footprint: the spill file %s reached its limit of %d bytes: dropped its %d oldest records "
            "(%d so far by this process)",
            self.path,
            self.max_bytes,
            dropped,
            self.dropped,
        )

    # -- sending ---------------------------------------------------------------------------------------------

    def take(self, batch_size: int) -> Batch | None:
        """The next batch waiting, claimed by this sender; None when none waits or another sender holds one."""
        try:
            with locked_file(self.path, create=False) as fd:
                size = os.fstat(fd).st_size
                if size == 0:
                    return None
                state = self._load(fd, size)
                if self._claimed_by_other(state):
                    return None
                if state.acked >= size:  # all delivered, but a crash came before the spill was emptied
                    os.ftruncate(fd, 0)
                    self._save(_State(state.ino, uuid.uuid4().hex, previous=state.generation, cut=size))
                    return None
                records, end = _read_batch(fd, state.acked, size, batch_size, self.path)
                state.owner, state.claim_end, state.claim_until = self.owner, end, time.time() + self.claim_s
                state.claim_pid = os.getpid()
                self._save(state)
                return Batch(records, state.generation, end, at_end=end >= size)
        except FileNotFoundError:
            return None

    def done(self, batch: Batch) -> None:
        """``batch`` was acknowledged (or set aside): it leaves the spill, in the state file, before anything else is
        sent; a crashed process never resends it (the files are not fsynced: after a power loss it may be)."""
        with locked_file(self.path) as fd:
            size = os.fstat(fd).st_size
            state = self._load(fd, size)
            if batch.generation == state.generation:
                state.acked = max(state.acked, min(batch.end, size))
            elif batch.generation == state.previous:
                state.acked = max(state.acked, min(batch.end - state.cut, size))
            if state.owner == self.owner:
                state.owner, state.claim_end, state.claim_until = "", 0, 0.0
            if state.acked >= size:
                os.ftruncate(fd, 0)  # everything delivered: an empty spill, offsets start again
                self._save(_State(state.ino, uuid.uuid4().hex, previous=state.generation, cut=size))
            elif state.acked >= _COMPACT_AT and state.acked * 2 > size and not self._claimed_by_other(state):
                self._compact(fd, state, state.acked, size, b"")
            else:
                self._save(state)

    def release(self, batch: Batch) -> None:
        """``batch`` could not be delivered: it stays first in line, for this sender or another."""
        try:
            with locked_file(self.path, create=False) as fd:
                state = self._load(fd, os.fstat(fd).st_size)
                if state.owner == self.owner:
                    state.owner, state.claim_end, state.claim_until = "", 0, 0.0
                    self._save(state)
        except FileNotFoundError:
            pass

    def waiting(self) -> bool:
        """Whether records may wait in the spill (a cheap look, without the lock)."""
        try:
            return os.path.getsize(self.path) > 0
        except OSError:
            return False

    # -- the state file (always under the spill's lock) -----------------------------------------------------

    def _claimed_by_other(self, state: _State) -> bool:
        if not state.owner or state.owner == self.owner or state.claim_until <= time.time():
            return False
        return _alive(state.claim_pid)

    def _load(self, fd: int, size: int) -> _State:
        ino = os.fstat(fd).st_ino
        try:
            found = _State(**json.loads(self.state_path.read_bytes()))
        except (OSError, ValueError, TypeError):
            found = None
        # A state of another file (the spill was replaced or removed), or one that does not fit it: start over.
        if found is None or found.ino != ino or not 0 <= found.acked <= size:
            return _State(ino, uuid.uuid4().hex)
        if found.acked and os.pread(fd, 1, found.acked - 1) != b"\n":
            return _State(ino, uuid.uuid4().hex)
        return found

    def _save(self, state: _State) -> None:
        tmp = self.state_path.with_name(f"{self.state_path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
        tmp.write_bytes(json.dumps(asdict(state)).encode())
        os.replace(tmp, self.state_path)

    def _compact(self, fd: int, state: _State, start: int, size: int, data: bytes) -> None:
        """Replace the spill by its bytes from ``start`` on, then ``data``; the caller holds its lock."""
        tmp = self.path.with_name(f"{self.path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
        out = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_BINARY", 0), 0o666)
        try:
            offset = start
            while offset < size:
                chunk = os.pread(fd, min(_CHUNK, size - offset), offset)
                if not chunk:
                    break
                write_all(out, chunk)
                offset += len(chunk)
            if data and offset > start and os.pread(fd, 1, offset - 1) != b"\n":
                data = b"\n" + data
            write_all(out, data)
            ino = os.fstat(out).st_ino
        finally:
            os.close(out)
        os.replace(tmp, self.path)
        claim_end = max(0, state.claim_end - start)
        moved = _State(ino, uuid.uuid4().hex, 0, state.generation, start, state.owner, claim_end, state.claim_until)
        moved.claim_pid = state.claim_pid
        self._save(moved)


def _alive(pid: int) -> bool:
    """Whether process ``pid`` still runs (on this host; a claim from a dead process lapses at once)."""
    if pid <= 0 or pid == os.getpid() or sys.platform == "win32":  # there, kill(pid, 0) sends CTRL_C_EVENT
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True
    return True


def _read_batch(fd: int, start: int, size: int, batch_size: int, path: Path) -> tuple[list[dict[str, Any]], int]:
    """Up to ``batch_size`` records from ``start`` on, and the offset just past them; torn lines are skipped."""
    records: list[dict[str, Any]] = []
    offset = start  # where the next line not yet taken starts
    read_to = start
    pending = b""
    while len(records) < batch_size and read_to < size:
        chunk = os.pread(fd, min(_CHUNK, size - read_to), read_to)
        if not chunk:
            break
        read_to += len(chunk)
        pending += chunk
        at = 0
        while len(records) < batch_size and (newline := pending.find(b"\n", at)) >= 0:
            line = pending[at:newline]
            offset += newline + 1 - at
            at = newline + 1
            if line.strip():
                try:
                    records.append(json.loads(line))
                except ValueError:
                    logger.warning("genai_footprint: skipped a torn line in %s", path)
        pending = pending[at:]
    if len(records) < batch_size and read_to >= size and pending.strip():
        # A last line without its newline: torn by a crash (an append writes its records and newline at once).
        logger.warning("genai_footprint: skipped a torn line in %s", path)
        offset = size
    return records, offset


def _line_start_after(fd: int, offset: int, size: int) -> int:
    """The first offset at or after ``offset`` that starts a line (``size`` if none does)."""
    if offset <= 0:
        return 0
    position = offset - 1
    while position < size:
        chunk = os.pread(fd, min(_CHUNK, size - position), position)
        found = chunk.find(b"\n")
        if found >= 0:
            return position + found + 1
        position += len(chunk)
    return size


def _count_lines(fd: int, start: int, end: int) -> int:
    count = 0
    while start < end:
        chunk = os.pread(fd, min(_CHUNK, end - start), start)
        if not chunk:
            break
        count += chunk.count(b"\n")
        start += len(chunk)
    return count
