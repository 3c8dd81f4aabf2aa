"""Where the bytes of one file are right now: the URL to GET and the headers it needs."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field

from ..security.redact import redact_url


@dataclass(frozen=True)
class Endpoint:
    """A concrete request for the bytes: the URL to GET now and the headers it needs.

    Headers may carry a token; ``repr`` never shows them.
    """

    url: str
    headers: Mapping[str, str] = field(default_factory=dict)

    def __repr__(self) -> str:
        return f"Endpoint({redact_url(self.url)!r}, headers={sorted(self.headers)})"


#: Returns a fresh endpoint; called before the transfer and again whenever a signed
#: URL expires (the engine raises or handles LinkExpiredError by calling it again).
EndpointProvider = Callable[[], Awaitable[Endpoint]]
