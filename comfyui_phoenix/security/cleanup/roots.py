"""Where cleanup may act: every root it is given, and where the container keeps them.

Cleanup never acts outside these roots. In the container they come from its environment
and ``runtime.env`` (:meth:`CleanupRoots.from_environment`); inside ComfyUI its
``folder_paths`` override the input, output, user and temp folders.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

from ...runtime import BOOT_MARKER_FILE
from ...settings import Settings
from .paths import anchor
from .policy import CACHE_VARIABLES, HOME_CACHES, XDG_CACHES


@dataclass(frozen=True)
class CleanupRoots:
    """Every place cleanup may act on; None (or empty) means "not here"."""

    runtime_dir: Path | None = None
    tokens_file: Path | None = None
    logs_dir: Path | None = None
    homes: tuple[Path, ...] = ()
    caches: tuple[Path, ...] = ()
    tmp_dir: Path | None = None
    boot_marker: Path | None = None
    filebrowser_db: Path | None = None
    comfy_input: Path | None = None
    comfy_output: Path | None = None
    comfy_user: Path | None = None
    comfy_temp: Path | None = None
    comfy_database: Path | None = None
    models_dir: Path | None = None

    def all_paths(self) -> list[Path]:
        """Every configured root (the boot marker is only read)."""
        found: list[Path] = []
        for item in fields(self):
            if item.name == "boot_marker":
                continue
            value = getattr(self, item.name)
            found.extend(value if isinstance(value, tuple) else [value] if value else [])
        return found

    @classmethod
    def from_environment(
        cls, environ: Mapping[str, str], settings: Settings, **overrides: Any
    ) -> CleanupRoots:
        """The container's roots, from its environment and ``/etc/phoenix/runtime.env``.

        ``environ`` is usually :func:`comfyui_phoenix.runtime.container_environ`. Names read: ``HOME``,
        ``XDG_CACHE_HOME``, ``TMPDIR``, the cache variables (``HF_HOME``, …),
        ``PHOENIX_MODELS_DIR``, ``PHOENIX_INPUT_DIR``, ``PHOENIX_OUTPUT_DIR``,
        ``PHOENIX_USER_DIR``, ``PHOENIX_TEMP_DIR``, ``PHOENIX_LOG_DIR``,
        ``PHOENIX_FILEBROWSER_DB`` and ``PHOENIX_COMFYUI_DIR``; ``PHOENIX_HOMES``
        (``os.pathsep``-separated, written by the bootstrap) adds homes to ``HOME``'s.
        ``overrides`` replace fields (inside ComfyUI its ``folder_paths`` know the input,
        output, user and temp folders). ``PHOENIX_MODELS_CLEANABLE=0`` (the bootstrap's
        verdict on a ``PHOENIX_MODELS_DIR`` outside its data root) leaves the models folder
        out, whatever ``overrides`` name: the exit keeps it, so no other cleanup empties it.
        """
        runtime = settings.runtime_dir
        homes = (Path(environ["HOME"]),) if environ.get("HOME") else ()
        extra = (Path(p) for p in environ.get("PHOENIX_HOMES", "").split(os.pathsep) if p)
        homes = tuple(dict.fromkeys((*homes, *extra)))
        comfyui = _path(environ, "PHOENIX_COMFYUI_DIR")
        roots = cls(
            runtime_dir=runtime,
            tokens_file=None,
            logs_dir=_path(environ, "PHOENIX_LOG_DIR"),
            homes=homes,
            caches=cache_dirs(homes, environ),
            tmp_dir=Path(environ.get("TMPDIR") or "/tmp"),  # noqa: S108 - the folder being cleaned
            boot_marker=runtime / BOOT_MARKER_FILE if runtime else None,
            filebrowser_db=_path(environ, "PHOENIX_FILEBROWSER_DB")
            or (runtime / "filebrowser" if runtime else None),
            comfy_input=_path(environ, "PHOENIX_INPUT_DIR"),
            comfy_output=_path(environ, "PHOENIX_OUTPUT_DIR"),
            comfy_user=_path(environ, "PHOENIX_USER_DIR"),
            comfy_temp=_path(environ, "PHOENIX_TEMP_DIR"),
            comfy_database=comfyui / "user" / "comfyui.db" if comfyui else None,
            models_dir=_path(environ, "PHOENIX_MODELS_DIR") or settings.models_dir,
        )
        roots = replace(roots, **overrides)
        if environ.get("PHOENIX_MODELS_CLEANABLE", "").strip() == "0":
            roots = replace(roots, models_dir=None)
        return roots


def _path(environ: Mapping[str, str], name: str) -> Path | None:
    value = environ.get(name)
    return Path(value) if value else None


def cache_dirs(homes: Iterable[Path], environ: Mapping[str, str]) -> tuple[Path, ...]:
    """pip, huggingface, torch and Triton caches under each home, ``XDG_CACHE_HOME`` and the
    cache variables, without duplicates."""
    found = [home / rel for home in homes for rel in HOME_CACHES]
    xdg = environ.get("XDG_CACHE_HOME")
    if xdg:
        found += [Path(xdg) / name for name in XDG_CACHES]
    found += [Path(environ[name]) for name in CACHE_VARIABLES if environ.get(name)]
    unique: dict[Path, Path] = {}
    for path in found:
        unique.setdefault(anchor(path), path)
    return tuple(unique.values())
