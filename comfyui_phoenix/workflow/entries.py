"""One entry of a workflow's ``models`` list, checked before it becomes a reference.

ComfyUI workflows name the files they load as::

    {"name": "ae.safetensors", "url": "https://huggingface.co/…/ae.safetensors",
     "hash": "…", "hash_type": "sha256", "directory": "vae"}

An entry becomes the reference its ``url`` spells (a HuggingFace or CivitAI link is
planned by that source, any other link is a direct link under the host policy), sent
to ``directory`` under ``name`` (the name the loader's widget selects), held to
``hash`` when it is a SHA256. Names are hostile until proven safe.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from ..errors import BadReferenceError, PhoenixError
from ..folders import MODEL_EXTENSIONS, MODEL_FOLDERS, normalize_folder
from ..naming import safe_filename, safe_relative_dir
from ..refs import Destination, Reference, parse_reference

_SHA256 = re.compile(r"^[0-9a-fA-F]{64}$")
_ENTRY_HINT = (
    'An entry looks like {"name": "ae.safetensors", "url": "https://…", "directory": "vae"}.'
)


@dataclass(frozen=True)
class ModelEntry:
    """One ``models`` entry: a file the workflow loads, and where to get it."""

    name: str
    url: str
    folder: str
    node: str
    sha256: str | None = None
    hash_note: str = ""

    @property
    def filename(self) -> str:
        return posixpath.basename(self.name)

    @property
    def subfolder(self) -> str:
        return posixpath.dirname(self.name)

    @property
    def relpath(self) -> str:
        return f"{self.folder}/{self.name}"

    def reference(self, *, hf_endpoint: str, civitai_base_url: str) -> Reference:
        """The reference ``url`` spells, sent to this entry's folder.

        Raises:
            BadReferenceError: the link is not one Phoenix downloads from.
        """
        ref = parse_reference(self.url, hf_endpoint=hf_endpoint, civitai_base_url=civitai_base_url)
        return replace(ref, destination=Destination(self.folder, self.subfolder))


@dataclass
class EntryProblem:
    """A ``models`` entry that cannot be used, and why."""

    node: str
    name: str
    error: PhoenixError

    def to_dict(self) -> dict[str, Any]:
        return {"node": self.node, "name": self.name, **self.error.to_dict()}


def parse_model_entry(raw: Any, node: str) -> ModelEntry:
    """One ``models`` entry, checked: a safe name, a link, a ComfyUI folder, a usable hash.

    Raises:
        BadReferenceError: what is wrong with the entry, in one sentence.
        UnsafePathError: its name would leave the folder, or is not a usable file name.
    """
    if not isinstance(raw, Mapping):
        raise BadReferenceError(f"A models entry of {node} is not an object.", hint=_ENTRY_HINT)
    name = text_of(raw.get("name"))
    if not name:
        raise BadReferenceError(f"A models entry of {node} has no 'name'.", hint=_ENTRY_HINT)
    url = text_of(raw.get("url"))
    if not url:
        raise BadReferenceError(
            f"The models entry {name} of {node} has no download link ('url').",
            hint="Add the file's download link to the workflow, or fetch it by reference.",
        )
    directory = text_of(raw.get("directory"))
    folder = normalize_folder(directory)
    if folder not in MODEL_FOLDERS:
        raise BadReferenceError(
            f"The models entry {name} of {node} goes to '{directory or '?'}', which is not a "
            "ComfyUI model folder Phoenix places files in.",
            hint=f"Use one of: {', '.join(sorted(MODEL_FOLDERS))}.",
        )
    clean = _clean_name(name)
    if posixpath.splitext(clean)[1].lower() not in MODEL_EXTENSIONS:
        raise BadReferenceError(
            f"The models entry {name} of {node} is not a model file ComfyUI loads.",
            hint="Name a .safetensors, .sft, .gguf, .ckpt, .pt or .pth file.",
        )
    sha256, note = _hash(raw.get("hash"), raw.get("hash_type"), name, node)
    return ModelEntry(clean, url, folder, node, sha256, note)


def entry_problem(raw: Any, node: str, error: PhoenixError) -> EntryProblem:
    """``error`` about the entry ``raw`` of ``node``, named as the workflow names it."""
    name = text_of(raw.get("name")) if isinstance(raw, Mapping) else ""
    return EntryProblem(node, name or "?", error)


def text_of(value: Any) -> str:
    """A JSON value as trimmed text; anything but a string is empty."""
    return value.strip() if isinstance(value, str) else ""


def _clean_name(name: str) -> str:
    """``sub/file.ext`` as ComfyUI lists it, each part proven safe."""
    text = name.replace("\\", "/")
    head, _, tail = text.rpartition("/")
    filename = safe_filename(tail)
    return f"{safe_relative_dir(head)}/{filename}" if head.strip("/") else filename


def _hash(value: Any, kind: Any, name: str, node: str) -> tuple[str | None, str]:
    digest, algorithm = text_of(value), text_of(kind).lower().replace("-", "")
    if not digest:
        return None, ""
    prefix, sep, rest = digest.partition(":")
    if sep and not algorithm:
        algorithm, digest = prefix.lower().replace("-", ""), rest
    if algorithm not in ("", "sha256"):
        return None, f"its {algorithm} hash is not checked (Phoenix verifies SHA256)"
    if not _SHA256.match(digest):
        raise BadReferenceError(
            f"The SHA256 of {name} in {node} is not 64 hexadecimal digits.",
            hint="Copy the hash again from the model's page, or remove it from the workflow.",
        )
    return digest.lower(), ""
