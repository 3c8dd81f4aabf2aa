"""This machine's GPU facts: NVML through ``pynvml``, PyTorch through a child process.

``pynvml`` is imported lazily and every error it raises is reported, not raised. PyTorch
is probed with ``python -c`` in a child process, because importing torch takes seconds
and the caller may not want it in its own memory.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .compatibility import CONTAINER, Place
from .cuda_tables import parse_cuda_version
from .report import DoctorReport, GpuDevice, TorchInfo, build_report


@dataclass(frozen=True)
class NvmlInfo:
    devices: tuple[GpuDevice, ...] = ()
    driver_version: str | None = None
    driver_cuda: str | None = None
    error: str | None = None


def read_nvml() -> NvmlInfo:
    """The GPUs and driver as NVML sees them; an error (no library, no GPU) is reported, not raised."""
    try:
        import pynvml
    except ImportError:
        return NvmlInfo(error="NVML could not be asked: nvidia-ml-py (pynvml) is not installed")
    try:
        pynvml.nvmlInit()
    except pynvml.NVMLError as exc:
        return NvmlInfo(error=f"NVML says: {exc}")
    try:
        return _read_nvml_devices(pynvml)
    except pynvml.NVMLError as exc:
        return NvmlInfo(error=f"NVML says: {exc}")
    finally:
        pynvml.nvmlShutdown()


def _read_nvml_devices(pynvml: Any) -> NvmlInfo:
    devices = []
    for index in range(pynvml.nvmlDeviceGetCount()):
        handle = pynvml.nvmlDeviceGetHandleByIndex(index)
        name = pynvml.nvmlDeviceGetName(handle)
        major, minor = pynvml.nvmlDeviceGetCudaComputeCapability(handle)
        memory = pynvml.nvmlDeviceGetMemoryInfo(handle)
        devices.append(
            GpuDevice(
                index=index,
                name=name.decode() if isinstance(name, bytes) else str(name),
                capability=(int(major), int(minor)),
                vram_total=int(memory.total),
            )
        )
    driver = pynvml.nvmlSystemGetDriverVersion()
    cuda = parse_cuda_version(str(pynvml.nvmlSystemGetCudaDriverVersion()))
    return NvmlInfo(
        devices=tuple(devices),
        driver_version=driver.decode() if isinstance(driver, bytes) else str(driver),
        driver_cuda=f"{cuda[0]}.{cuda[1]}" if cuda else None,
    )


#: Run with ``python -c``: prints one JSON object about torch and SageAttention.
TORCH_PROBE = r"""
import json
out = {}
try:
    import torch
    out["version"] = torch.__version__
    out["cuda"] = torch.version.cuda
    flags = getattr(torch._C, "_cuda_getArchFlags", None)
    # get_arch_list() is empty when CUDA cannot initialise (an old driver, say),
    # which is exactly when the list matters; the compiled flags are always there.
    out["arch_list"] = (flags() or "").split() if flags else torch.cuda.get_arch_list()
    out["cuda_available"] = bool(torch.cuda.is_available())
except Exception as exc:
    out["error"] = type(exc).__name__ + ": " + str(exc)[:300]
if "error" not in out:
    try:
        import importlib.metadata
        import sageattention
        out["sage_version"] = importlib.metadata.version("sageattention")
    except Exception:
        out["sage_version"] = None
print(json.dumps(out))
"""


def torch_probe_argv(python: str) -> list[str]:
    """The command that runs :data:`TORCH_PROBE` with ``python``."""
    return [python, "-c", TORCH_PROBE]


def parse_torch_probe(stdout: str, returncode: int = 0) -> TorchInfo:
    """Read the probe's last JSON line; anything else becomes :attr:`TorchInfo.error`."""
    for line in reversed(stdout.strip().splitlines()):
        try:
            data = json.loads(line)
        except ValueError:
            continue
        if isinstance(data, dict):
            return TorchInfo(
                version=data.get("version"),
                cuda=data.get("cuda"),
                arch_list=tuple(data.get("arch_list") or ()),
                cuda_available=data.get("cuda_available"),
                sage_version=data.get("sage_version"),
                error=data.get("error"),
            )
    return TorchInfo(error=f"the PyTorch probe exited with status {returncode} and no answer")


def probe_torch(
    python: str = sys.executable, *, env: Mapping[str, str] | None = None, timeout: float = 120
) -> TorchInfo:
    """Import torch in a child process and report what it says (blocking)."""
    try:
        done = subprocess.run(
            torch_probe_argv(python),
            capture_output=True,
            text=True,
            timeout=timeout,
            env=dict(env) if env is not None else None,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return TorchInfo(error=f"the PyTorch probe did not run: {exc}")
    return parse_torch_probe(done.stdout, done.returncode)


def gather(
    python: str = sys.executable,
    *,
    env: Mapping[str, str] | None = None,
    timeout: float = 120,
    place: Place = CONTAINER,
) -> DoctorReport:
    """Read NVML and probe PyTorch, then check them against each other (blocking).

    Args:
        python: the interpreter whose PyTorch is probed.
        env: the probe's environment; None: this process's.
        timeout: seconds the probe may take.
        place: where this runs (the container unless told otherwise): it decides what a
            missing GPU means and what each fix says.
    """
    nvml = read_nvml()
    torch = probe_torch(python, env=env, timeout=timeout)
    return build_report(
        nvml.devices,
        driver_version=nvml.driver_version,
        driver_cuda=nvml.driver_cuda,
        nvml_error=nvml.error,
        torch=torch,
        place=place,
    )
