"""One path in the plan: what happens to it and why.

An entry is decided from what the path is when the plan is built (a file, a folder, a
link) and its category: small files of sensitive categories are overwritten first, a
link is only unlinked, an empty folder that would only be emptied is left out.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from .overwrite import OVERWRITE_LIMIT
from .paths import measure
from .policy import ALWAYS_REASONS, SENSITIVE, data_fate
from .storage_mode import StorageMode

#: What happens to a path: overwritten first or not, then unlinked, removed, emptied or kept.
Action = Literal["overwrite+unlink", "unlink", "overwrite+rmtree", "rmtree", "overwrite+empty", "empty", "keep"]  # fmt: skip


@dataclass(frozen=True)
class PlanEntry:
    """One path and what happens to it, and why."""

    path: Path
    category: str
    action: Action
    reason: str
    size: int = 0
    files: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": str(self.path),
            "category": self.category,
            "action": self.action,
            "reason": self.reason,
            "size": self.size,
            "files": self.files,
        }


def data_entry(path: Path | None, category: str, mode: StorageMode) -> list[PlanEntry]:
    """User data or models: kept or removed as the storage mode says (:func:`.policy.data_fate`)."""
    if path is None or not os.path.lexists(path):
        return []
    go, reason = data_fate(category, mode)
    if not go:
        return [PlanEntry(path, category, "keep", reason)]
    sensitive = category in SENSITIVE
    if category == "journal":
        return folder_entry(path, category, "overwrite+rmtree", reason)
    if path.is_file() and not path.is_symlink():
        return file_entry(path, category, reason)
    return folder_entry(path, category, "overwrite+empty" if sensitive else "empty", reason)


def file_entry(path: Path | None, category: str, reason: str | None = None) -> list[PlanEntry]:
    """A file: overwritten first when it is small and sensitive."""
    if path is None:
        return []
    try:
        info = path.lstat()
    except OSError:
        return []
    why = reason or ALWAYS_REASONS[category]
    if stat.S_ISDIR(info.st_mode):
        return folder_entry(path, category, "overwrite+rmtree", why)
    small = stat.S_ISREG(info.st_mode) and info.st_size <= OVERWRITE_LIMIT
    action: Action = "overwrite+unlink" if small and category in SENSITIVE else "unlink"
    if stat.S_ISLNK(info.st_mode):
        action, why = "unlink", f"{why}; a symbolic link: only the link goes"
    return [PlanEntry(path, category, action, why, info.st_size, 1)]


def folder_entry(
    path: Path | None, category: str, action: Action, reason: str | None = None
) -> list[PlanEntry]:
    """A folder removed (``rmtree``) or emptied (``empty``: the folder itself stays)."""
    if path is None:
        return []
    try:
        info = path.lstat()
    except OSError:
        return []
    why = reason or ALWAYS_REASONS[category]
    if not stat.S_ISDIR(info.st_mode):
        return file_entry(path, category, why)
    size, count = measure(path)
    if count == 0 and action.endswith("empty"):
        return []
    return [PlanEntry(path, category, action, why, size, count)]
