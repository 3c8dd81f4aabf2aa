"""The plan: every path cleanup would act on, in the order removals run, and what stays.

Building it walks the roots to measure them (blocking); nothing is touched until it is
carried out (:mod:`.execute`), so the CLI and the panel can list it in full first.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ...units import human_size
from .entries import PlanEntry, data_entry, file_entry, folder_entry
from .paths import anchor, walk
from .policy import FORCED_JOURNAL, HF_TOKEN_FILES, HISTORY_FILES, data_fate
from .roots import CleanupRoots
from .scope import check_allowed, own_entries, own_roots, within_scope
from .storage_mode import StorageMode
from .tmp_sweep import tmp_entries


@dataclass
class CleanupPlan:
    """What cleanup would do: removals in the order they run, and what stays and why."""

    entries: list[PlanEntry]
    mode: StorageMode
    container: bool
    scope: Path | None
    #: Anchors of every root: nothing outside them is ever touched.
    bases: tuple[Path, ...]

    @property
    def removals(self) -> list[PlanEntry]:
        return [e for e in self.entries if e.action != "keep"]

    @property
    def kept(self) -> list[PlanEntry]:
        return [e for e in self.entries if e.action == "keep"]

    def to_dict(self) -> dict[str, Any]:
        removals = self.removals
        return {
            "container": self.container,
            "storage": self.mode.to_dict(),
            "scope": str(self.scope) if self.scope else None,
            "items": [e.to_dict() for e in removals],
            "kept": [e.to_dict() for e in self.kept],
            "total_bytes": sum(e.size for e in removals),
            "total_files": sum(e.files for e in removals),
        }

    def lines(self) -> list[str]:
        """The plan for a terminal: one line per entry."""
        out = [
            f"Storage: {self.mode.name}{', PARANOID_MODE' if self.mode.paranoid else ''}"
            + (f"; scope {self.scope}" if self.scope else "")
        ]
        for entry in self.entries:
            size = f" ({human_size(entry.size)}, {entry.files} files)" if entry.files > 1 else ""
            out.append(f"  {entry.action:<16} {entry.path}{size}  - {entry.reason}")
        if len(out) == 1:
            out.append("  nothing to remove")
        return out


def plan_cleanup(
    roots: CleanupRoots,
    mode: StorageMode,
    *,
    container: bool,
    scope: Path | None = None,
) -> CleanupPlan:
    """Build the plan (blocking: it walks the roots to measure them).

    Args:
        roots: where to look.
        mode: the storage mode, deciding user data and models.
        container: True only in Phoenix's container; otherwise ``scope`` is required and only
            Phoenix's own files are planned.
        scope: when set, nothing outside this folder is planned.

    Raises:
        ForbiddenError: outside the container without a scope.
    """
    check_allowed(container=container, force=scope is not None, scope=scope)
    own_only = not container
    if own_only:
        roots = own_roots(roots)
    entries = _candidates(roots, mode, own_only=own_only)
    if own_only:
        entries = own_entries(entries)
    if scope is not None:
        entries = within_scope(entries, scope)
    bases = tuple(dict.fromkeys(anchor(p) for p in roots.all_paths()))
    return CleanupPlan(entries, mode, container, scope, bases)


def _candidates(roots: CleanupRoots, mode: StorageMode, *, own_only: bool) -> list[PlanEntry]:
    """Every entry for these roots, in the order removals run: secrets first, models last."""
    entries: list[PlanEntry] = []
    add = entries.extend
    add(_hf_token_entries(roots.caches))
    add(file_entry(roots.tokens_file, "secrets"))
    add(folder_entry(roots.filebrowser_db, "filebrowser", "overwrite+rmtree"))
    add(folder_entry(roots.runtime_dir, "secrets", "overwrite+empty"))
    for home in roots.homes:
        for rel in HISTORY_FILES:
            add(file_entry(home / rel, "histories"))
    add(folder_entry(roots.logs_dir, "logs", "overwrite+empty"))
    add(folder_entry(roots.comfy_temp, "comfy-temp", "overwrite+empty"))
    for category, path in (
        ("inputs", roots.comfy_input),
        ("outputs", roots.comfy_output),
        ("user", roots.comfy_user),
        ("user", roots.comfy_database),
    ):
        add(data_entry(path, category, mode))
    journal = roots.models_dir / ".phoenix" if roots.models_dir else None
    if own_only:
        add(folder_entry(journal, "journal", "overwrite+rmtree", FORCED_JOURNAL))
    else:
        add(data_entry(journal, "journal", mode))
    models_go, _ = data_fate("models", mode)
    if roots.models_dir is not None and (own_only or not models_go):
        add(_aria2_control_entries(roots.models_dir))
    add(tmp_entries(roots.tmp_dir, roots.boot_marker, roots.all_paths()))
    for cache in roots.caches:
        add(folder_entry(cache, "caches", "rmtree"))
    add(data_entry(roots.models_dir, "models", mode))
    return entries


def _hf_token_entries(caches: Iterable[Path]) -> list[PlanEntry]:
    entries: list[PlanEntry] = []
    for cache in caches:
        for name in HF_TOKEN_FILES:
            entries += file_entry(cache / name, "secrets", "a stored HuggingFace login: always removed")  # fmt: skip
    return entries


def _aria2_control_entries(models: Path) -> list[PlanEntry]:
    """``NAME.aria2`` files whose download is no longer there: the job finished or was dropped."""
    entries: list[PlanEntry] = []
    for folder, dirs, files in walk(models):
        dirs[:] = [d for d in dirs if d != ".phoenix"]
        for name in files:
            if name.endswith(".aria2") and not os.path.lexists(folder / name[: -len(".aria2")]):
                entries += file_entry(folder / name, "aria2-control")
    return entries
