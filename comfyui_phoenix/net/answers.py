"""What an HTTP answer that is not the bytes asked for means, and the error it becomes.

One classifier, :func:`kind_of`, reads every status the same way for every request
Phoenix makes: a source's API, a link probe, a redirect hop, a header read, a
transfer. Speakers differ only in how they say it: a :class:`Wording` turns each
kind into the sentence a user can act on, and a source overrides just the kinds it
knows better (the hub's gated repositories, CivitAI's early access, a signed
storage link that expired).
"""

from __future__ import annotations

import email.utils
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import urlsplit

from ..errors import PhoenixError, SourceError, TransientError
from ..security.redact import redact_url

AnswerKind = Literal[
    "transient",
    "unauthorized",
    "forbidden",
    "missing",
    "gone",
    "redirect",
    "unsatisfiable",
    "other",
]

#: Statuses worth another try: the server is busy, rate limiting or briefly broken.
RETRYABLE_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504})


def kind_of(status: int) -> AnswerKind:
    """The one reading of an HTTP status that carries no model bytes."""
    if status in RETRYABLE_STATUS:
        return "transient"
    if status == 401:
        return "unauthorized"
    if status == 403:
        return "forbidden"
    if status == 404:
        return "missing"
    if status == 410:
        return "gone"
    if status == 416:
        return "unsatisfiable"
    if 300 <= status < 400:
        return "redirect"
    return "other"


def retry_after(headers: Mapping[str, str] | None) -> float | None:
    """Seconds to wait from a Retry-After header (delta or HTTP date), if any."""
    value = headers.get("Retry-After") if headers is not None else None
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        parsed = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, parsed.timestamp() - time.time())


@dataclass(frozen=True)
class Answer:
    """One HTTP answer: its status, where it came from, its headers and the start of its body."""

    status: int
    url: str
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""

    @property
    def kind(self) -> AnswerKind:
        return kind_of(self.status)

    @property
    def shown_url(self) -> str:
        """The URL as messages may show it: no token, no signature."""
        return redact_url(self.url)


class Wording:
    """How one speaker's failed answers read; the defaults fit any web server.

    Subclasses override the kinds they can explain better; :meth:`error` is the
    only entry point.
    """

    def error(self, answer: Answer) -> PhoenixError:
        """The Phoenix error for ``answer``."""
        kind = answer.kind
        if kind == "transient":
            return self.transient(answer)
        if kind == "unauthorized":
            return self.unauthorized(answer)
        if kind == "forbidden":
            return self.forbidden(answer)
        if kind in ("missing", "gone"):
            return self.missing(answer)
        return self.other(answer)

    def transient(self, answer: Answer) -> PhoenixError:
        return TransientError(
            f"{answer.shown_url} answered HTTP {answer.status}.",
            hint="The server is busy or briefly broken; if it persists, try again later.",
            retry_after=retry_after(answer.headers),
            status=answer.status,
            url=answer.shown_url,
        )

    def unauthorized(self, answer: Answer) -> PhoenixError:
        return self.other(answer)

    def forbidden(self, answer: Answer) -> PhoenixError:
        return self.other(answer)

    def missing(self, answer: Answer) -> PhoenixError:
        return self.other(answer)

    def other(self, answer: Answer) -> PhoenixError:
        return SourceError(
            f"{answer.shown_url} answered HTTP {answer.status}.",
            hint="Check the link in a browser; it may have moved or need a login.",
            status=answer.status,
            url=answer.shown_url,
        )


#: The wording for answers no speaker explains better.
PLAIN = Wording()


def unreachable(url: str, exc: BaseException, *, name: str | None = None) -> TransientError:
    """A connection failure or timeout before any answer: worth retrying.

    Args:
        url: what was asked for; only its host is shown.
        exc: the network error.
        name: how to call the server ("HuggingFace at https://…"); its host by default.
    """
    host = urlsplit(url).hostname or redact_url(url)
    return TransientError(
        f"Could not reach {name or host} ({type(exc).__name__}).",
        hint="Check the network connection.",
        url=redact_url(url),
    )
