"""What ``phoenix doctor`` and the boot report know about the GPU: the facts and the verdicts.

A :class:`DoctorReport` holds the devices, the driver and PyTorch as found, and the checks
:func:`build_report` ran over them. It round-trips through JSON (``phoenix doctor
--json``, the boot report, ``PHOENIX_GPU_REPORT_FILE``); when read back, its checks are
computed again from the facts, never trusted.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from .compatibility import CONTAINER, Check, Place, check_compatibility, check_torch_import
from .cuda_tables import arch_name

GIB = 1 << 30

#: What the probe reports when the Python it runs has no torch at all.
TORCH_NOT_INSTALLED = "ModuleNotFoundError: No module named 'torch'"


@dataclass(frozen=True)
class GpuDevice:
    index: int
    name: str
    capability: tuple[int, int] | None
    vram_total: int | None

    @property
    def arch(self) -> str | None:
        return arch_name(self.capability) if self.capability else None


@dataclass(frozen=True)
class TorchInfo:
    """What the ``python -c`` probe learned about PyTorch (and SageAttention)."""

    version: str | None = None
    cuda: str | None = None
    arch_list: tuple[str, ...] = ()
    cuda_available: bool | None = None
    sage_version: str | None = None
    error: str | None = None

    @property
    def imported(self) -> bool:
        """False when the probe could not import torch at all (it then knows nothing else)."""
        return not (self.error and self.version is None)

    @property
    def not_installed(self) -> bool:
        """torch is not installed in the probed Python (rather than installed and broken)."""
        return (self.error or "").startswith(TORCH_NOT_INSTALLED)

    @property
    def sage_available(self) -> bool:
        """SageAttention 2 or later imports. 1.x (PyPI's 1.0.6) renders black images."""
        match = re.match(r"^(\d+)", self.sage_version or "")
        return match is not None and int(match.group(1)) >= 2


@dataclass(frozen=True)
class DoctorReport:
    """Everything ``phoenix doctor`` and the boot report show about the GPU; JSON-ready."""

    devices: tuple[GpuDevice, ...] = ()
    driver_version: str | None = None
    driver_cuda: str | None = None
    nvml_error: str | None = None
    torch: TorchInfo = field(default_factory=TorchInfo)
    checks: tuple[Check, ...] = ()

    @property
    def device(self) -> GpuDevice | None:
        """The GPU ComfyUI uses by default: the first one."""
        return self.devices[0] if self.devices else None

    @property
    def ok(self) -> bool:
        return all(check.ok is not False for check in self.checks)

    def to_dict(self) -> dict[str, Any]:
        return {
            "devices": [
                {
                    **asdict(d),
                    "capability": list(d.capability) if d.capability else None,
                    "arch": d.arch,
                }
                for d in self.devices
            ],
            "driver_version": self.driver_version,
            "driver_cuda": self.driver_cuda,
            "nvml_error": self.nvml_error,
            "torch": {**asdict(self.torch), "arch_list": list(self.torch.arch_list)},
            "sage_attention": self.torch.sage_available,
            "checks": [c.to_dict() for c in self.checks],
            "ok": self.ok,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> DoctorReport:
        """Rebuild a report's inputs from JSON; its checks are computed again, never trusted."""
        devices = tuple(
            GpuDevice(
                index=int(d.get("index", i)),
                name=str(d.get("name", "GPU")),
                capability=_capability(d.get("capability")),
                vram_total=_int_or_none(d.get("vram_total")),
            )
            for i, d in enumerate(data.get("devices") or [])
        )
        raw = data.get("torch") or {}
        torch = TorchInfo(
            version=raw.get("version"),
            cuda=raw.get("cuda"),
            arch_list=tuple(raw.get("arch_list") or ()),
            cuda_available=raw.get("cuda_available"),
            sage_version=raw.get("sage_version"),
            error=raw.get("error"),
        )
        return build_report(
            devices,
            driver_version=data.get("driver_version"),
            driver_cuda=data.get("driver_cuda"),
            nvml_error=data.get("nvml_error"),
            torch=torch,
        )


def _capability(value: Any) -> tuple[int, int] | None:
    if isinstance(value, (list, tuple)) and len(value) == 2:
        return int(value[0]), int(value[1])
    return None


def _int_or_none(value: Any) -> int | None:
    return int(value) if isinstance(value, (int, float)) else None


def build_report(
    devices: Sequence[GpuDevice],
    *,
    driver_version: str | None,
    driver_cuda: str | None,
    nvml_error: str | None,
    torch: TorchInfo,
    place: Place = CONTAINER,
) -> DoctorReport:
    """Put the gathered facts together and run :func:`check_compatibility` on GPU 0.

    ``place`` is where the facts come from: the container's rules unless told otherwise.
    """
    first = devices[0] if devices else None
    checks = check_compatibility(
        first.capability if first else None,
        list(torch.arch_list),
        torch.cuda,
        driver_cuda,
        driver_version,
        torch_cuda_available=torch.cuda_available,
        no_gpu_reason=nvml_error,
        torch_imported=torch.imported,
        place=place,
    )
    failed_import = check_torch_import(torch.error, not_installed=torch.not_installed, place=place)
    if failed_import is not None:
        checks.insert(0, failed_import)
    return DoctorReport(
        devices=tuple(devices),
        driver_version=driver_version,
        driver_cuda=driver_cuda,
        nvml_error=nvml_error,
        torch=torch,
        checks=tuple(checks),
    )
