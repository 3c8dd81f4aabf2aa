"""Step ``comfyui``: flags chosen and checked against ``main.py --help``, then ComfyUI started.

The launch plan (:mod:`bootstrap.comfyui`) decides the command line; this step reads
ComfyUI's ``--help``, logs every flag with its reason and starts ComfyUI under
supervision. Its readiness probe carries the internal bearer token when the login gate
is on, since the gate refuses anonymous requests.
"""

from __future__ import annotations

import asyncio
import signal

from ..comfyui import LaunchPlan, comfyui_main, help_argv, plan_launch
from ..context import BootContext
from ..probes import http_probe, local_url
from ..process import ServiceSpec, run_command
from .outcome import Fatal, Outcome


async def start_comfyui(ctx: BootContext) -> Outcome:
    """Plan ComfyUI's command line and start supervising it."""
    settings, layout = ctx.require_settings(), ctx.require_layout()
    main_py = comfyui_main(ctx.paths)
    if not main_py.is_file():
        raise Fatal(f"ComfyUI is not at {ctx.paths.comfyui_dir}", "Rebuild the image.")
    help_text = await _comfyui_help(ctx)
    plan = plan_launch(
        paths=ctx.paths,
        options=ctx.options,
        layout=layout,
        settings=settings,
        gpu=ctx.gpu,
        help_text=help_text,
    )
    ctx.launch = plan
    ctx.report.set("launch", plan.to_dict())
    _log_flags(ctx, plan)
    handoff = ctx.handoff
    bearer = handoff.api_token if handoff and settings.comfy_auth else None
    url = local_url(ctx.options.listen, ctx.options.comfyui_port, "/system_stats")
    ctx.start_service(
        ServiceSpec(
            name="comfyui",
            argv=plan.argv,
            env=ctx.child_env,
            cwd=ctx.paths.comfyui_dir,
            run_as=ctx.run_as,
            # ComfyUI turns SIGINT into a clean exit that empties its temp folder.
            stop_signal=signal.SIGINT,
            ready_probe=http_probe(ctx.http(), url, bearer=bearer),
        )
    )
    chosen = ", ".join(" ".join(f.argv) for f in plan.chosen_flags) or "no performance flags"
    return Outcome("ok", f"starting on port {ctx.options.comfyui_port} with {chosen}")


async def _comfyui_help(ctx: BootContext) -> str | None:
    try:
        result = await run_command(
            help_argv(ctx.paths),
            env=ctx.child_env,
            run_as=ctx.run_as,
            cwd=ctx.paths.comfyui_dir,
            timeout=120,
        )
    except asyncio.TimeoutError:
        result = None
    if result is None or not result.ok or "--port" not in result.stdout:
        ctx.log.warn("comfyui", "main.py --help gave no flag list; flags are not checked")
        return None
    return result.stdout


def _log_flags(ctx: BootContext, plan: LaunchPlan) -> None:
    log = ctx.log
    for choice in plan.kept:
        if choice.base:
            log.debug("comfyui", f"{' '.join(choice.argv)}: {choice.reason}")
        else:
            log.info("comfyui", f"{' '.join(choice.argv)}: {choice.reason}")
    for choice in plan.dropped:
        log.warn("comfyui", f"{' '.join(choice.argv)}: not in this ComfyUI's --help; dropped")
    for choice in plan.overridden:
        if choice.flag in ("--port", "--listen"):
            log.warn(
                "comfyui",
                f"COMFYUI_ARGS sets {choice.flag}: the template's port 7860, the health "
                "check and the readiness probe will not find ComfyUI",
            )
        else:
            log.info("comfyui", f"{choice.flag}: left to COMFYUI_ARGS")
    for flag in plan.unknown_user_flags:
        log.warn("comfyui", f"COMFYUI_ARGS has {flag}, which this ComfyUI does not list")
    for note in plan.notes:
        log.debug("comfyui", note)
