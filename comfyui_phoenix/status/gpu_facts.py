"""What a plan needs to know of this machine's GPU, as one small value.

FLUX plans choose a precision from three facts: the largest GPU's memory, its
compute capability, and the CUDA version the running torch was built for (NVFP4
kernels need a CUDA 13 build). The first two come from an NVML reading
(:mod:`.gpu`); the third only from a torch this process has loaded already:
inside ComfyUI it always has, and importing torch just to ask would take seconds.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

from .gpu import GpuReport


@dataclass(frozen=True)
class GpuFacts:
    """The largest GPU, as far as it is known; every field None means no GPU was found.

    Args:
        vram_bytes: its total memory.
        capability: its CUDA compute capability, ``(12, 0)`` for an RTX 5090.
        torch_cuda: the CUDA version torch was built for (``"13.0"``), when torch is loaded.
    """

    vram_bytes: int | None = None
    capability: tuple[int, int] | None = None
    torch_cuda: str | None = None

    @property
    def found(self) -> bool:
        return self.vram_bytes is not None or self.capability is not None

    @property
    def sm(self) -> str | None:
        """The architecture as CUDA kernels name it: ``sm_120``."""
        return None if self.capability is None else f"sm_{self.capability[0]}{self.capability[1]}"

    @property
    def torch_cuda_major(self) -> int | None:
        head = (self.torch_cuda or "").split(".")[0]
        return int(head) if head.isdigit() else None


def gpu_facts(report: GpuReport, torch_cuda: str | None = None) -> GpuFacts:
    """The facts of the GPU with the most memory in ``report``."""
    gpus = [g for g in report.gpus if g.vram_total is not None] if report.available else []
    if not gpus:
        return GpuFacts(torch_cuda=torch_cuda)
    largest = max(gpus, key=lambda g: g.vram_total or 0)
    return GpuFacts(largest.vram_total, _capability(largest.compute_capability), torch_cuda)


def loaded_torch_cuda() -> str | None:
    """The CUDA version of the torch already imported in this process; None otherwise."""
    torch = sys.modules.get("torch")
    version = getattr(getattr(torch, "version", None), "cuda", None)
    return str(version) if version else None


def _capability(text: str | None) -> tuple[int, int] | None:
    major, _, minor = (text or "").partition(".")
    if not (major.isdigit() and minor.isdigit()):
        return None
    return int(major), int(minor)
