"""ComfyUI's model folders, and where each one lives on disk.

The names are ComfyUI's modern ones (``diffusion_models``, ``text_encoders``);
``unet`` and ``clip`` are accepted as input and mapped, never used for new files.
Inside ComfyUI the layout comes from ``folder_paths`` (see ``surfaces/comfy``);
outside it, every folder is ``<models root>/<folder>``.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Protocol

from .errors import UnusableFolderError

MODEL_FOLDERS = frozenset(
    {
        "checkpoints",
        "diffusion_models",
        "text_encoders",
        "vae",
        "loras",
        "embeddings",
        "controlnet",
        "upscale_models",
        "clip_vision",
        "style_models",
        "hypernetworks",
        "vae_approx",
        "gligen",
        "photomaker",
        "model_patches",
        "audio_encoders",
        "diffusers",
        "classifiers",
    }
)

LEGACY_FOLDERS = {"unet": "diffusion_models", "clip": "text_encoders", "t2i_adapter": "controlnet"}

#: File extensions ComfyUI's loaders list (``folder_paths.supported_pt_extensions``) plus GGUF.
MODEL_EXTENSIONS = frozenset(
    {".safetensors", ".sft", ".ckpt", ".pt", ".pt2", ".pth", ".bin", ".pkl", ".gguf"}
)

#: Phoenix's own state under the models root; no ComfyUI folder key points here.
STATE_DIR_NAME = ".phoenix"


def is_model_name(name: str) -> bool:
    """Whether a file of this name is one ComfyUI's loaders list (GGUF's included)."""
    return Path(name).suffix.lower() in MODEL_EXTENSIONS


def normalize_folder(name: str) -> str:
    """Lower-case a folder name and map ComfyUI's legacy names to the modern ones."""
    key = name.strip().lower()
    return LEGACY_FOLDERS.get(key, key)


class ModelLayout(Protocol):
    """Where model folders live: the write target and every place a file may already be."""

    @property
    def root(self) -> Path: ...

    def target_dir(self, folder: str) -> Path: ...

    def search_dirs(self, folder: str) -> list[Path]: ...

    def refresh(self, folder: str) -> None:
        """A file was placed in or removed from ``folder``: whoever lists files sees it now."""
        ...


class StandardLayout:
    """``<root>/<folder>``, as a fresh ComfyUI lays its models out."""

    def __init__(self, root: Path) -> None:
        self._root = Path(root).absolute()

    @property
    def root(self) -> Path:
        return self._root

    def target_dir(self, folder: str) -> Path:
        return self._root / normalize_folder(folder)

    def search_dirs(self, folder: str) -> list[Path]:
        key = normalize_folder(folder)
        dirs = [self._root / key]
        dirs += [self._root / old for old, new in LEGACY_FOLDERS.items() if new == key]
        return dirs

    def refresh(self, folder: str) -> None:
        """Nothing lists these folders but the disk itself."""

    def state_dir(self) -> Path:
        return self._root / STATE_DIR_NAME


def check_models_root(root: Path, *, create: bool) -> None:
    """Refuse, in one sentence, a models root that files cannot be written into.

    A missing root is made when ``create`` is set and its parent exists; a missing
    parent is not made (a typo would otherwise grow a tree somewhere unexpected).
    Writability is proven by creating a file, which also catches read-only mounts
    and pseudo file systems such as ``/proc`` where permission bits say nothing.

    Raises:
        UnusableFolderError: the root is a file, its parent is missing, or it is not writable.
    """
    hint = "Choose another folder with --models-dir or PHOENIX_MODELS_DIR."
    if root.exists() and not root.is_dir():
        raise UnusableFolderError(f"The models folder {root} is a file, not a folder.", hint=hint)
    target = root if root.is_dir() else root.parent
    if not target.is_dir():
        raise UnusableFolderError(
            f"The models folder {root} cannot be made: {target} does not exist.",
            hint=f"Create {target} first, or choose another folder with --models-dir.",
        )
    try:
        fd, probe = tempfile.mkstemp(prefix=".phoenix-write-check-", dir=target)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise UnusableFolderError(
            f"Phoenix cannot write into {target} ({exc.strerror or type(exc).__name__}).",
            hint=hint,
        ) from None
    if create and not root.exists():
        root.mkdir()
