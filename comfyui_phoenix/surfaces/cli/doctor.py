"""``phoenix doctor``: GPU, driver and PyTorch compatibility, the check the bootstrap runs.

Outside the container no NVIDIA GPU is no failure (ComfyUI runs on the CPU or
another backend); in the container it is, unless ``PHOENIX_CPU_MODE`` says so.
"""

from __future__ import annotations

import argparse
import json

from .context import cli_settings
from .main import EXIT_FAILED


def run(args: argparse.Namespace) -> int:
    from ... import gpu_check

    settings = cli_settings(args)
    place = gpu_check.Place(container=settings.container, cpu_mode=settings.cpu_mode)
    report = gpu_check.gather(place=place)
    if args.json:
        print(json.dumps(report.to_dict(), indent=2, default=str))
    else:
        print(gpu_check.format_report(report))
    return 0 if gpu_check.report_ok(report) else EXIT_FAILED
