"""Graph nodes that fetch models on demand, then load them with ComfyUI's own loaders.

Nodes run in ComfyUI's prompt worker thread, on its own event loop; they talk to
Phoenix on the server loop with ``run_coroutine_threadsafe`` and never share its
session. A reference (not a token) is all a workflow stores. The same reference
in two nodes is one download. Interrupting the prompt stops the waiting; the
download itself carries on in the background for the next run. A node whose
reference is empty fetches the model its ``properties.models`` names (ComfyUI's
workflow metadata), and a reference to the same file is held to that entry's SHA256.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import NothingToFetchError, PhoenixError
from ..folders import MODEL_FOLDERS
from ..refs import Destination, parse_reference
from . import comfy

if TYPE_CHECKING:
    from ..workflow import Need

CATEGORY = "Phoenix"
WAIT_STEP = 0.25
FLUX_CLIP_L = "comfyanonymous/flux_text_encoders/clip_l.safetensors"
FLUX_T5 = "comfyanonymous/flux_text_encoders/t5xxl_fp16.safetensors"
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


def validate_reference(reference: str) -> bool | str:
    """Syntax only: the file need not exist yet (it is fetched when the node runs).

    An empty reference passes: the node's ``properties.models`` may name the file,
    which only the running node can see.
    """
    if not reference.strip():
        return True
    try:
        parse_reference(reference)
    except PhoenixError as exc:
        return str(exc)
    return True


async def _submit(reference: str, folder: str | None, need: Need | None) -> Any:
    app = comfy.running_app()
    manager = app.service.manager
    if need is not None and _says_more(need):
        from ..jobs.workflow_plan import WorkflowPlanner

        planned = await WorkflowPlanner(manager.planner).plan_need(need)
        if planned.error is not None:
            raise planned.error
        items = planned.items
    else:
        destination = Destination(folder) if folder else None
        plan = await manager.plan_refs([reference], destination=destination)
        if plan.problems:
            raise plan.problems[0].error
        items = plan.items
    if len(items) != 1:
        names = ", ".join(i.file.relpath for i in items[:6])
        raise NothingToFetchError(
            f"'{reference}' names {len(items)} files ({names}); a loader needs one.",
            hint="Name one file, e.g. owner/repo/file.safetensors.",
        )
    return manager.submit_item(items[0], origin="node")


def _says_more(need: Need) -> bool:
    """Whether the workflow says more than the reference: a file of its own, or a hash."""
    from ..workflow import ModelEntry

    return isinstance(need, ModelEntry) or need.sha256 is not None


def node_need(node: Any, widget: str, values: dict[str, Any], ids: tuple[Any, Any]) -> Need:
    """What the running ``node`` fetches for ``widget``, with its workflow's ``models`` entries.

    Args:
        node: the node instance (its class name is its node id).
        widget: the reference widget.
        values: the node's widget values in this run.
        ids: ComfyUI's hidden ``(unique_id, extra_pnginfo)``.
    """
    from ..workflow import node_needs, node_spec  # read only when a node runs

    unique_id, extra_pnginfo = ids
    workflow = extra_pnginfo.get("workflow") if isinstance(extra_pnginfo, dict) else None
    kind = type(node)
    found = node_needs(workflow, str(unique_id), kind.__name__, node_spec(kind), values)
    need = found.get(widget)
    if need is None:
        raise NothingToFetchError(
            f"{kind.__name__} #{unique_id} has an empty '{widget}' and names no model of its own.",
            hint="Type a reference, e.g. owner/repo/file.safetensors or civitai:12345.",
        )
    return need


def fetch(
    reference: str, folder: str | None, node_id: str | None, need: Need | None = None
) -> tuple[str, Path]:
    """Fetch ``reference`` (waiting with a progress bar) and return (name in folder, path).

    ``need`` is what the node's workflow says of it (:func:`node_need`), when it says more.
    """
    loop = comfy.server_loop()
    submitted = _submit(reference.strip(), folder, need)
    job = _wait(asyncio.run_coroutine_threadsafe(submitted, loop))
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

    @classmethod
    def VALIDATE_INPUTS(cls, reference: str) -> bool | str:
        return validate_reference(reference)

    def _fetch(
        self, widget: str, values: dict[str, Any], unique_id: str | None, extra_pnginfo: Any
    ) -> str:
        need = node_need(self, widget, values, (unique_id, extra_pnginfo))
        return fetch(values[widget], self.FOLDER, unique_id, need)[0]


class PhoenixCheckpointLoader(_Loader):
    FOLDER = "checkpoints"
    RETURN_TYPES = ("MODEL", "CLIP", "VAE")
    DESCRIPTION = "Fetches a full checkpoint by reference, then loads it."

    @classmethod
    def INPUT_TYPES(cls) -> dict[str, Any]:
        return {"required": {"reference": _reference_input()}, "hidden": HIDDEN}

    def load(self, reference: str, unique_id: str | None = None, extra_pnginfo: Any = None) -> Any:
        name = self._fetch("reference", {"reference": reference}, unique_id, extra_pnginfo)
        return comfy.core_nodes().CheckpointLoaderSimple().load_checkpoint(name)[:3]


class PhoenixDiffusionModelLoader(_Loader):
    FOLDER = "diffusion_models"
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
        name = self._fetch("reference", {"reference": reference}, unique_id, extra_pnginfo)
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
        name = self._fetch("reference", {"reference": reference}, unique_id, extra_pnginfo)
        return (
            comfy.core_nodes()
            .LoraLoader()
            .load_lora(model, clip, name, strength_model, strength_clip)
        )


class PhoenixVAELoader(_Loader):
    FOLDER = "vae"
    RETURN_TYPES = ("VAE",)
    DESCRIPTION = "Fetches a VAE by reference, then loads it."

    @classmethod
    def INPUT_TYPES(cls) -> dict[str, Any]:
        return {"required": {"reference": _reference_input()}, "hidden": HIDDEN}

    def load(self, reference: str, unique_id: str | None = None, extra_pnginfo: Any = None) -> Any:
        name = self._fetch("reference", {"reference": reference}, unique_id, extra_pnginfo)
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
        values = {"clip_l": clip_l, "t5xxl": t5xxl}
        first = self._fetch("clip_l", values, unique_id, extra_pnginfo)
        second = self._fetch("t5xxl", values, unique_id, extra_pnginfo)
        return comfy.core_nodes().DualCLIPLoader().load_clip(first, second, "flux")


NODE_CLASS_MAPPINGS: dict[str, type] = {
    "PhoenixFetchModel": PhoenixFetchModel,
    "PhoenixCheckpointLoader": PhoenixCheckpointLoader,
    "PhoenixDiffusionModelLoader": PhoenixDiffusionModelLoader,
    "PhoenixLoraLoader": PhoenixLoraLoader,
    "PhoenixVAELoader": PhoenixVAELoader,
    "PhoenixFluxTextEncoderLoader": PhoenixFluxTextEncoderLoader,
}

NODE_DISPLAY_NAME_MAPPINGS = {
    "PhoenixFetchModel": "Fetch Model (Phoenix)",
    "PhoenixCheckpointLoader": "Load Checkpoint by Reference (Phoenix)",
    "PhoenixDiffusionModelLoader": "Load Diffusion Model by Reference (Phoenix)",
    "PhoenixLoraLoader": "Load LoRA by Reference (Phoenix)",
    "PhoenixVAELoader": "Load VAE by Reference (Phoenix)",
    "PhoenixFluxTextEncoderLoader": "Load FLUX Text Encoders by Reference (Phoenix)",
}
