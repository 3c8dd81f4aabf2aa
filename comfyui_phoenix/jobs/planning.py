"""Planning: references become files with destinations, before any byte moves.

A plan says, for each reference, which files it stands for, where each goes and
why, and whether it is already there; references that cannot be planned (a bad
token, a gated licence, a typo) are reported beside the files of the others.
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..engines.pipeline import DEFAULT_MIN_FREE_MARGIN, bytes_on_disk, free_space_margin
from ..errors import DiskFullError, NothingToFetchError, PhoenixError
from ..folders import MODEL_EXTENSIONS, ModelLayout, is_model_name
from ..loaders import loader_for, misplaced
from ..naming import contained_path
from ..plan import PlannedFile
from ..refs import Destination, NumberMeaning, Reference
from ..security.redact import public_ref
from ..sources.placement import choose
from ..sources.registry import Sources
from ..units import human_size
from .job import part_path
from .verified import VerifiedFiles


@dataclass
class PlanItem:  # mutable: the preload annotates the reason before submitting
    """A planned file with its destination and whether it is already there."""

    file: PlannedFile
    dest: Path
    present: bool

    def to_dict(self) -> dict[str, Any]:
        loader = loader_for(self.file)
        return {
            **self.file.to_dict(),
            "relpath": self.file.relpath,
            "dest": str(self.dest),
            "present": self.present,
            "loader": loader.to_dict() if loader is not None else None,
            "warning": misplaced(self.file),
        }


@dataclass
class PlanProblem:
    ref: str
    error: PhoenixError

    def to_dict(self) -> dict[str, Any]:
        return {"ref": public_ref(self.ref), **self.error.to_dict()}


@dataclass
class PlanResult:
    items: list[PlanItem]
    problems: list[PlanProblem]

    @property
    def missing(self) -> list[PlanItem]:
        """The files still to fetch."""
        return [i for i in self.items if not i.present]

    def to_dict(self) -> dict[str, Any]:
        missing = self.missing
        return {
            "files": [i.to_dict() for i in self.items],
            "problems": [p.to_dict() for p in self.problems],
            "total_bytes": sum(i.file.size or 0 for i in self.items),
            "missing_bytes": sum(i.file.size or 0 for i in missing),
        }


def destination(layout: ModelLayout, file: PlannedFile) -> Path:
    """Where ``file`` goes on disk in ``layout``, proven to stay inside its folder.

    Raises:
        UnsafePathError: the file's folder, subfolder or name would leave the models root.
    """
    base = layout.target_dir(file.folder)
    parts = [p for p in (file.subfolder, file.filename) if p]
    return contained_path(base, *parts)


class Planner:
    """Turns references into a :class:`PlanResult` through the sources."""

    def __init__(self, layout: ModelLayout, sources: Sources, verified: VerifiedFiles) -> None:
        self.layout = layout
        self.sources = sources
        self.verified = verified

    def destination(self, file: PlannedFile) -> Path:
        """Where ``file`` goes on disk, proven to stay inside its folder."""
        return destination(self.layout, file)

    async def item(self, file: PlannedFile) -> PlanItem:
        """``file`` with its destination and whether it is there already (may hash it once).

        Raises:
            NothingToFetchError: the file is not a model file ComfyUI loads.
            UnsafePathError: the file's folder, subfolder or name would leave the models root.
        """
        if not is_model_name(file.filename):
            raise NothingToFetchError(
                f"{file.filename} is not a model file, so Phoenix will not place it in "
                f"{file.folder}/.",
                hint=f"ComfyUI loads {', '.join(sorted(MODEL_EXTENSIONS))} files; "
                "fetch other files another way.",
                ref=public_ref(file.ref),
            )
        dest = self.destination(file)
        return PlanItem(file, dest, await asyncio.to_thread(self.verified.is_present, file, dest))

    async def plan(
        self,
        texts: Iterable[str | Reference],
        *,
        numbers: NumberMeaning = "error",
        destination: Destination | None = None,
        choices: Mapping[str, Destination] | None = None,
    ) -> PlanResult:
        """Resolve references into files, without downloading. Bad entries are reported.

        Args:
            texts: references, as written or parsed.
            numbers: what a bare number means (a CivitAI model id in the CIVITAI_* lists).
            destination: the folder chosen for every file whose reference names none.
            choices: a folder chosen for one file, by the file's ``url``; it wins over
                every other clue, and the other files of its plan keep their folders.
        """
        items: list[PlanItem] = []
        problems: list[PlanProblem] = []
        seen: set[str] = set()
        for text in texts:
            label = text if isinstance(text, str) else text.canonical
            try:
                ref = self.sources.parse(text, numbers=numbers) if isinstance(text, str) else text
                files = await self.sources.plan(ref)
            except PhoenixError as exc:
                problems.append(PlanProblem(label, exc))
                continue
            for file in files:
                if destination is not None and ref.destination is None:
                    file = choose(file, destination)
                if choices and file.url in choices:
                    file = choose(file, choices[file.url])
                try:
                    item = await self.item(file)
                except PhoenixError as exc:
                    problems.append(PlanProblem(label, exc))
                    continue
                if str(item.dest) not in seen:
                    seen.add(str(item.dest))
                    items.append(item)
        return PlanResult(items, problems)


def check_room(plan: PlanResult, min_free_margin: int = DEFAULT_MIN_FREE_MARGIN) -> None:
    """Refuse a plan whose missing files do not fit, before its first byte moves.

    Files are counted per file system (the folders of one plan may live on several
    disks), each with the margin a single download keeps free. Blocking.

    Raises:
        DiskFullError: naming the disk, what the plan needs there and what is free.
    """
    needs: dict[int, tuple[Path, int]] = {}
    for item in plan.missing:
        if not item.file.size:
            continue
        anchor = _existing_ancestor(item.dest.parent)
        device = anchor.stat().st_dev
        _, total = needs.get(device, (anchor, 0))
        needs[device] = (anchor, total + item.file.size - bytes_on_disk(part_path(item.dest)))
    for anchor, needed in needs.values():
        usage = shutil.disk_usage(anchor)
        wanted = needed + free_space_margin(usage.total, min_free_margin)
        if usage.free < wanted:
            raise DiskFullError(
                f"These models need {human_size(wanted)} on the disk of {anchor}, "
                f"which has {human_size(usage.free)} free.",
                hint="Free space there, fetch fewer models at once, or choose another folder.",
            )


def _existing_ancestor(path: Path) -> Path:
    while not path.exists() and path != path.parent:
        path = path.parent
    return path
