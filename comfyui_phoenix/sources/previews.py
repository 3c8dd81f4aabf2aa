"""Preview images served from Phoenix's own origin: fetched once from the source, kept small.

A browser never loads a preview from CivitAI or the hub (no request leaves the page for
another site, and none that another site could track). Phoenix fetches each image once,
through the host policy and the retry policy, checks by its first bytes that it is a
raster image (never SVG, which may carry script), keeps a copy under
``<models root>/.phoenix/previews/`` and serves that. Only addresses Phoenix handed out
itself are fetched: each carries a signature made with a key that lives in memory only, so
the preview route cannot be used to fetch anything else.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import os
import secrets
from pathlib import Path

import aiohttp

from ..errors import SourceError
from ..net.answers import PLAIN, Answer, unreachable
from ..net.redirects import resolve
from ..net.retry import BEST_EFFORT, with_retries
from .base import SourceContext

#: CivitAI's 450-pixel previews weigh tens of kilobytes; nothing near this is a preview.
MAX_PREVIEW_BYTES = 4 << 20
#: Copies kept at most (searches show many): the oldest go first, and come back when shown.
MAX_KEPT = 2000

_EXTENSIONS = {"image/png": "png", "image/jpeg": "jpg", "image/gif": "gif", "image/webp": "webp"}
TYPES = {extension: kind for kind, extension in _EXTENSIONS.items()}


def image_type(data: bytes) -> str | None:
    """The raster image type ``data`` starts with, or None (SVG and everything else)."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


class Previews:
    """Signed preview addresses, and the small copies of the images behind them.

    Args:
        ctx: the sources' context (session, host policy).
        folder: where the copies are kept (``.phoenix/previews`` under the models root).
        key: the signing key; a fresh random one by default (addresses last one process).
    """

    def __init__(self, ctx: SourceContext, folder: Path, key: bytes | None = None) -> None:
        self._ctx = ctx
        self.folder = folder
        self._key = key or secrets.token_bytes(32)

    def sign(self, url: str) -> str:
        """The signature that lets :meth:`image` fetch ``url``."""
        return hmac.new(self._key, url.encode(), hashlib.sha256).hexdigest()[:32]

    def verify(self, url: str, signature: str) -> bool:
        return hmac.compare_digest(self.sign(url), signature)

    async def image(self, url: str) -> tuple[Path, str]:
        """The kept copy of the image at ``url`` and its type, fetched first if need be.

        Raises:
            SourceError: the address does not serve a raster image within the size limit.
            TransientError: the image host stayed busy or unreachable.
            HostNotAllowedError: the address is outside the host policy.
        """
        name = hashlib.sha256(url.encode()).hexdigest()[:32]
        for extension, kind in TYPES.items():
            kept = self.folder / f"{name}.{extension}"
            if kept.is_file():
                return kept, kind
        data = await with_retries(
            lambda: self._fetch(url), policy=BEST_EFFORT, what="a preview image"
        )
        found = image_type(data)
        if found is None:
            raise SourceError(
                "The preview is not an image Phoenix shows.", hint="The model has no preview."
            )
        kept = self.folder / f"{name}.{_EXTENSIONS[found]}"
        await asyncio.to_thread(_keep, kept, data)
        return kept, found

    async def _fetch(self, url: str) -> bytes:
        session, policy = self._ctx.session, self._ctx.policy
        try:
            endpoint, _ = await resolve(session, policy, url, {}, method="GET", probe=True)
            async with session.get(endpoint.url, allow_redirects=False) as response:
                if response.status != 200:
                    raise PLAIN.error(Answer(response.status, endpoint.url, response.headers))
                body = bytearray()
                async for chunk in response.content.iter_chunked(1 << 16):
                    body += chunk
                    if len(body) > MAX_PREVIEW_BYTES:
                        raise SourceError(
                            "The preview image is too large to keep.",
                            hint="The model has no preview.",
                        )
                return bytes(body)
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            raise unreachable(url, exc) from exc


def _keep(path: Path, data: bytes) -> None:
    """Write the copy atomically, then let the oldest copies go beyond :data:`MAX_KEPT`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)
    kept = [p for p in path.parent.iterdir() if p.suffix.lstrip(".") in TYPES]
    if len(kept) > MAX_KEPT:
        kept.sort(key=lambda p: p.stat().st_mtime)
        for old in kept[: len(kept) - MAX_KEPT]:
            old.unlink(missing_ok=True)
