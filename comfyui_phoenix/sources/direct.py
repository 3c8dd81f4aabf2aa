"""Direct links: any https URL (or http to an explicitly allowed host) to one file.

Before any byte moves the link is checked against the host policy and asked for
its metadata: a HEAD, or a 0-byte Range GET where HEAD is refused (presigned
URLs are often signed for GET only). The size comes from Content-Length or
Content-Range, the name from Content-Disposition (RFC 6266, ``filename*`` first)
or the URL's last segment, and both are treated as hostile. A link that serves a
web page is refused: it would otherwise be saved as a ``.safetensors``.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote, urlsplit

import aiohttp
from multidict import CIMultiDict

from ..errors import (
    AuthError,
    BadReferenceError,
    NotFoundError,
    PhoenixError,
    SourceError,
    UnsafePathError,
)
from ..naming import safe_filename
from ..net.answers import Answer, Wording, unreachable
from ..net.endpoint import Endpoint
from ..net.redirects import resolve
from ..net.retry import with_retries
from ..plan import PlannedFile
from ..refs import Reference, UrlRef
from ..security.redact import redact_url
from .base import SourceContext
from .classify import Placement
from .header import read_remote_safetensors_header
from .placement import Clues, path_clue, place

#: Statuses with which servers refuse HEAD while serving GET (405, 501; S3 answers 403).
HEAD_REFUSED = frozenset({400, 403, 405, 501})
WEB_PAGE_TYPES = ("text/html", "application/xhtml+xml")
_PARAM = re.compile(r';\s*([!#$%&\'*+.^_`|~0-9A-Za-z-]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^;]*)')
_QUOTED_PAIR = re.compile(r"\\(.)")


class DirectSource:
    """Plans direct links and resolves their redirects (never with credentials)."""

    kind = "url"

    def __init__(self, ctx: SourceContext) -> None:
        self.ctx = ctx

    async def plan(self, ref: Reference) -> list[PlannedFile]:
        """The file behind a link: its safe name, exact size when the server says, and folder.

        Raises:
            HostNotAllowedError: the host is not on the allow-list (PHOENIX_ALLOWED_HOSTS).
            UnsafePathError: the server's file name could escape the folder or is reserved.
            SourceError: the link serves a web page, or answers with an error.
        """
        if not isinstance(ref, UrlRef):
            raise BadReferenceError(f"'{ref.canonical}' is not a direct link.")
        self.ctx.policy.check_url(ref.url)
        endpoint, headers = await with_retries(
            lambda: probe(self.ctx, ref.url, ranged=True), what=f"the link {redact_url(ref.url)}"
        )
        filename = remote_filename(headers, ref.url, endpoint.url)
        placement = await self._placement(ref, filename, endpoint)
        etag = headers.get("ETag")
        return [
            PlannedFile(
                ref=ref.canonical,
                source="url",
                url=ref.url,
                filename=filename,
                folder=placement.folder,
                subfolder=ref.destination.subfolder if ref.destination else "",
                size=content_size(headers),
                folder_reason=placement.reason,
                meta={"host": urlsplit(endpoint.url).hostname, "etag": etag},
            )
        ]

    async def endpoint(self, file: PlannedFile) -> Endpoint:
        """Where the bytes are now: the link with its redirects followed, no credentials."""
        endpoint, _ = await probe(self.ctx, file.url, ranged=False)
        return endpoint

    async def _placement(self, ref: UrlRef, filename: str, endpoint: Endpoint) -> Placement:
        if ref.destination is not None or path_clue(filename) is not None:
            return place(Clues(filename, chosen=ref.destination))
        # Only a name that says nothing is worth the two requests a header costs.
        header = await remote_header(self.ctx, filename, endpoint)
        return place(Clues(filename, header=header))


async def probe(ctx: SourceContext, url: str, *, ranged: bool) -> tuple[Endpoint, CIMultiDict[str]]:
    """Follow ``url``'s redirects with HEAD, or with GET where HEAD is refused.

    ``ranged`` asks the GET for 0 bytes (``Range: bytes=0-0``) to learn the size from
    Content-Range; the engine's endpoint never carries it.

    Raises:
        SourceError: the link serves a web page, or answers with an error status.
    """
    try:
        endpoint, raw = await _resolve(ctx, url, "HEAD", {})
    except PhoenixError as exc:
        if exc.status not in HEAD_REFUSED:
            raise
        extra = {"Range": "bytes=0-0"} if ranged else {}
        endpoint, raw = await _resolve(ctx, url, "GET", extra)
        endpoint = Endpoint(endpoint.url, {})
    headers = CIMultiDict(raw)
    if is_web_page(headers):
        raise SourceError(
            f"The link {redact_url(url)} serves a web page, not a model file.",
            hint="Copy the file's own download link (behind the Download button), not the page's address.",
            url=redact_url(url),
        )
    return endpoint, headers


async def _resolve(
    ctx: SourceContext, url: str, method: str, headers: Mapping[str, str]
) -> tuple[Endpoint, Mapping[str, str]]:
    try:
        return await resolve(ctx.session, ctx.policy, url, headers, method=method, wording=LINK)
    except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
        raise unreachable(url, exc) from exc


class LinkWording(Wording):
    """A direct link's failed answers: no credentials ever go to such a host."""

    def unauthorized(self, answer: Answer) -> PhoenixError:
        return AuthError(
            f"{answer.shown_url} requires a login.",
            hint="Phoenix sends no credentials to other hosts; use a public or pre-signed link.",
            status=answer.status,
            url=answer.shown_url,
        )

    def missing(self, answer: Answer) -> PhoenixError:
        return NotFoundError(
            f"Nothing is at {answer.shown_url} (HTTP {answer.status}).",
            hint="Check the link in a browser; the file may have moved.",
            status=answer.status,
            url=answer.shown_url,
        )


