"""Forensic cleanup: one plan, listed in full first, then carried out fast.

The same code serves ``phoenix cleanup``, the panel (``GET /phoenix/cleanup/plan``,
``POST /phoenix/cleanup``) and the bootstrap's exit. A :class:`CleanupPlan` is built from
explicit roots (:class:`CleanupRoots`) and the storage mode (:class:`StorageMode`):

==========================  =========  ==============  ================  ======================
what                        ephemeral  USE_VOLUME      PARANOID_MODE     PARANOID_MODE + volume
==========================  =========  ==============  ================  ======================
secrets, boot report, logs  removed    removed         removed           removed
caches, histories, /tmp    removed    removed         removed           removed
FileBrowser's database      removed    removed         removed           removed
aria2 control files (done)  removed    removed         removed           removed
ComfyUI temp                removed    removed         removed           removed
inputs, outputs, user dir   removed    kept            removed           removed
journal and records         removed    kept            removed           removed
models                      removed    kept            removed           kept (public data)
==========================  =========  ==============  ================  ======================

Small sensitive files (up to :data:`OVERWRITE_LIMIT`) are overwritten with zeros and
flushed before they are unlinked; large files (models) are only unlinked: overwriting
30 GB cannot finish inside a stop grace period, and on SSDs, overlayfs and network
volumes overwriting in place proves nothing anyway. The real protection is that
secrets (always) and user data (``PARANOID_MODE``) live on tmpfs.

Cleanup runs only in Phoenix's container (``PHOENIX_CONTAINER=1``). Elsewhere it refuses
unless forced with an explicit scope, and then touches only Phoenix's own files (its
runtime folder, stored tokens, download journal and finished aria2 control files) under
that scope. It never acts outside the roots it was given, and never follows a symbolic
link: a link is removed, never what it points to.
"""

from __future__ import annotations

import errno
import logging
import os
import shutil
import stat
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ...units import human_size
from .entries import PlanEntry
from .overwrite import OVERWRITE_LIMIT, overwrite_file, overwrite_tree
from .paths import anchor, within
from .plan import CleanupPlan, plan_cleanup
from .policy import CACHE_VARIABLES
from .roots import CleanupRoots, cache_dirs
from .runtime_env import container_environ, read_env_file
from .scope import check_allowed
from .storage_mode import StorageMode
from .tmp_sweep import BOOT_MARKER, mark_boot
from .tmpfs import PARANOID_MIN_SHM, ParanoidStorage, filesystem_type, paranoid_storage

__all__ = [
    "BOOT_MARKER",
    "CACHE_VARIABLES",
    "OVERWRITE_LIMIT",
    "PARANOID_MIN_SHM",
    "CleanupPlan",
    "CleanupReport",
    "CleanupRoots",
    "ParanoidStorage",
    "PlanEntry",
    "StorageMode",
    "cache_dirs",
    "check_allowed",
    "container_environ",
    "execute_plan",
    "filesystem_type",
    "mark_boot",
    "overwrite_file",
    "overwrite_tree",
    "paranoid_storage",
    "plan_cleanup",
    "read_env_file",
    "run_cleanup",
]

log = logging.getLogger(__name__)


# -- carrying it out ----------------------------------------------------------------------------
@dataclass
class CleanupReport:
    """What a cleanup did: removed, kept (why) and could not remove (why)."""

    removed: list[dict[str, Any]] = field(default_factory=list)
    kept: list[dict[str, Any]] = field(default_factory=list)
    failed: list[dict[str, Any]] = field(default_factory=list)
    overwritten: int = 0
    overwrite_skipped: int = 0
    bytes_removed: int = 0
    seconds: float = 0.0
    storage: dict[str, Any] = field(default_factory=dict)
    finished_at: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.failed

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "removed": self.removed,
            "kept": self.kept,
            "failed": self.failed,
            "overwritten": self.overwritten,
            "overwrite_skipped": self.overwrite_skipped,
            "bytes_removed": self.bytes_removed,
            "seconds": round(self.seconds, 3),
            "storage": self.storage,
            "finished_at": self.finished_at,
        }

    def summary(self) -> str:
        return (
            f"cleanup: {len(self.removed)} removed ({human_size(self.bytes_removed)}, "
            f"{self.overwritten} small files overwritten first), {len(self.kept)} kept, "
            f"{len(self.failed)} failed, in {self.seconds:.2f} s"
        )


