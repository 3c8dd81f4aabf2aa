"""What the sources offer before a plan: search, a model's versions and files, lookup by hash.

One entry for the surfaces, whichever source answers: CivitAI's catalogue
(:mod:`.civitai.catalog`) and the hub's (:mod:`.hf.catalog`), sharing the sources' context,
their wording of failed answers and their retries.
"""

from __future__ import annotations

from ..errors import BadReferenceError, BadRequestError
from ..refs import CivitaiRef, HFRef
from .base import SourceContext
from .civitai.api import CivitaiApi
from .civitai.catalog import SEARCH_TYPES, CivitaiCatalog, HashMatch
from .civitai.wording import CivitaiWording
from .hf.catalog import HubCatalog
from .hf.hub import Hub
from .listing import Choices, SearchPage
from .registry import Sources

MAX_QUERY = 200


class Catalog:
    """Search, choices and lookups through CivitAI's and the hub's APIs."""

    def __init__(self, ctx: SourceContext, sources: Sources) -> None:
        self._sources = sources
        api = CivitaiApi(ctx, CivitaiWording(ctx.settings.civitai_base_url, ctx.tokens))
        self.civitai = CivitaiCatalog(api)
        self.hub = HubCatalog(Hub(ctx))

    async def search(
        self,
        source: str,
        query: str,
        *,
        model_type: str | None = None,
        nsfw: bool = False,
        cursor: str | None = None,
    ) -> SearchPage:
        """One page of models from ``source`` matching ``query``; NSFW ones only if asked.

        Raises:
            BadRequestError: an unknown source or type, or an empty or overlong query.
        """
        query = query.strip()
        if not query or len(query) > MAX_QUERY:
            raise BadRequestError(
                "Type what to search for.",
                hint=f"A name or a few words, at most {MAX_QUERY} characters.",
            )
        if source == "civitai":
            kind = _civitai_type(model_type)
            return await self.civitai.search(query, model_type=kind, nsfw=nsfw, cursor=cursor)
        if source == "huggingface":
            return await self.hub.search(query, model_type=model_type, nsfw=nsfw)
        raise BadRequestError(
            f"Phoenix cannot search '{source[:40]}'.", hint="Search civitai or huggingface."
        )

    async def choices(self, text: str, *, nsfw: bool = False) -> Choices:
        """The versions and files the model a reference names offers.

        Raises:
            BadReferenceError: not a reference, or a direct link (one file, nothing to choose).
            NotFoundError, GatedError, AuthError: as a plan of the reference would.
        """
        ref = self._sources.parse(text)
        if isinstance(ref, CivitaiRef):
            return await self.civitai.choices(ref, nsfw=nsfw)
        if isinstance(ref, HFRef):
            return await self.hub.choices(ref)
        raise BadReferenceError(
            "A direct link names one file: there are no versions to choose from.",
            hint="Choose among versions of a CivitAI model or files of a HuggingFace repository.",
        )

    async def by_hash(self, sha256: str) -> HashMatch | None:
        """What CivitAI lists under this SHA256, or None when it knows no such file."""
        return await self.civitai.by_hash(sha256)


def _civitai_type(model_type: str | None) -> str | None:
    if not model_type:
        return None
    for known in SEARCH_TYPES:
        if known.lower() == model_type.strip().lower():
            return known
    raise BadRequestError(
        f"CivitAI has no model type '{model_type[:40]}'.",
        hint=f"Use one of {', '.join(sorted(SEARCH_TYPES))}.",
    )
