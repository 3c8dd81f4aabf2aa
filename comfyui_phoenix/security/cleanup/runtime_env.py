"""The container's ``/etc/phoenix/runtime.env``: the choices the bootstrap wrote at boot.

Cleanup reads it so that ``phoenix cleanup`` in a terminal and the panel find the same
folders and storage mode as the bootstrap's exit.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

RUNTIME_ENV = Path("/etc/phoenix/runtime.env")


def container_environ(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """``environ`` (default: the process's) over ``/etc/phoenix/runtime.env``'s choices.

    ``PHOENIX_RUNTIME_ENV`` names another file (tests).
    """
    base = dict(os.environ if environ is None else environ)
    path = Path(base.get("PHOENIX_RUNTIME_ENV") or RUNTIME_ENV)
    return {**read_env_file(path), **base}


def read_env_file(path: Path) -> dict[str, str]:
    """``NAME=value`` lines (shell-quoted values allowed); a missing file is empty."""
    import shlex

    try:
        lines = path.read_text().splitlines()
    except OSError:
        return {}
    values: dict[str, str] = {}
    for line in lines:
        if "=" not in line or line.lstrip().startswith("#"):
            continue
        name, raw = line.split("=", 1)
        try:
            parts = shlex.split(raw)
        except ValueError:
            continue
        values[name.strip()] = parts[0] if parts else ""
    return values
