"""Which folder a model file lands in: ComfyUI lists a file only in the folder its loader reads."""

from __future__ import annotations

import io

import pytest
from peers.models import (
    CLIP_L,
    FLUX_TRANSFORMER,
    FLUX_VAE,
    LORA,
    SD_CHECKPOINT,
    T5_ENCODER,
    safetensors_bytes,
)

from comfyui_phoenix.engines.verify import _safetensors_header
from comfyui_phoenix.sources.classify import (
    Placement,
    civitai_placement,
    classify_header,
    classify_name,
    reconcile,
)


def header_of(tensors: dict[str, tuple[int, ...]]) -> dict[str, object]:
    """The header as Phoenix reads it from a real safetensors file."""
    data = safetensors_bytes(tensors, metadata={"format": "pt"})
    return _safetensors_header(io.BytesIO(data), len(data), "model.safetensors")


@pytest.mark.parametrize(
    ("tensors", "folder", "words"),
    [
        (FLUX_TRANSFORMER, "diffusion_models", "FLUX transformer"),
        (FLUX_VAE, "vae", "VAE"),
        (T5_ENCODER, "text_encoders", "T5"),
        (CLIP_L, "text_encoders", "CLIP"),
        (SD_CHECKPOINT, "checkpoints", "VAE and text encoder"),
        (LORA, "loras", "LoRA"),
    ],
)
def test_header_tells_each_kind_of_model_apart(
    tensors: dict[str, tuple[int, ...]], folder: str, words: str
) -> None:
    placement = classify_header(header_of(tensors))
    assert placement is not None
    assert placement.folder == folder
    assert words in placement.reason


def test_a_flux_transformer_inside_a_comfy_prefix_is_still_a_diffusion_model() -> None:
    prefixed = {f"model.diffusion_model.{k}": v for k, v in FLUX_TRANSFORMER.items()}
    placement = classify_header(header_of(prefixed))
    assert placement is not None and placement.folder == "diffusion_models"


def test_a_header_with_only_metadata_or_unknown_tensors_says_nothing() -> None:
    assert classify_header({"__metadata__": {"format": "pt"}}) is None
    assert classify_header(header_of({"some.unrelated.weight": (4, 4)})) is None


@pytest.mark.parametrize(
    ("name", "folder"),
    [
        ("flux1-dev.safetensors", "diffusion_models"),
        ("flux1-schnell-Q4_0.gguf", "diffusion_models"),
        ("ae.safetensors", "vae"),
        ("sdxl_vae.safetensors", "vae"),
        ("clip_l.safetensors", "text_encoders"),
        ("t5xxl_fp8_e4m3fn.safetensors", "text_encoders"),
        ("t5-v1_1-xxl-encoder-Q8_0.gguf", "text_encoders"),
        ("my_style_lora.safetensors", "loras"),
        ("4x-UltraSharp.pth", "upscale_models"),
        ("controlnet-canny.safetensors", "controlnet"),
        ("sigclip_vision_patch14_384.safetensors", "clip_vision"),
    ],
)
def test_name_rules_follow_community_naming(name: str, folder: str) -> None:
    placement = classify_name(name)
    assert placement is not None
    assert placement.folder == folder


def test_a_name_with_no_clue_gives_no_guess() -> None:
    assert classify_name("model.safetensors") is None


def test_a_bare_flux_transformer_listed_as_a_checkpoint_goes_to_diffusion_models() -> None:
    declared = Placement("checkpoints", "CivitAI lists the model as 'Checkpoint'")
    placement = reconcile(declared, header_of(FLUX_TRANSFORMER))
    assert placement.folder == "diffusion_models"
    assert placement.reason.startswith("listed as a checkpoint, but")
    assert "FLUX transformer" in placement.reason


def test_a_file_listed_as_a_lora_that_is_a_vae_goes_to_vae() -> None:
    placement = reconcile(
        Placement("loras", "CivitAI lists the model as 'LORA'"), header_of(FLUX_VAE)
    )
    assert placement.folder == "vae"
    assert "listed as a LoRA" in placement.reason


def test_a_header_that_agrees_or_says_nothing_keeps_the_declared_folder() -> None:
    declared = Placement("checkpoints", "CivitAI lists the model as 'Checkpoint'")
    assert reconcile(declared, header_of(SD_CHECKPOINT)) == declared
    assert reconcile(declared, None) == declared
    assert reconcile(declared, {"__metadata__": {}}) == declared


def test_civitai_file_type_wins_over_model_type() -> None:
    placement = civitai_placement("Checkpoint", "VAE")
    assert placement is not None and placement.folder == "vae"
    placement = civitai_placement("LORA", None)
    assert placement is not None and placement.folder == "loras"
    assert civitai_placement("Poses", "Other") is None
