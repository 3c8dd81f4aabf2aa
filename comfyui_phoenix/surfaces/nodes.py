"""Graph nodes that fetch models on demand, then load them with ComfyUI's own loaders.

Nodes run in ComfyUI's prompt worker thread, on its own event loop; they talk to
Phoenix on the server loop with ``run_coroutine_threadsafe`` and never share its
session. A reference (not a token) is all a workflow stores. The same reference
in two nodes is one download. Interrupting the prompt stops the waiting; the
download itself carries on in the background for the next run.

A loader given a whole repository (``black-forest-labs/FLUX.2-klein-4B``) takes
the file of its own role from that repository's plan: for a FLUX member, the
transformer, autoencoder or text encoder in the precision this machine's plan
chose, so a workflow fetches what the boot preload already placed.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from pathlib import Path
from typing import Any

from ..errors import NothingToFetchError, PhoenixError
from ..folders import MODEL_FOLDERS
from ..refs import Destination, HFRef, parse_reference
from . import comfy

CATEGORY = "Phoenix"
WAIT_STEP = 0.25
FLUX_CLIP_L = "comfyanonymous/flux_text_encoders/clip_l.safetensors"
FLUX_T5 = "comfyanonymous/flux_text_encoders/t5xxl_fp16.safetensors"
FLUX2_KLEIN_4B = "black-forest-labs/FLUX.2-klein-4B"
FLUX_REDUX = "black-forest-labs/FLUX.1-Redux-dev"
WEIGHT_DTYPES = ["default", "fp8_e4m3fn", "fp8_e4m3fn_fast", "fp8_e5m2"]


def _reference_input(default: str = "") -> tuple[str, dict[str, Any]]:
    return (
        "STRING",
        {
            "default": default,
            "multiline": False,
            "tooltip": "A HuggingFace or CivitAI reference or link (no tokens here).",
        },
    )


def validate_reference(reference: str) -> bool | str:
    """Syntax only: the file need not exist yet (it is fetched when the node runs)."""
    try:
        parse_reference(reference)
    except PhoenixError as exc:
        return str(exc)
    return True


async def _submit(reference: str, folder: str | None, role: str | None) -> Any:
    app = comfy.running_app()
    manager = app.service.manager
    ref = manager.planner.sources.parse(reference)
    repository = isinstance(ref, HFRef) and ref.path is None and ref.destination is None
    # A whole repository plans its files where they belong; the loader then takes its own.
    destination = Destination(folder) if folder and not repository else None
    plan = await manager.plan_refs([reference], destination=destination)
    if plan.problems:
        raise plan.problems[0].error
    items = _own_files(plan.items, folder, role) if repository else plan.items
    if len(items) != 1:
        names = ", ".join(i.file.relpath for i in (items or plan.items)[:6])
        what = "a loader needs one" if items else f"none of them is a {role or folder} file"
        raise NothingToFetchError(
            f"'{reference}' names {len(plan.items)} files ({names}); {what}.",
            hint="Name one file, e.g. owner/repo/file.safetensors.",
        )
    return manager.submit_item(items[0], origin="node")


def _own_files(items: list[Any], folder: str | None, role: str | None) -> list[Any]:
    """The files of a repository's plan a loader of ``role`` (or ``folder``) loads."""
    if role is not None and any(i.file.meta.get("role") for i in items):
        return [i for i in items if i.file.meta.get("role") == role]
    return [i for i in items if folder is None or i.file.folder == folder]


def fetch(
    reference: str, folder: str | None, node_id: str | None, role: str | None = None
) -> tuple[str, Path]:
    """Fetch ``reference`` (waiting with a progress bar) and return (name in folder, path)."""
    loop = comfy.server_loop()
    submit = _submit(reference.strip(), folder, role)
    job = _wait(asyncio.run_coroutine_threadsafe(submit, loop))
    bar = comfy.progress_bar(100, node_id)

    def report() -> None:
        total = job.total or job.file.size
        bar.update_absolute(int(100 * job.done_bytes / total) if total else 0, 100)

    _wait(asyncio.run_coroutine_threadsafe(job.finished.wait(), loop), report)
    if job.state.value != "done":
        error = job.error or {}
        raise PhoenixError(
            f"{job.file.relpath}: {error.get('detail', 'the download did not finish')}",
            hint=error.get("hint"),
        )
    bar.update_absolute(100, 100)
    base = app_target(job.file.folder)
    name = job.dest.relative_to(base).as_posix() if job.dest.is_relative_to(base) else job.dest.name
    return name, job.dest


