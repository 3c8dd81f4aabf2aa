"""PARANOID_MODE's tmpfs: whether ``/dev/shm`` can hold a session's user data, and where.

With ``PARANOID_MODE`` the bootstrap puts inputs, outputs, ComfyUI's temporary files and
the user folder in memory, so they never reach a disk that cleanup could not scrub.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import NamedTuple

from comfyui_phoenix.units import human_size

#: Below this much free space ``/dev/shm`` cannot hold a session's inputs and outputs.
PARANOID_MIN_SHM = 1 << 30


class ParanoidStorage(NamedTuple):
    """Whether user data can live on tmpfs, where, and a sentence for the boot report."""

    ok: bool
    dirs: dict[str, Path]
    message: str


def paranoid_storage(
    shm: Path = Path("/dev/shm"),  # noqa: S108 - the one tmpfs a container can count on
    need_bytes: int = PARANOID_MIN_SHM,
    *,
    check_tmpfs: bool = True,
) -> ParanoidStorage:
    """Measure ``shm`` and say whether inputs, outputs, temp files and the user folder fit.

    A container usually cannot mount a tmpfs of its own (no CAP_SYS_ADMIN); ``/dev/shm`` is
    one already, sized anywhere from 64 MB to tens of GB.

    Args:
        shm: the tmpfs to use.
        need_bytes: the free space below which it is not used.
        check_tmpfs: also require that ``shm`` is a memory filesystem (off for tests that
            stand a plain folder in for it).

    Returns:
        ``(ok, dirs, message)``: ``dirs`` maps ``input``, ``output``, ``temp`` (ComfyUI's
        ``--temp-directory`` is its parent) and ``user`` to folders under ``shm`` when ok.
    """
    if not shm.is_dir():
        return ParanoidStorage(False, {}, _paranoid_fallback(f"{shm} does not exist"))
    kind = filesystem_type(shm)
    if check_tmpfs and kind not in ("tmpfs", "ramfs"):
        return ParanoidStorage(False, {}, _paranoid_fallback(f"{shm} is not tmpfs ({kind})"))
    free = shutil.disk_usage(shm).free
    if free < need_bytes:
        reason = f"{shm} has only {human_size(free)} free ({human_size(need_bytes)} needed)"
        return ParanoidStorage(False, {}, _paranoid_fallback(reason))
    base = shm / "phoenix-data"
    dirs = {
        "input": base / "input",
        "output": base / "output",
        "temp": base / "temp",
        "user": base / "user",
    }
    message = (
        f"PARANOID_MODE: inputs, outputs, temporary files and workflows live in {base} "
        f"(memory, {human_size(free)} free), so they never reach a disk."
    )
    return ParanoidStorage(True, dirs, message)


def _paranoid_fallback(reason: str) -> str:
    return (
        f"PARANOID_MODE=true, but {reason}: inputs, outputs, temporary files and workflows "
        "are written to disk and removed at exit, which cannot make them unrecoverable on "
        "SSDs, overlay filesystems or network volumes. Give the pod a larger /dev/shm."
    )


def filesystem_type(path: Path) -> str | None:
    """The filesystem type of the mount holding ``path`` (Linux ``/proc/self/mounts``)."""
    try:
        lines = Path("/proc/self/mounts").read_text().splitlines()
    except OSError:
        return None
    target = Path(os.path.realpath(path))
    best, kind = "", None
    for line in lines:
        parts = line.split()
        if len(parts) < 3:
            continue
        mount = parts[1].replace("\\040", " ")
        if target.is_relative_to(mount) and len(mount) >= len(best):
            best, kind = mount, parts[2]
    return kind
