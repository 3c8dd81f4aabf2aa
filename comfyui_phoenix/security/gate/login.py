"""The login and logout handlers, which make and end the sessions the middleware checks.

At most :data:`HASHING_SLOTS` password checks run at once, so a flood of logins cannot
take every worker thread; each attempt is counted by the throttle before its check starts
(see :class:`~.throttle.LoginThrottle`).
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import time
from collections.abc import Callable
from urllib.parse import parse_qsl

from aiohttp import web

from .client import came_over_https, client_address, foreign_request, safe_next
from .config import GateConfig
from .credentials import GateCredentials
from .login_page import login_page_response
from .middleware import GateMiddleware
from .open_routes import LOGIN_PATH, LOGOUT_PATH
from .responses import NO_STORE, json_error, redirect
from .sessions import SESSION_COOKIE, clear_session_cookie, set_session_cookie

log = logging.getLogger(__name__)

MAX_LOGIN_BODY = 4096
#: Password checks (PBKDF2, a fraction of a second each) running at once; more wait.
HASHING_SLOTS = 2
_JSON = "application/json"


class Gate(GateMiddleware):
    """The whole gate: the middleware, and the login and logout handlers."""

    def __init__(
        self,
        config: GateConfig | None = None,
        credentials: GateCredentials | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(config, credentials, clock=clock)
        self._hashing = asyncio.Semaphore(HASHING_SLOTS)

    def register(self, routes: web.RouteTableDef) -> None:
        """Add ``GET|POST /phoenix/login`` and ``POST /phoenix/logout`` to ``routes``."""
        # No keyword arguments: ComfyUI copies each route to /api with route.kwargs passed
        # to the decorator, which would fail. GET routes answer HEAD by default.
        routes.get(LOGIN_PATH)(self.login_page)
        routes.post(LOGIN_PATH)(self.login)
        routes.post(LOGOUT_PATH)(self.logout)

    async def login_page(self, request: web.Request) -> web.Response:
        """The form; a browser with a live session goes straight on to ``next``."""
        target = safe_next(request.query.get("next"))
        if self.authenticate(request) == "session":
            raise web.HTTPSeeOther(target, headers=NO_STORE)
        return login_page_response(request.path, target)

    async def login(self, request: web.Request) -> web.StreamResponse:
        """Check a form (or JSON) login, throttled; on success set the session cookie."""
        as_json = request.content_type == _JSON
        fields = await _login_fields(request)
        target = safe_next(fields.get("next"))
        client = client_address(request, self.config.trusted_proxies)
        if foreign_request(request, self.config.trusted_proxies):
            return json_error(403, "cross_site", "This login came from another site.", None)
        # No await between the throttle's answer and counting the attempt: see LoginThrottle.
        wait = self.throttle.begin(client)
        if wait > 0:
            return _too_many(request.path, target, wait, as_json)
        creds = self.credentials
        username, password = fields.get("username", ""), fields.get("password", "")
        ok = creds is not None and await self._check_login(creds, username, password)
        if not ok:
            wait = self.throttle.wait(client)
            log.warning("failed login from %s (next attempt in %.0f s)", client, wait)
            if as_json:
                return json_error(
                    401, "bad_login", "Wrong username or password.", "Check both and try again."
                )
            return login_page_response(
                request.path, target, "Wrong username or password.", 401, username=username
            )
        self.throttle.succeeded(client)
        assert creds is not None
        token = self.sessions.create(creds.username)
        response: web.StreamResponse
        if as_json:
            response = web.json_response({"ok": True, "next": target}, headers=NO_STORE)
        else:
            response = redirect(target)
        set_session_cookie(
            response,
            token,
            secure=came_over_https(request),
            max_age=int(self.config.session_lifetime),
        )
        log.info("login from %s", client)
        return response

    async def _check_login(self, creds: GateCredentials, username: str, password: str) -> bool:
        async with self._hashing:
            return await asyncio.to_thread(creds.check_login, username, password)

    async def logout(self, request: web.Request) -> web.StreamResponse:
        """End the session and have the browser forget its cookie."""
        token = request.cookies.get(SESSION_COOKIE)
        if token:
            self.sessions.end(token)
        response: web.StreamResponse
        if request.content_type == _JSON or "text/html" not in request.headers.get("Accept", ""):
            response = web.json_response({"ok": True}, headers=NO_STORE)
        else:
            response = redirect(LOGIN_PATH)
        clear_session_cookie(response)
        return response


async def _login_fields(request: web.Request) -> dict[str, str]:
    if request.content_length is not None and request.content_length > MAX_LOGIN_BODY:
        raise web.HTTPRequestEntityTooLarge(MAX_LOGIN_BODY, request.content_length)
    raw = b""
    while chunk := await request.content.read(MAX_LOGIN_BODY + 1 - len(raw)):
        raw += chunk
        if len(raw) > MAX_LOGIN_BODY:
            raise web.HTTPRequestEntityTooLarge(MAX_LOGIN_BODY, len(raw))
    text = raw.decode("utf-8", "replace")
    if request.content_type == _JSON:
        try:
            data = json.loads(text or "{}")
        except ValueError:
            data = {}
        pairs = data.items() if isinstance(data, dict) else []
    else:
        pairs = parse_qsl(text, keep_blank_values=True)
    return {str(k): v for k, v in pairs if isinstance(v, str)}


def _too_many(path: str, target: str, wait: float, as_json: bool) -> web.Response:
    seconds = max(1, math.ceil(wait))
    message = f"Too many failed logins. Try again in {seconds} s."
    if as_json:
        response = json_error(
            429, "too_many_attempts", message, "Wait, then check the username and password."
        )
    else:
        response = login_page_response(path, target, message, 429)
    response.headers["Retry-After"] = str(seconds)
    return response
