"""What a storage host's answer during a transfer means: the engine's next step, and its words.

Both engines read a status the way every request of Phoenix does
(:func:`~comfyui_phoenix.net.answers.kind_of`), and decide the same next step: a
refused or redirected link is resolved again at its source (signed links expire,
sometimes midway through a large file), a range the file cannot satisfy starts the
file over, a busy server is waited out, and anything else ends the transfer. When
the tries are over, or a fresh link is refused as well, :class:`TransferWording`
says which error ends it, in the same words whichever engine moved the bytes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

from ..errors import (
    AuthError,
    LinkExpiredError,
    NotFoundError,
    PhoenixError,
    SourceError,
    TransientError,
)
from ..net.answers import Answer, Wording, kind_of, retry_after

#: What an engine does after an answer that carries no model bytes.
Step = Literal["refresh", "restart", "retry", "raise"]


def next_step(status: int) -> Step:
    """The engine's next step after an answer of ``status`` instead of the bytes asked for."""
    kind = kind_of(status)
    if kind in ("unauthorized", "forbidden", "gone", "redirect"):
        return "refresh"
    if kind == "unsatisfiable":
        return "restart"
    if kind == "transient":
        return "retry"
    return "raise"


def host_of(url: str) -> str:
    """The server ``url`` points at, as messages name it."""
    return urlsplit(url).hostname or "the server"


@dataclass(frozen=True)
class TransferWording(Wording):
    """How a storage host's answers read during the transfer of one file.

    :meth:`error` is the error that ends the transfer: a refusal (401, 403, 410, a
    redirect) reads as final, since it ends a transfer only once a fresh link was
    refused as well; :meth:`expired` is the refusal while a fresh link may still help.

    Args:
        label: the file's name as the user knows it.
        host: the server the link points at.
    """

    label: str
    host: str

    @classmethod
    def of(cls, label: str, url: str) -> TransferWording:
        """The wording for ``label`` fetched from ``url``."""
        return cls(label, host_of(url))

    def expired(self, answer: Answer) -> LinkExpiredError:
        """The link was refused or redirected; the source is asked for a fresh one."""
        return LinkExpiredError(
            f"{self.host} refused the link for {self.label} (HTTP {answer.status}).",
            status=answer.status,
            url=answer.shown_url,
        )

    def error(self, answer: Answer) -> PhoenixError:
        kind = answer.kind
        if kind == "redirect":
            return self.redirected(answer)
        if kind == "unsatisfiable":
            return self.unsatisfiable(answer)
        return super().error(answer)

    def transient(self, answer: Answer) -> PhoenixError:
        return TransientError(
            f"{self.host} answered HTTP {answer.status} for {self.label}.",
            hint="The server is busy or briefly broken; try again later.",
            retry_after=retry_after(answer.headers),
            status=answer.status,
            url=answer.shown_url,
        )

    def unauthorized(self, answer: Answer) -> PhoenixError:
        return self.forbidden(answer)

    def forbidden(self, answer: Answer) -> PhoenixError:
        return AuthError(
            f"{self.host} refused the download of {self.label} (HTTP {answer.status}), "
            "also with a fresh link.",
            hint="Check the token, and that your account may download this file "
            "(for a gated model, accept its licence on the model page).",
            status=answer.status,
            url=answer.shown_url,
        )

    def missing(self, answer: Answer) -> PhoenixError:
        if answer.status == 410:
            return NotFoundError(
                f"{self.label} is no longer available at {self.host} (HTTP 410).",
                hint="The file was removed at the source; check the link.",
                status=410,
                url=answer.shown_url,
            )
        return NotFoundError(
            f"{self.label} is not at {answer.shown_url} (HTTP {answer.status}).",
            hint="The file was moved or removed at the source; check the link.",
            status=answer.status,
            url=answer.shown_url,
        )

    def redirected(self, answer: Answer) -> PhoenixError:
        """The host keeps sending the download elsewhere, also with a fresh link."""
        return SourceError(
            f"{self.host} keeps redirecting the download of {self.label}, also with a fresh link.",
            hint="Check the link in a browser.",
            status=answer.status,
            url=answer.shown_url,
        )

    def unsatisfiable(self, answer: Answer) -> PhoenixError:
        """The download could not be resumed, also after starting the file over."""
        return SourceError(
            f"{self.host} could not serve the rest of {self.label} (HTTP {answer.status}), "
            "also after starting it over.",
            hint="Retry later; the file at the source may be being replaced.",
            status=answer.status,
            url=answer.shown_url,
        )

    def other(self, answer: Answer) -> PhoenixError:
        return SourceError(
            f"{self.host} answered HTTP {answer.status} for {self.label}.",
            hint="Check the link in a browser; it may have moved or need a login.",
            status=answer.status,
            url=answer.shown_url,
        )
