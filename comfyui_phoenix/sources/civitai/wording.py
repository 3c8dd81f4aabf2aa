"""What CivitAI's failed answers, and its storage host's, mean to a user.

CivitAI answers 401 without a (valid) token, 403 with ``{"error": "Early Access"}``
or when the account may not download, 404 for a missing id and 410 for an
archived model. Its storage host answers a signed URL that expired with 401 or
403: a fresh URL comes from CivitAI again, so that is :class:`LinkExpiredError`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ...errors import (
    AuthError,
    GatedError,
    LinkExpiredError,
    NotFoundError,
    PhoenixError,
    TransientError,
)
from ...net.answers import Answer, Wording, retry_after
from ...net.redirects import same_origin
from ...security.redact import redact_url
from ...security.secrets import Tokens


@dataclass(frozen=True)
class StorageWording(Wording):
    """CivitAI's storage host, reached through a signed URL."""

    subject: str

    def unauthorized(self, answer: Answer) -> PhoenixError:
        return self.forbidden(answer)

    def forbidden(self, answer: Answer) -> PhoenixError:
        # Signed URLs answer 403 once expired; a fresh one comes from CivitAI again.
        return LinkExpiredError(
            f"The signed download link for {self.subject} expired or was refused.",
            hint="Phoenix asks CivitAI for a fresh link; retry if this persists.",
            status=answer.status,
            url=answer.shown_url,
        )


@dataclass(frozen=True)
class CivitaiWording(Wording):
    """CivitAI's site and API at ``base``, about ``subject`` (shown in every message).

    Args:
        base: ``PHOENIX_CIVITAI_BASE_URL``.
        tokens: the tokens; whether a CivitAI token was sent changes the advice.
        subject: what was asked for ("model version 7", "'Name' (file.safetensors)").
        page: the model's page, where a user logs in, buys early access or checks an id.
    """

    base: str
    tokens: Tokens
    subject: str = "the model"
    page: str | None = None

    def about(self, subject: str, page: str | None) -> CivitaiWording:
        """The same wording about another subject."""
        return CivitaiWording(self.base, self.tokens, subject, page)

    @property
    def has_token(self) -> bool:
        return bool(self.tokens.civitai())

    def error(self, answer: Answer) -> PhoenixError:
        if not same_origin(answer.url, self.base):
            return StorageWording(self.subject).error(answer)
        return super().error(answer)

    def transient(self, answer: Answer) -> PhoenixError:
        return TransientError(
            f"CivitAI answered HTTP {answer.status} for {self.subject}.",
            hint="CivitAI may be busy or down; if it persists, try again later.",
            status=answer.status,
            url=answer.shown_url,
            retry_after=retry_after(answer.headers),
        )

    def unauthorized(self, answer: Answer) -> PhoenixError:
        return self.login_needed(answer.url, answer.status)

    def forbidden(self, answer: Answer) -> PhoenixError:
        body = _json_object(answer.body)
        where = self.page or self.base
        if body.get("error") == "Early Access":
            deadline = str(body.get("deadline") or "the end of its early-access period")
            return GatedError(
                f"CivitAI holds {self.subject} in early access until {deadline}.",
                hint=f"Buy early access at {where}, or retry after {deadline}.",
                licence_url=where,
                status=403,
                url=answer.shown_url,
            )
        if not self.has_token:
            return self.login_needed(answer.url, 403)
        return GatedError(
            f"Your CivitAI account may not download {self.subject}.",
            hint=f"Check the model's access terms at {where}.",
            licence_url=where,
            status=403,
            url=answer.shown_url,
        )

    def missing(self, answer: Answer) -> PhoenixError:
        if answer.status == 410:
            return NotFoundError(
                f"CivitAI has archived {self.subject}; it can no longer be downloaded.",
                hint="Choose another version or model on CivitAI.",
                status=answer.status,
                url=answer.shown_url,
            )
        where = (
            f"Open {self.page} to check the id." if self.page else "Check the id on civitai.com."
        )
        return NotFoundError(
            f"CivitAI has no {self.subject}.",
            hint=where,
            status=answer.status,
            url=answer.shown_url,
        )

    def login_needed(self, url: str, status: int | None) -> AuthError:
        """CivitAI wants a (valid) token; also said when it sends its login page."""
        account = f"{self.base}/user/account"
        if self.has_token:
            place = self.tokens.place("civitai")
            hint = (
                f"{place.set_to(f'a new key from {account}')}, then retry."
                if place.in_panel
                else f"Check CIVITAI_TOKEN: create a new key at {account} and retry."
            )
            return AuthError(
                f"CivitAI did not accept {place.held} for {self.subject}.",
                hint=hint,
                status=status,
                url=redact_url(url),
            )
        return AuthError(
            f"CivitAI requires a login to download {self.subject}.",
            hint=f"Set CIVITAI_TOKEN (create a key at {account}) and retry.",
            status=status,
            url=redact_url(url),
        )


def _json_object(body: bytes) -> Mapping[str, Any]:
    try:
        data = json.loads(body)
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}