LINK = LinkWording()


def is_web_page(headers: Mapping[str, str]) -> bool:
    """Whether an answer's Content-Type is a web page (a login or error page, never a model)."""
    content_type = CIMultiDict(headers).get("Content-Type", "")
    return content_type.split(";", 1)[0].strip().lower().startswith(WEB_PAGE_TYPES)


def content_size(headers: Mapping[str, str]) -> int | None:
    """The whole file's size: the total of Content-Range, else an unencoded Content-Length."""
    view = CIMultiDict(headers)
    total = view.get("Content-Range", "").rpartition("/")[2].strip()
    if total.isdigit():
        return int(total)
    if view.get("Content-Encoding", "identity").strip().lower() != "identity":
        return None
    length = view.get("Content-Length", "").strip()
    return int(length) if length.isdigit() else None


def disposition_filename(value: str) -> str | None:
    """The file name in a Content-Disposition header; ``filename*`` (RFC 5987) wins.

    The name is returned as sent, unsanitized: callers pass it to ``safe_filename``.
    """
    params: dict[str, str] = {}
    for key, raw in _PARAM.findall(value):
        raw = raw.strip()
        if raw.startswith('"') and raw.endswith('"') and len(raw) >= 2:
            raw = _QUOTED_PAIR.sub(r"\1", raw[1:-1])
        params.setdefault(key.lower(), raw)
    extended = params.get("filename*", "")
    charset, sep, rest = extended.partition("'")
    _language, sep2, encoded = rest.partition("'")
    if sep and sep2 and encoded:
        try:
            return unquote(encoded, encoding=charset or "utf-8", errors="strict")
        except (LookupError, UnicodeDecodeError):
            pass  # a broken extended name falls back to the plain one, as RFC 6266 says
    return params.get("filename") or None


def remote_filename(headers: Mapping[str, str], url: str, final_url: str) -> str:
    """The safe local name for a link's file.

    Raises:
        UnsafePathError: the name could escape the folder, is reserved or too long.
        SourceError: neither the server nor the URL names a file.
    """
    disposition = CIMultiDict(headers).get("Content-Disposition", "")
    name = disposition_filename(disposition) if disposition else None
    name = name or _last_segment(url) or _last_segment(final_url)
    if not name:
        raise SourceError(
            f"{redact_url(url)} names no file, and the server sent no file name.",
            hint="Use a link that ends in the file's name.",
        )
    try:
        return safe_filename(name)
    except UnsafePathError as exc:
        exc.url = redact_url(url)
        exc.hint = (
            "The server chose this name; Phoenix refuses names that could escape the "
            "models folder or break on Windows. Use another link."
        )
        raise


def _last_segment(url: str) -> str:
    return unquote(urlsplit(url).path.rpartition("/")[2])


async def remote_header(
    ctx: SourceContext, filename: str, endpoint: Endpoint
) -> Mapping[str, Any] | None:
    """The safetensors header of a remote safetensors file; None when it cannot be read."""
    if not filename.lower().endswith((".safetensors", ".sft")):
        return None
    header: Mapping[str, Any] | None = await read_remote_safetensors_header(ctx.session, endpoint)
    return header
