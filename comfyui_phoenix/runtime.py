"""Every file the container's parts share, by name, and the ``runtime.env`` format.

The bootstrap writes these files; the extension inside ComfyUI and a terminal's
``phoenix`` read them. Both sides take the names and the format from here, so a
value written by one is read back unchanged by the other (a models folder with a
space in its name included).

In ``PHOENIX_RUNTIME_DIR`` (tmpfs, ``/dev/shm/phoenix`` in the container):
``secrets.json`` (0600: the tokens, handed over once), ``boot-report.json`` (the
steps, checks and chosen flags; no secrets), ``panel-tokens.json`` (tokens saved in
the panel; gone with the pod) and ``boot-marker`` (files in ``/tmp`` newer than it are
this boot's). In ``/etc/phoenix``: ``runtime.env`` (the non-secret choices) and
``extra_model_paths.yaml`` (ComfyUI's model folders).
"""

from __future__ import annotations

import os
import shlex
from collections.abc import Mapping
from pathlib import Path

SECRETS_FILE = "secrets.json"
BOOT_REPORT_FILE = "boot-report.json"
PANEL_TOKENS_FILE = "panel-tokens.json"
BOOT_MARKER_FILE = "boot-marker"

ETC_DIR = Path("/etc/phoenix")
RUNTIME_ENV_FILE = "runtime.env"
EXTRA_MODEL_PATHS_FILE = "extra_model_paths.yaml"
#: Names another ``runtime.env`` (tests, or a bootstrap with another ``/etc``).
RUNTIME_ENV_VARIABLE = "PHOENIX_RUNTIME_ENV"

#: Tokens saved in the panel on a local install, under ComfyUI's user folder.
LOCAL_TOKENS_FILE = Path("phoenix") / "tokens.json"

_HEADER = "# Written by Phoenix's bootstrap at each boot. No secrets here.\n"


def runtime_env_path(environ: Mapping[str, str]) -> Path:
    """The ``runtime.env`` this process reads: ``PHOENIX_RUNTIME_ENV``, else ``/etc/phoenix``'s."""
    return Path(environ.get(RUNTIME_ENV_VARIABLE) or ETC_DIR / RUNTIME_ENV_FILE)


def format_runtime_env(values: Mapping[str, str]) -> str:
    """``NAME=value`` lines, each value shell-quoted, as :func:`parse_runtime_env` reads them."""
    body = "".join(f"{name}={shlex.quote(value)}\n" for name, value in values.items())
    return _HEADER + body


def parse_runtime_env(text: str) -> dict[str, str]:
    """The values of a ``runtime.env``; comments, blank and unreadable lines are skipped."""
    values: dict[str, str] = {}
    for line in text.splitlines():
        if "=" not in line or line.lstrip().startswith("#"):
            continue
        name, raw = line.split("=", 1)
        try:
            parts = shlex.split(raw)
        except ValueError:
            continue
        values[name.strip()] = parts[0] if parts else ""
    return values


def read_runtime_env(path: Path) -> dict[str, str]:
    """The values in ``path``; a missing or unreadable file holds none."""
    try:
        return parse_runtime_env(path.read_text(encoding="utf-8"))
    except OSError:
        return {}


def container_environ(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """``environ`` (default: the process's) over the ``runtime.env`` choices it names."""
    base = dict(os.environ if environ is None else environ)
    return {**read_runtime_env(runtime_env_path(base)), **base}
