"""The temporary folder's sweep: what this run created there, told by the boot marker.

The bootstrap touches the marker first thing at boot (:func:`mark_boot`); at exit,
whatever in the temporary folder changed after it is this run's and goes, while what was
there before (the image's own files) stays.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable
from pathlib import Path

from ...runtime import BOOT_MARKER_FILE
from .entries import PlanEntry, file_entry, folder_entry
from .paths import anchor, walk, within

#: Touched by the bootstrap at boot: files in the temporary folder newer than it go.


def mark_boot(runtime_dir: Path) -> Path:
    """Touch the boot marker (the bootstrap, first thing at boot): files in the temporary
    folder changed after it are this run's and go at exit."""
    runtime_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    marker = runtime_dir / BOOT_MARKER_FILE
    marker.touch()
    os.utime(marker)
    return marker


def tmp_entries(tmp: Path | None, marker: Path | None, roots: Iterable[Path]) -> list[PlanEntry]:
    """What appeared in the temporary folder after the boot marker (by change time: a file's
    ctime cannot be set back, unlike the mtime that archives restore).

    Args:
        tmp: the temporary folder.
        marker: the boot marker (:func:`mark_boot`); without it nothing is swept.
        roots: every other root: none of them, nor a folder holding one, is swept.
    """
    if tmp is None or not tmp.is_dir():
        return []
    try:
        since = marker.stat().st_mtime if marker else None
    except OSError:
        since = None
    if since is None:
        return [PlanEntry(tmp, "tmp", "keep", "no boot marker: what this run created is unknown")]
    others = {anchor(p) for p in roots if p != tmp}
    if marker is not None:
        others.add(anchor(marker))
    return _new_in(tmp, since, others)


def _new_in(folder: Path, since: float, others: set[Path]) -> list[PlanEntry]:
    entries: list[PlanEntry] = []
    try:
        children = sorted(os.scandir(folder), key=lambda e: e.name)
    except OSError:
        return entries
    for child in children:
        path = Path(child.path)
        resolved = anchor(path)
        if any(within(other, resolved) for other in others):
            continue  # another root, or a folder holding one: never swept as temporary
        info = child.stat(follow_symlinks=False)
        if not stat.S_ISDIR(info.st_mode):
            if info.st_ctime > since:
                entries += file_entry(path, "tmp")
        elif info.st_ctime > since and _all_newer(path, since):
            entries += folder_entry(path, "tmp", "overwrite+rmtree")
        else:
            entries += _new_in(path, since, others)
    return entries


def _all_newer(folder: Path, since: float) -> bool:
    for root, dirs, files in walk(folder):
        for name in dirs + files:
            try:
                if (root / name).lstat().st_ctime <= since:
                    return False
            except OSError:
                continue
    return True
