"""The gate's own answers: never cached, errors shaped like every Phoenix route's."""

from __future__ import annotations

from aiohttp import web

#: Refusals, redirects and the login page depend on the session: no cache may keep them.
NO_STORE = {"Cache-Control": "no-store"}


def redirect(location: str) -> web.Response:
    """A 303 to ``location``, never cached."""
    # Returned, not raised: a middleware's answer must not look like the handler's error.
    return web.Response(status=303, headers={"Location": location, **NO_STORE})


def json_error(status: int, error: str, detail: str, hint: str | None) -> web.Response:
    """An error as Phoenix routes give them, ``{error, detail, hint}``, never cached."""
    return web.json_response(
        {"error": error, "detail": detail, "hint": hint}, status=status, headers=NO_STORE
    )