def _wait(future: concurrent.futures.Future[Any], tick: Any = None) -> Any:
    """Wait for work on the server loop, checking ComfyUI's Cancel between steps.

    An interrupt stops the waiting only: a download carries on for the next run.
    """
    try:
        while True:
            try:
                return future.result(timeout=WAIT_STEP)
            except concurrent.futures.TimeoutError:
                if tick is not None:
                    tick()
                comfy.check_interrupted()
    finally:
        future.cancel()


def app_target(folder: str) -> Path:
    return Path(comfy.running_app().service.layout.target_dir(folder))


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
            "hidden": {"unique_id": "UNIQUE_ID"},
        }

    @classmethod
    def VALIDATE_INPUTS(cls, reference: str) -> bool | str:
        return validate_reference(reference)

    def run(self, reference: str, folder: str, unique_id: str | None = None) -> dict[str, Any]:
        name, path = fetch(reference, None if folder == "auto" else folder, unique_id)
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

    def _fetch(self, reference: str, unique_id: str | None, role: str | None = None) -> str:
        return fetch(reference, self.FOLDER, unique_id, role or self.ROLE)[0]


def _reference_only(default: str = "") -> dict[str, Any]:
    return {
        "required": {"reference": _reference_input(default)},
        "hidden": {"unique_id": "UNIQUE_ID"},
    }


class PhoenixCheckpointLoader(_Loader):
    FOLDER = "checkpoints"
    RETURN_TYPES = ("MODEL", "CLIP", "VAE")
    DESCRIPTION = "Fetches a full checkpoint by reference, then loads it."

    @classmethod
    def INPUT_TYPES(cls) -> dict[str, Any]:
        return {"required": {"reference": _reference_input()}, "hidden": {"unique_id": "UNIQUE_ID"}}

    def load(self, reference: str, unique_id: str | None = None) -> Any:
        name = self._fetch(reference, unique_id)
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
            "hidden": {"unique_id": "UNIQUE_ID"},
        }

    def load(self, reference: str, weight_dtype: str, unique_id: str | None = None) -> Any:
        name = self._fetch(reference, unique_id)
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
            "hidden": {"unique_id": "UNIQUE_ID"},
        }

    def load(
        self,
        model: Any,
        clip: Any,
        reference: str,
        strength_model: float,
        strength_clip: float,
        unique_id: str | None = None,
    ) -> Any:
        name = self._fetch(reference, unique_id)
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
        return {"required": {"reference": _reference_input()}, "hidden": {"unique_id": "UNIQUE_ID"}}

    def load(self, reference: str, unique_id: str | None = None) -> Any:
        name = self._fetch(reference, unique_id)
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
            "hidden": {"unique_id": "UNIQUE_ID"},
        }

    @classmethod
    def VALIDATE_INPUTS(cls, clip_l: str, t5xxl: str) -> bool | str:  # type: ignore[override]
        for reference in (clip_l, t5xxl):
            verdict = validate_reference(reference)
            if verdict is not True:
                return verdict
        return True

    def load(self, clip_l: str, t5xxl: str, unique_id: str | None = None) -> Any:
        first = self._fetch(clip_l, unique_id, "clip_l")
        second = self._fetch(t5xxl, unique_id, "t5")
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

    def load(self, reference: str, unique_id: str | None = None) -> Any:
        # Checked before the download: a FLUX.2 encoder is 4 to 36 GB this ComfyUI cannot use.
        if not comfy.has_clip_type("flux2"):
            raise PhoenixError(
                "This ComfyUI cannot load FLUX.2's text encoder: it has no 'flux2' type.",
                hint="Update ComfyUI to a release with FLUX.2 support, then queue again.",
            )
        name = self._fetch(reference, unique_id)
        return comfy.core_nodes().CLIPLoader().load_clip(name, "flux2")


class PhoenixCLIPVisionLoader(_Loader):
    FOLDER = "clip_vision"
    ROLE = "clip_vision"
    RETURN_TYPES = ("CLIP_VISION",)
    DESCRIPTION = "Fetches an image encoder (e.g. Redux's SigLIP) by reference, then loads it."

    @classmethod
    def INPUT_TYPES(cls) -> dict[str, Any]:
        return _reference_only(FLUX_REDUX)

    def load(self, reference: str, unique_id: str | None = None) -> Any:
        name = self._fetch(reference, unique_id)
        return comfy.core_nodes().CLIPVisionLoader().load_clip(name)


class PhoenixStyleModelLoader(_Loader):
    FOLDER = "style_models"
    ROLE = "style_model"
    RETURN_TYPES = ("STYLE_MODEL",)
    DESCRIPTION = "Fetches a style model (e.g. FLUX.1 Redux) by reference, then loads it."

    @classmethod
    def INPUT_TYPES(cls) -> dict[str, Any]:
        return _reference_only(FLUX_REDUX)

    def load(self, reference: str, unique_id: str | None = None) -> Any:
        name = self._fetch(reference, unique_id)
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
