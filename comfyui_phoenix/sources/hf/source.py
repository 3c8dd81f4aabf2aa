"""The HuggingFace source: a repository, or a file or folder in it, becomes planned files.

Metadata comes from the hub through huggingface_hub (:mod:`.hub`); which files a
repository contributes from :mod:`.selection` (FLUX repositories get their own
plan from the catalog, :mod:`.flux`); where each goes from the one placement policy. Bytes come
from the public resolve URL, ``{HF_ENDPOINT}/{repo}/resolve/{commit}/{path}``:
:meth:`HuggingFaceSource.endpoint` follows its redirect by hand, so the token
reaches the hub and never the CDN.
"""

from __future__ import annotations

import asyncio
import logging
import posixpath
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import aiohttp
from huggingface_hub import HfApi
from huggingface_hub.hf_api import RepoFolder

from ...errors import NothingToFetchError, TransientError
from ...folders import MODEL_EXTENSIONS
from ...naming import safe_filename
from ...net.endpoint import Endpoint
from ...net.redirects import resolve
from ...net.retry import BEST_EFFORT, with_retries
from ...plan import PlannedFile
from ...refs import HFRef, Reference
from ...status.gpu_facts import GpuFacts
from ..base import SourceContext, verified_copy
from ..classify import Placement
from ..header import read_remote_safetensors_header
from ..placement import Clues, path_clue, place
from .flux import Catalog, FluxPlan, flux_plan, load_catalog
from .flux_repos import flux_candidates
from .hub import Hub, Repo, resolve_url
from .selection import Candidate, disambiguate, patterns, select
from .wording import Asked, HubWording

#: How many safetensors headers one plan may read to classify its files.
MAX_HEADER_READS = 16

_HEADER_EXTENSIONS = frozenset({".safetensors", ".sft"})
_HEADER_CONCURRENCY = 4

log = logging.getLogger(__name__)


