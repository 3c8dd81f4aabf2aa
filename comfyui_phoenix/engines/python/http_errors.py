"""The server's answers turned into Phoenix errors.

One funnel for this engine: an answer that carries no model bytes, and a link
the source refused even after a refresh, each become the error that tells the
user what to do; a connection that kept failing ends in the retry policy's own
error. URLs in errors lose their query, since signed links carry credentials there.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import aiohttp

from ...errors import (
    AuthError,
    IntegrityError,
    LinkExpiredError,
    NotFoundError,
    PhoenixError,
    SourceError,
)
from ...net.answers import PLAIN, Answer
from .transfer_state import Transfer

#: Bodies that are never model bytes: an error page, a login form, an API error.
TEXT_TYPES = frozenset(
    {"text/html", "application/xhtml+xml", "application/json", "application/problem+json"}
)


def check_answer(t: Transfer, response: aiohttp.ClientResponse) -> None:
    """Turn an answer that carries no model bytes into the right error.

    A 200 or 206 that is not a text page passes, and so does a 416 (the engine
    reads its Content-Range).

    Raises:
        IntegrityError: the body is a web page or an API message, not the file.
        LinkExpiredError: the link was refused or redirected; a fresh one may work.
        NotFoundError: the file is not at the link.
        PhoenixError: any other status, as the shared HTTP reading maps it.
    """
    status = response.status
    if status in (200, 206):
        if response.content_type.lower() in TEXT_TYPES:
            raise IntegrityError(
                f"The server sent a web page or an error message instead of {t.label}.",
                hint="The link may need a login or a token, or it has expired; open it in a browser.",
                url=_bare(t.endpoint.url),
            )
        return
    if status == 416:
        return
    if status in (401, 403, 410) or 300 <= status < 400:
        raise LinkExpiredError(
            f"{t.host} refused the link for {t.label} (HTTP {status}).",
            status=status,
            url=_bare(t.endpoint.url),
        )
    if status == 404:
        raise NotFoundError(
            f"{t.label} is not at {_bare(t.endpoint.url)} (HTTP 404).",
            hint="The file was moved or removed at the source; check the link.",
            status=404,
            url=_bare(t.endpoint.url),
        )
    raise PLAIN.error(Answer(status, _bare(t.endpoint.url), response.headers))


def refused(t: Transfer, exc: LinkExpiredError) -> PhoenixError:
    """The error that ends ``t`` when a fresh link was refused as well."""
    status = exc.status or 0
    url = _bare(t.endpoint.url)
    if status == 410:
        return NotFoundError(
            f"{t.label} is no longer available at {t.host} (HTTP 410).",
            hint="The file was removed at the source; check the link.",
            status=status,
            url=url,
        )
    if 300 <= status < 400:
        return SourceError(
            f"{t.host} keeps redirecting the download of {t.label}, also with a fresh link.",
            hint="Check the link in a browser.",
            status=status,
            url=url,
        )
    return AuthError(
        f"{t.host} refused the download of {t.label} (HTTP {status}), also with a fresh link.",
        hint="Check your token and that your account may download this file.",
        status=status,
        url=url,
    )


def _bare(url: str) -> str:
    """The URL without its query: signed links carry credentials there."""
    return urlsplit(url)._replace(query="", fragment="").geturl()
