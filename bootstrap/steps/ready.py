"""Step ``ready``: ComfyUI answers ``/system_stats``, or the boot says why it does not.

Not critical: a ComfyUI still busy importing custom nodes is left running and the gate
check waits for it (:mod:`.gate`).
"""

from __future__ import annotations

import asyncio
import time

from ..context import BootContext
from .outcome import Outcome


async def wait_ready(ctx: BootContext) -> Outcome:
    """Wait for ComfyUI's readiness probe, its crash, or the ready timeout."""
    service = ctx.services["comfyui"]
    began = time.monotonic()
    ready = asyncio.create_task(service.ready.wait())
    try:
        await asyncio.wait(
            {ready, service.finished()},
            timeout=ctx.options.ready_timeout,
            return_when=asyncio.FIRST_COMPLETED,
        )
    finally:
        ready.cancel()
    if service.ready.is_set():
        took = time.monotonic() - began
        return Outcome("ok", f"answers on port {ctx.options.comfyui_port} ({took:.1f} s)")
    if service.gave_up:
        return Outcome("failed", "ComfyUI keeps crashing", "Read its error in the log above.")
    return Outcome(
        "failed",
        f"ComfyUI did not answer within {ctx.options.ready_timeout:.0f} s; still waiting",
        "Read its log above; custom nodes that install at import can take long.",
    )
