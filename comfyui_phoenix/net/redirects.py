"""Follow redirects by hand, so a token never travels to another host.

aria2 re-sends every header to each redirect target (aria2/aria2#1176), and
signed storage URLs refuse a second auth mechanism; so sources resolve the
chain themselves: each hop is checked against the host policy, the token goes
only to the host it belongs to, and the engine gets the final URL without it.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urljoin, urlsplit

import aiohttp

from ..errors import SourceError
from ..security.redact import redact_url
from .answers import PLAIN, Answer, Wording
from .endpoint import Endpoint
from .policy import HostPolicy

MAX_HOPS = 10
REDIRECTS = frozenset({301, 302, 303, 307, 308})


def same_origin(a: str, b: str) -> bool:
    pa, pb = urlsplit(a), urlsplit(b)
    return (pa.scheme, pa.hostname, pa.port) == (pb.scheme, pb.hostname, pb.port)


async def resolve(
    session: aiohttp.ClientSession,
    policy: HostPolicy,
    url: str,
    headers: Mapping[str, str],
    *,
    method: str = "HEAD",
    wording: Wording = PLAIN,
    probe: bool = False,
) -> tuple[Endpoint, Mapping[str, str]]:
    """Follow ``url``'s redirects; return the final endpoint and the last answer's headers.

    ``headers`` (which may hold a token) are sent only to ``url``'s own origin.
    An error status becomes the error ``wording`` (the speaker's own) gives it.
    With ``probe``, a GET asks every hop for its first byte only (``Range: bytes=0-0``):
    the final answer's Content-Range still gives the whole size, and storage that
    honours Range sends one byte instead of starting the whole file.
    """
    origin = url
    current = url
    for _ in range(MAX_HOPS):
        policy.check_url(current)
        send = dict(headers) if same_origin(current, origin) else {}
        if probe and method == "GET":
            send["Range"] = "bytes=0-0"
        async with session.request(
            method, current, headers=send, allow_redirects=False
        ) as response:
            if response.status in REDIRECTS:
                location = response.headers.get("Location")
                if not location:
                    raise SourceError(f"{redact_url(current)} redirected nowhere.")
                current = urljoin(current, location)
                continue
            if response.status >= 400:
                body = await response.content.read(4096) if method != "HEAD" else b""
                raise wording.error(Answer(response.status, current, response.headers, body))
            # The caller's headers only: the probe's Range must never reach an engine.
            final_headers = dict(headers) if same_origin(current, origin) else {}
            return Endpoint(current, final_headers), dict(response.headers)
    raise SourceError(
        f"{redact_url(url)} redirected more than {MAX_HOPS} times.", hint="Check the link."
    )
