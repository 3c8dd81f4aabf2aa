"""CUDA's tables and spellings: which driver, which toolkit, which kernels run where.

The oldest driver branch for each CUDA toolkit, the first toolkit for each GPU
architecture, how ``sm_120`` and ``(12, 0)`` name the same thing, and which of a
PyTorch build's cubins and PTX run on a given compute capability. Facts only: the
verdicts drawn from them are in :mod:`.compatibility`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

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
    """The driver branch (570, 575, 580…) that a CUDA toolkit version needs, if known.

    A minor release newer than the table knows (13.4, say) runs on the newest branch
    listed for its major, through CUDA's minor version compatibility.
    """
    if cuda in CUDA_DRIVER_FLOOR:
        return CUDA_DRIVER_FLOOR[cuda]
    known = [v for v in CUDA_DRIVER_FLOOR if v[0] == cuda[0] and v < cuda]
    return CUDA_DRIVER_FLOOR[max(known)] if known else None


def arch_support(capability: tuple[int, int], arch_list: Iterable[str]) -> tuple[str, str]:
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
