"""Readiness probes: a service is ready when a cheap HTTP route answers 200.

ComfyUI's is ``/system_stats``; with the login gate on it needs the internal bearer
token, which only the bootstrap and the extension hold (handed over in ``secrets.json``).
"""

from __future__ import annotations

import asyncio

import aiohttp

from .process import ReadyProbe


def http_probe(
    session: aiohttp.ClientSession,
    url: str,
    *,
    bearer: str | None = None,
    timeout: float = 2.0,
) -> ReadyProbe:
    """A probe that GETs ``url`` and is satisfied by a 200."""
    headers = {"Authorization": f"Bearer {bearer}"} if bearer else {}
    client_timeout = aiohttp.ClientTimeout(total=timeout)

    async def probe() -> bool:
        try:
            async with session.get(url, headers=headers, timeout=client_timeout) as response:
                return response.status == 200
        except (aiohttp.ClientError, asyncio.TimeoutError, OSError):
            return False

    return probe


def local_url(listen: str, port: int, path: str) -> str:
    """The address to probe a service bound to ``listen`` from inside the container."""
    host = "127.0.0.1" if listen in ("0.0.0.0", "", "::") else listen  # noqa: S104
    return f"http://{host}:{port}{path}"
