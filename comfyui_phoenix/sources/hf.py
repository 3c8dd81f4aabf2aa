"""HuggingFace: a repository, or one file in it, planned through huggingface_hub.

Metadata comes from the real client (``HfApi`` in a thread): the access check
first (token, gated licence), then the commit a revision points at, then the
file tree with sizes and LFS SHA256. Bytes come from the public resolve URL,
``{HF_ENDPOINT}/{repo}/resolve/{commit}/{path}``; :meth:`HuggingFaceSource.endpoint`
follows its redirect by hand so the token reaches the hub and never the CDN.

A whole repository plans what ComfyUI loads, not everything in it: the single
``.safetensors``, ``.sft`` and ``.gguf`` files, skipping diffusers-format
folders (``transformer/``, ``text_encoder/``, ``vae/`` beside a
``model_index.json``, or any folder with a ``config.json``) and sharded
weights. FLUX.1 repositories get their own plan (see :mod:`.flux`).
"""

from __future__ import annotations

import asyncio
import fnmatch
import logging
import posixpath
import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, TypeVar
from urllib.parse import quote

import aiohttp
import huggingface_hub.errors
from huggingface_hub import HfApi
from huggingface_hub.errors import (
    DisabledRepoError,
    EntryNotFoundError,
    GatedRepoError,
    HfHubHTTPError,
    RepositoryNotFoundError,
    RevisionNotFoundError,
)
from huggingface_hub.hf_api import RepoFile, RepoFolder

from .. import __version__
from ..errors import (
    AuthError,
    GatedError,
    NotFoundError,
    NothingToFetchError,
    PhoenixError,
    SourceError,
    TransientError,
    UnsafePathError,
)
from ..folders import MODEL_EXTENSIONS, MODEL_FOLDERS, normalize_folder
from ..naming import safe_filename, safe_relative_dir
from ..net.endpoint import Endpoint
from ..net.http import generic_status_error
from ..net.redirects import resolve, same_origin
from ..plan import PlannedFile
from ..refs import Destination, HFRef, Reference
from ..security.redact import redact_url
from .base import SourceContext
from .classify import Placement, classify_header, classify_name
from .flux import FluxFile, flux_plan
from .header import read_remote_safetensors_header

#: What a whole-repository plan picks: single files ComfyUI's loaders (and ComfyUI-GGUF) open.
LOADABLE_EXTENSIONS = frozenset({".safetensors", ".sft", ".gguf"})
#: How many safetensors headers one plan may read to classify its files.
MAX_HEADER_READS = 16

_HEADER_EXTENSIONS = frozenset({".safetensors", ".sft"})
_HEADER_CONCURRENCY = 4
_LISTED = 10
_DIFFUSERS_COMPONENT = re.compile(
    r"^(transformer|unet|vae|text_encoder|tokenizer|scheduler|feature_extractor|image_encoder"
    r"|image_processor|safety_checker|prior|decoder|movq)(_\d+)?$"
)
_SHARD = re.compile(r"-\d{5}-of-\d{5}\.[a-z]+$")
_ERROR_CODES = {
    "GatedRepo": "gated",
    "RepoNotFound": "repo",
    "RevisionNotFound": "revision",
    "EntryNotFound": "entry",
}

#: huggingface_hub's network errors (refused connection, timeout): httpx's HTTPError in 1.x and 2.x.
HubTransportError: type[Exception] = getattr(huggingface_hub.errors, "HTTPError", OSError)

T = TypeVar("T")
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class _Asked:
    """What was asked of the hub, so that an error can name it."""

    endpoint: str
    repo_id: str
    ref: str
    has_token: bool
    path: str | None = None
    revision: str | None = None

    @property
    def page(self) -> str:
        return f"{self.endpoint}/{self.repo_id}"


@dataclass(frozen=True)
class _Repo:
    """One repository at one commit, after its access check."""

    repo_id: str
    commit: str
    gated: bool
    asked: _Asked


@dataclass
class _Candidate:
    """A file chosen for the plan, waiting for its folder."""

    repo: _Repo
    entry: RepoFile
    placement: Placement | None = None
    subfolder: str = ""


