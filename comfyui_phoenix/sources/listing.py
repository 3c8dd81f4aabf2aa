"""What the sources offer before anything is planned: search results, and a model's versions
and files to choose from.

Each entry carries the reference that plans exactly it, so whoever shows the list (the
panel) hands that reference to the planner and nothing else.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class SearchHit:
    """One model a search found, described with :mod:`.model_meta`'s keys in ``meta``.

    ``ref`` plans the model's newest version (CivitAI) or the repository (HuggingFace).
    """

    source: str
    id: str
    name: str
    ref: str
    downloads: int | None = None
    likes: int | None = None
    version_count: int | None = None
    creator: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class SearchPage:
    """One page of results, and the cursor of the next page (None at the end)."""

    hits: list[SearchHit]
    next_cursor: str | None = None


@dataclass(frozen=True)
class FileChoice:
    """One file of a version, with what tells it from its siblings.

    ``bytes`` is its size; ``size`` is CivitAI's ``full`` or ``pruned``, ``fp`` its
    precision, ``format`` SafeTensor, PickleTensor, GGUF, ...
    """

    name: str
    ref: str
    bytes: int | None = None
    type: str = ""
    format: str = ""
    size: str = ""
    fp: str = ""
    primary: bool = False
    id: int | None = None
    path: str | None = None


@dataclass(frozen=True)
class VersionChoice:
    """One version (CivitAI) or revision (HuggingFace) and its files."""

    id: str
    name: str
    files: list[FileChoice]
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Choices:
    """A model's versions and files; ``selected`` says which the asked reference means."""

    source: str
    id: str
    name: str
    versions: list[VersionChoice]
    selected_version: str | None = None
    selected_file: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
