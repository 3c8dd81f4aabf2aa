"""The boot's GPU facts: NVML and the image's PyTorch, or a report file standing in for them.

``PHOENIX_GPU_REPORT_FILE`` (a test hook) names a JSON doctor report whose facts replace
NVML and the torch probe; its checks are computed again, never trusted. Otherwise NVML
is read in a thread and torch is imported in a child process running as the service
user, killed if it takes longer than three minutes.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping

from comfyui_phoenix.errors import PhoenixError
from comfyui_phoenix.gpu_check import (
    GIB,
    DoctorReport,
    TorchInfo,
    build_report,
    parse_torch_probe,
    read_nvml,
    torch_probe_argv,
)

from .paths import BootPaths
from .process import RunAs, run_command

TORCH_PROBE_TIMEOUT = 180.0


async def inspect_gpu(
    paths: BootPaths, *, env: Mapping[str, str], run_as: RunAs
) -> tuple[DoctorReport, str]:
    """The doctor report for this machine, and where its facts came from.

    Raises:
        PhoenixError: the report file cannot be read.
    """
    if paths.gpu_report_file is not None:
        try:
            data = json.loads(paths.gpu_report_file.read_text())
        except (OSError, ValueError) as exc:
            raise PhoenixError(
                f"PHOENIX_GPU_REPORT_FILE cannot be read: {exc}.",
                hint="Point it at a JSON report from `phoenix doctor --json`, or unset it.",
            ) from None
        return DoctorReport.from_dict(data), "from PHOENIX_GPU_REPORT_FILE"
    nvml = await asyncio.to_thread(read_nvml)
    torch = await probe_torch(paths.comfyui_python, env=env, run_as=run_as)
    report = build_report(
        nvml.devices,
        driver_version=nvml.driver_version,
        driver_cuda=nvml.driver_cuda,
        nvml_error=nvml.error,
        torch=torch,
    )
    return report, "from NVML and the image's PyTorch"


async def probe_torch(python: str, *, env: Mapping[str, str], run_as: RunAs) -> TorchInfo:
    """Run the doctor's torch probe with ComfyUI's Python, as the service user."""
    try:
        result = await run_command(
            torch_probe_argv(python), env=env, run_as=run_as, timeout=TORCH_PROBE_TIMEOUT
        )
    except asyncio.TimeoutError:
        return TorchInfo(error=f"importing PyTorch took longer than {TORCH_PROBE_TIMEOUT:.0f} s")
    except OSError as exc:
        return TorchInfo(error=f"the PyTorch probe did not start: {exc}")
    return parse_torch_probe(result.stdout, result.returncode)


def describe_gpu(report: DoctorReport) -> str:
    """``NVIDIA GeForce RTX 5090 (sm_120, 31.8 GiB, driver 570.124.06, torch 2.7.0)``."""
    device = report.device
    if device is None:
        return "no GPU"
    vram = f", {device.vram_total / GIB:.1f} GiB" if device.vram_total else ""
    driver = f", driver {report.driver_version}" if report.driver_version else ""
    torch = f", torch {report.torch.version}" if report.torch.version else ""
    return f"{device.name} ({device.arch}{vram}{driver}{torch})"
