"""Runs the boot's steps in order: each one recorded, the rest skipped after a fatal one.

A step's :class:`~.outcome.Fatal`, or a ``failed`` outcome from a critical step, ends
the boot with exit status 1 (2 for a bad setting). A :class:`PhoenixError` or
``OSError`` from a step becomes its ``failed`` outcome, with the error's words.
"""

from __future__ import annotations

from collections.abc import Sequence

from comfyui_phoenix import __version__
from comfyui_phoenix.errors import PhoenixError

from ..context import BootContext
from .order import STEPS, Step
from .outcome import EXIT_CONFIG, EXIT_FAILED, Fatal, Outcome, record


async def run_steps(ctx: BootContext, steps: Sequence[Step] = STEPS) -> int:
    """Run ``steps`` in order; returns the exit status (0 when none was fatal)."""
    ctx.report.declare_steps([(step.name, step.title) for step in steps])
    ctx.log.info("boot", f"Phoenix {__version__} bootstrap starting")
    for index, step in enumerate(steps):
        try:
            await run_step(ctx, step)
        except Fatal as exc:
            for later in steps[index + 1 :]:
                ctx.report.step_done(later.name, "skipped", "not run: an earlier step failed")
            return EXIT_CONFIG if exc.config else EXIT_FAILED
    return 0


async def run_step(ctx: BootContext, step: Step) -> None:
    """Run one step and record how it ended.

    Raises:
        Fatal: the step raised it, or it is critical and failed.
    """
    ctx.report.step_started(step.name)
    try:
        outcome = await step.run(ctx)
    except Fatal as exc:
        ctx.log.fail(step.name, exc.message, exc.fix)
        ctx.report.step_done(step.name, "failed", exc.message, [exc.fix] if exc.fix else [])
        raise
    except PhoenixError as exc:
        outcome = Outcome("failed", exc.detail, exc.hint)
    except OSError as exc:
        outcome = Outcome("failed", f"{exc.strerror or exc} ({exc.filename or 'no file'})")
    if outcome.status == "failed" and step.critical:
        ctx.log.fail(step.name, outcome.message, outcome.fix)
        ctx.report.step_done(step.name, "failed", outcome.message, outcome.details)
        raise Fatal(outcome.message, outcome.fix)
    record(ctx, step.name, outcome)
