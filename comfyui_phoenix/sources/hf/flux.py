"""FLUX.1 as ComfyUI loads it, not as the diffusers library does.

``black-forest-labs/FLUX.1-dev`` (and ``-schnell``) hold the single-file
transformer and ``ae.safetensors`` beside 30+ GB of diffusers-format copies.
ComfyUI needs only the single files plus the text encoders that
``comfyanonymous/flux_text_encoders`` repackages for ``DualCLIPLoader``:
``clip_l`` and one T5-XXL, fp16 or fp8 (``PHOENIX_T5``).

With ``PHOENIX_T5=auto`` the choice follows the largest GPU's memory: fp8 below
24 GB, fp16 otherwise. When no GPU is known (no NVIDIA driver, a Mac, a CPU-only
machine) auto picks fp16, because it loads everywhere: torch cannot move fp8
weights to Apple's MPS device, and without a GPU the fp8 file saves nothing
at run time. Only an explicit ``PHOENIX_T5=fp8`` picks fp8 there.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from ...refs import Destination, HFRef

TEXT_ENCODERS_REPO = "comfyanonymous/flux_text_encoders"
CLIP_L_FILE = "clip_l.safetensors"
T5_FILES: dict[str, str] = {
    "fp16": "t5xxl_fp16.safetensors",
    "fp8": "t5xxl_fp8_e4m3fn.safetensors",
}

#: Cards sold as "24 GB" report about 25.7e9 bytes, so a decimal threshold keeps them on fp16.
FP16_MIN_VRAM_BYTES = 24 * 1000**3

T5Precision = Literal["fp16", "fp8"]

# Lower-cased repo id -> (repo id as HuggingFace spells it, model name, transformer file).
_FLUX_REPOS: dict[str, tuple[str, str, str]] = {
    "black-forest-labs/flux.1-dev": (
        "black-forest-labs/FLUX.1-dev",
        "FLUX.1-dev",
        "flux1-dev.safetensors",
    ),
    "black-forest-labs/flux.1-schnell": (
        "black-forest-labs/FLUX.1-schnell",
        "FLUX.1-schnell",
        "flux1-schnell.safetensors",
    ),
}


#: FLUX.1's two text encoders load together: one DualCLIPLoader of type flux, T5 first.
_DUAL_CLIP = {"node": "DualCLIPLoader", "options": {"type": "flux"}, "shared": True}


@dataclass(frozen=True)
class FluxFile:
    """One file of a FLUX plan, why it goes where it goes, and the loader that reads it."""

    ref: HFRef
    reason: str
    loader: dict[str, Any] = field(default_factory=dict)


def choose_t5(t5_choice: str, vram_bytes: int | None) -> tuple[T5Precision, str]:
    """Pick the T5-XXL precision and say why.

    Args:
        t5_choice: ``PHOENIX_T5``: ``fp16``, ``fp8`` or ``auto``.
        vram_bytes: memory of the largest GPU, or None when no GPU is known.
    """
    if t5_choice == "fp16":
        return "fp16", "PHOENIX_T5=fp16"
    if t5_choice == "fp8":
        return "fp8", "PHOENIX_T5=fp8"
    if vram_bytes is None:
        return "fp16", "no GPU was found, and fp16 loads on any device"
    gigabytes = vram_bytes / 1000**3
    if vram_bytes < FP16_MIN_VRAM_BYTES:
        return "fp8", f"the GPU has {gigabytes:.0f} GB, under 24 GB"
    return "fp16", f"the GPU has {gigabytes:.0f} GB"


def flux_plan(repo_id: str, t5_choice: str, vram_bytes: int | None) -> list[FluxFile] | None:
    """The four files that make a FLUX.1 repository runnable in ComfyUI; None for other repos."""
    known = _FLUX_REPOS.get(repo_id.lower())
    if known is None:
        return None
    canonical, model, transformer = known
    precision, why = choose_t5(t5_choice, vram_bytes)
    return [
        FluxFile(
            HFRef(canonical, transformer, destination=Destination("diffusion_models")),
            f"{model}'s single-file transformer, for 'Load Diffusion Model'",
            {"node": "UNETLoader"},
        ),
        FluxFile(
            HFRef(canonical, "ae.safetensors", destination=Destination("vae")),
            f"{model}'s autoencoder, for 'Load VAE'",
            {"node": "VAELoader"},
        ),
        FluxFile(
            HFRef(TEXT_ENCODERS_REPO, CLIP_L_FILE, destination=Destination("text_encoders")),
            "FLUX's CLIP-L text encoder, for 'DualCLIPLoader'",
            {**_DUAL_CLIP, "input": "clip_name2"},
        ),
        FluxFile(
            HFRef(
                TEXT_ENCODERS_REPO, T5_FILES[precision], destination=Destination("text_encoders")
            ),
            f"FLUX's T5-XXL text encoder in {precision} ({why}), for 'DualCLIPLoader'",
            {**_DUAL_CLIP, "input": "clip_name1"},
        ),
    ]
