"""The aiohttp middleware: every request but the open routes needs a session or a token.

ComfyUI has no authentication, and RunPod publishes every port on a public proxy URL.
With ``COMFY_AUTH`` on (the container's default) Phoenix adds this middleware to
ComfyUI's app, outermost, so it runs before any route, static file, sub-app
(``/internal``) or the ``/ws`` websocket. A request passes when it carries

* the ``phx_session`` cookie of a live session (made by logging in at ``/phoenix/login``), or
* ``Authorization: Bearer <PHOENIX_API_TOKEN>`` (compared in constant time, and throttled
  like a password).

Anonymous browsers are sent to the login page (303); API and websocket clients get 401;
until the credentials are loaded every gated request gets 503 (fail closed).
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Awaitable, Callable
from typing import Any, Literal
from urllib.parse import quote

from aiohttp import web

from .client import client_address, foreign_request, safe_next, wants_page
from .config import GateConfig
from .credentials import GateCredentials
from .open_routes import LOGIN_PATH, is_open_route
from .responses import json_error, redirect
from .sessions import SESSION_COOKIE, Sessions
from .throttle import LoginThrottle

log = logging.getLogger(__name__)


def _request_key(name: str, kind: type) -> Any:
    # aiohttp 3.13 added typed request keys and warns about plain strings; older ones lack them.
    factory = getattr(web, "RequestKey", None)
    return factory(name, kind) if factory is not None else name


#: The request key the gate sets on every request it let through (see routes.require_trusted).
AUTHENTICATED: Any = _request_key("phoenix_authenticated", bool)


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
AuthMethod = Literal["session", "bearer"]


class GateMiddleware:
    """The gate's shared state, and the middleware that checks every request against it.

    :class:`~.login.Gate` adds the login and logout handlers that make the sessions.
    """

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


def install_gate(
    app: web.Application,
    gate: GateMiddleware,
    loader: Callable[[], GateCredentials | None] | None = None,
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


def bearer_token(request: web.Request) -> str | None:
    """The token of an ``Authorization: Bearer`` header, or None without one."""
    header = request.headers.get("Authorization", "")
    return header[7:].strip() if header[:7].lower() == "bearer " else None


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
