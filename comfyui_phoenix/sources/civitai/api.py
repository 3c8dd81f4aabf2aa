"""Reading CivitAI's REST API: a model or a version, as one :class:`Release`.

Reads go to ``/api/v1`` with the token as a header, to CivitAI's own host only:
the API is never followed through a redirect, and a ``?token=`` would end up in
logs. Answers are small JSON documents; anything else is CivitAI having trouble
(a challenge page, an outage) or a base URL that points somewhere else.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Mapping
from typing import Any

import aiohttp

from ...errors import (
    BadReferenceError,
    NotFoundError,
    NothingToFetchError,
    PhoenixError,
    SourceError,
)
from ...net.answers import Answer, unreachable
from ...net.retry import BEST_EFFORT, with_retries
from ...refs import CivitaiRef
from ..base import SourceContext
from .files import model_page
from .release import Release
from .wording import CivitaiWording

log = logging.getLogger(__name__)

#: No real API answer comes near this; a larger one is not CivitAI's API.
API_READ_LIMIT = 16 << 20


class CivitaiApi:
    """The REST API of the CivitAI site at ``PHOENIX_CIVITAI_BASE_URL``."""

    def __init__(self, ctx: SourceContext, wording: CivitaiWording) -> None:
        self.ctx = ctx
        self.base = ctx.settings.civitai_base_url
        self.wording = wording

    async def release(self, ref: CivitaiRef) -> Release:
        """The version a reference means: its own, or the model's newest.

        Raises:
            NotFoundError: no such model or version, or a version of another model.
            NothingToFetchError: the model has no published version.
        """
        if ref.version_id is not None:
            return await self._version_release(ref.version_id, ref.model_id)
        if ref.model_id is None:
            raise BadReferenceError("A CivitAI reference needs a model or a version id.")
        subject = f"model {ref.model_id}"
        data = await self.get_json(f"/api/v1/models/{ref.model_id}", subject, ref.model_id)
        versions = [v for v in data.get("modelVersions") or [] if isinstance(v, Mapping)]
        if not versions:
            raise NothingToFetchError(
                f"CivitAI model {ref.model_id} has no published version.",
                hint=f"Open {model_page(self.base, ref.model_id, None)} to check its status.",
                ref=ref.canonical,
            )
        # CivitAI lists the newest version first.
        return Release(
            ref.model_id, str(data.get("name", "")), str(data.get("type", "")), versions[0], data
        )

    async def _version_release(self, version_id: int, model_id: int | None) -> Release:
        subject = f"model version {version_id}"
        data = await self.get_json(f"/api/v1/model-versions/{version_id}", subject, model_id)
        owner = data.get("modelId")
        if model_id is not None and owner is not None and int(owner) != model_id:
            raise NotFoundError(
                f"Version {version_id} belongs to CivitAI model {owner}, not {model_id}.",
                hint="Check the ids: civitai:MODEL@VERSION takes the version id from the same model.",
            )
        model = data.get("model")
        if not isinstance(model, Mapping):
            model = {}
        owner_id = int(owner) if owner is not None else model_id
        permissions = await self._permissions(owner_id) if owner_id is not None else {}
        return Release(
            owner_id, str(model.get("name", "")), str(model.get("type", "")), data, permissions
        )

    async def _permissions(self, model_id: int) -> Mapping[str, Any]:
        """The model, for its permissions (its licence), which the version does not carry.

        Best effort: the plan stands without them.
        """
        path = f"/api/v1/models/{model_id}"
        try:
            return await with_retries(
                lambda: self._get_json_once(path, f"model {model_id}", model_id),
                policy=BEST_EFFORT,
                what=f"the licence of CivitAI model {model_id}",
            )
        except PhoenixError as exc:
            log.debug("no licence for CivitAI model %s: %s", model_id, exc)
            return {}

    def auth(self) -> dict[str, str]:
        """The token as a header, for CivitAI's own host only."""
        token = self.ctx.tokens.civitai()
        return {"Authorization": f"Bearer {token}"} if token else {}

    async def get_json(self, path: str, subject: str, model_id: int | None) -> dict[str, Any]:
        """GET ``path`` of the API as a JSON object, retrying a busy or flaky CivitAI."""
        return await with_retries(
            lambda: self._get_json_once(path, subject, model_id), what=f"CivitAI's {subject}"
        )

    async def _get_json_once(self, path: str, subject: str, model_id: int | None) -> dict[str, Any]:
        url = self.base + path
        self.ctx.policy.check_url(url)
        page = model_page(self.base, model_id, None) if model_id is not None else None
        try:
            # No redirects: the token must not follow the API anywhere else.
            async with self.ctx.session.get(
                url, headers=self.auth(), allow_redirects=False
            ) as response:
                body = await _read_limited(response, path)
                if response.status != 200:
                    answer = Answer(response.status, url, response.headers, body)
                    raise self.wording.about(subject, page).error(answer)
                content_type = response.headers.get("Content-Type", "")
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            raise unreachable(url, exc) from exc
        return _parse_json(body, content_type, path)


async def _read_limited(response: aiohttp.ClientResponse, path: str) -> bytes:
    """The whole body, refusing answers far larger than any real API answer."""
    body = bytearray()
    async for chunk in response.content.iter_chunked(1 << 16):
        body += chunk
        if len(body) > API_READ_LIMIT:
            raise SourceError(
                f"CivitAI answered {path} with more than {API_READ_LIMIT >> 20} MB.",
                hint="Check PHOENIX_CIVITAI_BASE_URL; it should point at CivitAI's site.",
            )
    return bytes(body)


def _parse_json(body: bytes, content_type: str, path: str) -> dict[str, Any]:
    bad = SourceError(
        f"CivitAI answered {path} with something other than JSON.",
        hint="CivitAI may be down or showing a challenge page; try again later.",
    )
    if "json" not in content_type.lower():
        raise bad
    try:
        data = json.loads(body)
    except ValueError:
        raise bad from None
    if not isinstance(data, dict):
        raise bad
    return data
