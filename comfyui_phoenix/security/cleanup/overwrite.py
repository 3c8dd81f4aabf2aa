"""Overwriting small files with zeros before they are unlinked.

Only small files are worth it (up to :data:`OVERWRITE_LIMIT`): overwriting 30 GB of models
cannot finish inside a stop grace period, and on SSDs, overlayfs and network volumes
overwriting in place proves nothing anyway. Every file is opened without following a link
and checked to be the file that was measured, so a swap cannot send the zeros elsewhere.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

#: Larger files are unlinked without being overwritten first.
OVERWRITE_LIMIT = 1 << 20


def overwrite_file(path: Path, *, dir_fd: int | None = None) -> bool:
    """Overwrite a small regular file with zeros in place and flush it to its device.

    Symbolic links, FIFOs, devices, files with other hard links (the data is still in use
    elsewhere) and files over :data:`OVERWRITE_LIMIT` are left alone. Returns whether the
    file was overwritten.
    """
    try:
        info = os.stat(path, dir_fd=dir_fd, follow_symlinks=False)
    except OSError:
        return False
    if not _overwritable(info):
        return False
    flags = os.O_WRONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags, dir_fd=dir_fd)
    except OSError:
        return False
    try:
        now = os.fstat(fd)
        if (now.st_dev, now.st_ino) != (info.st_dev, info.st_ino) or not _overwritable(now):
            return False
        zeros = bytes(now.st_size)
        written = 0
        while written < len(zeros):
            written += os.write(fd, zeros[written:])
        _datasync(fd)
    except OSError:
        return False
    finally:
        os.close(fd)
    return True


def _overwritable(info: os.stat_result) -> bool:
    return stat.S_ISREG(info.st_mode) and info.st_nlink == 1 and 0 < info.st_size <= OVERWRITE_LIMIT


#: fsync one file after another costs about a millisecond each on a journaling disk; in
#: parallel the journal batches them (2000 files: 2.5 s serially, 0.13 s with 16 threads).
OVERWRITE_WORKERS = 16
_datasync: Callable[[int], None] = getattr(os, "fdatasync", os.fsync)


def overwrite_tree(folder: Path, *, dir_fd: int | None = None) -> int:
    """Overwrite every small regular file under ``folder``, never following a link.

    Files are opened relative to their folder's descriptor, so a folder swapped for a
    link during the walk cannot send the writes elsewhere. ``dir_fd``: ``folder`` is
    relative to this folder descriptor. Returns how many were overwritten.
    """
    count = 0
    with ThreadPoolExecutor(OVERWRITE_WORKERS) as pool:
        walk = os.fwalk(folder, follow_symlinks=False, dir_fd=dir_fd)
        for _, _, files, folder_fd in walk:
            # One folder at a time: its descriptor closes when the walk moves on.
            jobs = [pool.submit(overwrite_file, Path(name), dir_fd=folder_fd) for name in files]
            count += sum(job.result() for job in jobs)
    return count
