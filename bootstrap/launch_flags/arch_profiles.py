"""What each GPU architecture (sm_80 to sm_120) can do that changes ComfyUI's launch flags.

One row per architecture: its family name for the boot report, whether it has fp8 tensor
cores (``--fast fp8_matrix_mult``) and whether SageAttention 2 ships kernels for it
(``--use-sage-attention``). :mod:`.choice` turns a row into flags.
"""

from __future__ import annotations

from dataclasses import dataclass

from comfyui_phoenix.gpu_check import arch_capability


@dataclass(frozen=True)
class ArchProfile:
    """What one GPU architecture can do that changes ComfyUI's flags."""

    family: str
    fp8: bool  # fp8 tensor cores: Ada, Hopper, Blackwell
    sage: bool  # SageAttention 2 ships kernels for it


ARCH_PROFILES: dict[str, ArchProfile] = {
    "sm_120": ArchProfile("Blackwell (RTX 50 series, RTX PRO 6000)", fp8=True, sage=True),
    # SageAttention 2's kernels cover sm_80 to sm_90 and sm_120; B200 is not among them.
    "sm_100": ArchProfile("Blackwell data center (B200)", fp8=True, sage=False),
    "sm_90": ArchProfile("Hopper (H100, H200)", fp8=True, sage=True),
    "sm_89": ArchProfile("Ada (RTX 4090, L40S)", fp8=True, sage=True),
    "sm_86": ArchProfile("Ampere (RTX 3090, A6000)", fp8=False, sage=True),
    "sm_80": ArchProfile("Ampere (A100)", fp8=False, sage=True),
}


def arch_profile(arch: str) -> ArchProfile:
    """The table row for ``arch``; an unknown one is judged by its compute capability."""
    if arch in ARCH_PROFILES:
        return ARCH_PROFILES[arch]
    capability = arch_capability(arch) or (0, 0)
    return ArchProfile(f"unknown ({arch})", fp8=capability >= (8, 9), sage=False)
