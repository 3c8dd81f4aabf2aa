"""Start-up cost: ``phoenix --help``, the CLI's imports, and ComfyUI's import of Phoenix.

Usage:
    python bench/startup.py [--runs 10] [--warmup 1] [--json PATH]

Three measurements, each in fresh interpreters that this process starts one at a time:

1. Whole commands, interleaved, ``--runs`` times each after ``--warmup`` uncounted runs:
   the ``phoenix`` console script's ``--help`` and
   ``python -m comfyui_phoenix.surfaces.cli --help``, beside ``python -c pass`` (the
   floor: the interpreter alone) and ``hf --help`` (or ``huggingface-cli --help``) as a
   peer. Wall seconds min/median/max, CPU seconds and peak RSS.
2. ``python -X importtime -c "import comfyui_phoenix.surfaces.cli.main"``: the top-level
   import's cumulative microseconds, and the five heaviest modules under it.
3. The package root imported as ComfyUI imports a custom node's folder, under stand-in
   ``server`` and ``folder_paths`` modules, timed like ComfyUI's "Import times for
   custom nodes" row (seconds, one decimal).

Budgets: ``phoenix --help`` at most 0.25 s (median) on a 2-core machine; the ComfyUI row
``0.0`` s. Prints Markdown; writes the numbers as JSON to ``bench/results/`` (or
``--json PATH``). The parts live in ``bench/startup_cost/``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from startup_cost import (
    ROOT,
    budget_lines,
    budgets,
    child_env,
    cli_import,
    comfyui_import,
    command_table,
    commands,
    import_lines,
    imported_from,
    spread,
    time_commands,
)


def machine() -> dict[str, Any]:
    """The processors this run may use, the load before it, and the interpreter."""
    return {
        "cpus": len(os.sched_getaffinity(0)),
        "load_average_1m": round(os.getloadavg()[0], 2),
        "python": platform.python_version(),
        "executable": sys.executable,
        "kernel": platform.release(),
    }


def main() -> int:
    """Measure, print the report, write the JSON; 1 when a command failed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10, help="counted runs per command (10)")
    parser.add_argument("--warmup", type=int, default=1, help="uncounted runs first (1)")
    parser.add_argument("--json", default=None, help="where the JSON goes")
    args = parser.parse_args()
    env = child_env()
    facts = machine() | {"phoenix_from": imported_from(env)}
    print(f"timing {len(commands())} commands {args.runs} times each ...", file=sys.stderr)
    measured = time_commands(commands(), env, args.runs, args.warmup)
    print("reading -X importtime ...", file=sys.stderr)
    cli = cli_import(env, max(3, args.runs // 2))
    print("importing the package root as ComfyUI does ...", file=sys.stderr)
    comfyui = comfyui_import(ROOT, env, args.runs)
    verdicts = budgets(measured, comfyui)
    print(
        f"{facts['cpus']} CPUs, load average {facts['load_average_1m']} before the run, "
        f"Python {facts['python']}; Phoenix imported from {facts['phoenix_from']}.\n"
    )
    print("\n".join(command_table(measured)))
    print()
    print("\n".join(import_lines(cli, comfyui)))
    print()
    print("\n".join(budget_lines(verdicts)))
    report = {
        "machine": facts,
        "commands": {
            label: asdict(runs) | {"wall_s": spread(runs.wall)} for label, runs in measured.items()
        },
        "cli_import": cli,
        "comfyui_import": comfyui,
        "budgets": verdicts,
    }
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
    path = Path(args.json or ROOT / "bench" / "results" / f"startup-{stamp}.json")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2) + "\n")
    print(f"\nwrote {path}", file=sys.stderr)
    failed = any(code != 0 for runs in measured.values() for code in runs.exit_codes)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
