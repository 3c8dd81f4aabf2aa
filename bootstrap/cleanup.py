"""What the bootstrap removes when the container stops.

:func:`run_exit_cleanup` carries out an :class:`ExitPlan`. Today the bootstrap's plan
holds its own secrets (``secrets.json``, a leftover FileBrowser users file) and
FileBrowser's database; the forensic plan of the security work (logs, caches, user
data by storage mode) is another producer of the same plan, handed to the same
function. Small files are overwritten, then unlinked; this is defence in depth only,
since the files live on tmpfs and overwriting proves nothing on SSDs or overlayfs.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from .paths import BootPaths

#: Larger files are unlinked without overwriting: it would not fit the stop budget.
OVERWRITE_LIMIT = 1 << 20


@dataclass(frozen=True)
class ExitPlan:
    """Files to overwrite and remove, and folders to remove, at exit."""

    secret_files: tuple[Path, ...] = ()
    folders: tuple[Path, ...] = ()


@dataclass
class CleanupReport:
    removed: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    failed: list[dict[str, str]] = field(default_factory=list)

    def to_dict(self) -> dict[str, object]:
        return {"removed": self.removed, "missing": self.missing, "failed": self.failed}


def bootstrap_exit_plan(paths: BootPaths) -> ExitPlan:
    """The bootstrap's own leftovers: the secrets handoff and FileBrowser's database."""
    return ExitPlan(
        secret_files=(paths.secrets_file, paths.filebrowser_dir / "users-import.json"),
        folders=(paths.filebrowser_dir,),
    )


def run_exit_cleanup(plan: ExitPlan) -> CleanupReport:
    """Carry out ``plan``; every failure is recorded, none stops the rest."""
    report = CleanupReport()
    for path in plan.secret_files:
        _remove_file(path, report)
    for folder in plan.folders:
        if not folder.exists():
            report.missing.append(str(folder))
            continue
        for child in sorted(folder.rglob("*"), reverse=True):
            if child.is_file() and not child.is_symlink():
                _remove_file(child, report)
        try:
            shutil.rmtree(folder)
            report.removed.append(str(folder))
        except OSError as exc:
            report.failed.append({"path": str(folder), "error": exc.strerror or str(exc)})
    return report


def _remove_file(path: Path, report: CleanupReport) -> None:
    try:
        overwrite(path)
        path.unlink()
    except FileNotFoundError:
        report.missing.append(str(path))
    except OSError as exc:
        report.failed.append({"path": str(path), "error": exc.strerror or str(exc)})
    else:
        report.removed.append(str(path))


def overwrite(path: Path) -> None:
    """Overwrite a small regular file with zeros in place, flushed to its device."""
    size = path.lstat().st_size
    if path.is_symlink() or size > OVERWRITE_LIMIT:
        return
    with open(path, "r+b") as handle:
        handle.write(b"\0" * size)
        handle.flush()
        os.fsync(handle.fileno())
