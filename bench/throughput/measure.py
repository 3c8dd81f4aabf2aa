"""Measuring one client run: wall clock, start, transfer, tail and flush, memory and CPU.

The client runs to its exit while :mod:`.sampling` watches it; then the CDN's counters,
the CPU the client, the server and everything else on the machine used, and the times
from process start to the file durable in place make one :class:`~.result.Result`.
"""

from __future__ import annotations

import os
import resource
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import psutil

from .clients import PHOENIX_CLIENTS, Client
from .model_file import FILENAME
from .phoenix_client import phoenix_times
from .result import Result
from .sampling import Samples, bytes_on_disk, watch
from .throttled_server import Server
from .units import MB


def run_client(client: Client, folder: Path, log: Path, server: Server, size: int) -> Result:
    """Run one client to completion and measure it."""
    server.stats(reset=True)
    server_cpu, children_cpu, system = server.cpu_seconds(), _children_cpu(), psutil.cpu_times()
    samples = Samples()
    started = time.time()
    with open(log, "w") as errors:
        process = subprocess.Popen(
            client.command, env=client.env, stdout=subprocess.DEVNULL, stderr=errors
        )
        watcher = threading.Thread(
            target=watch, args=(psutil.Process(process.pid), folder, size, samples), daemon=True
        )
        watcher.start()
        code = process.wait()
        exited = time.time()
        samples.stop.set()
        watcher.join()
    if samples.last_byte is None and bytes_on_disk(folder) >= size:
        samples.last_byte = exited  # the last bytes came between the final poll and the exit
    result = Result(client.name, code == 0, client.note, size)
    _account_cpu(result, server, server_cpu, children_cpu, system, exited - started)
    cdn = server.stats()
    result.connections, result.cdn_bytes = cdn["peak_active"], cdn["bytes_sent"]
    result.cdn_gets, result.cdn_ranges = len(cdn["ranges"]), cdn["ranges"]
    result.growth = [(round(t - started, 3), n) for t, n in samples.growth]
    result.peak_rss_mb = samples.peak_rss / MB
    stderr = log.read_text(errors="replace")
    final = find_file(folder, FILENAME)
    if code != 0 or final is None or samples.last_byte is None:
        lines = stderr.strip().splitlines()
        result.ok = False
        result.error = lines[-1] if lines else f"exit {code}, no {FILENAME}"
        return result
    last_byte = samples.last_byte
    if client.name in PHOENIX_CLIENTS:
        durable, done = phoenix_times(result, stderr, last_byte, started, exited)
    else:
        # Neither curl nor hf_hub_download makes the file durable: the benchmark does it
        # for them, and counts it.
        result.flush = _fsync(final)
        durable = done = exited + result.flush
    first_byte = samples.first_byte or started
    result.wall = done - started
    result.startup = first_byte - started
    result.transfer = max(1e-9, last_byte - first_byte)
    # Polling can only be late, never early; the engine's own figure is a lower bound.
    result.tail = max(durable - last_byte, result.engine_tail)
    result.transfer_rate = size / result.transfer
    result.wall_rate = size / result.wall
    result.verified = final.stat().st_size == size
    return result


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _account_cpu(
    result: Result,
    server: Server,
    server_cpu: float,
    children_cpu: float,
    system: Any,
    elapsed: float,
) -> None:
    result.client_cpu_s = _children_cpu() - children_cpu
    result.server_cpu_s = server.cpu_seconds() - server_cpu
    result.system_busy, result.system_iowait = _system_load(system, psutil.cpu_times())
    # Whatever else runs on the machine competes for the same CPUs; show how much it took.
    busy_cpu_s = result.system_busy * elapsed * (os.cpu_count() or 1)
    result.other_cpu_s = max(0.0, busy_cpu_s - result.client_cpu_s - result.server_cpu_s)


def _system_load(before: Any, after: Any) -> tuple[float, float]:
    """Share of all CPUs busy, and share in iowait, between two ``psutil.cpu_times()``."""
    spent = {name: getattr(after, name) - getattr(before, name) for name in after._fields}
    total = sum(spent.values()) or 1.0
    idle = spent.get("idle", 0.0) + spent.get("iowait", 0.0)
    return 1 - idle / total, spent.get("iowait", 0.0) / total


def find_file(folder: Path, name: str) -> Path | None:
    """Where a client left ``name`` under ``folder`` (hf's ``.cache`` copies aside)."""
    for base, _, names in os.walk(folder):
        if name in names and ".cache" not in Path(base).parts:
            return Path(base) / name
    return None


def _fsync(path: Path) -> float:
    started = time.time()
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    fd = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    return time.time() - started
