"""Which ComfyUI loader node loads a planned file, and whether its folder lets it.

Most files load through the core loader of their folder (a LoRA in ``loras`` through
``LoraLoader``). A source may know better and name the loader in the file's
``meta["loader"]``: FLUX.1's two text encoders load together, as one ``DualCLIPLoader``
of type ``flux``, not as two ``CLIPLoader`` nodes of the SD type. A file whose name
ComfyUI's loaders do not list (a ``.txt``, a GGUF without its custom node) has no loader.
"""

from __future__ import annotations

import posixpath
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .folders import MODEL_EXTENSIONS
from .plan import PlannedFile

#: Core loader nodes: the input that names the file, and the folder that input lists.
CORE_LOADERS: dict[str, tuple[str, str]] = {
    "CheckpointLoaderSimple": ("ckpt_name", "checkpoints"),
    "UNETLoader": ("unet_name", "diffusion_models"),
    "LoraLoader": ("lora_name", "loras"),
    "VAELoader": ("vae_name", "vae"),
    "CLIPLoader": ("clip_name", "text_encoders"),
    "DualCLIPLoader": ("clip_name1", "text_encoders"),
    "ControlNetLoader": ("control_net_name", "controlnet"),
    "UpscaleModelLoader": ("model_name", "upscale_models"),
    "CLIPVisionLoader": ("clip_name", "clip_vision"),
    "StyleModelLoader": ("style_model_name", "style_models"),
    "HypernetworkLoader": ("hypernetwork_name", "hypernetworks"),
    "GLIGENLoader": ("gligen_name", "gligen"),
    "PhotoMakerLoader": ("photomaker_model_name", "photomaker"),
    "ModelPatchLoader": ("name", "model_patches"),
    "AudioEncoderLoader": ("audio_encoder_name", "audio_encoders"),
}

#: The loader of each folder when the source names none (embeddings go in prompts). A lone
#: text encoder loads in CLIPLoader; DualCLIPLoader is for the pairs a source names.
FOLDER_LOADERS: dict[str, str] = {
    folder: node for node, (_, folder) in CORE_LOADERS.items() if node != "DualCLIPLoader"
}

#: ComfyUI's own loaders list these; GGUF needs a custom node (ComfyUI-GGUF).
CORE_EXTENSIONS = MODEL_EXTENSIONS - {".gguf"}


@dataclass(frozen=True)
class Loader:
    """The node that loads a file: its type, the input that takes the file, other inputs.

    Args:
        node: the node type, e.g. ``DualCLIPLoader``.
        input: the input that names this file (``clip_name2`` for FLUX's CLIP-L).
        reads: the model folder that input lists.
        options: other inputs to set (``{"type": "flux"}``).
        group: files that share one node have the same group (FLUX's two encoders).
    """

    node: str
    input: str
    reads: str
    options: dict[str, str] = field(default_factory=dict)
    group: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "node": self.node,
            "input": self.input,
            "reads": self.reads,
            "options": dict(self.options),
            "group": self.group,
        }


def loader_for(file: PlannedFile) -> Loader | None:
    """The loader node for ``file`` where it is planned to go; None when none loads it.

    A file moved out of the folder its named loader lists has none: that loader would
    not offer it, and the folder's own loader would load it as the wrong kind.
    """
    if posixpath.splitext(file.filename)[1].lower() not in CORE_EXTENSIONS:
        return None
    named = _named_loader(file)
    if named is not None:
        return named if named.reads == file.folder else None
    node = FOLDER_LOADERS.get(file.folder)
    if node is None:
        return None
    return Loader(node, *CORE_LOADERS[node])


def misplaced(file: PlannedFile) -> str | None:
    """A sentence when ``file`` would go where the loader its source names does not look."""
    named = _named_loader(file)
    if named is None or named.reads == file.folder:
        return None
    return (
        f"{file.filename} loads with {named.node}, which lists {named.reads}/ only: "
        f"in {file.folder}/ it will not show there."
    )


def _named_loader(file: PlannedFile) -> Loader | None:
    hint = file.meta.get("loader")
    if not isinstance(hint, Mapping) or hint.get("node") not in CORE_LOADERS:
        return None
    node = str(hint["node"])
    default_input, reads = CORE_LOADERS[node]
    options = hint.get("options")
    return Loader(
        node,
        str(hint.get("input") or default_input),
        reads,
        {str(k): str(v) for k, v in options.items()} if isinstance(options, Mapping) else {},
        f"{file.ref}#{node}" if hint.get("shared") else None,
    )
