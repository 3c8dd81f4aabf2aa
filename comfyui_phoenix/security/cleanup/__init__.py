"""Forensic cleanup: one plan, listed in full first, then carried out fast.

The same code serves ``phoenix cleanup``, the panel (``GET /phoenix/cleanup/plan``,
``POST /phoenix/cleanup``) and the bootstrap's exit. What goes in which storage mode is
the table in :mod:`.policy`. The real protection is that secrets (always) and user data
(``PARANOID_MODE``) live on tmpfs; overwriting small files before removal is the rest.
Cleanup never acts outside the roots it was given, and never follows a symbolic link:
a link is removed, never what it points to.

- ``policy.py``: what is removed in which storage mode, and why (the categories, history
  files, caches, token files, the reasons shown).
- ``storage_mode.py``: the storage mode (volume or not, paranoid or not).
- ``roots.py``: where cleanup may act, and where the container keeps those places.
- ``scope.py``: who may clean what: the container, or a forced scope of Phoenix's own files.
- ``entries.py``: how one path becomes a plan entry (overwrite, unlink, remove, empty, keep).
- ``tmp_sweep.py``: the boot marker and the sweep of what this run left in the temporary folder.
- ``plan.py``: the plan, every candidate in the order removals run.
- ``execute.py``: carrying a plan out within a time budget.
- ``removal.py``: removing one entry through folder handles, so a swapped folder cannot
  redirect it.
- ``overwrite.py``: overwriting small files with zeros before they go.
- ``report.py``: what a cleanup did.
- ``paths.py``: resolving, containment, walking and measuring without following links.

Whether ``/dev/shm`` can hold PARANOID_MODE's user data is the bootstrap's to measure
(``bootstrap/tmpfs.py``).
"""

from .entries import PlanEntry
from .execute import execute_plan, run_cleanup
from .overwrite import OVERWRITE_LIMIT, overwrite_file, overwrite_tree
from .plan import CleanupPlan, plan_cleanup
from .policy import CACHE_VARIABLES
from .report import CleanupReport
from .roots import CleanupRoots, cache_dirs
from .scope import check_allowed
from .storage_mode import StorageMode
from .tmp_sweep import mark_boot

__all__ = [
    "CACHE_VARIABLES",
    "OVERWRITE_LIMIT",
    "CleanupPlan",
    "CleanupReport",
    "CleanupRoots",
    "PlanEntry",
    "StorageMode",
    "cache_dirs",
    "check_allowed",
    "execute_plan",
    "mark_boot",
    "overwrite_file",
    "overwrite_tree",
    "plan_cleanup",
    "run_cleanup",
]
