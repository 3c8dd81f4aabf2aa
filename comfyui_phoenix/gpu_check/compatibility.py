"""Can this PyTorch run on this GPU with this driver? The rules, as pure functions.

The inputs are plain facts (a device's compute capability, PyTorch's architecture list
and CUDA version, the driver's CUDA version), so each case is a row in a table and the
tests need no GPU. :mod:`.probes` reads those facts on the running machine; the tables they are
judged by are in :mod:`.cuda_tables`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from .cuda_tables import ARCH_MIN_CUDA, arch_name, arch_support, driver_floor, parse_cuda_version


@dataclass(frozen=True)
class Check:
    """One verdict: ``ok`` is True (✅), False (❌) or None (could not tell)."""

    name: str
    ok: bool | None
    message: str
    fix: str | None = None

    @property
    def mark(self) -> str:
        return {True: "✅", False: "❌", None: "ℹ️"}[self.ok]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def check_compatibility(
    device_capability: tuple[int, int] | None,
    torch_arch_list: list[str],
    torch_cuda: str | None,
    driver_cuda: str | None,
    driver_version: str | None,
    *,
    torch_cuda_available: bool | None = None,
    no_gpu_reason: str | None = None,
) -> list[Check]:
    """Can this PyTorch run on this GPU with this driver?

    Args:
        device_capability: the GPU's compute capability, e.g. ``(12, 0)``; None: no GPU.
        torch_arch_list: ``torch.cuda.get_arch_list()``, e.g. ``["sm_90", "sm_120"]``.
        torch_cuda: ``torch.version.cuda`` (``"12.8"``); None for a CPU-only build.
        driver_cuda: the newest CUDA the driver supports (NVML), e.g. ``"12.8"``.
        driver_version: the driver's version string, e.g. ``"570.124.06"``.
        torch_cuda_available: ``torch.cuda.is_available()`` when known. A driver older
            than PyTorch's CUDA can still work through NVIDIA's forward-compatibility
            libraries (data-center GPUs); CUDA initialising proves it does.
        no_gpu_reason: why NVML found no GPU, in its words (``"NVML says: Driver Not
            Loaded"``), for the ``gpu`` check to repeat.

    Returns:
        The checks in order: ``gpu``, then ``arch`` and ``driver`` when there is a GPU.
    """
    if device_capability is None:
        reason = f" ({no_gpu_reason})" if no_gpu_reason else ""
        return [
            Check(
                "gpu",
                False,
                f"No NVIDIA GPU is visible to this machine{reason}.",
                "Deploy on a GPU pod (an RTX 5090 needs a host with driver ≥ R570), "
                "or set PHOENIX_CPU_MODE=true to try the image on the CPU.",
            )
        ]
    major, minor = device_capability
    gpu = Check(
        "gpu", True, f"Compute capability {major}.{minor} ({arch_name(device_capability)})."
    )
    return [
        gpu,
        _arch_check(device_capability, torch_arch_list, torch_cuda),
        _driver_check(torch_cuda, driver_cuda, driver_version, torch_cuda_available),
    ]


def _arch_check(capability: tuple[int, int], arch_list: list[str], torch_cuda: str | None) -> Check:
    arch = arch_name(capability)
    if torch_cuda is None:
        return Check(
            "arch",
            False,
            "This PyTorch was built without CUDA, so it cannot use the GPU.",
            "Something replaced the image's PyTorch (a custom node or EXTRA_PYTHON_PACKAGES "
            "without the constraints file?): rebuild or redeploy the image.",
        )
    if not arch_list:
        return Check(
            "arch", None, f"PyTorch did not report its architectures; cannot confirm {arch}."
        )
    native, via_ptx = arch_support(capability, arch_list)
    listed = " ".join(arch_list)
    if native:
        return Check("arch", True, f"PyTorch carries kernels for {arch} ({native}).")
    if via_ptx:
        return Check(
            "arch",
            True,
            f"PyTorch has no {arch} kernels but its {via_ptx} PTX compiles for this GPU at first "
            "use (slower start; some fused kernels may be missing).",
        )
    needed = ARCH_MIN_CUDA.get(arch)
    build = f" built with CUDA ≥ {needed}" if needed else ""
    return Check(
        "arch",
        False,
        f"This PyTorch has no kernels for {arch} (it carries: {listed}).",
        f"Use an image whose PyTorch is{build} and lists {arch}, or pick a GPU whose "
        f"architecture is in that list.",
    )


def _driver_check(
    torch_cuda: str | None,
    driver_cuda: str | None,
    driver_version: str | None,
    cuda_available: bool | None,
) -> Check:
    needed = parse_cuda_version(torch_cuda)
    have = parse_cuda_version(driver_cuda)
    driver = f"driver {driver_version}" if driver_version else "the driver"
    if needed is None:
        return Check("driver", None, "PyTorch has no CUDA version to compare with the driver.")
    if have is None:
        return Check("driver", None, f"Could not read which CUDA version {driver} supports.")
    wanted = f"{needed[0]}.{needed[1]}"
    if have >= needed:
        return Check(
            "driver", True, f"{driver.capitalize()} supports CUDA {have[0]}.{have[1]} ≥ {wanted}."
        )
    if cuda_available:
        return Check(
            "driver",
            True,
            f"{driver.capitalize()} supports CUDA {have[0]}.{have[1]} < {wanted}, but CUDA "
            "initialised through the forward-compatibility libraries.",
        )
    floor = driver_floor(needed)
    host = f"driver ≥ R{floor}" if floor else "a driver that supports it"
    return Check(
        "driver",
        False,
        f"{driver.capitalize()} supports CUDA {have[0]}.{have[1]}, but this image's PyTorch "
        f"needs CUDA {wanted}.",
        f"Pick a host with {host} for CUDA {wanted}.",
    )
