"""ComfyUI's performance flags for one GPU, each with the reason it is there (or is not).

:func:`choose_comfy_flags` picks from the architecture's row (:mod:`.arch_profiles`), the
GPU's memory, whether SageAttention 2 imports and whether fp8 weights are coming;
:func:`explain_omitted_flags` says, for the boot report, why the flags people expect
are left out.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from comfyui_phoenix.gpu_check import GIB

from .arch_profiles import arch_profile


@dataclass(frozen=True)
class FlagChoice:
    """A ComfyUI command-line flag, its values, and why it was chosen.

    ``values_are_choices``: the values are names from a fixed list (``--fast``'s
    optimisations), so they must also appear in ``--help`` for the flag to be kept.
    ``base``: one of the flags every container start has (paths, ports, the database),
    as opposed to one chosen for this GPU or these settings; the boot log and its
    summary name only the chosen ones.
    """

    flag: str
    reason: str
    values: tuple[str, ...] = ()
    values_are_choices: bool = False
    base: bool = False

    @property
    def argv(self) -> list[str]:
        return [self.flag, *self.values]

    def to_dict(self) -> dict[str, Any]:
        return {
            "flag": self.flag,
            "values": list(self.values),
            "reason": self.reason,
            "base": self.base,
        }


#: bf16 FLUX.1-dev (23.8 GB) + fp16 T5-XXL (9.5 GB) + CLIP-L and VAE, about 33.7 GB
#: (FACTS §10), plus room for activations: below this, ComfyUI must swap models out.
FLUX_RESIDENT_VRAM = 40 * GIB


def choose_comfy_flags(
    arch: str | None,
    vram_bytes: int | None,
    *,
    sage_available: bool,
    cpu_mode: bool,
    preload_has_fp8: bool,
) -> list[FlagChoice]:
    """ComfyUI's performance flags for this GPU, each with the reason it is there.

    Args:
        arch: the GPU's architecture (``sm_120``); None when there is no GPU.
        vram_bytes: the GPU's memory.
        sage_available: SageAttention 2 imports in ComfyUI's Python.
        cpu_mode: ``PHOENIX_CPU_MODE``: run on the CPU whatever the hardware.
        preload_has_fp8: some diffusion model the preload fetches (or that is on the
            volume) has fp8 weights.
    """
    if cpu_mode or arch is None:
        why = "PHOENIX_CPU_MODE=true" if cpu_mode else "no GPU is visible"
        return [FlagChoice("--cpu", f"{why}: ComfyUI runs everything on the CPU (slow).")]
    profile = arch_profile(arch)
    flags = []
    if sage_available and profile.sage:
        flags.append(
            FlagChoice(
                "--use-sage-attention",
                f"SageAttention 2 imports and has {arch} kernels; with fp8 weights it is the "
                "fastest measured FLUX path on an RTX 5090.",
            )
        )
    if profile.fp8 and preload_has_fp8:
        flags.append(
            FlagChoice(
                "--fast",
                f"{profile.family} has fp8 tensor cores and fp8 weights are present: fp8 "
                "matrix multiplication speeds up exactly those.",
                values=("fp8_matrix_mult",),
                values_are_choices=True,
            )
        )
    if vram_bytes is not None and vram_bytes >= FLUX_RESIDENT_VRAM:
        flags.append(
            FlagChoice(
                "--highvram",
                f"{vram_bytes / GIB:.0f} GiB of VRAM holds FLUX.1-dev in 16 bit with its text "
                "encoders (about 34 GB): models stay on the GPU between runs.",
            )
        )
    return flags


def explain_omitted_flags(
    arch: str | None,
    vram_bytes: int | None,
    *,
    sage_available: bool,
    cpu_mode: bool,
    preload_has_fp8: bool,
) -> list[str]:
    """Why the flags people expect are *not* set here: one sentence each, for the boot report."""
    if cpu_mode or arch is None:
        return []
    profile = arch_profile(arch)
    notes = []
    if vram_bytes is not None and vram_bytes < FLUX_RESIDENT_VRAM:
        notes.append(
            f"--highvram/--gpu-only: not set: bf16 FLUX (23.8 GB) plus the fp16 T5 (9.5 GB) "
            f"exceed this GPU's {vram_bytes / GIB:.0f} GiB, so ComfyUI must be free to swap "
            "the text encoder out."
        )
    if not profile.fp8:
        notes.append(f"--fast fp8_matrix_mult: not set: {arch} has no fp8 tensor cores.")
    elif not preload_has_fp8:
        notes.append(
            "--fast fp8_matrix_mult: not set: it speeds only fp8 weights, and none are being "
            "fetched or present."
        )
    if not sage_available:
        notes.append(
            "--use-sage-attention: not set: SageAttention 2 is not installed (build the image "
            "with WITH_SAGEATTENTION=1); PyTorch's own attention is used."
        )
    elif not profile.sage:
        notes.append(f"--use-sage-attention: not set: SageAttention 2 has no {arch} kernels.")
    notes.append(
        "--bf16-unet: not set: FLUX weights are bf16 already and ComfyUI picks bf16 on this "
        "GPU; forcing it would also turn fp8 weights into bf16 (twice the VRAM, no fp8 matmul)."
    )
    notes.append(
        "--cuda-malloc: not set: ComfyUI enables cudaMallocAsync by itself with torch ≥ 2."
    )
    return notes