class HuggingFaceSource:
    """Plans HuggingFace references and hands engines a token-safe endpoint for each file.

    Args:
        ctx: settings, the shared session, the host policy and the tokens.
        gpu: the largest GPU's facts, for the precision of FLUX plans.
        catalog: the FLUX catalog; by default ``PHOENIX_FLUX_CATALOG``'s, else Phoenix's own.
        max_header_reads: how many remote safetensors headers one plan may read.
    """

    kind = "huggingface"

    def __init__(
        self,
        ctx: SourceContext,
        *,
        gpu: GpuFacts | None = None,
        catalog: Catalog | None = None,
        max_header_reads: int = MAX_HEADER_READS,
    ) -> None:
        self._ctx = ctx
        self._hub = Hub(ctx)
        self._gpu = gpu or GpuFacts()
        self._catalog = catalog
        self._max_header_reads = max_header_reads

    @property
    def catalog(self) -> Catalog:
        """The FLUX catalog, read when first needed (a bad replacement is a plan problem)."""
        if self._catalog is None:
            self._catalog = load_catalog(self._ctx.settings.flux_catalog)
        return self._catalog

    # -- planning ---------------------------------------------------------------------------
    async def plan(
        self,
        ref: Reference,
        *,
        include: Sequence[str] | str | None = None,
        exclude: Sequence[str] | str | None = None,
    ) -> list[PlannedFile]:
        """Every file ``ref`` stands for, with size, SHA256, commit and folder.

        Args:
            ref: a repository (``owner/repo``), a file or a folder in it.
            include: globs on repository paths; only matching files are planned.
            exclude: globs on repository paths; matching files are left out.

        Raises:
            GatedError: the licence is not accepted (or no token was given for a gated repo).
            AuthError: the token was refused.
            NotFoundError: the repository, revision or file does not exist.
            NothingToFetchError: nothing in the repository is a file ComfyUI loads.
        """
        if not isinstance(ref, HFRef):
            raise TypeError(f"HuggingFaceSource cannot plan a {ref.kind} reference")
        includes, excludes = patterns(include), patterns(exclude)
        api = self._hub.api()
        if ref.path is None and not includes and not excludes:
            settings = self._ctx.settings
            flux = flux_plan(
                self.catalog,
                ref.repo_id,
                precision=settings.flux_precision,
                t5=settings.t5,
                gpu=self._gpu,
            )
            if flux is not None:
                return await self._plan_flux(api, ref, flux)
        repo = await self._hub.open(api, ref.repo_id, ref.revision, ref)
        if ref.path is None:
            entries = await self._hub.tree(api, repo)
            candidates = select(repo, entries, includes, excludes, under="")
        else:
            candidates = await self._plan_path(api, repo, ref.path, includes, excludes)
        return await self._finish(ref, candidates)

    async def _plan_path(
        self, api: HfApi, repo: Repo, path: str, includes: list[str], excludes: list[str]
    ) -> list[Candidate]:
        entry = (await self._hub.paths_info(api, repo, [path])).get(path)
        if entry is None:
            raise self._hub.missing(repo, path)
        if isinstance(entry, RepoFolder):
            entries = await self._hub.tree(api, repo, under=path)
            return select(repo, entries, includes, excludes, under=path)
        if posixpath.splitext(path)[1].lower() not in MODEL_EXTENSIONS:
            raise NothingToFetchError(
                f"'{path}' in {repo.repo_id} is not a model file ComfyUI loads.",
                hint="Name a .safetensors, .sft, .gguf, .ckpt, .pt or .pth file.",
                ref=repo.asked.ref,
            )
        return [Candidate(repo, entry)]

    async def _plan_flux(self, api: HfApi, ref: HFRef, flux: FluxPlan) -> list[PlannedFile]:
        candidates = await flux_candidates(self._hub, api, ref, flux)
        planned = await self._finish(ref, candidates)
        return [replace(p, meta={**p.meta, "flux": flux.member.key}) for p in planned]

    async def _finish(self, ref: HFRef, candidates: list[Candidate]) -> list[PlannedFile]:
        if ref.destination is not None:
            for candidate in candidates:
                candidate.placement = place(Clues(candidate.entry.path, chosen=ref.destination))
                candidate.subfolder = ref.destination.subfolder
        await self._classify(candidates)
        has_token = bool(self._ctx.tokens.hf())
        planned = [self._planned(ref, c, has_token) for c in candidates]
        return disambiguate(planned, candidates)

    def _planned(self, ref: HFRef, candidate: Candidate, has_token: bool) -> PlannedFile:
        entry, repo, placement = candidate.entry, candidate.repo, candidate.placement
        assert placement is not None
        lfs = entry.lfs
        return PlannedFile(
            ref=ref.canonical,
            source="huggingface",
            url=resolve_url(self._hub.endpoint, repo.repo_id, repo.commit, entry.path),
            filename=safe_filename(posixpath.basename(entry.path)),
            folder=placement.folder,
            subfolder=candidate.subfolder,
            size=lfs.size if lfs is not None else entry.size,
            sha256=lfs.sha256.lower() if lfs is not None else None,
            token="huggingface" if has_token or repo.gated else None,
            folder_reason=placement.reason,
            revision=repo.commit,
            meta={
                **repo.described,
                "repo_id": repo.repo_id,
                "path": entry.path,
                "gated": repo.gated,
                **({"role": candidate.role} if candidate.role else {}),
                **({"loader": candidate.loader} if candidate.loader else {}),
            },
        )

    # -- placement --------------------------------------------------------------------------
    async def _classify(self, candidates: list[Candidate]) -> None:
        """A folder for each undecided file, from the clues worth their cost."""
        for candidate in candidates:
            if candidate.placement is None:
                await self._place_known(candidate)
        readable = [
            c
            for c in candidates
            if c.placement is None
            and posixpath.splitext(c.entry.path)[1].lower() in _HEADER_EXTENSIONS
        ]
        # Headers are read for the files whose path says least, within the budget.
        readable.sort(key=lambda c: path_clue(c.entry.path) is not None)
        limit = asyncio.Semaphore(_HEADER_CONCURRENCY)
        headers: dict[int, dict[str, Any] | None] = {}

        async def read(candidate: Candidate) -> None:
            async with limit:
                headers[id(candidate)] = await self._remote_header(candidate)

        await asyncio.gather(*(read(c) for c in readable[: self._max_header_reads]))
        for candidate in candidates:
            if candidate.placement is None:
                header = headers.get(id(candidate))
                candidate.placement = place(Clues(candidate.entry.path, header=header))

    async def _place_known(self, candidate: Candidate) -> None:
        """A file verified on disk already keeps its folder, and its header is not read."""
        lfs = candidate.entry.lfs
        if lfs is None:
            return
        name = safe_filename(posixpath.basename(candidate.entry.path))
        known = await verified_copy(self._ctx, name, {"sha256": lfs.sha256})
        if known is not None:
            reason = f"it is verified in {known.folder} already"
            candidate.placement = place(Clues(name, declared=Placement(known.folder, reason)))
            candidate.subfolder = known.subfolder

    async def _remote_header(self, candidate: Candidate) -> dict[str, Any] | None:
        repo, path = candidate.repo, candidate.entry.path
        url = resolve_url(self._hub.endpoint, repo.repo_id, repo.commit, path)
        asked = self._hub.asked(repo.repo_id, repo.asked.ref, path=path, revision=repo.commit)
        try:
            endpoint = await with_retries(
                lambda: self._resolve(url, repo.gated or asked.has_token, asked),
                policy=BEST_EFFORT,
                what=f"the header of {path}",
            )
        except TransientError as exc:
            log.debug("No header for %s: %s", path, exc)
            return None
        return await read_remote_safetensors_header(self._ctx.session, endpoint)

    # -- bytes ------------------------------------------------------------------------------
    async def endpoint(self, file: PlannedFile) -> Endpoint:
        """Where to GET ``file`` now: the CDN URL without a token, or the hub with it.

        Raises:
            GatedError, AuthError, NotFoundError: as :meth:`plan`, should access change.
            TransientError: the hub could not be reached or answered 429/5xx.
        """
        endpoint_url = self._hub.endpoint
        repo_id = str(file.meta.get("repo_id") or _repo_from_url(file.url, endpoint_url))
        asked = self._hub.asked(
            repo_id, file.ref, path=file.meta.get("path"), revision=file.revision
        )
        return await self._resolve(file.url, file.token is not None, asked)

    async def _resolve(self, url: str, wants_token: bool, asked: Asked) -> Endpoint:
        headers = {"Accept-Encoding": "identity"}
        token = self._ctx.tokens.hf()
        if wants_token and token:
            headers["Authorization"] = f"Bearer {token}"
        wording = HubWording(asked, origin=url)
        try:
            endpoint, _ = await resolve(
                self._ctx.session, self._ctx.policy, url, headers, method="HEAD", wording=wording
            )
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            raise wording.unreachable(exc) from exc
        return endpoint


def _repo_from_url(url: str, endpoint: str) -> str:
    rest = url.removeprefix(endpoint).lstrip("/")
    return "/".join(rest.split("/")[:2])
