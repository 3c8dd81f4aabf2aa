"""The machine and the versions a result was measured with, for the report's first paragraph."""

from __future__ import annotations

import contextlib
import os
import platform
import subprocess
from pathlib import Path
from typing import Any

import psutil

from .units import MB


def _version(command: list[str]) -> str:
    try:
        output = subprocess.run(command, capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.TimeoutExpired):
        return "not installed"
    return output.splitlines()[0].strip() if output else "unknown"


def machine_facts(disk_rate: float) -> dict[str, Any]:
    """CPUs, memory, load, kernel and the versions of Python, Phoenix and every client."""
    import huggingface_hub

    from comfyui_phoenix import __version__

    cpu = platform.processor()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return {
        "cpus": os.cpu_count(),
        "cpu": cpu,
        "memory_gb": round(psutil.virtual_memory().total / 1e9, 1),
        "load_average_1m": round(os.getloadavg()[0], 2),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "disk_write_mb_s": round(disk_rate / MB),
        "phoenix": __version__,
        "aria2c": _version(["aria2c", "--version"]),
        "huggingface_hub": huggingface_hub.__version__,
        "curl": _version(["curl", "--version"]),
    }
