"""A workflow's needs planned: each entry's files, whether ComfyUI finds them, and why not.

An entry of a workflow's ``models`` list is present when ComfyUI would find it: under
its name in one of its folder's directories (holding the workflow's SHA256, when it
gives one); nothing is asked of any server then. Otherwise it is planned as the
reference its link spells, named as the workflow names it (the loader's widget selects
that name) and held to the workflow's SHA256.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from ..errors import GatedError, NothingToFetchError, PhoenixError
from ..plan import PlannedFile, SourceKind
from ..security.redact import public_ref, redact_url
from ..workflow import (
    TOP_LEVEL,
    EntryProblem,
    ModelEntry,
    Need,
    NodeReference,
    WorkflowNeeds,
)
from .planning import PlanItem, Planner, PlanProblem, PlanResult

NeedState = Literal["present", "missing", "gated", "problem"]
#: How many needs are planned at once (each may ask a hub or CivitAI a few questions).
PLANS_AT_ONCE = 4


@dataclass
class NeedPlan:
    """One need of the workflow: its files, or why they cannot be fetched."""

    need: Need
    items: list[PlanItem] = field(default_factory=list)
    error: PhoenixError | None = None

    @property
    def state(self) -> NeedState:
        if self.error is not None:
            return "gated" if isinstance(self.error, GatedError) else "problem"
        return "missing" if any(not i.present for i in self.items) else "present"

    def to_dict(self) -> dict[str, Any]:
        need = self.need
        body: dict[str, Any] = {
            "node": need.node,
            "state": self.state,
            "sha256": need.sha256,
            "files": [_shown(i) for i in self.items],
            "size": _sum(i.file.size for i in self.items),
            "missing_bytes": _sum(i.file.size for i in self.items if not i.present),
            "error": self.error.to_dict() if self.error is not None else None,
        }
        if isinstance(need, ModelEntry):
            body.update(
                kind="model",
                name=need.name,
                folder=need.folder,
                url=redact_url(need.url),
                hash_note=need.hash_note,
            )
        else:
            body.update(kind="reference", ref=public_ref(need.text))
        return body


def _shown(item: PlanItem) -> dict[str, Any]:
    """A plan item as the panel shows it: a link's secret query values masked."""
    return {**item.to_dict(), "ref": public_ref(item.file.ref), "url": redact_url(item.file.url)}


def _label(need: Need) -> str:
    name = need.name if isinstance(need, ModelEntry) else need.text
    return f"{need.node}: {name}"


def _sum(sizes: Any) -> int:
    return sum(size or 0 for size in sizes)


@dataclass
class WorkflowPlan:
    """Every need of a workflow, planned, and the entries that could not be read."""

    needs: list[NeedPlan]
    problems: list[EntryProblem]

    @property
    def missing(self) -> list[PlanItem]:
        """The files to fetch, each once, in the order the workflow names them."""
        seen: set[str] = set()
        items = []
        for need in self.needs:
            for item in need.items:
                if not item.present and str(item.dest) not in seen:
                    seen.add(str(item.dest))
                    items.append(item)
        return items

    def as_plan(self) -> PlanResult:
        """The workflow's files and problems as one plan (what the CLI prints and fetches)."""
        seen: set[str] = set()
        items: list[PlanItem] = []
        problems = [PlanProblem(f"{p.node}: {p.name}", p.error) for p in self.problems]
        for need in self.needs:
            if need.error is not None:
                problems.append(PlanProblem(_label(need.need), need.error))
            for item in need.items:
                if str(item.dest) not in seen:
                    seen.add(str(item.dest))
                    items.append(item)
        return PlanResult(items, problems)

    def to_dict(self) -> dict[str, Any]:
        return {
            "needs": [n.to_dict() for n in self.needs],
            "problems": [p.to_dict() for p in self.problems],
            "missing_bytes": _sum(i.file.size for i in self.missing),
            "counts": {
                state: sum(1 for n in self.needs if n.state == state)
                for state in ("present", "missing", "gated", "problem")
            },
        }


class WorkflowPlanner:
    """Plans a workflow's needs through the planner and its sources."""

    def __init__(self, planner: Planner) -> None:
        self.planner = planner

    async def plan(self, needs: WorkflowNeeds) -> WorkflowPlan:
        """Each need planned, a few at once; one that cannot be planned says why, the rest go on."""
        limit = asyncio.Semaphore(PLANS_AT_ONCE)

        async def one(need: Need) -> NeedPlan:
            async with limit:
                return await self.plan_need(need)

        planned = await asyncio.gather(*(one(need) for need in needs.needs))
        return WorkflowPlan(list(planned), list(needs.problems))

    async def plan_need(self, need: Need) -> NeedPlan:
        try:
            if isinstance(need, ModelEntry):
                return NeedPlan(need, [await self._entry_item(need)])
            return await self._reference(need)
        except PhoenixError as exc:
            return NeedPlan(need, error=exc)

    async def _reference(self, need: NodeReference) -> NeedPlan:
        result = await self.planner.plan([need.text])
        if result.problems:
            return NeedPlan(need, result.items, result.problems[0].error)
        items = result.items
        if need.sha256 and len(items) == 1:
            file = items[0].file.expecting_sha256(need.sha256, _whose(need))
            items = [await self.planner.item(file)]
        return NeedPlan(need, items)

    async def _entry_item(self, entry: ModelEntry) -> PlanItem:
        settings = self.planner.sources.ctx.settings
        ref = entry.reference(
            hf_endpoint=settings.hf_endpoint, civitai_base_url=settings.civitai_base_url
        )
        # As ComfyUI finds it: by name in the folder (and, given a hash, holding those bytes).
        here = await asyncio.to_thread(self._here_already, entry, ref.kind)
        if here is not None:
            return here
        file = _the_file(await self.planner.sources.plan(ref), entry)
        file = replace(
            file,
            filename=entry.filename,
            subfolder=entry.subfolder,
            folder=entry.folder,
            folder_reason=f"the workflow's models entry puts it in {entry.folder}",
        )
        if entry.sha256:
            file = file.expecting_sha256(entry.sha256, _whose(entry))
        return await self.planner.item(file)

    def _here_already(self, entry: ModelEntry, kind: SourceKind) -> PlanItem | None:
        """The entry's file where ComfyUI would load it from, if it is there. Blocking."""
        layout, parts = self.planner.layout, [p for p in (entry.subfolder, entry.filename) if p]
        for base in layout.search_dirs(entry.folder):
            path = base.joinpath(*parts)
            if not path.is_file():
                continue
            file = PlannedFile(
                ref=entry.url,
                source=kind,
                url=entry.url,
                filename=entry.filename,
                folder=entry.folder,
                subfolder=entry.subfolder,
                size=path.stat().st_size,
                sha256=entry.sha256,
                folder_reason=f"ComfyUI finds it in {base}",
            )
            if entry.sha256 is None or self.planner.verified.is_present(file, path):
                return PlanItem(file, path, present=True)
        return None


def _whose(need: Need) -> str:
    """Who expects a hash, as a sentence begins: the workflow, or one of its nodes."""
    return "The workflow" if need.node == TOP_LEVEL else f"The workflow's node {need.node}"


def _the_file(files: list[PlannedFile], entry: ModelEntry) -> PlannedFile:
    """The one file of a link that the entry names (a repository link names many)."""
    if len(files) == 1:
        return files[0]
    for file in files:
        if file.filename == entry.filename:
            return file
    raise NothingToFetchError(
        f"{redact_url(entry.url)} holds {len(files)} files and none is {entry.filename}.",
        hint="Link the file itself in the workflow's models entry.",
    )
