"""Which files of a repository a ComfyUI user wants, and how two of one name stay apart.

A whole repository plans what ComfyUI loads, not everything in it: the single
``.safetensors``, ``.sft`` and ``.gguf`` files, skipping diffusers-format folders
(``transformer/``, ``text_encoder/``, ``vae/`` beside a ``model_index.json``, or any
folder with a ``config.json``) and sharded weights. Include patterns may pick any
model file; exclude patterns leave files out.
"""

from __future__ import annotations

import fnmatch
import logging
import posixpath
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from huggingface_hub.hf_api import RepoFile

from ...errors import NothingToFetchError, UnsafePathError
from ...folders import MODEL_EXTENSIONS
from ...naming import safe_filename, safe_relative_dir
from ...plan import PlannedFile
from ..classify import Placement
from .hub import Repo

#: What a whole-repository plan picks: single files ComfyUI's loaders (and ComfyUI-GGUF) open.
LOADABLE_EXTENSIONS = frozenset({".safetensors", ".sft", ".gguf"})

_LISTED = 10
_DIFFUSERS_COMPONENT = re.compile(
    r"^(transformer|unet|vae|text_encoder|tokenizer|scheduler|feature_extractor|image_encoder"
    r"|image_processor|safety_checker|prior|decoder|movq)(_\d+)?$"
)
_SHARD = re.compile(r"-\d{5}-of-\d{5}\.[a-z]+$")

log = logging.getLogger(__name__)


@dataclass
class Candidate:
    """A file chosen for the plan, waiting for its folder."""

    repo: Repo
    entry: RepoFile
    placement: Placement | None = None
    subfolder: str = ""
    #: What the file is in a FLUX plan (``transformer``, ``vae``, …), for loaders to pick by.
    role: str | None = None
    #: The core loader node that reads it, where the plan knows (``meta["loader"]``).
    loader: dict[str, Any] | None = None


def patterns(value: Sequence[str] | str | None) -> list[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else [p for p in value if p]


def select(
    repo: Repo,
    entries: list[RepoFile],
    includes: list[str],
    excludes: list[str],
    *,
    under: str,
) -> list[Candidate]:
    """The files a ComfyUI user wants from ``entries``; NothingToFetchError when none."""
    paths = [e.path for e in entries]
    skipped = _diffusers_dirs(paths)
    # Explicit include patterns may pick any model file; without them only single-file formats.
    extensions = MODEL_EXTENSIONS if includes else LOADABLE_EXTENSIONS
    chosen = [
        Candidate(repo, e)
        for e in sorted(entries, key=lambda e: e.path)
        if posixpath.splitext(e.path)[1].lower() in extensions
        and not _is_component_weight(e.path, skipped)
        and (not includes or _matches(e.path, includes))
        and not _matches(e.path, excludes)
        and _nameable(e.path)
    ]
    if not chosen:
        raise _nothing(repo, sorted(paths), under, bool(includes or excludes))
    return chosen


def _nameable(path: str) -> bool:
    """One file with a name that cannot be used safely must not sink a whole-repo plan."""
    try:
        safe_filename(posixpath.basename(path))
        for part in posixpath.dirname(path).split("/"):
            if part:
                safe_filename(part)
    except UnsafePathError:
        log.warning("skipping %s: its name cannot be used safely", path[:200])
        return False
    return True


def _diffusers_dirs(paths: Iterable[str]) -> set[str]:
    """Folders in diffusers or transformers layout: components beside a model_index.json,
    and any folder holding a config.json."""
    paths = list(paths)
    roots = {posixpath.dirname(p) for p in paths if posixpath.basename(p) == "model_index.json"}
    dirs: set[str] = set()
    for path in paths:
        parent = posixpath.dirname(path)
        if not parent:
            continue
        if posixpath.basename(path) == "config.json":
            dirs.add(parent)
        grand, name = posixpath.split(parent)
        if grand in roots and _DIFFUSERS_COMPONENT.match(name):
            dirs.add(parent)
    return dirs


def _is_component_weight(path: str, skipped: set[str]) -> bool:
    name = posixpath.basename(path)
    if name.startswith("diffusion_pytorch_model") or _SHARD.search(name.lower()):
        return True
    parent = posixpath.dirname(path)
    while parent:
        if parent in skipped:
            return True
        parent = posixpath.dirname(parent)
    return False


def _matches(path: str, patterns: list[str]) -> bool:
    return any(fnmatch.fnmatchcase(path, p) for p in patterns)


def _nothing(repo: Repo, paths: list[str], under: str, filtered: bool) -> NothingToFetchError:
    where = f"'{under}' in {repo.repo_id}" if under else repo.repo_id
    if not paths:
        return NothingToFetchError(f"{where} holds no files.", ref=repo.asked.ref)
    shown = ", ".join(paths[:_LISTED])
    if len(paths) > _LISTED:
        shown += f" and {len(paths) - _LISTED} more"
    hint = (
        "Loosen the include/exclude patterns."
        if filtered
        else "Name one file instead (owner/repo/path/file.safetensors), or pass include patterns."
    )
    return NothingToFetchError(
        f"{where} holds nothing ComfyUI loads; it has: {shown}.", hint=hint, ref=repo.asked.ref
    )


def disambiguate(planned: list[PlannedFile], candidates: list[Candidate]) -> list[PlannedFile]:
    """Two repository files with one name in one folder keep their repository folder apart."""
    counts = Counter(p.relpath for p in planned)
    result = []
    for item, candidate in zip(planned, candidates, strict=True):
        parent = posixpath.dirname(candidate.entry.path)
        if counts[item.relpath] > 1 and parent:
            sub = "/".join(s for s in (item.subfolder, safe_relative_dir(parent)) if s)
            item = replace(item, subfolder=sub)
        result.append(item)
    return result
