"""Read a safetensors header over HTTP without fetching the tensors.

A safetensors file starts with an 8-byte little-endian length and that many
bytes of JSON naming every tensor. Two Range requests fetch just that, so a
plan can tell a FLUX transformer from a checkpoint or a LoRA before any model
byte moves. A busy server or a dropped connection is retried like every other
request; anything else unexpected (no Range support, not safetensors, a server
that stays down) yields None: the caller falls back to a guess from the name.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import struct
from typing import Any

import aiohttp

from ..errors import TransientError
from ..net.answers import PLAIN, Answer, kind_of, unreachable
from ..net.endpoint import Endpoint
from ..net.retry import BEST_EFFORT, with_retries
from ..security.redact import redact_url

#: safetensors itself refuses headers above 100 MB.
MAX_HEADER_BYTES = 100 * 1000 * 1000
_TIMEOUT = aiohttp.ClientTimeout(total=60, sock_connect=20, sock_read=30)
_CONTENT_RANGE = re.compile(r"^bytes (\d+)-(\d+)/(\d+|\*)$")

log = logging.getLogger(__name__)


async def read_remote_safetensors_header(
    session: aiohttp.ClientSession,
    endpoint: Endpoint,
    *,
    max_bytes: int = MAX_HEADER_BYTES,
) -> dict[str, Any] | None:
    """Fetch and parse the JSON header of the safetensors file at ``endpoint``.

    Args:
        session: the shared HTTP session.
        endpoint: where the bytes are now (redirects already resolved).
        max_bytes: the largest header to accept.

    Returns:
        The header (tensor name to dtype/shape/offsets, plus ``__metadata__``), or None
        when the server ignores Range, the file is not safetensors, or the read failed.
    """
    prefix = await _read_range_retrying(session, endpoint, 0, 8)
    if prefix is None:
        return None
    (length,) = struct.unpack("<Q", prefix)
    if length < 2 or length > max_bytes:
        return None
    raw = await _read_range_retrying(session, endpoint, 8, length)
    if raw is None:
        return None
    try:
        header = json.loads(raw)
    except (UnicodeDecodeError, ValueError):
        return None
    return header if isinstance(header, dict) else None


async def _read_range_retrying(
    session: aiohttp.ClientSession, endpoint: Endpoint, start: int, count: int
) -> bytes | None:
    try:
        return await with_retries(
            lambda: _read_range(session, endpoint, start, count),
            policy=BEST_EFFORT,
            what=f"the header of {redact_url(endpoint.url)}",
        )
    except TransientError as exc:
        log.debug("No header: %s", exc)
        return None


async def _read_range(
    session: aiohttp.ClientSession, endpoint: Endpoint, start: int, count: int
) -> bytes | None:
    """Bytes ``start`` to ``start + count``; None when the server will not send just those.

    Raises:
        TransientError: the server is busy or the connection failed: worth another try.
    """
    headers = {
        **endpoint.headers,
        "Range": f"bytes={start}-{start + count - 1}",
        "Accept-Encoding": "identity",
    }
    try:
        # No redirects: the endpoint is final, and its headers may hold a token.
        async with session.get(
            endpoint.url, headers=headers, allow_redirects=False, timeout=_TIMEOUT
        ) as response:
            if kind_of(response.status) == "transient":
                raise PLAIN.error(Answer(response.status, endpoint.url, response.headers))
            # A 200 means the server ignored Range: reading on would pull the whole model.
            if response.status != 206 or not _starts_at(response.headers, start):
                return None
            return await response.content.readexactly(count)
    except (aiohttp.ClientError, asyncio.TimeoutError, asyncio.IncompleteReadError) as exc:
        raise unreachable(endpoint.url, exc) from exc


def _starts_at(headers: Any, start: int) -> bool:
    match = _CONTENT_RANGE.match(headers.get("Content-Range", "").strip())
    return match is not None and int(match.group(1)) == start