class HuggingFaceSource:
    """Plans HuggingFace references and hands engines a token-safe endpoint for each file.

    Args:
        ctx: settings, the shared session, the host policy and the tokens.
        vram_bytes: memory of the largest GPU (None when unknown), for ``PHOENIX_T5=auto``.
        max_header_reads: how many remote safetensors headers one plan may read.
    """

    kind = "huggingface"

    def __init__(
        self,
        ctx: SourceContext,
        *,
        vram_bytes: int | None = None,
        max_header_reads: int = MAX_HEADER_READS,
    ) -> None:
        self._ctx = ctx
        self._vram_bytes = vram_bytes
        self._max_header_reads = max_header_reads

    @property
    def _endpoint_url(self) -> str:
        return self._ctx.settings.hf_endpoint

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
        includes, excludes = _patterns(include), _patterns(exclude)
        api = self._api()
        if ref.path is None and not includes and not excludes:
            flux = flux_plan(ref.repo_id, self._ctx.settings.t5, self._vram_bytes)
            if flux is not None:
                return await self._plan_flux(api, ref, flux)
        repo = await self._open(api, ref.repo_id, ref.revision, ref)
        if ref.path is None:
            entries = await self._tree(api, repo)
            candidates = _select(repo, entries, includes, excludes, under="")
        else:
            candidates = await self._plan_path(api, repo, ref.path, includes, excludes)
        _apply_destination(candidates, ref.destination)
        return await self._finish(ref, candidates)

    async def _plan_path(
        self, api: HfApi, repo: _Repo, path: str, includes: list[str], excludes: list[str]
    ) -> list[_Candidate]:
        entry = (await self._paths_info(api, repo, [path])).get(path)
        if entry is None:
            raise self._missing(repo, path)
        if isinstance(entry, RepoFolder):
            entries = await self._tree(api, repo, under=path)
            return _select(repo, entries, includes, excludes, under=path)
        if posixpath.splitext(path)[1].lower() not in MODEL_EXTENSIONS:
            raise NothingToFetchError(
                f"'{path}' in {repo.repo_id} is not a model file ComfyUI loads.",
                hint="Name a .safetensors, .sft, .gguf, .ckpt, .pt or .pth file.",
                ref=repo.asked.ref,
            )
        return [_Candidate(repo, entry)]

    async def _plan_flux(self, api: HfApi, ref: HFRef, files: list[FluxFile]) -> list[PlannedFile]:
        groups: dict[str, list[FluxFile]] = {}
        for item in files:
            groups.setdefault(item.ref.repo_id, []).append(item)
        repos: dict[str, _Repo] = {}
        # The gated FLUX repository comes first, so a missing licence stops the plan at once.
        for repo_id in groups:
            own = repo_id.lower() == ref.repo_id.lower()
            repos[repo_id] = await self._open(api, repo_id, ref.revision if own else None, ref)
        candidates: list[_Candidate] = []
        for repo_id, group in groups.items():
            paths = [item.ref.path for item in group if item.ref.path]
            entries = await self._paths_info(api, repos[repo_id], paths)
            for item in group:
                assert item.ref.path is not None and item.ref.destination is not None
                entry = entries.get(item.ref.path)
                if not isinstance(entry, RepoFile):
                    raise self._missing(repos[repo_id], item.ref.path)
                placement = Placement(item.ref.destination.folder, item.reason)
                candidates.append(_Candidate(repos[repo_id], entry, placement))
        _apply_destination(candidates, ref.destination)
        return await self._finish(ref, candidates)

    async def _finish(self, ref: HFRef, candidates: list[_Candidate]) -> list[PlannedFile]:
        await self._classify(candidates)
        has_token = bool(self._ctx.tokens.hf())
        planned = [self._planned(ref, c, has_token) for c in candidates]
        return _disambiguate(planned, candidates)

    def _planned(self, ref: HFRef, candidate: _Candidate, has_token: bool) -> PlannedFile:
        entry, repo, placement = candidate.entry, candidate.repo, candidate.placement
        assert placement is not None
        lfs = entry.lfs
        return PlannedFile(
            ref=ref.canonical,
            source="huggingface",
            url=_resolve_url(self._endpoint_url, repo.repo_id, repo.commit, entry.path),
            filename=safe_filename(posixpath.basename(entry.path)),
            folder=placement.folder,
            subfolder=candidate.subfolder,
            size=lfs.size if lfs is not None else entry.size,
            sha256=lfs.sha256.lower() if lfs is not None else None,
            token="huggingface" if has_token or repo.gated else None,
            folder_reason=placement.reason,
            revision=repo.commit,
            meta={"repo_id": repo.repo_id, "path": entry.path, "gated": repo.gated},
        )

    # -- classification ---------------------------------------------------------------------
    async def _classify(self, candidates: list[_Candidate]) -> None:
        """Folder for each undecided file: its safetensors header, then its path, then a default."""
        readable = [
            c
            for c in candidates
            if c.placement is None
            and posixpath.splitext(c.entry.path)[1].lower() in _HEADER_EXTENSIONS
        ]
        # Headers are read for the files whose path says least, within the budget.
        readable.sort(key=lambda c: _path_clue(c.entry.path) is not None)
        limit = asyncio.Semaphore(_HEADER_CONCURRENCY)

        async def read(candidate: _Candidate) -> None:
            async with limit:
                header = await self._remote_header(candidate)
            found = classify_header(header) if header is not None else None
            if found is not None:
                candidate.placement = found

        await asyncio.gather(*(read(c) for c in readable[: self._max_header_reads]))
        for candidate in candidates:
            if candidate.placement is None:
                candidate.placement = _guess(candidate.entry.path)

    async def _remote_header(self, candidate: _Candidate) -> dict[str, Any] | None:
        repo, path = candidate.repo, candidate.entry.path
        url = _resolve_url(self._endpoint_url, repo.repo_id, repo.commit, path)
        asked = self._asked(repo.repo_id, repo.asked.ref, path=path, revision=repo.commit)
        try:
            endpoint = await self._resolve(url, repo.gated or asked.has_token, asked)
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
        repo_id = str(file.meta.get("repo_id") or _repo_from_url(file.url, self._endpoint_url))
        asked = self._asked(repo_id, file.ref, path=file.meta.get("path"), revision=file.revision)
        return await self._resolve(file.url, file.token is not None, asked)

    async def _resolve(self, url: str, wants_token: bool, asked: _Asked) -> Endpoint:
        headers = {"Accept-Encoding": "identity"}
        token = self._ctx.tokens.hf()
        if wants_token and token:
            headers["Authorization"] = f"Bearer {token}"

        def funnel(status: int, at: str, answer: Mapping[str, str], _body: bytes) -> PhoenixError:
            if not same_origin(at, url):
                return generic_status_error(status, at, answer)
            return _hf_error(status, at, answer, asked)

        try:
            endpoint, _ = await resolve(
                self._ctx.session, self._ctx.policy, url, headers, method="HEAD", funnel=funnel
            )
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            raise _unreachable(asked, exc) from exc
        return endpoint

    # -- the hub, through huggingface_hub ---------------------------------------------------
    def _api(self) -> HfApi:
        # token=False, not None: None would fall back to a login stored on this machine.
        return HfApi(
            endpoint=self._endpoint_url,
            token=self._ctx.tokens.hf() or False,
            library_name="comfyui-phoenix",
            library_version=__version__,
        )

    def _asked(
        self,
        repo_id: str,
        ref: HFRef | str,
        *,
        path: str | None = None,
        revision: str | None = None,
    ) -> _Asked:
        return _Asked(
            endpoint=self._endpoint_url,
            repo_id=repo_id,
            ref=ref if isinstance(ref, str) else ref.canonical,
            has_token=bool(self._ctx.tokens.hf()),
            path=path,
            revision=revision,
        )

    async def _hub(self, asked: _Asked, call: Callable[[], T]) -> T:
        """Run one blocking huggingface_hub call in a thread; its errors become Phoenix's."""
        try:
            return await asyncio.to_thread(call)
        except HfHubHTTPError as exc:
            raise _error_from_hub(exc, asked) from exc
        except HubTransportError as exc:
            raise _unreachable(asked, exc) from exc

    async def _open(self, api: HfApi, repo_id: str, revision: str | None, ref: HFRef) -> _Repo:
        """Check access, then find the commit ``revision`` points at."""
        asked = self._asked(repo_id, ref, revision=revision)
        checked = await self._check_access(api, asked)
        info = await self._hub(asked, lambda: api.model_info(repo_id, revision=revision))
        if not info.sha:
            raise SourceError(
                f"{self._endpoint_url} did not say which commit {repo_id} is at.",
                hint="Check that HF_ENDPOINT points at HuggingFace or a complete mirror of it.",
                ref=asked.ref,
            )
        gated = bool(info.gated)
        if gated and not checked and not asked.has_token:
            raise _hf_error(401, f"{asked.page}/auth-check", {}, asked, kind="gated")
        return _Repo(info.id or repo_id, info.sha, gated, asked)

    async def _check_access(self, api: HfApi, asked: _Asked) -> bool:
        """The hub's own access check. False when the endpoint (a mirror) does not offer it."""
        try:
            await asyncio.to_thread(api.auth_check, asked.repo_id)
        except HfHubHTTPError as exc:
            status = exc.response.status_code
            if _kind_of(exc) is None and status in (404, 405, 501):
                log.debug("%s has no auth-check; access is checked per file", asked.endpoint)
                return False
            raise _error_from_hub(exc, asked) from exc
        except HubTransportError as exc:
            raise _unreachable(asked, exc) from exc
        return True

    async def _tree(self, api: HfApi, repo: _Repo, under: str | None = None) -> list[RepoFile]:
        entries = await self._hub(
            repo.asked,
            lambda: list(
                api.list_repo_tree(
                    repo.repo_id, under or None, recursive=True, revision=repo.commit
                )
            ),
        )
        return [e for e in entries if isinstance(e, RepoFile)]

    async def _paths_info(
        self, api: HfApi, repo: _Repo, paths: list[str]
    ) -> dict[str, RepoFile | RepoFolder]:
        """What the repository holds at ``paths``, in one request; missing paths are absent."""
        found = await self._hub(
            repo.asked, lambda: api.get_paths_info(repo.repo_id, paths, revision=repo.commit)
        )
        return {entry.path: entry for entry in found}

    def _missing(self, repo: _Repo, path: str) -> PhoenixError:
        asked = self._asked(repo.repo_id, repo.asked.ref, path=path, revision=repo.asked.revision)
        url = _resolve_url(self._endpoint_url, repo.repo_id, repo.commit, path)
        return _hf_error(404, url, {}, asked, kind="entry")


