"""The server's answers during a transfer turned into the engine's next step or a Phoenix error.

One funnel for this engine: an answer that carries no model bytes is read as
both engines read it (:mod:`..transfer_answers`), and a 200 or 206 whose body
is a web page or an API message, never the model, is refused at once.
"""

from __future__ import annotations

import aiohttp

from ...errors import IntegrityError
from ...net.answers import Answer
from ...security.redact import redact_url
from ..transfer_answers import TransferWording, next_step
from .transfer_state import Transfer

#: Bodies that are never model bytes: an error page, a login form, an API error.
TEXT_TYPES = frozenset(
    {"text/html", "application/xhtml+xml", "application/json", "application/problem+json"}
)


def check_answer(t: Transfer, response: aiohttp.ClientResponse) -> None:
    """Turn an answer that carries no model bytes into the right error.

    A 200 or 206 that is not a text page passes, and so does a 416 (the engine
    reads its Content-Range).

    Raises:
        IntegrityError: the body is a web page or an API message, not the file.
        LinkExpiredError: the link was refused or redirected; a fresh one may work.
        TransientError: the server is busy; worth another try.
        PhoenixError: any other status (not found, say), as :class:`TransferWording` says it.
    """
    status = response.status
    if status in (200, 206):
        if response.content_type.lower() in TEXT_TYPES:
            raise IntegrityError(
                f"The server sent a web page or an error message instead of {t.label}.",
                hint="The link may need a login or a token, or it has expired; open it in a browser.",
                url=redact_url(t.endpoint.url),
            )
        return
    step = next_step(status)
    if step == "restart":
        return
    answer = Answer(status, t.endpoint.url, response.headers)
    wording = TransferWording(t.label, t.host)
    if step == "refresh":
        raise wording.expired(answer)
    raise wording.error(answer)
