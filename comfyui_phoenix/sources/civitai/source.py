"""The CivitAI source: a reference becomes one planned file, and a transfer gets its link.

Planning reads the version from the API, picks the file, follows the download
redirect to storage once (for the exact size, and the header that proves the
folder), and places the file. Every request of the plan is retried when CivitAI
or its storage is busy. The endpoint for a transfer is resolved anew on every
call: engines call again when a signed URL expires.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ...errors import BadReferenceError
from ...naming import safe_filename
from ...net.endpoint import Endpoint
from ...net.retry import with_retries
from ...plan import PlannedFile
from ...refs import CivitaiRef, Reference
from ..base import KnownFile, SourceContext, verified_copy
from ..classify import CIVITAI_MODEL_TYPES, Placement, civitai_placement
from ..direct import content_size, remote_header
from ..placement import Clues, place
from .api import CivitaiApi
from .files import choose_file, download_url, file_hash, file_subject, model_page, plan_meta
from .release import Release
from .signed_links import signed_link
from .wording import CivitaiWording


class CivitaiSource:
    """Plans CivitAI references and resolves their signed download links."""

    kind = "civitai"

    def __init__(self, ctx: SourceContext) -> None:
        self.ctx = ctx
        self.base = ctx.settings.civitai_base_url
        self.api = CivitaiApi(ctx, CivitaiWording(self.base, ctx.tokens))

    async def plan(self, ref: Reference) -> list[PlannedFile]:
        """The one file a CivitAI reference stands for, its exact size, hashes and folder.

        Raises:
            AuthError, GatedError: the download needs a token or early access.
            NotFoundError: no such model, version or matching file.
            TransientError: CivitAI stayed busy or down through every retry.
        """
        if not isinstance(ref, CivitaiRef):
            raise BadReferenceError(f"'{ref.canonical}' is not a CivitAI reference.")
        release = await self.api.release(ref)
        chosen = choose_file(release, ref)
        url = download_url(self.base, release.version_id, chosen)
        page = model_page(self.base, release.model_id, release.version_id)
        subject = file_subject(release, chosen)
        filename = safe_filename(str(chosen["name"]))
        sha256, blake3 = file_hash(chosen, "SHA256"), file_hash(chosen, "BLAKE3")
        known = await verified_copy(self.ctx, filename, {"blake3": blake3, "sha256": sha256})
        if known is not None:
            # Verified on disk already: not one request to storage for it.
            size: int | None = known.size
            placement = place(Clues(filename, chosen=ref.destination, declared=_kept(known)))
            subfolder = known.subfolder
        else:
            endpoint, headers = await with_retries(
                lambda: signed_link(self.ctx, self.api, url, subject, page),
                what=f"the download link of {subject}",
            )
            size = content_size(headers)
            placement = await self._placement(ref, release, chosen, filename, endpoint)
            subfolder = ""
        if ref.destination is not None:
            subfolder = ref.destination.subfolder
        return [
            PlannedFile(
                ref=ref.canonical,
                source="civitai",
                url=url,
                filename=filename,
                folder=placement.folder,
                subfolder=subfolder,
                size=size,
                sha256=sha256,
                blake3=blake3,
                token="civitai" if self.ctx.tokens.civitai() else None,
                folder_reason=placement.reason,
                revision=str(release.version_id),
                meta=plan_meta(release, chosen, page, subject),
            )
        ]

    async def _placement(
        self,
        ref: CivitaiRef,
        release: Release,
        chosen: Mapping[str, Any],
        filename: str,
        endpoint: Endpoint,
    ) -> Placement:
        if ref.destination is not None:
            return place(Clues(filename, chosen=ref.destination))
        declared = civitai_placement(
            release.model_type, str(chosen.get("type") or "")
        ) or _air_placement(ref.air_type)
        header = await remote_header(self.ctx, filename, endpoint)
        note = f"CivitAI's type '{release.model_type}' names no ComfyUI folder"
        return place(Clues(filename, declared=declared, header=header, note=note))

    async def endpoint(self, file: PlannedFile) -> Endpoint:
        """A fresh signed storage URL for ``file``, without the token."""
        subject = str(file.meta.get("subject") or file.filename)
        page = file.meta.get("page")
        endpoint, _ = await signed_link(
            self.ctx, self.api, file.url, subject, str(page) if page else None
        )
        return endpoint


def _kept(known: KnownFile) -> Placement:
    return Placement(known.folder, f"it is verified in {known.folder} already")


def _air_placement(air_type: str | None) -> Placement | None:
    folder = CIVITAI_MODEL_TYPES.get(air_type or "")
    return Placement(folder, f"its AIR says '{air_type}'") if folder else None
