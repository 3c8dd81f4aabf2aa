"""Removing one planned entry through folder handles, so a swapped folder cannot redirect it.

Every folder on the way is opened from ``/`` without following a link, and the entry is
removed relative to its parent's descriptor: a folder swapped for a symbolic link after
the plan is refused, never followed. A link itself is removed, never what it points to.
"""

from __future__ import annotations

import errno
import os
import shutil
import stat
import sys
from pathlib import Path
from typing import Any

from .entries import PlanEntry
from .overwrite import overwrite_file, overwrite_tree
from .report import CleanupReport

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


def carry_out(
    entry: PlanEntry, checked: Path, overwrite: bool, report: CleanupReport
) -> list[dict[str, Any]]:
    """Remove (or empty) one planned entry, overwriting its small files first if asked.

    Args:
        entry: the planned entry.
        checked: ``entry.path`` as checked against the plan's roots (:func:`.paths.anchor`).
        overwrite: overwrite small files before they go.
        report: counts the files overwritten.

    Returns:
        The failures, as ``{path, error}``; none when the entry is gone.
    """
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

    ``checked``'s folder is fully resolved (:func:`.paths.anchor`), so every step must be a real
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
