"""Graph nodes that fetch models on demand, then load them with ComfyUI's own loaders.

A reference (not a token) is all a workflow stores; how a node gets its model (its
reference, its workflow's ``models`` entry, a FLUX repository's role) is
:mod:`.node_fetch`'s. Node ids are stable: saved workflows depend on them.
"""

from __future__ import annotations

from typing import Any

from ..errors import PhoenixError
from ..folders import MODEL_FOLDERS
from . import comfy
from .node_fetch import fetch, node_need, validate_reference

CATEGORY = "Phoenix"
FLUX_CLIP_L = "comfyanonymous/flux_text_encoders/clip_l.safetensors"
FLUX_T5 = "comfyanonymous/flux_text_encoders/t5xxl_fp16.safetensors"
FLUX2_KLEIN_4B = "black-forest-labs/FLUX.2-klein-4B"
FLUX_REDUX = "black-forest-labs/FLUX.1-Redux-dev"
WEIGHT_DTYPES = ["default", "fp8_e4m3fn", "fp8_e4m3fn_fast", "fp8_e5m2"]
#: What every node gets from ComfyUI besides its inputs: its id, and the workflow it is in.
HIDDEN = {"unique_id": "UNIQUE_ID", "extra_pnginfo": "EXTRA_PNGINFO"}


def _reference_input(default: str = "") -> tuple[str, dict[str, Any]]:
    return (
        "STRING",
        {
            "default": default,
            "multiline": False,
            "tooltip": "A HuggingFace or CivitAI reference or link (no tokens here).",
        },
    )


class PhoenixFetchModel:
    """Fetch any model by reference; outputs its name in the folder and its full path."""

    CATEGORY = CATEGORY
    RETURN_TYPES = ("STRING", "STRING")
    RETURN_NAMES = ("name", "path")
    FUNCTION = "run"
    OUTPUT_NODE = True  # runs on its own too: queue it to pre-fetch a model
    DESCRIPTION = "Downloads a model by reference into the right ComfyUI folder, verified."

    @classmethod
    def INPUT_TYPES(cls) -> dict[str, Any]:
        return {
            "required": {
                "reference": _reference_input(),
                "folder": (["auto", *sorted(MODEL_FOLDERS)], {"default": "auto"}),
            },
            "hidden": HIDDEN,
        }

    @classmethod
    def VALIDATE_INPUTS(cls, reference: str) -> bool | str:
        return validate_reference(reference)

    def run(
        self,
        reference: str,
        folder: str,
        unique_id: str | None = None,
        extra_pnginfo: Any = None,
    ) -> dict[str, Any]:
        values = {"reference": reference, "folder": folder}
        need = node_need(self, "reference", values, (unique_id, extra_pnginfo))
        name, path = fetch(reference, None if folder == "auto" else folder, unique_id, need)
        return {"ui": {"text": [f"{name} → {path}"]}, "result": (name, str(path))}


class _Loader:
    CATEGORY = CATEGORY
    FUNCTION = "load"
    FOLDER = ""
    #: The FLUX plan role this loader takes from a whole repository's plan.
    ROLE: str | None = None

    @classmethod
    def VALIDATE_INPUTS(cls, reference: str) -> bool | str:
        return validate_reference(reference)

    def _fetch(
        self,
        widget: str,
        values: dict[str, Any],
        ids: tuple[str | None, Any],
        role: str | None = None,
    ) -> str:
        """Fetch ``values[widget]`` (or what the workflow names for it); its name in the folder.

        Args:
            widget: the reference widget.
            values: the node's widget values in this run.
            ids: ComfyUI's hidden ``(unique_id, extra_pnginfo)``.
            role: the FLUX plan role, when it is not the loader's own.
        """
        need = node_need(self, widget, values, ids)
        return fetch(values[widget], self.FOLDER, ids[0], need, role or self.ROLE)[0]


def _reference_only(default: str = "") -> dict[str, Any]:
    return {
        "required": {"reference": _reference_input(default)},
        "hidden": HIDDEN,
    }


class PhoenixCheckpointLoader(_Loader):
    FOLDER = "checkpoints"
    RETURN_TYPES = ("MODEL", "CLIP", "VAE")
    DESCRIPTION = "Fetches a full checkpoint by reference, then loads it."

    @classmethod
    def INPUT_TYPES(cls) -> dict[str, Any]:
        return {"required": {"reference": _reference_input()}, "hidden": HIDDEN}

    def load(self, reference: str, unique_id: str | None = None, extra_pnginfo: Any = None) -> Any:
        name = self._fetch("reference", {"reference": reference}, (unique_id, extra_pnginfo))
        return comfy.core_nodes().CheckpointLoaderSimple().load_checkpoint(name)[:3]


