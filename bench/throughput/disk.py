"""The download disk: its durable write speed, the CDN cap kept below it, the page cache.

The total cap is put below what the disk writes durably (with fsync), so that the link,
not the disk, is the limit; the page cache is dropped so no client reads what an earlier
one left.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from .units import MB, MiB


def drop_caches() -> bool:
    """Empty the page cache so no client reads what an earlier one left; False when not allowed."""
    os.sync()
    try:
        Path("/proc/sys/vm/drop_caches").write_text("3\n")
    except OSError:
        return False
    return True


def measure_disk(folder: Path, amount: int, rounds: int = 2) -> float:
    """Durable write speed of ``folder``'s disk: the slowest of ``rounds`` writes of
    ``amount`` bytes, each ended by an fsync.

    Virtual disks vary a lot from one write to the next (a host cache fills, a neighbour
    writes); the slowest round keeps the cap below what the disk does on a bad moment.
    """
    return min(_write_speed(folder, amount) for _ in range(rounds))


def _write_speed(folder: Path, amount: int) -> float:
    path = folder / "disk-speed.bin"
    block = os.urandom(8 * MiB)
    drop_caches()
    started = time.perf_counter()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        for _ in range(amount // len(block)):
            os.write(fd, block)
        os.fsync(fd)
    finally:
        os.close(fd)
    elapsed = time.perf_counter() - started
    path.unlink()
    return amount / elapsed


def pick_total_cap(disk_rate: float, per_connection: float) -> float:
    """Two thirds of the durable disk speed, in steps of 25 MB/s, at most 200 MB/s."""
    cap = min(200 * MB, (disk_rate * 2 / 3) // (25 * MB) * 25 * MB)
    return max(cap, per_connection)
