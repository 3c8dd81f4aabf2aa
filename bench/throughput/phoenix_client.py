"""Phoenix as a client: its CLI with the tail's flushes timed, and those timings read back.

The ``phoenix fetch`` process runs :func:`phoenix_client`, which prints one
``PHOENIX-BENCH`` JSON line on stderr; :func:`phoenix_times` turns that line (or, without
it, the engine's own tail log line) into the tail, flush and start/stop figures.
"""

from __future__ import annotations

import json
import re
import sys
import time
from pathlib import Path
from typing import Any

from .result import Result

_TAIL_LINE = re.compile(r"Verified and published \S+ ([0-9.]+) s after its last byte")
_MARK = "PHOENIX-BENCH "


def phoenix_client(argv: list[str]) -> int:
    """Run the ``phoenix`` CLI in this process, timing the flushes of the tail.

    The CLI runs unchanged; only ``fdatasync`` and ``publish`` are wrapped in timers,
    and the tail log line's timestamp is kept, so the tail can be split into flushing
    and the rest. The timings go to stderr as one ``PHOENIX-BENCH`` JSON line.
    """
    import logging

    from comfyui_phoenix.engines import pipeline, verify
    from comfyui_phoenix.surfaces import cli

    ready = time.time()
    syncs: list[tuple[float, float]] = []
    publishes: list[tuple[float, float]] = []
    tails: list[tuple[float, float]] = []
    # ``publish`` is looked up in the pipeline's namespace, where it is called.
    datasync, publish = verify._datasync, verify.publish

    def timed_datasync(fd: int) -> None:
        started = time.time()
        datasync(fd)
        syncs.append((started, time.time()))

    def timed_publish(part: Path, final: Path) -> None:
        started = time.time()
        publish(part, final)
        publishes.append((started, time.time()))

    def keep_tail(record: logging.LogRecord) -> bool:
        if record.msg.startswith("Verified and published") and isinstance(record.args, tuple):
            tails.append((record.created, float(record.args[1])))  # type: ignore[arg-type]
        return True

    verify._datasync = timed_datasync
    setattr(pipeline, "publish", timed_publish)  # noqa: B010 - not an exported name
    logging.getLogger(pipeline.__name__).addFilter(keep_tail)
    try:
        return cli.main(argv)
    finally:
        timings = {
            "ready": ready,
            "returned": time.time(),
            "syncs": syncs,
            "publishes": publishes,
            "tails": tails,
        }
        print(_MARK + json.dumps(timings), file=sys.stderr, flush=True)


def phoenix_times(
    result: Result, stderr: str, last_byte: float, started: float, exited: float
) -> tuple[float, float]:
    """When the file was durable in place, and when the run ended, for a Phoenix client.

    The file is in place when the engine logs its tail line (right after the rename and
    its directory fsync). The tail counted here starts at the last byte on disk as polled,
    which also covers the engine noticing that the transfer ended; the engine's own
    ``on_tail`` value (from its return to the file in place) is kept beside it. Flushing
    is the time spent in the wrapped ``fdatasync`` calls and ``publish`` after that byte.
    """
    timings = _phoenix_timings(stderr)
    logged = _TAIL_LINE.findall(stderr)
    if timings.get("tails"):
        published, result.engine_tail = timings["tails"][-1]
    elif logged:  # the wrapper printed nothing; the log line alone gives the engine's tail
        result.engine_tail, published = float(logged[-1]), exited
    else:
        published = exited
    syncs = timings.get("syncs", []) + timings.get("publishes", [])
    result.flush = sum(max(0.0, end - max(start, last_byte)) for start, end in syncs)
    # Process start to the CLI running (interpreter, imports), and the CLI's return to
    # the process's exit (closing the engine, interpreter teardown).
    result.ready = timings.get("ready", started) - started
    result.after = exited - timings.get("returned", exited)
    return published, exited


def _phoenix_timings(stderr: str) -> dict[str, Any]:
    """The timings :func:`phoenix_client` printed, or nothing when it printed none."""
    for line in reversed(stderr.splitlines()):
        if line.startswith(_MARK):
            timings: dict[str, Any] = json.loads(line[len(_MARK) :])
            return timings
    return {}
