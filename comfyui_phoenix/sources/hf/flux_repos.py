"""The hub's side of a FLUX plan: its repositories opened in order, its files checked.

Every repository is opened (access checked, commit found) before any file is
listed, the member's own first: its gate is where the licence is accepted, even
when the files come from a repackaged copy. Then the gated ones, so a missing
licence stops the plan before any byte moves. A file the catalog pins must be
the very file the hub lists at the pinned commit.
"""

from __future__ import annotations

from huggingface_hub import HfApi
from huggingface_hub.hf_api import RepoFile, RepoFolder

from ...errors import SourceError
from ...refs import HFRef
from ..classify import Placement
from .flux import FluxPlan, Pin
from .hub import Hub, Repo
from .selection import Candidate


async def flux_candidates(hub: Hub, api: HfApi, ref: HFRef, flux: FluxPlan) -> list[Candidate]:
    """The plan's files on the hub, each with its catalog folder, reason and role.

    Raises:
        GatedError, AuthError, NotFoundError: from the access checks, first.
        SourceError: the hub lists a different file than the catalog pins.
    """
    repos = await open_repos(hub, api, ref, flux)
    entries: dict[str, dict[str, RepoFile | RepoFolder]] = {}
    for repo_id, repo in repos.items():
        paths = [f.pin.path for f in flux.files if f.pin.repo == repo_id]
        if paths:
            entries[repo_id] = await hub.paths_info(api, repo, paths)
    candidates = []
    for item in flux.files:
        repo = repos[item.pin.repo]
        entry = entries[item.pin.repo].get(item.pin.path)
        if not isinstance(entry, RepoFile):
            raise hub.missing(repo, item.pin.path)
        if item.pin.revision in (None, repo.commit):
            check_pin(repo, entry, item.pin)
        placement = Placement(item.folder, item.reason)
        candidates.append(Candidate(repo, entry, placement, role=item.role, loader=item.loader))
    return candidates


async def open_repos(hub: Hub, api: HfApi, ref: HFRef, flux: FluxPlan) -> dict[str, Repo]:
    """Each repository of the plan at its pinned commit (the reference's own revision wins)."""
    member = flux.member
    revisions = {member.repo: member.revision}
    gated = {member.repo: True}
    for item in flux.files:
        revisions.setdefault(item.pin.repo, item.pin.revision)
        gated.setdefault(item.pin.repo, item.pin.gated)
    order = sorted(revisions, key=lambda r: (r != member.repo, not gated[r]))
    repos: dict[str, Repo] = {}
    for repo_id in order:
        own = repo_id.lower() == ref.repo_id.lower()
        revision = ref.revision if own and ref.revision else revisions[repo_id]
        repos[repo_id] = await hub.open(api, repo_id, revision, ref)
    return repos


def check_pin(repo: Repo, entry: RepoFile, pin: Pin) -> None:
    """A file the catalog pins must be the file the hub lists, byte for byte."""
    lfs = entry.lfs
    sha256 = lfs.sha256.lower() if lfs is not None else None
    size = lfs.size if lfs is not None else entry.size
    if pin.sha256 and sha256 and sha256 != pin.sha256:
        said = f"sha256 {sha256[:12]}…, where the catalog pins {pin.sha256[:12]}…"
    elif pin.size and size and size != pin.size:
        said = f"{size} bytes, where the catalog pins {pin.size}"
    else:
        return
    raise SourceError(
        f"{repo.repo_id}/{pin.path} at {repo.commit[:12]} is not the file Phoenix's FLUX "
        f"catalog pins: the hub lists {said}.",
        hint=(
            "Name the file directly (owner/repo/path) to fetch what the hub has now, or point "
            "PHOENIX_FLUX_CATALOG at a catalog with the new pins."
        ),
        ref=repo.asked.ref,
    )