class PhoenixDiffusionModelLoader(_Loader):
    FOLDER = "diffusion_models"
    ROLE = "transformer"
    RETURN_TYPES = ("MODEL",)
    DESCRIPTION = (
        "Fetches a diffusion model (e.g. the FLUX transformer) by reference, then loads it."
    )

    @classmethod
    def INPUT_TYPES(cls) -> dict[str, Any]:
        return {
            "required": {
                "reference": _reference_input(),
                "weight_dtype": (WEIGHT_DTYPES, {"default": "default"}),
            },
            "hidden": HIDDEN,
        }

    def load(
        self,
        reference: str,
        weight_dtype: str,
        unique_id: str | None = None,
        extra_pnginfo: Any = None,
    ) -> Any:
        name = self._fetch("reference", {"reference": reference}, (unique_id, extra_pnginfo))
        return comfy.core_nodes().UNETLoader().load_unet(name, weight_dtype)


class PhoenixLoraLoader(_Loader):
    FOLDER = "loras"
    RETURN_TYPES = ("MODEL", "CLIP")
    DESCRIPTION = "Fetches a LoRA by reference, then applies it to the model and CLIP."

    @classmethod
    def INPUT_TYPES(cls) -> dict[str, Any]:
        strength = {"default": 1.0, "min": -100.0, "max": 100.0, "step": 0.01}
        return {
            "required": {
                "model": ("MODEL",),
                "clip": ("CLIP",),
                "reference": _reference_input(),
                "strength_model": ("FLOAT", strength),
                "strength_clip": ("FLOAT", strength),
            },
            "hidden": HIDDEN,
        }

    def load(
        self,
        model: Any,
        clip: Any,
        reference: str,
        strength_model: float,
        strength_clip: float,
        unique_id: str | None = None,
        extra_pnginfo: Any = None,
    ) -> Any:
        name = self._fetch("reference", {"reference": reference}, (unique_id, extra_pnginfo))
        return (
            comfy.core_nodes()
            .LoraLoader()
            .load_lora(model, clip, name, strength_model, strength_clip)
        )


class PhoenixVAELoader(_Loader):
    FOLDER = "vae"
    ROLE = "vae"
    RETURN_TYPES = ("VAE",)
    DESCRIPTION = "Fetches a VAE by reference, then loads it."

    @classmethod
    def INPUT_TYPES(cls) -> dict[str, Any]:
        return {"required": {"reference": _reference_input()}, "hidden": HIDDEN}

    def load(self, reference: str, unique_id: str | None = None, extra_pnginfo: Any = None) -> Any:
        name = self._fetch("reference", {"reference": reference}, (unique_id, extra_pnginfo))
        return comfy.core_nodes().VAELoader().load_vae(name)


class PhoenixFluxTextEncoderLoader(_Loader):
    FOLDER = "text_encoders"
    RETURN_TYPES = ("CLIP",)
    DESCRIPTION = (
        "Fetches FLUX's two text encoders (CLIP-L and T5-XXL) by reference, then loads them."
    )

    @classmethod
    def INPUT_TYPES(cls) -> dict[str, Any]:
        return {
            "required": {
                "clip_l": _reference_input(FLUX_CLIP_L),
                "t5xxl": _reference_input(FLUX_T5),
            },
            "hidden": HIDDEN,
        }

    @classmethod
    def VALIDATE_INPUTS(cls, clip_l: str, t5xxl: str) -> bool | str:  # type: ignore[override]
        for reference in (clip_l, t5xxl):
            verdict = validate_reference(reference)
            if verdict is not True:
                return verdict
        return True

    def load(
        self, clip_l: str, t5xxl: str, unique_id: str | None = None, extra_pnginfo: Any = None
    ) -> Any:
        values, ids = {"clip_l": clip_l, "t5xxl": t5xxl}, (unique_id, extra_pnginfo)
        first = self._fetch("clip_l", values, ids, "clip_l")
        second = self._fetch("t5xxl", values, ids, "t5")
        return comfy.core_nodes().DualCLIPLoader().load_clip(first, second, "flux")


