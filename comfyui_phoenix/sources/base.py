"""The contract every source honours, and what sources share."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Protocol

import aiohttp

from ..net.endpoint import Endpoint
from ..net.policy import HostPolicy
from ..plan import PlannedFile
from ..refs import Reference
from ..security.secrets import Tokens
from ..settings import Settings


@dataclass(frozen=True)
class KnownFile:
    """A file verified on disk before: where it is and how large."""

    folder: str
    subfolder: str
    filename: str
    size: int


class KnownFiles(Protocol):
    """Files verified on disk, found by hash (the job layer keeps the records)."""

    def find(self, algorithm: str, digest: str) -> KnownFile | None:
        """A verified, unchanged file with this hash, or None. Blocking."""
        ...


@dataclass(frozen=True)
class SourceContext:
    """What every source needs: settings, one HTTP session, the host policy, the tokens.

    ``known`` lets a plan that learns a file's hash from an API skip every request
    to storage for a file already verified on disk.
    """

    settings: Settings
    session: aiohttp.ClientSession
    policy: HostPolicy
    tokens: Tokens
    known: KnownFiles | None = None


class Source(Protocol):
    """Plans files for a reference before any byte moves; gives engines a fresh endpoint."""

    kind: str

    async def plan(self, ref: Reference) -> list[PlannedFile]:
        """Every file the reference stands for, with size, hashes and destination.

        Checks access (token, licence) here, so problems surface before a download.
        """
        ...

    async def endpoint(self, file: PlannedFile) -> Endpoint:
        """A URL to GET the bytes from now (redirects resolved, auth only where it belongs)."""
        ...


async def verified_copy(
    ctx: SourceContext, filename: str, hashes: dict[str, str | None]
) -> KnownFile | None:
    """The verified file on disk that a plan may stand on instead of asking storage.

    Only a file of the same name counts: a renamed copy is the user's business.

    Args:
        ctx: the source context (``ctx.known`` may be None: nothing is known then).
        filename: the name the plan gives the file.
        hashes: what the source's API says, by algorithm (``sha256``, ``blake3``).
    """
    if ctx.known is None:
        return None
    for algorithm, digest in hashes.items():
        if digest:
            found = await asyncio.to_thread(ctx.known.find, algorithm, digest)
            if found is not None and found.filename == filename:
                return found
    return None
