"""The bookkeeping of one transfer: its pieces, counters, progress and resume record.

A transfer lays the file out in pieces (keeping those a matching resume record
says are on disk), follows the contiguous prefix the shared hasher may read,
falls back to one whole stream when the server refuses ranges, and reports
progress and saves its record at a steady pace while bytes arrive.

Record writes and truncation leave the event loop for the engine's one
bookkeeping thread: a single close of a file truncated to zero took 35 ms on
ext4, which flushes such files on close.
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Executor
from pathlib import Path
from typing import Any, TypeVar

from ...net.endpoint import Endpoint
from ..base import Progress, ProgressCallback, TransferRequest
from ..transfer_answers import host_of
from ..verify import check_size_and_hash
from .bandwidth_cap import TokenBucket
from .part_file import PartFile
from .pieces import Piece, layout
from .remote_file import RemoteFile
from .resume_record import (
    ResumeRecord,
    apply_record,
    describes,
    load_record,
    record_of,
    sidecar_path,
    write_record,
)

T = TypeVar("T")

#: Seconds between progress reports while bytes arrive.
PROGRESS_INTERVAL = 0.1
#: Seconds between rewrites of the resume record while bytes arrive.
SAVE_INTERVAL = 1.0


class Transfer:
    """The state of one transfer: endpoint, pieces, counters, progress and the sidecar.

    Sidecar writes and part-file resizes run in the engine's single bookkeeping
    thread, so they never stall the loop and always happen in the order asked.
    """

    def __init__(
        self,
        request: TransferRequest,
        on_progress: ProgressCallback,
        piece_size: int,
        bookkeeper: Executor,
        shared_cap: TokenBucket | None = None,
    ) -> None:
        self.request = request
        self.label = request.label or request.part_path.name.removesuffix(".part")
        self.sidecar = sidecar_path(request.part_path)
        self.piece_size = piece_size
        own_cap = TokenBucket(request.max_rate) if request.max_rate else None
        #: The bandwidth caps every chunk waits on: the engine's, then this transfer's.
        self.caps = tuple(cap for cap in (shared_cap, own_cap) if cap is not None)
        self.endpoint = Endpoint("")
        self.generation = 0
        self.refreshed = False
        self.refresh_lock = asyncio.Lock()
        self.remote: RemoteFile | None = None
        self.record: ResumeRecord | None = None
        self.whole = False
        self.use_ranges = True
        self.pieces: list[Piece] = []
        self.queue: deque[Piece] = deque()
        self.done = 0
        self.connections = 0
        self._range_refusals = 0
        self._prefix = 0
        self._on_progress = on_progress
        self._emitted_at = 0.0
        self._emitted_done = 0
        self._speed = 0.0
        self._saved_at = time.monotonic()
        self._saving: asyncio.Future[None] | None = None
        self._bookkeeper = bookkeeper
        self._file: PartFile | None = None

    async def open(self) -> None:
        """Open the part file and read a previous run's sidecar."""
        self.record, self._file = await self._book(_open_part, self.request.part_path)

    @property
    def file(self) -> PartFile:
        """The open part file."""
        assert self._file is not None, "open() first"
        return self._file

    @property
    def size(self) -> int | None:
        """The file's size, once the server has said it."""
        return self.remote.size if self.remote else None

    @property
    def host(self) -> str:
        """The server the current link points at, for messages."""
        return host_of(self.endpoint.url)

    @property
    def contiguous(self) -> int:
        """How many bytes from offset 0 are on disk without a gap."""
        if self.whole:
            return self.done
        while self._prefix < len(self.pieces) and self.pieces[self._prefix].complete:
            self._prefix += 1
        if self._prefix == len(self.pieces):
            return self.size or 0
        return self.pieces[self._prefix].offset

    def refuse_range(self) -> bool:
        """Note a 200 where a 206 was asked for; False once ranges are not worth another try."""
        self._range_refusals += 1
        if self._range_refusals >= 2:
            self.use_ranges = False
        return self.use_ranges

    def _book(self, func: Callable[..., T], *args: Any) -> asyncio.Future[T]:
        return asyncio.get_running_loop().run_in_executor(self._bookkeeper, func, *args)

    # -- layout -----------------------------------------------------------------------
    async def adopt(self, remote: RemoteFile) -> None:
        """Lay out the pieces for ``remote``, keeping what a matching sidecar recorded."""
        check_size_and_hash(self.label, remote.size, self.request.size, None, None)
        record, self.record = self.record, None
        resumed = record is not None and describes(record, remote)
        if resumed:
            assert record is not None
            self.piece_size = int(record["piece_size"])
        self.pieces = layout(remote.size, self.piece_size)
        if resumed:
            apply_record(self.pieces, record or {})
        await self._book(self.file.prepare, remote.size, resumed)
        self.remote, self.whole = remote, False
        self.done = sum(piece.filled for piece in self.pieces)
        self._prefix = 0
        self._emitted_done = self.done
        self.save()
        self.emit(force=True)

    async def go_whole(self, size: int | None) -> Piece:
        """Switch to one stream from byte 0 (no usable ranges); no resume is possible."""
        if size is not None:
            check_size_and_hash(self.label, size, self.request.size, None, None)
        await self.forget()
        self.whole = True
        self.remote = RemoteFile(size, None, None) if size is not None else None
        return Piece(0, size if size is not None else sys.maxsize)

    async def finish_whole(self) -> None:
        """End a whole stream: the file is as long as what arrived."""
        await self._book(self.file.resize, self.done)
        self.remote = RemoteFile(self.done, None, None)

    async def forget(self) -> None:
        """Start over: no pieces, an empty part file, and the hasher told at once."""
        self.record = None
        self.remote = None
        self.pieces = []
        self.queue.clear()
        self.done = 0
        self._prefix = 0
        self._emitted_done = 0
        await self._book(_clear_part, self.file, self.sidecar)
        self.emit(force=True)

    # -- bytes and reports ------------------------------------------------------------
    def moved(self, amount: int) -> None:
        """Count ``amount`` new bytes on disk; save and report when it is time."""
        self.done += amount
        if time.monotonic() - self._saved_at >= SAVE_INTERVAL:
            self.save()
        self.emit()

    def emit(self, *, force: bool = False) -> None:
        """Report progress and a smoothed speed; ``force`` skips the ``PROGRESS_INTERVAL`` wait."""
        now = time.monotonic()
        elapsed = now - self._emitted_at
        if not force and elapsed < PROGRESS_INTERVAL:
            return
        if self._emitted_at and elapsed > 0:
            rate = max(0.0, (self.done - self._emitted_done) / elapsed)
            self._speed = rate if not self._speed else 0.3 * rate + 0.7 * self._speed
        self._emitted_at, self._emitted_done = now, self.done
        self._on_progress(
            Progress(self.done, self.size, self._speed, self.contiguous, self.connections)
        )

    def save(self) -> None:
        """Queue a rewrite of the sidecar, unless the previous one is still being written."""
        self._saved_at = time.monotonic()
        record = self._snapshot()
        if record is not None and (self._saving is None or self._saving.done()):
            self._saving = self._book(write_record, self.sidecar, record)

    def _snapshot(self) -> ResumeRecord | None:
        if self.whole or self.remote is None:
            return None
        return record_of(self.remote, self.piece_size, self.pieces)

    async def close(self) -> None:
        """Record what is on disk (for a resume) and close the part file."""
        if self._file is not None:
            await self._book(_close_part, self._file, self.sidecar, self._snapshot())


def _open_part(part_path: Path) -> tuple[ResumeRecord | None, PartFile]:
    record = load_record(part_path)
    part_path.parent.mkdir(parents=True, exist_ok=True)
    return record, PartFile(part_path)


def _clear_part(file: PartFile, sidecar: Path) -> None:
    sidecar.unlink(missing_ok=True)
    file.clear()


def _close_part(file: PartFile, sidecar: Path, record: ResumeRecord | None) -> None:
    if record is not None:
        write_record(sidecar, record)
    file.close()
