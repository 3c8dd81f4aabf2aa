"""Which ComfyUI folder a file belongs in, and why.

In order: the user's explicit ``::folder``, the source's own type (CivitAI's model
type and file type), the safetensors header (tensor names tell a FLUX transformer,
a full checkpoint, a VAE, a T5/CLIP text encoder and a LoRA apart), then naming
conventions. Each answer carries a reason the plan shows.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Placement:
    folder: str
    reason: str


CIVITAI_MODEL_TYPES = {
    "checkpoint": "checkpoints",
    "lora": "loras",
    "locon": "loras",
    "dora": "loras",
    "lycoris": "loras",
    "textualinversion": "embeddings",
    "embedding": "embeddings",
    "hypernetwork": "hypernetworks",
    "vae": "vae",
    "controlnet": "controlnet",
    "upscaler": "upscale_models",
    "textencoder": "text_encoders",
    "text_encoders": "text_encoders",
    "clip": "text_encoders",
    "unet": "diffusion_models",
    "diffusionmodel": "diffusion_models",
    "clipvision": "clip_vision",
}

CIVITAI_FILE_TYPES = {
    "vae": "vae",
    "text encoder": "text_encoders",
    "vision encoder": "clip_vision",
    "unet": "diffusion_models",
    "diffusion model": "diffusion_models",
    "clipvision": "clip_vision",
    "controlnet": "controlnet",
    "upscaler": "upscale_models",
    "enhancement lora": "loras",
    "negative": "embeddings",
}


def _any(keys: Iterable[str], pattern: str) -> bool:
    rx = re.compile(pattern)
    return any(rx.search(k) for k in keys)


def classify_header(header: Mapping[str, Any]) -> Placement | None:
    """Classify a safetensors header by its tensor names; None when it says nothing clear."""
    keys = [k for k in header if k != "__metadata__"]
    if not keys:
        return None
    if _any(keys, r"(^|\.)lora_(up|down|A|B)\b|\.lora_(up|down|A|B)\.|^lora_|\.alpha$|lokr_|hada_"):
        return Placement("loras", "its tensors are LoRA weights")
    has_unet = _any(keys, r"^model\.diffusion_model\.")
    has_vae = _any(keys, r"^first_stage_model\.|^vae\.")
    has_te = _any(keys, r"^cond_stage_model\.|^conditioner\.|^text_encoders?\.")
    if has_unet and (has_vae or has_te):
        return Placement("checkpoints", "it holds a diffusion model with its VAE and text encoder")
    if _any(keys, r"^(model\.diffusion_model\.)?(double_blocks|single_blocks)\.\d"):
        return Placement("diffusion_models", "its tensors are a FLUX transformer")
    if _any(
        keys,
        r"^(transformer_blocks|joint_blocks|blocks)\.\d+\.|^(model\.diffusion_model\.)?input_blocks\.",
    ):
        return Placement(
            "diffusion_models", "its tensors are a diffusion model without VAE or text encoder"
        )
    if _any(keys, r"^(encoder|decoder)\.(conv_in|conv_out|mid|down|up)"):
        return Placement("vae", "its tensors are a VAE encoder/decoder")
    if _any(keys, r"^(encoder\.block\.\d+\.layer|shared\.weight)"):
        return Placement("text_encoders", "its tensors are a T5 text encoder")
    if _any(keys, r"^text_model\.(encoder|embeddings)\."):
        return Placement("text_encoders", "its tensors are a CLIP text encoder")
    if _any(keys, r"^vision_model\."):
        return Placement("clip_vision", "its tensors are a CLIP vision encoder")
    if _any(keys, r"^(controlnet_|input_hint_block\.|zero_convs\.)"):
        return Placement("controlnet", "its tensors are a ControlNet")
    if _any(keys, r"^(emb_params|string_to_param|clip_[lg])$"):
        return Placement("embeddings", "its tensors are a textual-inversion embedding")
    return None


_NAME_RULES: tuple[tuple[str, str, str], ...] = (
    (r"(^|[_\-.])(lora|lyco|locon|dora)([_\-.]|$)", "loras", "its name says LoRA"),
    (r"(^|[_\-.])(vae|ae)\.(safetensors|sft|pt|ckpt)$", "vae", "its name says VAE"),
    (
        r"(^|[_\-.])(t5|t5xxl|umt5|clip_[lg]|clip-[lg]|llava|qwen.*text)",
        "text_encoders",
        "its name says text encoder",
    ),
    (r"(controlnet|control_)", "controlnet", "its name says ControlNet"),
    (r"(esrgan|upscal|[_\-]x[248][_\-.]|4x|2x)", "upscale_models", "its name says upscaler"),
    (r"(clip_vision|clip-vision|siglip|image_encoder)", "clip_vision", "its name says CLIP vision"),
    (r"(embedding|negative|easynegative)", "embeddings", "its name says embedding"),
    (
        r"(flux1?-(dev|schnell|krea|kontext)|unet|diffusion)",
        "diffusion_models",
        "its name says diffusion model",
    ),
)


def classify_name(filename: str) -> Placement | None:
    """A guess from the file name alone, used only when nothing better is known."""
    name = filename.lower()
    for pattern, folder, reason in _NAME_RULES:
        if re.search(pattern, name):
            return Placement(folder, reason)
    return None


def civitai_placement(model_type: str | None, file_type: str | None) -> Placement | None:
    """CivitAI's file type wins over the model type (a checkpoint's VAE file is a VAE)."""
    if file_type:
        folder = CIVITAI_FILE_TYPES.get(file_type.strip().lower())
        if folder:
            return Placement(folder, f"CivitAI lists the file as '{file_type}'")
    if model_type:
        folder = CIVITAI_MODEL_TYPES.get(model_type.strip().lower())
        if folder:
            return Placement(folder, f"CivitAI lists the model as '{model_type}'")
    return None


def reconcile(declared: Placement, header: Mapping[str, Any] | None) -> Placement:
    """A header that proves the declared folder wrong wins, and the reason says so.

    Example: a bare FLUX transformer listed as a checkpoint cannot load in
    ``CheckpointLoaderSimple``; it goes to ``diffusion_models``.
    """
    if header is None:
        return declared
    found = classify_header(header)
    if found is None or found.folder == declared.folder:
        return declared
    if declared.folder == "checkpoints" and found.folder in (
        "diffusion_models",
        "vae",
        "text_encoders",
        "loras",
    ):
        return Placement(found.folder, f"listed as a checkpoint, but {found.reason}")
    if declared.folder == "loras" and found.folder != "loras":
        return Placement(found.folder, f"listed as a LoRA, but {found.reason}")
    return declared
