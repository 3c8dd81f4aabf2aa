"""One way to make HTTP sessions, and one funnel from HTTP answers to Phoenix errors."""

from __future__ import annotations

import email.utils
import time
from typing import Any

import aiohttp

from .. import __version__
from ..errors import PhoenixError, SourceError, TransientError
from ..security.redact import redact_url
from .policy import HostPolicy

USER_AGENT = f"comfyui-phoenix/{__version__}"
RETRYABLE_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504})


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


def retry_after(headers: Any) -> float | None:
    """Seconds to wait from a Retry-After header (delta or HTTP date), if any."""
    value = headers.get("Retry-After") if headers is not None else None
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    parsed = email.utils.parsedate_to_datetime(value) if value else None
    if parsed is None:
        return None
    return max(0.0, parsed.timestamp() - time.time())


def transient_for(status: int, url: str, headers: Any = None) -> TransientError:
    return TransientError(
        f"{redact_url(url)} answered HTTP {status}.",
        hint="Phoenix retries this on its own; if it persists, try again later.",
        status=status,
        url=redact_url(url),
        retry_after=retry_after(headers),
    )


def generic_status_error(status: int, url: str, headers: Any = None) -> PhoenixError:
    """The error for a status that no source-specific funnel explained."""
    if status in RETRYABLE_STATUS:
        return transient_for(status, url, headers)
    return SourceError(
        f"{redact_url(url)} answered HTTP {status}.",
        hint="Check the link in a browser; it may have moved or need a login.",
        status=status,
        url=redact_url(url),
    )
