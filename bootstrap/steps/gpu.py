"""Step ``gpu``: NVML and the image's PyTorch checked against each other.

Not critical: a failed check is logged with its fix and ComfyUI still starts (on the
CPU when there is no GPU). With ``PHOENIX_CPU_MODE`` a missing GPU is no failure.
"""

from __future__ import annotations

from ..context import BootContext
from ..gpu import describe_gpu, inspect_gpu
from .outcome import Outcome


async def check_gpu(ctx: BootContext) -> Outcome:
    """Read the GPU, the driver and PyTorch (:mod:`comfyui_phoenix.gpu_check`) and judge them."""
    settings = ctx.require_settings()
    ctx.gpu, source = await inspect_gpu(ctx.paths, env=ctx.child_env, run_as=ctx.run_as)
    ctx.report.set("gpu", ctx.gpu.to_dict())
    failed = [c for c in ctx.gpu.checks if c.ok is False]
    for check in ctx.gpu.checks:
        if check.ok is False and not (check.name == "gpu" and settings.cpu_mode):
            ctx.log.fail("gpu", check.message, check.fix)
        else:
            ctx.log.debug("gpu", f"{check.mark} {check.name}: {check.message}")
    summary = f"{describe_gpu(ctx.gpu)} ({source})"
    if settings.cpu_mode:
        return Outcome("info", f"{summary}; PHOENIX_CPU_MODE=true: ComfyUI runs on the CPU")
    if failed:
        return Outcome("failed", f"{summary}: {len(failed)} check(s) failed, see above")
    return Outcome("ok", f"{summary}: compatible")
