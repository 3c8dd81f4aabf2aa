"""The ComfyUI import row: the package root imported as ComfyUI imports it, timed.

Each run is a fresh interpreter running :mod:`.load_as_comfyui`; one more, under
``-X importtime``, says which modules the import's time goes to (its own figure is left
out: ``-X importtime`` slows what it measures).
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

from .importtime import heaviest, parse
from .load_as_comfyui import MARK
from .wall_time import spread

CHILD = Path(__file__).with_name("load_as_comfyui.py")


def _load(folder: Path, env: dict[str, str], *flags: str) -> tuple[dict[str, Any], str]:
    command = [sys.executable, *flags, str(CHILD), str(folder)]
    answer = subprocess.run(command, env=env, capture_output=True, text=True)
    if answer.returncode != 0:
        raise RuntimeError(f"importing {folder} as ComfyUI does failed:\n{answer.stderr}")
    loaded: dict[str, Any] = json.loads(answer.stdout.splitlines()[-1])
    return loaded, answer.stderr


def comfyui_import(folder: Path, env: dict[str, str], runs: int, count: int = 5) -> dict[str, Any]:
    """Import ``folder`` ``runs`` times as ComfyUI does, each in a fresh interpreter.

    Args:
        folder: the checkout's root (the folder ComfyUI finds in ``custom_nodes``).
        env: the children's environment.
        runs: how many fresh interpreters.
        count: how many of the heaviest modules to name.

    Returns:
        The seconds (min, median, max), the row ComfyUI would print for the median, what
        the import registered, and the heaviest modules it imported.
    """
    loads = [_load(folder, env)[0] for _ in range(runs)]
    seconds = spread([loaded["seconds"] for loaded in loads])
    _, stderr = _load(folder, env, "-X", "importtime")
    own = stderr.split(MARK, 1)[1]
    prefix = str(folder).replace(".", "_x_") + "."
    # ComfyUI names the package after its folder's path; show its modules by their own names.
    entries = [replace(entry, name=entry.name.removeprefix(prefix)) for entry in parse(own)]
    return {
        "seconds": seconds,
        "comfyui_row": f"{seconds['median']:6.1f} seconds: {folder}",
        "modules_imported": loads[-1]["modules_imported"],
        "nodes": loads[-1]["nodes"],
        "routes": loads[-1]["routes"],
        "heaviest": heaviest([entries], count, set()),
    }
