"""Step ``gate``: with ``COMFY_AUTH`` on, anonymous requests must be refused.

:func:`bootstrap.gate_probe.probe_gate` asks ComfyUI without credentials. If
ComfyUI answers (Phoenix failed to load, say), ComfyUI is stopped and stays stopped and
the report's state is ``failed``; the bootstrap keeps FileBrowser and the log up until
it is stopped, then exits with status 1. It does not exit at once: a restarted container
would bring the same public ComfyUI up again, and FileBrowser is the one way left to the
pod's files. A ComfyUI that answers only after the ready step gave up is checked as
soon as it does.
"""

from __future__ import annotations

import asyncio

from ..context import BootContext
from ..gate_probe import probe_gate
from ..probes import local_url
from ..process import Service
from .outcome import Outcome, record

#: Seconds for each anonymous request of the login gate's probe.
GATE_PROBE_TIMEOUT = 5.0
GATE_FIX = (
    "Phoenix did not load in ComfyUI: find 'comfyui-phoenix' in ComfyUI's log above, fix "
    "what stopped it and restart the pod (COMFY_AUTH=false opens ComfyUI to anyone on purpose)."
)


async def check_gate(ctx: BootContext) -> Outcome:
    """Probe the login gate now, or as soon as ComfyUI answers."""
    if not ctx.require_settings().comfy_auth:
        return Outcome("warn", "COMFY_AUTH=false: ComfyUI answers anyone who has its address")
    service = ctx.services["comfyui"]
    if not service.ready.is_set():
        ctx.gate_watch = asyncio.create_task(_gate_when_ready(ctx, service))
        return Outcome(
            "info",
            "not checked yet: checked as soon as ComfyUI answers, and ComfyUI is stopped "
            "if it answers without login",
        )
    return await _probe(ctx, service)


async def _gate_when_ready(ctx: BootContext, service: Service) -> None:
    """The gate check for a ComfyUI that answered only after the ready step gave up."""
    ready = asyncio.create_task(service.ready.wait())
    try:
        await asyncio.wait({ready, service.finished()}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        ready.cancel()
    if service.ready.is_set():
        record(ctx, "gate", await _probe(ctx, service))


async def _probe(ctx: BootContext, service: Service) -> Outcome:
    """Probe ComfyUI anonymously; stop it for good when it answers without login."""
    base = local_url(ctx.options.listen, ctx.options.comfyui_port, "")
    result = await probe_gate(base, timeout=GATE_PROBE_TIMEOUT)
    ctx.gate = result
    ctx.report.set("gate", result.to_dict())
    if result.ok:
        return Outcome("ok", result.message)
    ctx.comfyui_closed = True
    await service.stop(ctx.options.stop_grace)
    ctx.report.state("failed")
    return Outcome("failed", f"{result.message} ComfyUI was stopped and stays stopped.", GATE_FIX)
