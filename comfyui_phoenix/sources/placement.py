"""Where a planned file goes: the one order of clues every source follows.

1. The user's choice: a reference's ``::folder``, or the folder picked for a plan.
2. What the source declares (CivitAI's file and model type, an AIR, a FLUX plan),
   unless the file's safetensors header proves it wrong: a bare FLUX transformer
   listed as a checkpoint cannot load in ``CheckpointLoaderSimple``.
3. The safetensors header, read remotely (tensor names tell the kinds apart).
4. The path: a repository folder named like a ComfyUI folder, then the file name.
5. The extension: a GGUF file loads as a diffusion model.
6. ``checkpoints``.

Sources decide which clues are worth their cost (a header read is two requests);
this module decides what the clues mean, so every source places files alike.
"""

from __future__ import annotations

import posixpath
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from ..folders import MODEL_FOLDERS, normalize_folder
from ..plan import PlannedFile
from ..refs import Destination
from .classify import Placement, classify_header, classify_name, reconcile


@dataclass(frozen=True)
class Clues:
    """What is known of one file when its folder is decided.

    Args:
        path: its path in the repository, or its file name.
        chosen: the user's destination, if any.
        declared: the folder the source lists it under, with why.
        header: its safetensors header, when it was read.
        note: said before the default reason when nothing else decides.
    """

    path: str
    chosen: Destination | None = None
    declared: Placement | None = None
    header: Mapping[str, Any] | None = None
    note: str = ""


def place(clues: Clues) -> Placement:
    """The folder for a file, and the reason the plan shows."""
    if clues.chosen is not None:
        return chosen_placement(clues.chosen)
    if clues.declared is not None:
        return reconcile(clues.declared, clues.header)
    found = classify_header(clues.header) if clues.header is not None else None
    if found is not None:
        return found
    clue = path_clue(clues.path)
    if clue is not None:
        return clue
    if clues.path.lower().endswith(".gguf"):
        return Placement("diffusion_models", "GGUF models load as diffusion models")
    default = "checkpoints is the default"
    if clues.note:
        return Placement("checkpoints", f"{clues.note}; {default}")
    return Placement("checkpoints", f"nothing in its name or header says otherwise; {default}")


def path_clue(path: str) -> Placement | None:
    """A repository folder named like a ComfyUI folder, then the file name; None if silent."""
    for part in reversed(path.split("/")[:-1]):
        folder = normalize_folder(part)
        if folder in MODEL_FOLDERS and folder != "diffusers":
            return Placement(folder, f"the repository keeps it in a '{part}' folder")
    return classify_name(posixpath.basename(path))


def chosen_placement(destination: Destination) -> Placement:
    """The user's destination, which wins over every clue."""
    return Placement(destination.folder, f"you chose ::{destination}")


def choose(file: PlannedFile, destination: Destination) -> PlannedFile:
    """``file`` sent where the user chose for a whole plan (its own ``::folder`` aside)."""
    placement = chosen_placement(destination)
    return replace(
        file,
        folder=placement.folder,
        subfolder=destination.subfolder,
        folder_reason=placement.reason,
    )