class PhoenixFlux2TextEncoderLoader(_Loader):
    FOLDER = "text_encoders"
    ROLE = "text_encoder"
    RETURN_TYPES = ("CLIP",)
    DESCRIPTION = (
        "Fetches FLUX.2's text encoder (Mistral Small for [dev], Qwen3 for [klein]) by "
        "reference, then loads it as ComfyUI's 'flux2' type."
    )

    @classmethod
    def INPUT_TYPES(cls) -> dict[str, Any]:
        return _reference_only(FLUX2_KLEIN_4B)

    def load(self, reference: str, unique_id: str | None = None, extra_pnginfo: Any = None) -> Any:
        # Checked before the download: a FLUX.2 encoder is 4 to 36 GB this ComfyUI cannot use.
        if not comfy.has_clip_type("flux2"):
            raise PhoenixError(
                "This ComfyUI cannot load FLUX.2's text encoder: it has no 'flux2' type.",
                hint="Update ComfyUI to a release with FLUX.2 support, then queue again.",
            )
        name = self._fetch("reference", {"reference": reference}, (unique_id, extra_pnginfo))
        return comfy.core_nodes().CLIPLoader().load_clip(name, "flux2")


class PhoenixCLIPVisionLoader(_Loader):
    FOLDER = "clip_vision"
    ROLE = "clip_vision"
    RETURN_TYPES = ("CLIP_VISION",)
    DESCRIPTION = "Fetches an image encoder (e.g. Redux's SigLIP) by reference, then loads it."

    @classmethod
    def INPUT_TYPES(cls) -> dict[str, Any]:
        return _reference_only(FLUX_REDUX)

    def load(self, reference: str, unique_id: str | None = None, extra_pnginfo: Any = None) -> Any:
        name = self._fetch("reference", {"reference": reference}, (unique_id, extra_pnginfo))
        return comfy.core_nodes().CLIPVisionLoader().load_clip(name)


class PhoenixStyleModelLoader(_Loader):
    FOLDER = "style_models"
    ROLE = "style_model"
    RETURN_TYPES = ("STYLE_MODEL",)
    DESCRIPTION = "Fetches a style model (e.g. FLUX.1 Redux) by reference, then loads it."

    @classmethod
    def INPUT_TYPES(cls) -> dict[str, Any]:
        return _reference_only(FLUX_REDUX)

    def load(self, reference: str, unique_id: str | None = None, extra_pnginfo: Any = None) -> Any:
        name = self._fetch("reference", {"reference": reference}, (unique_id, extra_pnginfo))
        return comfy.core_nodes().StyleModelLoader().load_style_model(name)


NODE_CLASS_MAPPINGS: dict[str, type] = {
    "PhoenixFetchModel": PhoenixFetchModel,
    "PhoenixCheckpointLoader": PhoenixCheckpointLoader,
    "PhoenixDiffusionModelLoader": PhoenixDiffusionModelLoader,
    "PhoenixLoraLoader": PhoenixLoraLoader,
    "PhoenixVAELoader": PhoenixVAELoader,
    "PhoenixFluxTextEncoderLoader": PhoenixFluxTextEncoderLoader,
    "PhoenixFlux2TextEncoderLoader": PhoenixFlux2TextEncoderLoader,
    "PhoenixCLIPVisionLoader": PhoenixCLIPVisionLoader,
    "PhoenixStyleModelLoader": PhoenixStyleModelLoader,
}

NODE_DISPLAY_NAME_MAPPINGS = {
    "PhoenixFetchModel": "Fetch Model (Phoenix)",
    "PhoenixCheckpointLoader": "Load Checkpoint by Reference (Phoenix)",
    "PhoenixDiffusionModelLoader": "Load Diffusion Model by Reference (Phoenix)",
    "PhoenixLoraLoader": "Load LoRA by Reference (Phoenix)",
    "PhoenixVAELoader": "Load VAE by Reference (Phoenix)",
    "PhoenixFluxTextEncoderLoader": "Load FLUX Text Encoders by Reference (Phoenix)",
    "PhoenixFlux2TextEncoderLoader": "Load FLUX.2 Text Encoder by Reference (Phoenix)",
    "PhoenixCLIPVisionLoader": "Load CLIP Vision by Reference (Phoenix)",
    "PhoenixStyleModelLoader": "Load Style Model by Reference (Phoenix)",
}