# -- the one funnel from HuggingFace answers to Phoenix errors -----------------------------------
def _kind_of(exc: HfHubHTTPError) -> str | None:
    # GatedRepoError subclasses RepositoryNotFoundError, so it is asked first.
    kinds: tuple[tuple[type[BaseException], str], ...] = (
        (GatedRepoError, "gated"),
        (RepositoryNotFoundError, "repo"),
        (RevisionNotFoundError, "revision"),
        (EntryNotFoundError, "entry"),
        (DisabledRepoError, "disabled"),
    )
    return next((kind for cls, kind in kinds if isinstance(exc, cls)), None)


def _error_from_hub(exc: HfHubHTTPError, asked: _Asked) -> PhoenixError:
    response = exc.response
    return _hf_error(
        response.status_code, str(response.url), response.headers, asked, kind=_kind_of(exc)
    )


def _hf_error(
    status: int,
    url: str,
    headers: Mapping[str, str],
    asked: _Asked,
    *,
    kind: str | None = None,
) -> PhoenixError:
    """Turn one answer of the hub into the error a user can act on.

    ``kind`` is what huggingface_hub made of the answer (its exception class);
    raw answers carry it in ``X-Error-Code``, as the hub sends it.
    """
    kind = kind or _ERROR_CODES.get(headers.get("X-Error-Code", ""))
    if kind is None and headers.get("X-Error-Message") == "Access to this resource is disabled.":
        kind = "disabled"
    where: dict[str, Any] = {"ref": asked.ref, "url": redact_url(url), "status": status}
    if kind == "gated":
        return _gated(asked, where)
    if kind == "repo":
        hint = (
            "Check the spelling, and that the account behind HF_TOKEN can read it if it is private."
            if asked.has_token
            else "Check the spelling. If the repository is private, set HF_TOKEN to a token that can read it."
        )
        return NotFoundError(f"HuggingFace has no repository {asked.repo_id}.", hint=hint, **where)
    if kind == "revision":
        return NotFoundError(
            f"{asked.repo_id} has no branch, tag or commit '{asked.revision}'.",
            hint=f"Pick one from {asked.page}, or leave the revision out for the default branch.",
            **where,
        )
    if kind == "entry":
        return NotFoundError(
            f"{asked.repo_id} has no file '{asked.path}'.",
            hint=f"Check the file name at {asked.page}/tree/{asked.revision or 'main'}.",
            **where,
        )
    if kind == "disabled":
        return NotFoundError(
            f"HuggingFace has disabled access to {asked.repo_id}.",
            hint="Use another repository.",
            **where,
        )
    return _by_status(status, url, headers, asked, where)


