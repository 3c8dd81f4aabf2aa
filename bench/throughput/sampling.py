"""What is watched while a client runs: the file's growth on disk and the tree's peak RSS.

A thread polls every 10 ms how many of the file's bytes are on disk (the first and the
last byte give the transfer) and every 50 ms the resident memory of the client's whole
process tree (aria2c included).
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil

POLL = 0.01
RSS_EVERY = 5
GROWTH_EVERY = 25
_BOOKKEEPING = (".aria2", ".phx", ".lock", ".metadata", ".json")


@dataclass
class Samples:
    """What the watcher saw; ``stop`` ends it."""

    peak_rss: int = 0
    first_byte: float | None = None
    last_byte: float | None = None
    growth: list[tuple[float, int]] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)


def _tree_rss(process: psutil.Process) -> int:
    total = 0
    for member in [process, *process.children(recursive=True)]:
        with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
            total += member.memory_info().rss
    return total


def bytes_on_disk(folder: Path) -> int:
    """The model file's bytes actually on disk, under whatever temporary name it has.

    Sparse and pre-sized files count what is written. Bookkeeping files (Phoenix's job
    state, aria2's and the Python engine's control files, hf's locks and metadata) are
    left out, so that their early writes are not taken for the first byte.
    """
    best = 0
    for base, dirs, names in os.walk(folder):
        dirs[:] = [d for d in dirs if d != ".phoenix"]
        for name in names:
            if name.endswith(_BOOKKEEPING):
                continue
            with contextlib.suppress(FileNotFoundError):
                stat = os.stat(os.path.join(base, name))
                best = max(best, min(stat.st_size, stat.st_blocks * 512))
    return best


def watch(process: psutil.Process, folder: Path, size: int, samples: Samples) -> None:
    """How far the file has grown every 10 ms; the RSS of the client's tree every 50 ms."""
    tick = 0
    while not samples.stop.is_set():
        now = time.time()
        if tick % RSS_EVERY == 0:
            with contextlib.suppress(psutil.NoSuchProcess):
                samples.peak_rss = max(samples.peak_rss, _tree_rss(process))
        tick += 1
        if samples.last_byte is None:
            on_disk = bytes_on_disk(folder)
            if tick % GROWTH_EVERY == 0:
                samples.growth.append((now, on_disk))
            if on_disk and samples.first_byte is None:
                samples.first_byte = now
            if on_disk >= size:
                samples.last_byte = now
        samples.stop.wait(POLL)
