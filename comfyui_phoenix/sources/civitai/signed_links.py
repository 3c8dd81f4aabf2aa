"""CivitAI's download redirect: from ``/api/download/models/{version}`` to signed storage.

The download URL answers with a redirect to a short-lived signed URL on a storage
host. Phoenix follows it by hand: the token goes to CivitAI's host only (presigned
storage refuses a second auth mechanism with a 400, and aria2 would resend the
header to every hop, aria2/aria2#1176), each hop is checked against the host
policy, and storage is asked for one byte (``Range: bytes=0-0``), whose
Content-Range gives the file's exact size. A 200 with a web page is a login or
error page, never the file.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from urllib.parse import urlsplit

import aiohttp

from ...errors import SourceError
from ...net.answers import unreachable
from ...net.endpoint import Endpoint
from ...net.redirects import resolve, same_origin
from ...security.redact import redact_url
from ..base import SourceContext
from ..direct import is_web_page
from .api import CivitaiApi


async def signed_link(
    ctx: SourceContext, api: CivitaiApi, url: str, subject: str, page: str | None
) -> tuple[Endpoint, Mapping[str, str]]:
    """Follow ``url`` to its signed storage URL; also return storage's headers.

    Raises:
        AuthError: CivitAI wants a (valid) token, or sent its login page.
        LinkExpiredError: storage refused the signed URL.
        SourceError: storage served a web page instead of the file.
        TransientError: CivitAI or storage could not be reached, or is busy.
    """
    wording = api.wording.about(subject, page)
    try:
        endpoint, headers = await resolve(
            ctx.session, ctx.policy, url, api.auth(), method="GET", wording=wording, probe=True
        )
    except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
        raise unreachable(url, exc) from exc
    parts = urlsplit(endpoint.url)
    on_civitai = same_origin(endpoint.url, api.base)
    login = on_civitai and (
        parts.path.rstrip("/").endswith("/login") or "reason=download-auth" in parts.query
    )
    web_page = is_web_page(headers)
    if login or (web_page and on_civitai):
        raise wording.login_needed(endpoint.url, None)
    if web_page:
        raise SourceError(
            f"The storage host served a web page instead of {subject}.",
            hint="CivitAI's storage may be having trouble; retry later.",
            url=redact_url(endpoint.url),
        )
    return endpoint, headers
