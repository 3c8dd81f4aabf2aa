"""Who had ``NAME.part`` before: a stale aria2c is stopped, another engine's part started over.

The cross-process file lock on ``NAME.part`` is Phoenix's, not its aria2c's: when
a Phoenix dies, the next owner of the file may start at once while the dead one's
aria2c still writes (:mod:`.aria2.orphans`). Such an aria2c is killed before any
transfer takes the file over, whichever engine runs it.

Resume data lives in two places. ``jobs/journal.py`` records which downloads were
unfinished when Phoenix stopped, so that they are taken up again; each engine's
own resume file beside the part file records which bytes of it are on disk: the
Python engine's ``NAME.part.phx`` (:mod:`.python.resume_record`) and aria2's
control file ``NAME.part.aria2``. An engine can read only its own, so it trusts
only a part file it began: one the other engine left may have holes (aria2
writes pieces out of order) that this engine would take for bytes.
"""

from __future__ import annotations

import logging
from pathlib import Path

from .aria2 import stop_orphans

log = logging.getLogger(__name__)

#: Each engine's resume file beside ``NAME.part``, by engine name.
CONTROL_SUFFIXES = {"python": ".phx", "aria2": ".aria2"}


def take_over(engine_name: str, part: Path) -> None:
    """Make ``part`` the engine's alone: no stale aria2c writes it, no other engine's bytes stay.

    Args:
        engine_name: the engine about to write ``part`` (``"python"`` or ``"aria2"``).
        part: the part file.
    """
    stop_orphans()
    for other, suffix in CONTROL_SUFFIXES.items():
        control = part.with_name(part.name + suffix)
        if other != engine_name and control.exists():
            log.info("starting %s over: it was begun by the %s engine", part.name, other)
            part.unlink(missing_ok=True)
            control.unlink(missing_ok=True)