def _gated(asked: _Asked, where: dict[str, Any]) -> GatedError:
    licence = asked.page
    if not asked.has_token:
        return GatedError(
            f"{asked.repo_id} is gated: HuggingFace serves it only to accounts that accepted its licence.",
            hint=f"Set HF_TOKEN to a token of an account that accepted the licence at {licence}, then retry.",
            licence_url=licence,
            **where,
        )
    return GatedError(
        f"The HuggingFace account behind HF_TOKEN has no access to {asked.repo_id} yet.",
        hint=f"Accept the licence at {licence}, then retry.",
        licence_url=licence,
        **where,
    )


def _by_status(
    status: int, url: str, headers: Mapping[str, str], asked: _Asked, where: dict[str, Any]
) -> PhoenixError:
    tokens_page = f"{asked.endpoint}/settings/tokens"
    if status == 401 and asked.has_token:
        return AuthError(
            "HuggingFace refused the token in HF_TOKEN.",
            hint=f"Set HF_TOKEN to a valid read token from {tokens_page}, then retry.",
            **where,
        )
    if status == 401:
        return AuthError(
            f"HuggingFace wants a token to read {asked.repo_id}.",
            hint=f"Set HF_TOKEN to a read token from {tokens_page}, then retry.",
            **where,
        )
    if status == 403:
        return AuthError(
            f"The token in HF_TOKEN may not read {asked.repo_id}.",
            hint=(
                "Use a token with read access; a fine-grained token needs "
                "'Read access to contents of all public gated repos you can access'."
            ),
            **where,
        )
    if status == 404:
        return NotFoundError(
            f"{redact_url(url)} was not found.",
            hint="Check the reference, and that HF_ENDPOINT points at HuggingFace or a full mirror.",
            **where,
        )
    return generic_status_error(status, url, headers)


