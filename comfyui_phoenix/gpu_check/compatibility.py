"""Can this PyTorch run on this GPU with this driver? The rules, as pure functions.

The inputs are plain facts (a device's compute capability, PyTorch's architecture list
and CUDA version, the driver's CUDA version), so each case is a row in a table and the
tests need no GPU. :mod:`.probes` reads those facts on the running machine.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

#: The oldest NVIDIA driver branch for each CUDA toolkit (CUDA release notes, table 3).
CUDA_DRIVER_FLOOR: dict[tuple[int, int], int] = {
    (11, 8): 520,
    (12, 0): 525,
    (12, 1): 530,
    (12, 2): 535,
    (12, 3): 545,
    (12, 4): 550,
    (12, 5): 555,
    (12, 6): 560,
    (12, 8): 570,
    (12, 9): 575,
    (13, 0): 580,
}

#: The first CUDA toolkit that compiles for each architecture.
ARCH_MIN_CUDA: dict[str, str] = {
    "sm_80": "11.0",
    "sm_86": "11.1",
    "sm_89": "11.8",
    "sm_90": "11.8",
    "sm_100": "12.8",
    "sm_120": "12.8",
}

_ARCH = re.compile(r"^(sm|compute)_(\d+)(\d)([a-z]?)$")


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


def arch_name(capability: tuple[int, int]) -> str:
    """``(12, 0)`` → ``sm_120``, PyTorch's spelling in ``torch.cuda.get_arch_list()``."""
    return f"sm_{capability[0]}{capability[1]}"


def arch_capability(arch: str) -> tuple[int, int] | None:
    """``sm_120`` (or ``compute_120``, ``sm_90a``) → ``(12, 0)``; None when not an architecture."""
    match = _ARCH.match(arch)
    return (int(match.group(2)), int(match.group(3))) if match else None


def parse_cuda_version(text: str | None) -> tuple[int, int] | None:
    """``"12.8"``, ``"12.8.1"`` or NVML's ``12080`` → ``(12, 8)``; None when unreadable."""
    if text is None:
        return None
    text = str(text).strip()
    if text.isdigit() and len(text) >= 4:
        number = int(text)
        return number // 1000, (number % 1000) // 10
    match = re.match(r"^(\d+)\.(\d+)", text)
    return (int(match.group(1)), int(match.group(2))) if match else None


def driver_floor(cuda: tuple[int, int]) -> int | None:
    """The driver branch (570, 575, 580…) that a CUDA toolkit version needs, if known."""
    return CUDA_DRIVER_FLOOR.get(cuda)


def check_compatibility(
    device_capability: tuple[int, int] | None,
    torch_arch_list: list[str],
    torch_cuda: str | None,
    driver_cuda: str | None,
    driver_version: str | None,
    *,
    torch_cuda_available: bool | None = None,
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

    Returns:
        The checks in order: ``gpu``, then ``arch`` and ``driver`` when there is a GPU.
    """
    if device_capability is None:
        return [
            Check(
                "gpu",
                False,
                "No NVIDIA GPU is visible to this machine.",
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
    native, via_ptx = _arch_support(capability, arch_list)
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


def _arch_support(capability: tuple[int, int], arch_list: Iterable[str]) -> tuple[str, str]:
    """The native cubin and the PTX entry that run on ``capability`` ("" when none)."""
    native = ptx = ""
    for entry in arch_list:
        match = _ARCH.match(entry.strip())
        if not match:
            continue
        kind, major, minor, suffix = (
            match.group(1),
            int(match.group(2)),
            int(match.group(3)),
            match.group(4),
        )
        if kind == "sm":
            # A cubin runs on its own major version at an equal or higher minor; an
            # arch-specific one ("sm_90a") only on exactly that architecture.
            exact = (major, minor) == capability
            same_family = major == capability[0] and minor <= capability[1] and suffix != "a"
            if (exact or same_family) and not native:
                native = entry
        elif not suffix and (major, minor) <= capability and not ptx:
            # PTX is compiled by the driver for any newer architecture.
            ptx = entry
    return native, ptx


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
