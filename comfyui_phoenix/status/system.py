"""CPU, memory and disks through psutil.

One reading costs well under a millisecond on a local disk, but ``statvfs`` on a network
volume (RunPod's are FUSE mounts) can take far longer, so :class:`SystemSampler` reads in
a worker thread about once a second and a status request copies the latest reading.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import psutil

from .sampler import Sampler

#: A disk is "low" below 10 GB free (decimal, as disks are sold): too little for most
#: checkpoints, let alone FLUX's 24 GB transformer...
LOW_DISK_FREE_BYTES = 10 * 1000**3
#: ...or below 5 % free, where filesystems slow down and a large volume is nearly full.
LOW_DISK_FREE_FRACTION = 0.05


def is_low_disk(free: int, total: int) -> bool:
    """Whether a disk with ``free`` of ``total`` bytes should be shown as nearly full.

    Low means under :data:`LOW_DISK_FREE_BYTES` (10 GB) free or under
    :data:`LOW_DISK_FREE_FRACTION` (5 %) of the total free.
    """
    return free < LOW_DISK_FREE_BYTES or free < total * LOW_DISK_FREE_FRACTION


def read_disk(path: Path) -> dict[str, Any]:
    """Total, used and free bytes of the filesystem holding ``path``.

    Returns:
        ``{"path", "exists", "total", "used", "free", "low"}``; only ``path`` and
        ``exists: False`` when the path does not exist, and ``error`` instead of the
        numbers when the filesystem refuses to say.
    """
    try:
        usage = psutil.disk_usage(str(path))
    except (FileNotFoundError, NotADirectoryError):
        return {"path": str(path), "exists": False}
    except OSError as exc:
        return {"path": str(path), "exists": True, "error": f"{exc.strerror or exc}"}
    return {
        "path": str(path),
        "exists": True,
        "total": usage.total,
        "used": usage.used,
        "free": usage.free,
        "low": is_low_disk(usage.free, usage.total),
    }


def read_disks(paths: Mapping[str, Path]) -> dict[str, dict[str, Any]]:
    """:func:`read_disk` for each named path (``models``, ``input``, ``output``, ``root``…)."""
    return {name: read_disk(path) for name, path in paths.items()}


def read_host() -> dict[str, Any]:
    """CPU load, memory and this process's resident memory. Non-blocking.

    ``cpu.percent`` is the system-wide use since the previous call (0.0 on the first).
    """
    memory = psutil.virtual_memory()
    return {
        "cpu": {
            "percent": psutil.cpu_percent(None),
            "count": psutil.cpu_count(),
            "load_average": _load_average(),
        },
        "memory": {
            "total": memory.total,
            "used": memory.used,
            "available": memory.available,
            "percent": memory.percent,
        },
        "process": {"rss": psutil.Process().memory_info().rss},
    }


def read_system(paths: Mapping[str, Path]) -> dict[str, Any]:
    """One reading of the host and of the disks holding ``paths``.

    Returns:
        ``{"cpu", "memory", "process", "disks", "sampled_at"}``, JSON-ready; sizes in
        bytes, ``sampled_at`` in seconds since the epoch.
    """
    return {**read_host(), "disks": read_disks(paths), "sampled_at": time.time()}


class SystemSampler(Sampler[dict[str, Any]]):
    """Keeps the latest :func:`read_system` reading.

    Started (from the server's lifecycle), it reads in a worker thread every
    ``interval`` seconds. Not started (the CLI, a one-off), :meth:`latest` reads on the
    spot whenever the cached reading is older than ``interval``.
    """

    def __init__(self, paths: Mapping[str, Path], *, interval: float = 1.0) -> None:
        super().__init__({}, interval=interval)
        self.paths = dict(paths)

    def read(self) -> dict[str, Any]:
        """Take one reading (blocking)."""
        return read_system(self.paths)

    def latest(self) -> dict[str, Any]:
        """The latest reading; read now only before the first or when nothing samples."""
        age = self.age
        if age is None or (not self.running and age >= self.interval):
            self._store(self.read())
        return super().latest()


def _load_average() -> list[float] | None:
    # psutil.getloadavg() emulates this on Windows with a background thread; not worth it.
    if not hasattr(os, "getloadavg"):
        return None
    return [round(value, 2) for value in os.getloadavg()]
