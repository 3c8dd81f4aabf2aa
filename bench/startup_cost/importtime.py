"""Where an import's time goes, read from ``python -X importtime``.

Each stderr line ``import time: SELF | CUMULATIVE | NAME`` (microseconds) is one module's
first import; the indentation of NAME is its depth, and a module's cumulative time holds
the deeper lines listed just before it. Figures are the median over several fresh
interpreters, module by module.
"""

from __future__ import annotations

import re
import statistics
import subprocess
import sys
from dataclasses import dataclass

from .subjects import CLI_MODULE

CLI_TARGET = f"{CLI_MODULE}.main"
_LINE = re.compile(r"^import time:\s+(\d+) \|\s+(\d+) \|( *)(\S.*)$")


@dataclass(frozen=True)
class Entry:
    """One module's line: its own and its cumulative microseconds, and its depth."""

    name: str
    self_us: int
    cumulative_us: int
    depth: int


def parse(stderr: str) -> list[Entry]:
    """The ``-X importtime`` lines of ``stderr``, in order; other lines are skipped."""
    entries = []
    for line in stderr.splitlines():
        found = _LINE.match(line)
        if found:
            own, cumulative, indent, name = found.groups()
            entries.append(Entry(name.strip(), int(own), int(cumulative), len(indent) // 2))
    return entries


def subtree(entries: list[Entry], index: int) -> list[Entry]:
    """The lines that ``entries[index]``'s cumulative time holds, itself last."""
    depth = entries[index].depth
    start = index
    while start > 0 and entries[start - 1].depth > depth:
        start -= 1
    return entries[start : index + 1]


def heaviest(runs: list[list[Entry]], count: int, skip: set[str]) -> list[dict[str, object]]:
    """The ``count`` modules with the largest median cumulative time over ``runs``.

    Args:
        runs: each run's lines.
        count: how many modules to keep.
        skip: names left out (the import itself and the packages on its dotted path,
            whose cumulative time holds everything).

    Returns:
        ``{"module", "cumulative_us", "self_us"}`` for each, heaviest first.
    """
    cumulative: dict[str, list[int]] = {}
    own: dict[str, list[int]] = {}
    for entries in runs:
        for entry in entries:
            if entry.name not in skip:
                cumulative.setdefault(entry.name, []).append(entry.cumulative_us)
                own.setdefault(entry.name, []).append(entry.self_us)
    ranked = sorted(cumulative, key=lambda name: statistics.median(cumulative[name]), reverse=True)
    return [
        {
            "module": name,
            "cumulative_us": round(statistics.median(cumulative[name])),
            "self_us": round(statistics.median(own[name])),
        }
        for name in ranked[:count]
    ]


def dotted_path(name: str) -> set[str]:
    """``a.b.c`` and the packages above it: ``a``, ``a.b``."""
    parts = name.split(".")
    return {".".join(parts[:end]) for end in range(1, len(parts) + 1)}


def cli_import(env: dict[str, str], runs: int, count: int = 5) -> dict[str, object]:
    """``python -X importtime -c "import <the CLI's main>"``: the top-level and the heaviest.

    Args:
        env: the children's environment.
        runs: how many fresh interpreters to read.
        count: how many of the heaviest modules to name.

    Returns:
        The command, the top-level import's cumulative microseconds (min, median, max)
        and the heaviest modules under it.
    """
    command = [sys.executable, "-X", "importtime", "-c", f"import {CLI_TARGET}"]
    tops: list[int] = []
    inside: list[list[Entry]] = []
    for _ in range(runs):
        answer = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
        entries = parse(answer.stderr)
        index = max(i for i, e in enumerate(entries) if e.depth == 0 and e.name == CLI_TARGET)
        tops.append(entries[index].cumulative_us)
        inside.append(subtree(entries, index))
    return {
        "command": command,
        "top_level_us": {
            "min": min(tops),
            "median": round(statistics.median(tops)),
            "max": max(tops),
        },
        "heaviest": heaviest(inside, count, dotted_path(CLI_TARGET)),
    }
