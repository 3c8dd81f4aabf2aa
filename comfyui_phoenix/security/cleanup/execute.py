"""Carrying out a plan: each removal checked against the roots, then done, whatever fails.

Small sensitive files are overwritten first until the time budget runs out (so cleanup
fits a stop grace period); from then on they are only removed.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from pathlib import Path

from .paths import anchor, within
from .plan import CleanupPlan, plan_cleanup
from .removal import carry_out
from .report import CleanupReport
from .roots import CleanupRoots
from .storage_mode import StorageMode

log = logging.getLogger(__name__)


def execute_plan(
    plan: CleanupPlan,
    *,
    budget: float | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> CleanupReport:
    """Carry out ``plan`` (blocking). Every failure is recorded; none stops the rest.

    Args:
        plan: from :func:`.plan.plan_cleanup`.
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
        # Checked once, then acted on exactly as checked: carry_out walks this resolved
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
        errors = carry_out(entry, checked, overwrite, report)
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
