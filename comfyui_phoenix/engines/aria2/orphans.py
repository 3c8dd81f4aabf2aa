"""aria2c processes that outlived the Phoenix that started them, killed before the next write.

The file lock that makes one process at a time write ``NAME.part`` is held by
Phoenix, not by its aria2c, so it goes the moment Phoenix dies, and the next owner
of the file may start at once. On Linux the kernel kills the orphan then too (see
``daemon._die_with_parent``), but in the instant between the two, or where no such
signal exists (``--stop-with-process`` is noticed within a second or so), the old
aria2c may still write. So before each transfer, whichever engine runs it
(:mod:`..part_owners`), Phoenix looks for aria2c processes whose command line
names a Phoenix owner that is no longer their parent, kills them, and waits until
they are gone. Any other aria2c is left alone, and so is everything where
processes cannot be listed or their command lines read (a Windows service's, say).
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import time

import psutil

from .daemon import owner_of

log = logging.getLogger(__name__)

#: The longest a transfer waits for killed orphans to be gone.
GONE_TIMEOUT = 5.0
_NAMES = frozenset({"aria2c", "aria2c.exe"})


def stop_orphans(timeout: float = GONE_TIMEOUT) -> list[int]:
    """Kill every aria2c whose Phoenix died, and wait until none of them holds a file.

    Returns:
        The process ids of the orphans found.
    """
    orphans = [process for process in _aria2c_processes() if _orphaned(process)]
    for process in orphans:
        log.warning("stopping aria2c (pid %s): the Phoenix that started it is gone", process.pid)
        with contextlib.suppress(psutil.Error):  # gone already, or not ours to stop
            process.kill()
    deadline = time.monotonic() + timeout
    for process in orphans:
        while _alive(process) and time.monotonic() < deadline:
            time.sleep(0.01)  # not our child: there is nothing to wait on but its state
    return [process.pid for process in orphans]


def _aria2c_processes() -> list[psutil.Process]:
    try:
        return [p for p in psutil.process_iter(["name"]) if p.info["name"] in _NAMES]
    except (psutil.Error, OSError):  # processes cannot be listed here: none to stop
        return []


def _orphaned(process: psutil.Process) -> bool:
    """Started by a Phoenix that is no longer its parent: that Phoenix died."""
    try:
        owner = owner_of(process.cmdline())
        return owner is not None and process.ppid() != owner and _same_pids(process.pid)
    except psutil.Error:  # gone already, or not ours to inspect
        return False


def _same_pids(pid: int) -> bool:
    """Whether ``pid`` counts process ids as we do: across PID namespaces (a container
    seen from its host) the owner pid on the command line names another process."""
    if not sys.platform.startswith("linux"):
        return True
    try:
        return os.readlink(f"/proc/{pid}/ns/pid") == os.readlink("/proc/self/ns/pid")
    except OSError:
        return False


def _alive(process: psutil.Process) -> bool:
    """Not gone, and not a zombie (a zombie has closed every file it had open)."""
    try:
        alive: bool = process.is_running() and process.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False
    return alive