def execute_plan(
    plan: CleanupPlan,
    *,
    budget: float | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> CleanupReport:
    """Carry out ``plan`` (blocking). Every failure is recorded; none stops the rest.

    Args:
        plan: from :func:`plan_cleanup`.
        budget: seconds after which small files are no longer overwritten (still removed),
            so cleanup fits a stop grace period.
        clock: a monotonic clock (tests).
    """
    start = clock()
    deadline = start + budget if budget is not None else None
    report = CleanupReport(storage=plan.mode.to_dict())
    report.kept = [
        {"path": str(e.path), "category": e.category, "reason": e.reason} for e in plan.kept
    ]
    for entry in plan.removals:
        # Checked once, then acted on exactly as checked: _carry_out walks this resolved
        # path without following a link, so a folder swapped for one in between is refused.
        checked = anchor(entry.path)
        if not any(within(checked, base) for base in plan.bases):
            report.failed.append({"path": str(entry.path), "error": "outside every known root"})
            continue
        if not os.path.lexists(checked):
            continue  # removed with an earlier entry that held it
        overwrite = entry.action.startswith("overwrite")
        if overwrite and deadline is not None and clock() > deadline:
            overwrite = False
            report.overwrite_skipped += entry.files
        errors = _carry_out(entry, checked, overwrite, report)
        if errors:
            report.failed.extend(errors)
        else:
            report.removed.append(
                {"path": str(entry.path), "category": entry.category, "action": entry.action}
            )
            report.bytes_removed += entry.size
    report.seconds = clock() - start
    report.finished_at = time.time()
    log.info("%s", report.summary())
    for failure in report.failed[:20]:
        log.warning("cleanup could not remove %s: %s", failure["path"], failure["error"])
    return report


def run_cleanup(
    roots: CleanupRoots,
    mode: StorageMode,
    *,
    container: bool,
    scope: Path | None = None,
    budget: float | None = None,
) -> CleanupReport:
    """Plan and carry out in one call (the bootstrap's exit)."""
    return execute_plan(plan_cleanup(roots, mode, container=container, scope=scope), budget=budget)


#: Acting relative to folder descriptors needs ``dir_fd`` support (POSIX) and
#: ``shutil.rmtree(dir_fd=...)`` (Python 3.11). Elsewhere (Windows, 3.10) cleanup falls back
#: to plain paths, which a folder swapped for a link mid-cleanup could misdirect; that is
#: acceptable only because cleanup acts in Phoenix's Linux container, on Python 3.11+.
_BY_DESCRIPTOR = (
    {os.open, os.stat, os.unlink, os.rmdir} <= os.supports_dir_fd
    and os.scandir in os.supports_fd
    and shutil.rmtree.avoids_symlink_attacks
    and sys.version_info >= (3, 11)
    and hasattr(os, "O_NOFOLLOW")
    and hasattr(os, "O_DIRECTORY")
)
_FOLDER_FLAGS = (
    getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
)
#: O_PATH (Linux) needs only search permission on a folder, like an ordinary path lookup.
_SEARCH_FLAGS = getattr(os, "O_PATH", os.O_RDONLY) | _FOLDER_FLAGS
_SWAPPED = "a folder on its way changed after the plan (now a link or not a folder); left alone"


class _Swapped(OSError):
    """A folder on the way to an entry is no longer the folder that was checked."""


def _carry_out(
    entry: PlanEntry, checked: Path, overwrite: bool, report: CleanupReport
) -> list[dict[str, Any]]:
    if not _BY_DESCRIPTOR:
        return _carry_out_by_path(entry, overwrite, report)
    try:
        parent = _open_folders(checked)
    except FileNotFoundError:
        return []  # removed with an earlier entry that held it
    except _Swapped:
        return [{"path": str(entry.path), "error": _SWAPPED}]
    except OSError as exc:
        return [{"path": str(entry.path), "error": exc.strerror or type(exc).__name__}]
    try:
        return _carry_out_at(entry, parent, checked, overwrite, report)
    finally:
        os.close(parent)


def _open_folders(checked: Path) -> int:
    """A descriptor of ``checked``'s folder, opened from ``/`` one folder at a time.

    ``checked``'s folder is fully resolved (:func:`anchor`), so every step must be a real
    folder: one that is now a link was swapped after the check, and the walk stops there.

    Raises:
        _Swapped: a step is a link or not a folder.
        OSError: a step cannot be opened (FileNotFoundError: it is gone).
    """
    fd = os.open(checked.anchor, _SEARCH_FLAGS)
    try:
        for name in checked.parent.parts[1:]:
            try:
                step = os.open(name, _SEARCH_FLAGS, dir_fd=fd)
            except OSError as exc:
                if exc.errno in (errno.ELOOP, errno.ENOTDIR):
                    raise _Swapped(exc.errno, exc.strerror) from exc
                raise
            os.close(fd)
            fd = step
            # O_PATH with O_NOFOLLOW may open a link itself: only a folder goes on.
            if not stat.S_ISDIR(os.fstat(fd).st_mode):
                raise _Swapped(errno.ENOTDIR, os.strerror(errno.ENOTDIR))
    except BaseException:
        os.close(fd)
        raise
    return fd


def _carry_out_at(
    entry: PlanEntry, parent: int, checked: Path, overwrite: bool, report: CleanupReport
) -> list[dict[str, Any]]:
    """:func:`_carry_out_by_path`, with every call relative to the folder ``parent``."""
    errors: list[dict[str, Any]] = []
    name = checked.name
    try:
        info = os.stat(name, dir_fd=parent, follow_symlinks=False)
        if entry.action.endswith("unlink") and stat.S_ISDIR(info.st_mode):
            return [{"path": str(entry.path), "error": "became a folder after the plan; left alone"}]  # fmt: skip
        if not stat.S_ISDIR(info.st_mode):
            if overwrite and overwrite_file(Path(name), dir_fd=parent):
                report.overwritten += 1
            os.unlink(name, dir_fd=parent)
            return errors
        if overwrite:
            report.overwritten += overwrite_tree(Path(name), dir_fd=parent)
        if entry.action.endswith("rmtree"):
            _rmtree(Path(name), errors, dir_fd=parent, shown=checked.parent)
        else:
            _empty_at(name, parent, checked, errors)
    except FileNotFoundError:
        pass
    except OSError as exc:
        errors.append({"path": str(entry.path), "error": exc.strerror or type(exc).__name__})
    return errors


def _carry_out_by_path(
    entry: PlanEntry, overwrite: bool, report: CleanupReport
) -> list[dict[str, Any]]:
    errors: list[dict[str, Any]] = []
    path = entry.path
    try:
        info = path.lstat()
        if entry.action.endswith("unlink") and stat.S_ISDIR(info.st_mode):
            return [{"path": str(path), "error": "became a folder after the plan; left alone"}]
        if not stat.S_ISDIR(info.st_mode):
            if overwrite and overwrite_file(path):
                report.overwritten += 1
            path.unlink()
            return errors
        if overwrite:
            report.overwritten += overwrite_tree(path)
        if entry.action.endswith("rmtree"):
            _rmtree(path, errors)
        else:
            _empty(path, errors)
    except FileNotFoundError:
        pass
    except OSError as exc:
        errors.append({"path": str(path), "error": exc.strerror or type(exc).__name__})
    return errors


def _rmtree(
    path: Path,
    errors: list[dict[str, Any]],
    *,
    dir_fd: int | None = None,
    shown: Path | None = None,
) -> None:
    """``shutil.rmtree`` recording failures; with ``dir_fd``, ``path`` is relative to that
    folder, which ``shown`` names in the report."""

    def record(_function: Any, failed: str, exc: Any) -> None:
        error = exc[1] if isinstance(exc, tuple) else exc
        if not isinstance(error, FileNotFoundError):
            where = str(shown / failed) if shown is not None else failed
            errors.append({"path": where, "error": getattr(error, "strerror", None) or str(error)})

    # ``onerror`` became ``onexc`` in Python 3.12 (the old name warns there).
    handler: dict[str, Any] = (
        {"onexc": record} if sys.version_info >= (3, 12) else {"onerror": record}
    )
    if dir_fd is not None:
        handler["dir_fd"] = dir_fd
    shutil.rmtree(path, **handler)


def _empty_at(name: str, parent: int, shown: Path, errors: list[dict[str, Any]]) -> None:
    """:func:`_empty` for the folder ``name`` in the folder ``parent``, never following a link."""
    fd = os.open(name, os.O_RDONLY | _FOLDER_FLAGS, dir_fd=parent)
    try:
        with os.scandir(fd) as listing:
            children = list(listing)
        for child in children:
            try:
                if child.is_dir(follow_symlinks=False):
                    _rmtree(Path(child.name), errors, dir_fd=fd, shown=shown)
                else:
                    os.unlink(child.name, dir_fd=fd)
            except FileNotFoundError:
                continue
            except OSError as exc:
                errors.append({"path": str(shown / child.name), "error": exc.strerror or type(exc).__name__})  # fmt: skip
    finally:
        os.close(fd)


def _empty(folder: Path, errors: list[dict[str, Any]]) -> None:
    """Remove everything inside ``folder``; the folder itself stays for the services that use it."""
    with os.scandir(folder) as children:
        for child in list(children):
            try:
                if child.is_dir(follow_symlinks=False):
                    _rmtree(Path(child.path), errors)
                else:
                    os.unlink(child.path)
            except FileNotFoundError:
                continue
            except OSError as exc:
                errors.append({"path": child.path, "error": exc.strerror or type(exc).__name__})