def _unreachable(asked: _Asked, exc: BaseException) -> TransientError:
    return TransientError(
        f"HuggingFace at {asked.endpoint} could not be reached ({type(exc).__name__}).",
        hint="Check the network connection; Phoenix retries on its own.",
        ref=asked.ref,
    )


# -- choosing files ---------------------------------------------------------------------------
def _patterns(value: Sequence[str] | str | None) -> list[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else [p for p in value if p]


def _select(
    repo: _Repo,
    entries: list[RepoFile],
    includes: list[str],
    excludes: list[str],
    *,
    under: str,
) -> list[_Candidate]:
    """The files a ComfyUI user wants from ``entries``; NothingToFetchError when none."""
    paths = [e.path for e in entries]
    skipped = _diffusers_dirs(paths)
    # Explicit include patterns may pick any model file; without them only single-file formats.
    extensions = MODEL_EXTENSIONS if includes else LOADABLE_EXTENSIONS
    chosen = [
        _Candidate(repo, e)
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


def _nothing(repo: _Repo, paths: list[str], under: str, filtered: bool) -> NothingToFetchError:
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


# -- placing files -------------------------------------------------------------------------------
def _apply_destination(candidates: list[_Candidate], destination: Destination | None) -> None:
    """The user's ``::folder`` wins over every clue."""
    if destination is None:
        return
    for candidate in candidates:
        candidate.placement = Placement(destination.folder, f"you chose ::{destination}")
        candidate.subfolder = destination.subfolder


def _path_clue(path: str) -> Placement | None:
    """A repository folder named like a ComfyUI folder, then the file name."""
    for part in reversed(path.split("/")[:-1]):
        folder = normalize_folder(part)
        if folder in MODEL_FOLDERS and folder != "diffusers":
            return Placement(folder, f"the repository keeps it in a '{part}' folder")
    return classify_name(posixpath.basename(path))


def _guess(path: str) -> Placement:
    clue = _path_clue(path)
    if clue is not None:
        return clue
    if path.lower().endswith(".gguf"):
        return Placement("diffusion_models", "GGUF models load as diffusion models")
    return Placement("checkpoints", "no better clue")


def _disambiguate(planned: list[PlannedFile], candidates: list[_Candidate]) -> list[PlannedFile]:
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


def _resolve_url(endpoint: str, repo_id: str, commit: str, path: str) -> str:
    return f"{endpoint}/{repo_id}/resolve/{quote(commit, safe='')}/{quote(path, safe='/')}"


def _repo_from_url(url: str, endpoint: str) -> str:
    rest = url.removeprefix(endpoint).lstrip("/")
    return "/".join(rest.split("/")[:2])
