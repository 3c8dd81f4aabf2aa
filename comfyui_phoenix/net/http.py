"""One way to make the HTTP sessions that sources and engines share."""

from __future__ import annotations

from typing import Any

import aiohttp

from .. import __version__
from .policy import HostPolicy

USER_AGENT = f"comfyui-phoenix/{__version__}"


def make_session(
    policy: HostPolicy, *, connections: int = 64, **kwargs: Any
) -> aiohttp.ClientSession:
    """A session whose connector enforces the private-network rule at connect time.

    Responses are never auto-decompressed: model bytes are stored as sent.
    """
    connector = aiohttp.TCPConnector(
        limit=connections, limit_per_host=connections, resolver=policy.resolver(), ttl_dns_cache=60
    )
    timeout = aiohttp.ClientTimeout(total=None, connect=20, sock_connect=20, sock_read=60)
    return aiohttp.ClientSession(
        connector=connector,
        timeout=timeout,
        headers={"User-Agent": USER_AGENT},
        auto_decompress=False,
        trust_env=True,
        **kwargs,
    )
