"""FLUX repositories planned as ComfyUI loads them, the whole family, from one catalog.

- ``catalog.json``: the data: roles (folder, loader), licences, repositories (gated,
  pinned revision), files (path, size, sha256, where each value was read), members.
- ``catalog.py``: reads and checks it (or ``PHOENIX_FLUX_CATALOG``'s replacement).
- ``precision.py``: which precision this GPU gets (``PHOENIX_FLUX_PRECISION``, ``PHOENIX_T5``).
- ``plan.py``: a member's repository reference becomes its files, each with a reason.
"""

from .catalog import Catalog, Member, Part, Pin, Role, load_catalog
from .plan import FluxFile, FluxPlan, flux_plan

__all__ = [
    "Catalog",
    "FluxFile",
    "FluxPlan",
    "Member",
    "Part",
    "Pin",
    "Role",
    "flux_plan",
    "load_catalog",
]
