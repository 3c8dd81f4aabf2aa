"""The contract every source honours, and what sources share."""

from __future__ import annotations

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
class SourceContext:
    """What every source needs: settings, one HTTP session, the host policy, the tokens."""

    settings: Settings
    session: aiohttp.ClientSession
    policy: HostPolicy
    tokens: Tokens


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
