"""What the hub's failed answers mean to a user, whichever huggingface_hub is installed.

The hub says what went wrong in ``X-Error-Code`` (``GatedRepo``, ``RepoNotFound``,
``RevisionNotFound``, ``EntryNotFound``); huggingface_hub turns that into its
exception classes. Both roads end here, in :class:`HubWording`, so a gated
repository, a refused token and a missing file read the same from the plan, a
redirect or a transfer.

huggingface_hub 0.x speaks HTTP through requests, 1.x and 2.x through httpx; their
network errors share no class but :class:`OSError` (requests' exceptions derive
from it) and the ``HTTPError`` that ``huggingface_hub.errors`` re-exports.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import huggingface_hub.errors as hub_errors
from huggingface_hub.errors import (
    DisabledRepoError,
    EntryNotFoundError,
    GatedRepoError,
    HfHubHTTPError,
    RepositoryNotFoundError,
    RevisionNotFoundError,
)

from ...errors import AuthError, GatedError, NotFoundError, PhoenixError, TransientError
from ...net.answers import PLAIN, Answer, Wording, unreachable
from ...net.redirects import same_origin
from ...security.secrets import TokenPlace

#: huggingface_hub's network failures (refused connection, timeout, reset), in every line.
HUB_TRANSPORT_ERRORS: tuple[type[BaseException], ...] = (
    getattr(hub_errors, "HTTPError", OSError),
    OSError,
)

_ERROR_CODES = {
    "GatedRepo": "gated",
    "RepoNotFound": "repo",
    "RevisionNotFound": "revision",
    "EntryNotFound": "entry",
}


@dataclass(frozen=True)
class Asked:
    """What was asked of the hub, so that an error can name it."""

    endpoint: str
    repo_id: str
    ref: str
    has_token: bool
    path: str | None = None
    revision: str | None = None
    #: Where the token was set (``panel``, ``environment``…), so the advice names that place.
    token_source: str | None = None

    @property
    def page(self) -> str:
        return f"{self.endpoint}/{self.repo_id}"

    @property
    def token(self) -> TokenPlace:
        return TokenPlace("huggingface", self.token_source)


@dataclass(frozen=True)
class HubWording(Wording):
    """The hub's answers about what ``asked`` names.

    Args:
        asked: what the request was about.
        origin: the hub's own origin, when a redirect may lead elsewhere (a CDN);
            other hosts' answers then read as any web server's.
    """

    asked: Asked
    origin: str | None = None

    def error(self, answer: Answer, kind: str | None = None) -> PhoenixError:
        """The error for ``answer``; ``kind`` is what huggingface_hub made of it, if it did."""
        if self.origin is not None and not same_origin(answer.url, self.origin):
            return PLAIN.error(answer)
        headers = answer.headers
        kind = kind or _ERROR_CODES.get(headers.get("X-Error-Code", ""))
        if (
            kind is None
            and headers.get("X-Error-Message") == "Access to this resource is disabled."
        ):
            kind = "disabled"
        if kind is not None:
            return self._named(kind, answer)
        return super().error(answer)

    def _named(self, kind: str, answer: Answer) -> PhoenixError:
        asked = self.asked
        where = self._where(answer)
        if kind == "gated":
            return self.gated(answer)
        if kind == "revision":
            return NotFoundError(
                f"{asked.repo_id} has no branch, tag or commit '{asked.revision}'.",
                hint=f"Pick one from {asked.page}, or leave the revision out for the default branch.",
                **where,
            )
        if kind == "entry":
            return NotFoundError(
                f"{asked.repo_id} has no file '{asked.path}'.",
                hint=f"Check the file name at {asked.page}/tree/{asked.revision or 'main'}.",
                **where,
            )
        if kind == "disabled":
            return NotFoundError(
                f"HuggingFace has disabled access to {asked.repo_id}.",
                hint="Use another repository.",
                **where,
            )
        hint = (
            f"Check the spelling, and that the account behind {asked.token.where} can read it "
            "if it is private."
            if asked.has_token
            else "Check the spelling. If the repository is private, set HF_TOKEN to a token that can read it."
        )
        return NotFoundError(f"HuggingFace has no repository {asked.repo_id}.", hint=hint, **where)

    def gated(self, answer: Answer) -> GatedError:
        """The licence of a gated repository is not accepted by the token's account (or no token)."""
        asked, licence = self.asked, self.asked.page
        if not asked.has_token:
            return GatedError(
                f"{asked.repo_id} is gated: HuggingFace serves it only to accounts that accepted its licence.",
                hint=f"Set HF_TOKEN to a token of an account that accepted the licence at {licence}, then retry.",
                licence_url=licence,
                **self._where(answer),
            )
        return GatedError(
            f"The HuggingFace account behind {asked.token.where} has no access to "
            f"{asked.repo_id} yet.",
            hint=f"Accept the licence at {licence}, then retry.",
            licence_url=licence,
            **self._where(answer),
        )

    def unauthorized(self, answer: Answer) -> PhoenixError:
        asked = self.asked
        tokens_page = f"{asked.endpoint}/settings/tokens"
        if asked.has_token:
            return AuthError(
                f"HuggingFace refused {asked.token.held}.",
                hint=f"{asked.token.set_to(f'a valid read token from {tokens_page}')}, then retry.",
                **self._where(answer),
            )
        return AuthError(
            f"HuggingFace wants a token to read {asked.repo_id}.",
            hint=f"Set HF_TOKEN to a read token from {tokens_page}, then retry.",
            **self._where(answer),
        )

    def forbidden(self, answer: Answer) -> PhoenixError:
        held = self.asked.token.held
        return AuthError(
            f"{held[0].upper()}{held[1:]} may not read {self.asked.repo_id}.",
            hint=(
                "Use a token with read access; a fine-grained token needs "
                "'Read access to contents of all public gated repos you can access'."
            ),
            **self._where(answer),
        )

    def missing(self, answer: Answer) -> PhoenixError:
        return NotFoundError(
            f"{answer.shown_url} was not found.",
            hint="Check the reference, and that HF_ENDPOINT points at HuggingFace or a full mirror.",
            **self._where(answer),
        )

    def unreachable(self, exc: BaseException) -> TransientError:
        """The hub could not be reached at all."""
        error = unreachable(self.asked.endpoint, exc, name=f"HuggingFace at {self.asked.endpoint}")
        error.ref = self.asked.ref
        return error

    def _where(self, answer: Answer) -> dict[str, Any]:
        return {"ref": self.asked.ref, "url": answer.shown_url, "status": answer.status}


def kind_of_hub_error(exc: HfHubHTTPError) -> str | None:
    """What huggingface_hub's exception class says; None for a plain HTTP error."""
    # GatedRepoError subclasses RepositoryNotFoundError, so it is asked first.
    kinds: tuple[tuple[type[BaseException], str], ...] = (
        (GatedRepoError, "gated"),
        (RepositoryNotFoundError, "repo"),
        (RevisionNotFoundError, "revision"),
        (EntryNotFoundError, "entry"),
        (DisabledRepoError, "disabled"),
    )
    return next((kind for cls, kind in kinds if isinstance(exc, cls)), None)


def error_from_hub(exc: HfHubHTTPError, asked: Asked) -> PhoenixError:
    """huggingface_hub's exception (from requests or httpx) as a Phoenix error."""
    response = exc.response
    if response is None:
        return HubWording(asked).unreachable(exc)
    answer = Answer(response.status_code, str(response.url), response.headers)
    return HubWording(asked).error(answer, kind=kind_of_hub_error(exc))
