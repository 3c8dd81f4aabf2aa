"""The boot: ordered, idempotent steps, the summary, then supervision until a stop signal.

The steps and their order are in :mod:`bootstrap.steps`, what they fill in is a
:class:`~bootstrap.context.BootContext`, the block the boot ends with is
:mod:`bootstrap.summary`, and signals, shutdown and the exit cleanup are
:mod:`bootstrap.lifecycle`. :func:`main` is ``python -m bootstrap``.
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Mapping

from .context import BootContext
from .lifecycle import Lifecycle
from .steps import run_steps
from .summary import log_summary


async def boot(ctx: BootContext) -> int:
    """Run every step; when none was fatal, log the summary. Returns the exit status."""
    code = await run_steps(ctx)
    if code == 0:
        log_summary(ctx)
    return code


def main(environ: Mapping[str, str] | None = None) -> int:
    """Entry point of ``python -m bootstrap``."""
    ctx = BootContext.from_environ(
        dict(os.environ) if environ is None else environ, stream=sys.stdout
    )
    return asyncio.run(Lifecycle(ctx, boot).run())
