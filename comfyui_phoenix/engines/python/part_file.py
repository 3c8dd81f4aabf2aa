"""The part file: opened once, written at given offsets from worker threads.

Positional writes let several connections fill their pieces of one descriptor
at once; Windows has no ``pwrite``, so there a seek and a write under the file's
lock stand in for it.
"""

from __future__ import annotations

import os
import sys
import threading
from pathlib import Path


class PartFile:
    """The part file, opened once; writes happen in worker threads at given offsets.

    One lock orders writes, clearing and close. A write still running in a thread
    after its worker was cancelled never touches a closed (or reused) descriptor,
    and one queued before the file was cleared (``epoch``) is dropped, so it can
    never land on the bytes of the next attempt.
    """

    def __init__(self, path: Path) -> None:
        flags = os.O_RDWR | os.O_CREAT | getattr(os, "O_BINARY", 0)
        self._fd = os.open(path, flags, 0o644)
        self._lock = threading.Lock()
        self._closed = False
        self.epoch = 0

    def write_at(self, data: bytes, offset: int, epoch: int) -> None:
        """Write all of ``data`` at ``offset``, unless the file was cleared since ``epoch``."""
        with self._lock:
            if self._closed or epoch != self.epoch:
                return
            view = memoryview(data)
            while view:
                written = _write_at(self._fd, view, offset)
                view = view[written:]
                offset += written

    def resize(self, size: int) -> None:
        """Truncate or extend the file to ``size`` bytes."""
        with self._lock:
            os.ftruncate(self._fd, size)

    def clear(self) -> None:
        """Drop every byte (skipped when already empty: on ext4 a truncation to zero
        makes the final close flush the whole file, stalling whoever closes it)."""
        with self._lock:
            self.epoch += 1
            if os.fstat(self._fd).st_size:
                os.ftruncate(self._fd, 0)

    def prepare(self, size: int, keep: bool) -> None:
        """Pre-size the file to ``size`` bytes, dropping old bytes unless ``keep``."""
        if not keep:
            self.clear()
        self.resize(size)

    def close(self) -> None:
        """Close the descriptor once; later writes are dropped."""
        with self._lock:
            if not self._closed:
                self._closed = True
                os.close(self._fd)


def _write_at(fd: int, data: memoryview, offset: int) -> int:
    if sys.platform != "win32":
        return os.pwrite(fd, data, offset)
    # Windows has no pwrite; the caller holds the file's lock, so seek + write is safe.
    os.lseek(fd, offset, os.SEEK_SET)
    return os.write(fd, data)
