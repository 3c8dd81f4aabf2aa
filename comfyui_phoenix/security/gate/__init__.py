"""The login gate in front of ComfyUI: every route and the websocket need a session or a token.

ComfyUI has no authentication, and RunPod publishes every port on a public proxy URL.
With ``COMFY_AUTH`` on (the container's default) Phoenix adds an aiohttp middleware to
ComfyUI's app, outermost, so it runs before any route, static file, sub-app
(``/internal``) or the ``/ws`` websocket. A request passes when it carries

* the ``phx_session`` cookie of a live session (made by logging in at ``/phoenix/login``), or
* ``Authorization: Bearer <PHOENIX_API_TOKEN>`` (compared in constant time).

Only the login page itself and ``/phoenix/health`` (and their ``/api`` aliases) are open
(:mod:`.open_routes`).
Anonymous browsers are sent to the login page (303); API and websocket clients get 401.

Decisions:

* **Cross-site**: cookie-carrying requests from another origin are refused
  (:func:`~.client.foreign_request`).
* **Brute force**: see :mod:`.throttle`. At most :data:`HASHING_SLOTS` password checks
  run at once, so a flood of logins cannot take every worker thread.
  Who the client is behind a proxy: :mod:`.client`.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import time
from collections.abc import Awaitable, Callable
from typing import Any, Literal
from urllib.parse import parse_qsl, quote

from aiohttp import web

from .client import (
    came_over_https,
    client_address,
    foreign_request,
    safe_next,
    wants_page,
)
from .config import GateConfig, networks
from .credentials import GateCredentials, load_credentials
from .login_page import LOGIN_CSP, login_page_response
from .open_routes import LOGIN_PATH, is_open_route
from .probe import ProbeResult, probe_gate
from .responses import NO_STORE, json_error, redirect
from .sessions import SESSION_COOKIE, Sessions, clear_session_cookie, set_session_cookie
from .throttle import LoginThrottle

__all__ = [
    "AUTHENTICATED",
    "LOGIN_CSP",
    "SESSION_COOKIE",
    "Gate",
    "GateConfig",
    "GateCredentials",
    "ProbeResult",
    "client_address",
    "install_gate",
    "load_credentials",
    "networks",
    "probe_gate",
    "safe_next",
]

log = logging.getLogger(__name__)


def _request_key(name: str, kind: type) -> Any:
    # aiohttp 3.13 added typed request keys and warns about plain strings; older ones lack them.
    factory = getattr(web, "RequestKey", None)
    return factory(name, kind) if factory is not None else name


#: The request key the gate sets on every request it let through (see routes.require_trusted).
AUTHENTICATED: Any = _request_key("phoenix_authenticated", bool)
#: How the request was let through: ``"session"`` or ``"bearer"``.
AUTH_METHOD: Any = _request_key("phoenix_auth", str)

MAX_LOGIN_BODY = 4096
#: Password checks (PBKDF2, a fraction of a second each) running at once; more wait.
HASHING_SLOTS = 2
_JSON = "application/json"


# -- the gate -----------------------------------------------------------------------------------
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
AuthMethod = Literal["session", "bearer"]


class Gate:
    """The middleware, the login and logout handlers, and their shared state."""

    def __init__(
        self,
        config: GateConfig | None = None,
        credentials: GateCredentials | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.config = config or GateConfig()
        #: None until loaded: every gated request is refused meanwhile (fail closed).
        self.credentials = credentials
        self.sessions = Sessions(self.config, clock)
        self.throttle = LoginThrottle(self.config, clock)
        self._hashing = asyncio.Semaphore(HASHING_SLOTS)

    # -- the middleware --------------------------------------------------------------------
    def middleware(self) -> Any:
        """An aiohttp middleware enforcing the gate (see :func:`install_gate`)."""

        @web.middleware
        async def phoenix_gate(request: web.Request, handler: Handler) -> web.StreamResponse:
            if is_open_route(request):
                return await handler(request)
            throttled = self._throttle_bearer(request)
            if throttled is not None:
                return throttled
            method = self.authenticate(request)
            if method is None:
                return self.refuse(request)
            if method == "session" and foreign_request(request, self.config.trusted_proxies):
                return json_error(
                    403,
                    "cross_site",
                    "This request came from another site.",
                    "Use ComfyUI from its own page.",
                )
            request[AUTHENTICATED] = True
            request[AUTH_METHOD] = method
            return await handler(request)

        return phoenix_gate

    def authenticate(self, request: web.Request) -> AuthMethod | None:
        """How ``request`` proves who it is, or None when it does not."""
        creds = self.credentials
        if creds is None:
            return None
        bearer = bearer_token(request)
        if bearer is not None:
            return "bearer" if creds.check_bearer(bearer) else None
        token = request.cookies.get(SESSION_COOKIE)
        if token and self.sessions.check(token):
            return "session"
        return None

    def _throttle_bearer(self, request: web.Request) -> web.StreamResponse | None:
        """Count a bearer token against its client like a password: 429 while it must wait.

        Without this a weak ``PHOENIX_API_TOKEN`` could be guessed at full speed.
        """
        token = bearer_token(request)
        creds = self.credentials
        if token is None or creds is None:
            return None
        client = client_address(request, self.config.trusted_proxies)
        wait = self.throttle.begin(client)
        if wait > 0:
            return _too_many_tokens(wait)
        if creds.check_bearer(token):
            self.throttle.succeeded(client)
        else:
            log.warning("wrong API token from %s", client)
        return None

    def refuse(self, request: web.Request) -> web.StreamResponse:
        """Browsers go to the login page; API and websocket clients get 401."""
        if self.credentials is None:
            return json_error(
                503, "starting", "The login gate is starting.", "Retry in a few seconds."
            )
        if wants_page(request):
            return redirect(f"{LOGIN_PATH}?next={quote(safe_next(request.path_qs), safe='')}")
        response = json_error(
            401,
            "auth_required",
            "Log in first.",
            f"Open {LOGIN_PATH} in a browser, or send 'Authorization: Bearer <PHOENIX_API_TOKEN>'.",
        )
        response.headers["WWW-Authenticate"] = 'Bearer realm="phoenix"'
        return response

    # -- routes ------------------------------------------------------------------------------
    def register(self, routes: web.RouteTableDef, prefix: str = "/phoenix") -> None:
        """Add ``GET|POST {prefix}/login`` and ``POST {prefix}/logout`` to ``routes``."""
        # No keyword arguments: ComfyUI copies each route to /api with route.kwargs passed
        # to the decorator, which would fail. GET routes answer HEAD by default.
        routes.get(prefix + "/login")(self.login_page)
        routes.post(prefix + "/login")(self.login)
        routes.post(prefix + "/logout")(self.logout)

    async def login_page(self, request: web.Request) -> web.Response:
        target = safe_next(request.query.get("next"))
        if self.authenticate(request) == "session":
            raise web.HTTPSeeOther(target, headers=NO_STORE)
        return login_page_response(request.path, target)

    async def login(self, request: web.Request) -> web.StreamResponse:
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


def install_gate(
    app: web.Application,
    gate: Gate,
    loader: Callable[[], GateCredentials] | None = None,
) -> None:
    """Put ``gate`` in front of every route of ``app`` (call before the app starts).

    The middleware goes first in the chain, so it runs before any other middleware and
    every handler, sub-apps' included. ``loader`` (reading ``secrets.json``, say) runs in a
    thread at startup, before the server listens; until it has run, every gated request is
    refused.
    """
    app.middlewares.insert(0, gate.middleware())
    if loader is None:
        return

    async def load_credentials_at_startup(_: web.Application) -> None:
        gate.credentials = await asyncio.to_thread(loader)

    app.on_startup.append(load_credentials_at_startup)


# -- request helpers ----------------------------------------------------------------------------
def bearer_token(request: web.Request) -> str | None:
    """The token of an ``Authorization: Bearer`` header, or None without one."""
    header = request.headers.get("Authorization", "")
    return header[7:].strip() if header[:7].lower() == "bearer " else None


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


def _too_many_tokens(wait: float) -> web.Response:
    seconds = max(1, math.ceil(wait))
    response = json_error(
        429,
        "too_many_attempts",
        f"Too many wrong API tokens. Try again in {seconds} s.",
        "Wait, then check the token against PHOENIX_API_TOKEN.",
    )
    response.headers["Retry-After"] = str(seconds)
    return response
