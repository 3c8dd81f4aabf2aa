"""The hub's metadata, through the real huggingface_hub client.

Each call is one blocking ``HfApi`` request in a thread, retried like every other
request when the hub is busy or the network drops; its errors become Phoenix's
through :mod:`.wording`. The order is the one a user needs: the access check
first (token, gated licence), then the commit a revision points at, then files.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import quote

from huggingface_hub import HfApi
from huggingface_hub.errors import HfHubHTTPError
from huggingface_hub.hf_api import RepoFile, RepoFolder

from ... import __version__
from ...errors import PhoenixError, SourceError
from ...net.answers import Answer
from ...net.retry import with_retries
from ...refs import HFRef
from ..base import SourceContext
from .card import describe_repo
from .wording import HUB_TRANSPORT_ERRORS, Asked, HubWording, error_from_hub, kind_of_hub_error

T = TypeVar("T")
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Repo:
    """One repository at one commit, after its access check."""

    repo_id: str
    commit: str
    gated: bool
    asked: Asked
    #: What the card says of the model (see :mod:`..model_meta`), from :mod:`.card`.
    described: dict[str, Any] = field(default_factory=dict)


class Hub:
    """The hub at ``HF_ENDPOINT``, with the token the user gave (never a stored login)."""

    def __init__(self, ctx: SourceContext) -> None:
        self._ctx = ctx

    @property
    def endpoint(self) -> str:
        return self._ctx.settings.hf_endpoint

    def api(self) -> HfApi:
        """A client for one plan; the token is read now, as the panel may have changed it."""
        # token=False, not None: None would fall back to a login stored on this machine.
        return HfApi(
            endpoint=self.endpoint,
            token=self._ctx.tokens.hf() or False,
            library_name="comfyui-phoenix",
            library_version=__version__,
        )

    def asked(
        self,
        repo_id: str,
        ref: HFRef | str,
        *,
        path: str | None = None,
        revision: str | None = None,
    ) -> Asked:
        """What a request is about, for its errors."""
        return Asked(
            endpoint=self.endpoint,
            repo_id=repo_id,
            ref=ref if isinstance(ref, str) else ref.canonical,
            has_token=bool(self._ctx.tokens.hf()),
            path=path,
            revision=revision,
            token_source=self._ctx.tokens.sources.get("huggingface"),
        )

    async def call(self, asked: Asked, request: Callable[[], T]) -> T:
        """Run one blocking huggingface_hub request in a thread, retried while the hub is busy."""
        return await with_retries(
            lambda: self._call_once(asked, request), what=f"{asked.repo_id} from the hub"
        )

    async def _call_once(self, asked: Asked, request: Callable[[], T]) -> T:
        try:
            return await asyncio.to_thread(request)
        except HfHubHTTPError as exc:
            raise error_from_hub(exc, asked) from exc
        except HUB_TRANSPORT_ERRORS as exc:
            raise HubWording(asked).unreachable(exc) from exc

    async def open(self, api: HfApi, repo_id: str, revision: str | None, ref: HFRef) -> Repo:
        """Check access, then find the commit ``revision`` points at."""
        asked = self.asked(repo_id, ref, revision=revision)
        checked = await self._check_access(api, asked)
        info = await self.call(asked, lambda: api.model_info(repo_id, revision=revision))
        if not info.sha:
            raise SourceError(
                f"{self.endpoint} did not say which commit {repo_id} is at.",
                hint="Check that HF_ENDPOINT points at HuggingFace or a complete mirror of it.",
                ref=asked.ref,
            )
        gated = bool(info.gated)
        if gated and not checked and not asked.has_token:
            raise HubWording(asked).gated(Answer(401, f"{asked.page}/auth-check"))
        repo_id, commit = info.id or repo_id, info.sha
        described = describe_repo(
            repo_id,
            info.card_data,
            info.tags,
            endpoint=self.endpoint,
            file_url=lambda path: resolve_url(self.endpoint, repo_id, commit, path),
        )
        return Repo(repo_id, commit, gated, asked, described)

    async def _check_access(self, api: HfApi, asked: Asked) -> bool:
        """The hub's own access check. False when the endpoint (a mirror) does not offer it."""
        try:
            await self.call(asked, lambda: self._auth_check(api, asked))
        except _NoAuthCheck:
            log.debug("%s has no auth-check; access is checked per file", asked.endpoint)
            return False
        return True

    @staticmethod
    def _auth_check(api: HfApi, asked: Asked) -> None:
        try:
            api.auth_check(asked.repo_id)
        except HfHubHTTPError as exc:
            status = exc.response.status_code if exc.response is not None else None
            if kind_of_hub_error(exc) is None and status in (404, 405, 501):
                raise _NoAuthCheck from exc
            raise

    async def tree(self, api: HfApi, repo: Repo, under: str | None = None) -> list[RepoFile]:
        """Every file of the repository (under a folder), with sizes and LFS hashes."""
        entries = await self.call(
            repo.asked,
            lambda: list(
                api.list_repo_tree(
                    repo.repo_id, under or None, recursive=True, revision=repo.commit
                )
            ),
        )
        return [e for e in entries if isinstance(e, RepoFile)]

    async def paths_info(
        self, api: HfApi, repo: Repo, paths: list[str]
    ) -> dict[str, RepoFile | RepoFolder]:
        """What the repository holds at ``paths``, in one request; missing paths are absent."""
        found = await self.call(
            repo.asked, lambda: api.get_paths_info(repo.repo_id, paths, revision=repo.commit)
        )
        return {entry.path: entry for entry in found}

    def missing(self, repo: Repo, path: str) -> PhoenixError:
        """The error for a file the repository does not hold."""
        asked = self.asked(repo.repo_id, repo.asked.ref, path=path, revision=repo.asked.revision)
        url = resolve_url(self.endpoint, repo.repo_id, repo.commit, path)
        return HubWording(asked).error(Answer(404, url), kind="entry")


class _NoAuthCheck(Exception):
    """The endpoint (a mirror) has no auth-check route."""


def resolve_url(endpoint: str, repo_id: str, commit: str, path: str) -> str:
    """The public address of one file's bytes at one commit."""
    return f"{endpoint}/{repo_id}/resolve/{quote(commit, safe='')}/{quote(path, safe='/')}"
