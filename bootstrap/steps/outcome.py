"""How a boot step ends: an :class:`Outcome` it returns, or :class:`Fatal`, which stops the boot.

:func:`record` logs an outcome and puts it in ``boot-report.json``; the runner calls it
for every step, and the gate check once more when it runs late.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..console import FAIL, INFO, OK, WARN
from ..context import BootContext

EXIT_CONFIG = 2
EXIT_FAILED = 1

_MARKS = {"ok": OK, "info": INFO, "warn": WARN, "failed": FAIL, "skipped": INFO}


@dataclass
class Outcome:
    """How a step ended: status ``ok``, ``info``, ``warn``, ``failed`` or ``skipped``."""

    status: str
    message: str
    fix: str | None = None
    details: list[str] = field(default_factory=list)


class Fatal(Exception):
    """A critical step failed: the boot cannot go on."""

    def __init__(self, message: str, fix: str | None = None, *, config: bool = False) -> None:
        super().__init__(message)
        self.message, self.fix, self.config = message, fix, config


def record(ctx: BootContext, name: str, outcome: Outcome) -> None:
    """Log a step's outcome and put it in the report."""
    if outcome.status == "failed":
        ctx.log.fail(name, outcome.message, outcome.fix)
    else:
        ctx.log.line(_MARKS[outcome.status], name, outcome.message)
    details = outcome.details + ([outcome.fix] if outcome.fix else [])
    ctx.report.step_done(name, outcome.status, outcome.message, details)
