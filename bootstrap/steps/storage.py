"""Step ``storage``: the volume or ephemeral layout, ``extra_model_paths.yaml``, ``runtime.env``.

With ``PARANOID_MODE``, ``/dev/shm`` is checked first: inputs, outputs and workflows
go to tmpfs only when it is tmpfs and large enough.
"""

from __future__ import annotations

import asyncio

from ..context import BootContext
from ..storage import GIB, inspect_volume, plan_storage, prepare_folders, write_storage_files
from ..tmpfs import paranoid_storage
from .outcome import Outcome


async def prepare_storage(ctx: BootContext) -> Outcome:
    """Choose where models and user data live, create the folders, write the config files."""
    settings, options = ctx.require_settings(), ctx.options
    volume = inspect_volume(ctx.paths.workspace)
    shm = None
    if settings.paranoid_mode:
        shm = await asyncio.to_thread(
            paranoid_storage,
            ctx.paths.shm,
            options.shm_min_bytes,
            check_tmpfs=options.shm_must_be_tmpfs,
        )
    layout = plan_storage(settings, ctx.paths, volume, shm)
    await asyncio.to_thread(prepare_folders, layout, ctx.run_as.owner)
    write_storage_files(layout, ctx.paths, settings, user=options.user, environ=ctx.environ)
    ctx.layout = layout
    ctx.report.set(
        "storage",
        {
            **layout.to_dict(),
            "workspace": {
                "exists": volume.exists,
                "is_mount": volume.is_mount,
                "free_bytes": volume.free_bytes,
            },
        },
    )
    for note in layout.notes:
        ctx.log.warn("storage", note)
    free = f", {volume.free_bytes / GIB:.0f} GiB free" if volume.free_bytes else ""
    if layout.mode == "volume":
        message = f"volume: models, inputs, outputs and workflows on {layout.data_root}{free}"
    else:
        message = f"ephemeral: everything under {layout.data_root}, gone when the pod stops"
    if layout.user_data_on_tmpfs:
        message += "; inputs, outputs and workflows on tmpfs (PARANOID_MODE)"
    elif settings.paranoid_mode:
        message += "; PARANOID_MODE cannot keep inputs, outputs and workflows off the disk"
    return Outcome("warn" if layout.notes else "ok", message, details=list(layout.notes))
