"""Who may clean and what: everything in the container, elsewhere only a forced scope.

Outside Phoenix's container (a local install) cleanup refuses unless forced with an
explicit scope, and then plans only Phoenix's own files (its runtime folder, stored
tokens, download journal and finished aria2 control files) under that scope.
"""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

from ...errors import ForbiddenError
from .entries import PlanEntry
from .paths import anchor, within
from .roots import CleanupRoots

#: What outside the container counts as Phoenix's own.
_PHOENIX_OWN = frozenset({"secrets", "journal", "aria2-control"})


def check_allowed(*, container: bool, force: bool = False, scope: Path | None = None) -> None:
    """Refuse cleanup outside the container unless forced with an explicit scope.

    Raises:
        ForbiddenError: with the command that would be allowed.
    """
    if container or (force and scope is not None):
        return
    raise ForbiddenError(
        "Cleanup runs only in Phoenix's container (PHOENIX_CONTAINER=1); this is a local install.",
        hint="To remove Phoenix's own files under one folder, run "
        "'phoenix cleanup --force --scope PATH' (add --dry-run to list them first).",
    )


def own_roots(roots: CleanupRoots) -> CleanupRoots:
    """A local install's roots: only Phoenix's own, whatever else the caller knew."""
    return CleanupRoots(
        runtime_dir=roots.runtime_dir,
        tokens_file=roots.tokens_file,
        models_dir=roots.models_dir,
    )


def own_entries(entries: list[PlanEntry]) -> list[PlanEntry]:
    """Only the entries of Phoenix's own files."""
    return [e for e in entries if e.category in _PHOENIX_OWN]


def within_scope(entries: list[PlanEntry], scope: Path) -> list[PlanEntry]:
    """The entries under ``scope``: a removal outside it is kept instead (the plan says why),
    and what would be kept anyway outside it is left out."""
    scope_real = Path(os.path.realpath(scope))
    inside: list[PlanEntry] = []
    for entry in entries:
        if not within(anchor(entry.path), scope_real):
            if entry.action != "keep":
                entry = replace(entry, action="keep", reason=f"outside the scope {scope}")
            else:
                continue
        inside.append(entry)
    return inside
