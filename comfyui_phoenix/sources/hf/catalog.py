"""The hub's catalogue: its model search, and the files of one repository a user may pick.

Search goes through ``HfApi.list_models`` (``/api/models?search=&sort=downloads``), with the
token the user gave; its results are described from their tags (licence, base model), and
repositories tagged NSFW are left out unless the user asks. A repository's choices are the
model files ComfyUI can load, diffusers components and shards left out, each with the
reference that plans exactly it.
"""

from __future__ import annotations

import posixpath
from typing import Any

from huggingface_hub.hf_api import ModelInfo

from ...refs import HFRef
from ..listing import Choices, FileChoice, SearchHit, SearchPage, VersionChoice
from .card import describe_repo
from .hub import Hub, resolve_url
from .selection import select

#: What the search's type filter means on the hub: LoRAs are tagged ``lora``; the hub has
#: no tag for the other kinds ComfyUI loads, so they search every repository.
TAG_FOR_TYPE = {"lora": "lora", "locon": "lora", "dora": "lora"}


class HubCatalog:
    """Search and choices on the hub at ``HF_ENDPOINT``."""

    def __init__(self, hub: Hub) -> None:
        self._hub = hub

    async def search(
        self, query: str, *, model_type: str | None = None, nsfw: bool = False, limit: int = 20
    ) -> SearchPage:
        """The most downloaded repositories matching ``query`` (the hub gives no cursor)."""
        api = self._hub.api()
        asked = self._hub.asked(f"models matching '{query[:60]}'", f"search:{query[:60]}")
        tag = TAG_FOR_TYPE.get((model_type or "").lower())
        infos = await self._hub.call(
            asked,
            lambda: list(
                api.list_models(
                    search=query, sort="downloads", limit=limit, filter=[tag] if tag else None
                )
            ),
        )
        hits = [self._hit(info) for info in infos if info.id]
        return SearchPage([h for h in hits if nsfw or not h.meta.get("nsfw")])

    def _hit(self, info: ModelInfo) -> SearchHit:
        endpoint, repo_id = self._hub.endpoint, str(info.id)
        meta = describe_repo(
            repo_id,
            getattr(info, "card_data", None),
            info.tags,
            endpoint=endpoint,
            file_url=lambda path: resolve_url(endpoint, repo_id, "main", path),
        )
        meta["model_type"] = str(getattr(info, "pipeline_tag", None) or "")
        return SearchHit(
            source="huggingface",
            id=repo_id,
            name=repo_id,
            ref=f"hf:{repo_id}",
            downloads=_count(getattr(info, "downloads", None)),
            likes=_count(getattr(info, "likes", None)),
            creator=getattr(info, "author", None) or repo_id.split("/")[0],
            meta=meta,
        )

    async def choices(self, ref: HFRef) -> Choices:
        """The loadable files of the repository ``ref`` names, at its revision.

        Raises:
            GatedError, AuthError, NotFoundError: as a plan of the repository would.
            NothingToFetchError: nothing in it is a file ComfyUI loads.
        """
        api = self._hub.api()
        repo = await self._hub.open(api, ref.repo_id, ref.revision, ref)
        entries = await self._hub.tree(api, repo)
        at = f"@{ref.revision}" if ref.revision else ""
        files = [
            _file(c.entry.path, f"hf:{repo.repo_id}{at}/{c.entry.path}", c.entry)
            for c in select(repo, entries, ["*"], [], under="")
        ]
        selected = next((f.ref for f in files if ref.path and f.path == ref.path), None)
        version = VersionChoice(repo.commit, ref.revision or "main", files, dict(repo.described))
        return Choices(
            source="huggingface",
            id=repo.repo_id,
            name=repo.repo_id,
            versions=[version],
            selected_version=repo.commit,
            selected_file=selected,
            meta={**repo.described, "gated": repo.gated},
        )


def _file(path: str, ref: str, entry: Any) -> FileChoice:
    lfs = entry.lfs
    extension = posixpath.splitext(path)[1].lstrip(".").lower()
    return FileChoice(
        name=posixpath.basename(path),
        ref=ref,
        bytes=lfs.size if lfs is not None else entry.size,
        format=extension,
        path=path,
    )


def _count(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None
