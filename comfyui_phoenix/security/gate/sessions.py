"""Login sessions and their cookie.

* **Sessions** are 256-bit random tokens kept in memory (by their SHA-256), with an idle
  and an absolute expiry. They never touch disk; a restart logs everyone out.
* **SameSite=Lax**, not Strict: RunPod's "Connect" button opens ComfyUI by a top-level
  navigation from runpod.io, which Strict would send without the cookie (a logged-in user
  would see the login page). Lax still withholds the cookie from cross-site requests,
  form posts and websockets. Because sibling pods share ``proxy.runpod.net`` (the same
  *site*), SameSite alone is not enough: the middleware also refuses cookie-carrying
  requests from another origin (:func:`~.client.foreign_request`).
* **Secure** is set when the browser reached us over HTTPS: directly, or through the proxy
  (``X-Forwarded-Proto: https``). Behind RunPod's HTTPS-only proxy that is always.
"""

from __future__ import annotations

import hashlib
import secrets
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from aiohttp import web

from .config import GateConfig

SESSION_COOKIE = "phx_session"


@dataclass
class _Session:
    username: str
    created: float
    last_seen: float


class Sessions:
    """Live sessions, in memory only, keyed by the SHA-256 of their token."""

    def __init__(self, config: GateConfig, clock: Callable[[], float]) -> None:
        self._config = config
        self._clock = clock
        self._items: OrderedDict[bytes, _Session] = OrderedDict()

    def create(self, username: str) -> str:
        """A new session; the oldest goes when there are too many."""
        token = secrets.token_urlsafe(32)
        now = self._clock()
        self._items[_digest(token)] = _Session(username, now, now)
        while len(self._items) > self._config.max_sessions:
            self._items.popitem(last=False)
        return token

    def check(self, token: str) -> bool:
        """Whether ``token`` is a live session; using it keeps it alive."""
        key = _digest(token)
        session = self._items.get(key)
        if session is None:
            return False
        now = self._clock()
        idle = now - session.last_seen > self._config.session_idle
        if idle or now - session.created > self._config.session_lifetime:
            del self._items[key]
            return False
        session.last_seen = now
        return True

    def end(self, token: str) -> None:
        self._items.pop(_digest(token), None)


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def set_session_cookie(
    response: web.StreamResponse, token: str, *, secure: bool, max_age: int
) -> None:
    """Give the browser its session: HttpOnly, SameSite=Lax, Secure over HTTPS."""
    response.set_cookie(
        SESSION_COOKIE,
        token,
        path="/",
        httponly=True,
        samesite="Lax",
        secure=secure,
        max_age=max_age,
    )


def clear_session_cookie(response: web.StreamResponse) -> None:
    """Tell the browser to forget its session."""
    response.del_cookie(SESSION_COOKIE, path="/")
