"""The start-up report: one table of whole commands, the import breakdowns, the budgets."""

from __future__ import annotations

import statistics
from typing import Any

from .importtime import CLI_TARGET
from .subjects import PHOENIX_COMMANDS
from .wall_time import Runs, spread

#: ``phoenix --help`` on a 2-core machine, median wall seconds.
BUDGET_HELP_S = 0.25
#: The row ComfyUI prints for the import, with its one decimal.
BUDGET_IMPORT_ROW = "0.0"


def command_table(measured: dict[str, Runs]) -> list[str]:
    """Wall seconds (min, median, max) and median CPU seconds of each command."""
    lines = [
        "| Command | Runs | Wall s min | median | max | CPU s (median) | Failed runs |",
        "|---|--:|--:|--:|--:|--:|--:|",
    ]
    for label, runs in measured.items():
        wall = spread(runs.wall)
        failed = sum(code != 0 for code in runs.exit_codes)
        lines.append(
            f"| `{label}` | {len(runs.wall)} | {wall['min']:.3f} | {wall['median']:.3f} "
            f"| {wall['max']:.3f} | {statistics.median(runs.cpu):.3f} | {failed} |"
        )
    return lines


def import_lines(cli: dict[str, Any], comfyui: dict[str, Any]) -> list[str]:
    """The CLI's import and the ComfyUI import, each with its heaviest modules."""
    top = cli["top_level_us"]
    lines = [
        f'`python -X importtime -c "import {CLI_TARGET}"`: top-level import '
        f"{top['median']} µs cumulative (min {top['min']}, max {top['max']}); heaviest:",
        *_heaviest(cli["heaviest"]),
        "",
        f"ComfyUI's import of the package root: {_seconds(comfyui['seconds'])}; "
        f"{comfyui['modules_imported']} modules imported, {comfyui['nodes']} nodes, "
        f"{comfyui['routes']} routes registered. ComfyUI would print:",
        "",
        f"    {comfyui['comfyui_row']}",
        "",
        "Heaviest modules it imported (one run under -X importtime):",
        *_heaviest(comfyui["heaviest"]),
    ]
    return lines


def _seconds(spread_: dict[str, float]) -> str:
    return f"median {spread_['median']:.3f} s (min {spread_['min']:.3f}, max {spread_['max']:.3f})"


def _heaviest(modules: list[dict[str, Any]]) -> list[str]:
    return [
        f"- `{m['module']}`: {m['cumulative_us']} µs cumulative, {m['self_us']} µs its own"
        for m in modules
    ]


def budgets(measured: dict[str, Runs], comfyui: dict[str, Any]) -> dict[str, bool]:
    """Each budget, and whether the medians meet it."""
    verdicts = {}
    for label in PHOENIX_COMMANDS:
        median = statistics.median(measured[label].wall)
        verdicts[f"`{label}` median {median:.3f} s <= {BUDGET_HELP_S} s"] = median <= BUDGET_HELP_S
    row = f"{comfyui['seconds']['median']:.1f}"
    verdicts[f"ComfyUI's import row {row} s, budget {BUDGET_IMPORT_ROW} s"] = (
        row == BUDGET_IMPORT_ROW
    )
    return verdicts


def budget_lines(verdicts: dict[str, bool]) -> list[str]:
    """One line per budget, marked met or missed."""
    return [f"- {label} {'✅' if ok else '❌'}" for label, ok in verdicts.items()]
