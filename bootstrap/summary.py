"""The block the boot ends with: where ComfyUI and FileBrowser answer, and what was chosen.

It is the part of the log a RunPod user reads: the two addresses (RunPod's proxy when
``RUNPOD_POD_ID`` is set), the login gate, the GPU, the storage, the flags chosen for
this GPU and these settings (the base flags are left out), and where the full report is.
"""

from __future__ import annotations

from .console import FAIL, INFO, OK, WARN
from .context import BootContext
from .gpu import describe_gpu
from .storage import StorageLayout


def log_summary(ctx: BootContext) -> None:
    """Write the boot report block to the log."""
    ctx.log.block(summary_lines(ctx))


def summary_lines(ctx: BootContext) -> list[str]:
    """The boot report block, line by line; the storage step has run."""
    options, layout = ctx.options, ctx.require_layout()
    pod = ctx.environ.get("RUNPOD_POD_ID")

    def address(port: int) -> str:
        if pod:
            return f"https://{pod}-{port}.proxy.runpod.net"
        return f"http://{options.listen}:{port}"

    flags = " ".join(" ".join(f.argv) for f in (ctx.launch.chosen_flags if ctx.launch else []))
    user = ctx.credentials.username if ctx.credentials else "?"
    fb_state = "up" if "filebrowser" in ctx.services else "not started"
    cpu_mode = ctx.settings is not None and ctx.settings.cpu_mode
    gpu_mark = OK if ctx.gpu.ok else INFO if cpu_mode and ctx.gpu.device is None else FAIL
    comfyui = address(options.comfyui_port)
    if ctx.comfyui_closed:
        comfyui = f"{FAIL} stopped: it answered without login (see above)"
    lines = [
        "──────── Phoenix boot report ────────",
        f"ComfyUI      {comfyui}",
        f"Login gate   {_gate_line(ctx)}",
        f"FileBrowser  {address(options.filebrowser_port)}  (user {user}, {fb_state})",
        f"GPU          {gpu_mark} {describe_gpu(ctx.gpu)}",
        f"Storage      {layout.mode}: models in {layout.models}",
    ]
    if ctx.settings is not None and ctx.settings.paranoid_mode:
        lines.append(f"Paranoid     {_paranoid_line(layout)}")
    lines += [
        f"Flags        {flags or 'none beyond the defaults'}",
        f"Report       {ctx.paths.boot_report}",
        "─────────────────────────────────────",
    ]
    return lines


def _gate_line(ctx: BootContext) -> str:
    if ctx.settings is None or not ctx.settings.comfy_auth:
        return f"{WARN} off (COMFY_AUTH=false): anyone with the address can use ComfyUI"
    if ctx.gate is None:
        return f"{INFO} checked as soon as ComfyUI answers"
    if not ctx.gate.ok:
        return f"{FAIL} {ctx.gate.message}"
    user = ctx.handoff.comfy_username if ctx.handoff else None
    return f"{OK} log in as {user}; anonymous requests are refused"


def _paranoid_line(layout: StorageLayout) -> str:
    if layout.user_data_on_tmpfs:
        return f"{OK} inputs, outputs, temp and workflows on tmpfs; no metadata in images"
    return f"{WARN} not guaranteed: inputs, outputs and workflows go to disk (see storage)"
