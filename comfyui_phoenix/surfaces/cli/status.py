"""``phoenix status``: GPU, disks, verified models and unfinished downloads, read once."""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import asdict, is_dataclass
from pathlib import Path
from typing import Any

from ... import __version__
from ...jobs.journal import Journal
from ...jobs.planning import destination
from ...service import Phoenix
from ...units import human_size
from .context import cli_settings


def run(args: argparse.Namespace) -> int:
    from ...status.gpu import read_gpus
    from ...status.system import read_system

    phoenix = Phoenix(cli_settings(args))
    root = phoenix.layout.root
    unfinished = [
        entry
        for entry in Journal(phoenix.state).unfinished()
        # A download another run finished is not unfinished, whatever the journal says.
        if not phoenix.verified.vouches_for(entry.file, destination(phoenix.layout, entry.file))
    ]
    report: dict[str, Any] = {
        "version": __version__,
        "time": time.time(),
        "models_root": str(root),
        "gpu": _jsonable(read_gpus()),
        "system": read_system({"models": root, "container": Path("/")}),
        "unfinished_downloads": [
            {"relpath": e.file.relpath, "state": "paused" if e.paused else "unfinished"}
            for e in unfinished
        ],
        "verified_models": len(phoenix.state.records()),
    }
    if args.json:
        print(json.dumps(report, indent=2, default=str))
    else:
        _print_report(report, root)
    return 0


def _print_report(report: dict[str, Any], root: Path) -> None:
    gpu = report["gpu"]
    if gpu.get("available"):
        for g in gpu.get("gpus", []):
            print(
                f"GPU {g.get('index')}: {g.get('name')} ({g.get('sm')}), "
                f"VRAM {human_size(g.get('vram_used'))}/{human_size(g.get('vram_total'))}"
            )
    else:
        print(f"GPU: none ({gpu.get('reason')})")
    print(f"Models: {root} — {report['verified_models']} verified model(s)")
    for name, disk in report["system"].get("disks", {}).items():
        if disk.get("exists", True):
            low = "  (low)" if disk.get("low") else ""
            free, total = human_size(disk.get("free")), human_size(disk.get("total"))
            print(f"Disk {name}: {free} free of {total}{low}")
    for job in report["unfinished_downloads"]:
        print(f"Unfinished: {job['relpath']} ({job['state']}); fetch it again to resume it")


def _jsonable(value: Any) -> Any:
    if hasattr(value, "to_dict"):
        return value.to_dict()
    if is_dataclass(value) and not isinstance(value, type):
        return asdict(value)
    return value
