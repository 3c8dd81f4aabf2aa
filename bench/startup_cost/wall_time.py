"""Whole-process wall time of commands, run in turn as children of the benchmark.

Every command runs ``runs`` times after ``warmup`` uncounted runs, interleaved (A B C, A B
C, ...), so a machine whose speed drifts during the benchmark slows them all alike. A run
is timed from just before its start to just after it is reaped; its CPU seconds are the
kernel's own accounting of the finished child (``wait4``). Peak RSS is left out: Linux
carries the parent's high-water mark across ``fork`` and ``exec``, so a child's would read
no lower than this process's.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import time
from dataclasses import dataclass, field


@dataclass
class Runs:
    """One command's counted runs: wall and CPU seconds, exit statuses."""

    command: list[str]
    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)
    exit_codes: list[int] = field(default_factory=list)


def spread(values: list[float]) -> dict[str, float]:
    """Min, median and max of ``values``."""
    return {"min": min(values), "median": statistics.median(values), "max": max(values)}


def run_once(command: list[str], env: dict[str, str]) -> tuple[float, float, int]:
    """Wall seconds, CPU seconds and exit status of one run of ``command``."""
    started = time.perf_counter()
    process = subprocess.Popen(
        command,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    # Reaped here, not by Popen: tell it, so it does not wait for the child again.
    process.returncode = os.waitstatus_to_exitcode(status)
    return wall, usage.ru_utime + usage.ru_stime, process.returncode


def time_commands(
    commands: dict[str, list[str]], env: dict[str, str], runs: int, warmup: int
) -> dict[str, Runs]:
    """Run every command ``warmup + runs`` times, interleaved; keep the last ``runs``.

    Args:
        commands: the commands, by label.
        env: the environment every run gets.
        runs: counted runs per command.
        warmup: uncounted runs first (they fill the page cache and ``__pycache__``).

    Returns:
        Each label's :class:`Runs`.
    """
    measured = {label: Runs(command) for label, command in commands.items()}
    for round_ in range(warmup + runs):
        for found in measured.values():
            wall, cpu, code = run_once(found.command, env)
            if round_ < warmup:
                continue
            found.wall.append(wall)
            found.cpu.append(cpu)
            found.exit_codes.append(code)
    return measured
