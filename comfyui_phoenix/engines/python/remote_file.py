"""What the server said about the file: its size and validators, and how it serves ranges.

A 206 names its range and the file's size in ``Content-Range``; a 416 to
``bytes=0-0`` names the size of an empty file as ``bytes */0``. Only a strong
ETag may go into ``If-Range`` (RFC 9110 §13.1.5), so weak ones are never sent.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import aiohttp

from ...errors import SourceError

_CONTENT_RANGE = re.compile(r"^\s*bytes\s+(\d+)-(\d+)/(\d+|\*)\s*$", re.IGNORECASE)
_UNSATISFIED_RANGE = re.compile(r"^\s*bytes\s+\*/(\d+)\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class RemoteFile:
    """What the server said about the file."""

    size: int
    etag: str | None
    last_modified: str | None

    @classmethod
    def from_headers(cls, size: int, headers: Any) -> RemoteFile:
        """The file of ``size`` bytes with the validators in ``headers``."""
        return cls(size, headers.get("ETag"), headers.get("Last-Modified"))


def content_range(response: aiohttp.ClientResponse) -> tuple[int, int | None]:
    """The first byte and the total size a 206 announces (total None when ``*``).

    Raises:
        SourceError: the answer has no Content-Range that can be read.
    """
    match = _CONTENT_RANGE.match(response.headers.get("Content-Range", ""))
    if match is None:
        raise SourceError(
            f"{response.url.host} answered a range request without a usable Content-Range.",
            hint="Retry; if it repeats, the server does not support resuming.",
        )
    first, _, total = match.groups()
    return int(first), None if total == "*" else int(total)


def unsatisfied_size(response: aiohttp.ClientResponse) -> int | None:
    """The size a 416 announces (``bytes */SIZE``), or None when it names none."""
    match = _UNSATISFIED_RANGE.match(response.headers.get("Content-Range", ""))
    return None if match is None else int(match.group(1))


def accepts_ranges(response: aiohttp.ClientResponse) -> bool:
    """Whether the server says it serves byte ranges."""
    return "bytes" in response.headers.get("Accept-Ranges", "").lower()


def range_headers(first: int, last: int, etag: str | None) -> dict[str, str]:
    """Headers asking for bytes ``first`` to ``last`` (inclusive), of ``etag``'s file alone.

    The If-Range goes only with a strong ``etag``, the only kind it may carry.
    """
    headers = {"Range": f"bytes={first}-{last}"}
    if strong := _strong(etag):
        headers["If-Range"] = strong
    return headers


def _strong(etag: str | None) -> str | None:
    return etag if etag and not etag.startswith("W/") else None
