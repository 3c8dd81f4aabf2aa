"""What the container removes when it stops: Phoenix's forensic cleanup, given the boot's roots.

The cleanup itself (the plan by storage mode, overwriting small sensitive files, the time
budget) is :mod:`comfyui_phoenix.security.cleanup`, the same code behind ``phoenix
cleanup`` and the panel. This module only says where things are in this boot: the runtime
folder (``secrets.json``, the boot marker, the report), root's and the service user's
homes with their caches, ``/tmp``, FileBrowser's database, ComfyUI's input, output, user
and temp folders, its own ``user/comfyui.db``, and the models folder. ``runtime.env``
names the same places (:func:`bootstrap.storage.runtime_env_text`), so ``phoenix
cleanup`` run from a terminal plans what the exit does.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import replace

from comfyui_phoenix.runtime import BOOT_MARKER_FILE
from comfyui_phoenix.security.cleanup import (
    CleanupReport,
    CleanupRoots,
    StorageMode,
    cache_dirs,
    run_cleanup,
)

from .paths import BootPaths
from .storage import StorageLayout

#: Seconds after which small files are no longer overwritten, only removed: the whole
#: stop, children included, must fit Docker's 10 s.
EXIT_CLEANUP_BUDGET = 2.0


def exit_roots(
    paths: BootPaths,
    layout: StorageLayout | None,
    *,
    user: str,
    environ: Mapping[str, str],
) -> CleanupRoots:
    """Every place the exit cleanup may act on.

    Args:
        paths: the boot's fixed paths.
        layout: the storage step's layout; None when the boot stopped before it, and then
            no user data or models folder is named (nothing says where they are).
        user: the service user, whose home is cleaned along with root's.
        environ: the bootstrap's environment, for the cache variables (``HF_HOME``, …).
    """
    homes = paths.homes(user)
    roots = CleanupRoots(
        runtime_dir=paths.runtime_dir,
        homes=homes,
        caches=cache_dirs(homes, environ),
        tmp_dir=paths.tmp_dir,
        boot_marker=paths.runtime_dir / BOOT_MARKER_FILE,
        filebrowser_db=paths.filebrowser_dir,
    )
    if layout is None:
        return roots
    return replace(
        roots,
        comfy_input=layout.input,
        comfy_output=layout.output,
        comfy_user=layout.user,
        comfy_temp=layout.temp,
        # --database-url puts ComfyUI's database in the user folder; a ComfyUI without that
        # flag keeps it beside its code, whatever --user-directory says.
        comfy_database=paths.comfyui_dir / "user" / "comfyui.db",
        models_dir=layout.models if layout.models_cleanable else None,
    )


def exit_mode(layout: StorageLayout | None, *, paranoid: bool) -> StorageMode:
    """The storage mode the boot actually set up (a volume only when one was mounted)."""
    return StorageMode(volume=layout is not None and layout.mode == "volume", paranoid=paranoid)


async def run_exit_cleanup(roots: CleanupRoots, mode: StorageMode) -> CleanupReport:
    """Plan and carry out the cleanup in a thread (it walks and removes files)."""
    return await asyncio.to_thread(
        run_cleanup, roots, mode, container=True, budget=EXIT_CLEANUP_BUDGET
    )
