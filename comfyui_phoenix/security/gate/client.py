"""Who the client is and where it came from: its address, origin and scheme behind a proxy.

Behind a proxy every request comes from the proxy's address, so the client is the last
``X-Forwarded-For`` hop that is not itself a trusted proxy, and only when the connection
comes from a trusted proxy (:attr:`~.config.GateConfig.trusted_proxies`); otherwise it is
the peer address.

Requests authenticated by the cookie are also refused when the browser's Fetch Metadata
(``Sec-Fetch-Site``) says they came from another origin, unless they are plain page
navigations; browsers without Fetch Metadata are checked by ``Origin`` against the host.
SameSite alone is not enough, since sibling pods share ``proxy.runpod.net`` (the same
*site*).
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from aiohttp import web

from .config import Network
from .open_routes import LOGIN_PATH

_SAFE_METHODS = frozenset({"GET", "HEAD"})


def client_address(request: web.Request, proxies: tuple[Network, ...]) -> str:
    """The address brute-force limits count against.

    The peer, unless the peer is a trusted proxy: then the last ``X-Forwarded-For`` hop
    that is not a trusted proxy (hops further left were written by the client and prove
    nothing).
    """
    peer = request.remote or "unknown"
    if not _trusted(peer, proxies):
        return peer
    hops = [
        hop.strip()
        for value in request.headers.getall("X-Forwarded-For", [])
        for hop in value.split(",")
        if hop.strip()
    ]
    for hop in reversed(hops):
        try:
            ipaddress.ip_address(hop)
        except ValueError:
            return peer  # a malformed hop: trust nothing further left
        if not _trusted(hop, proxies):
            return hop
    return peer


def _trusted(address: str, proxies: tuple[Network, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in net for net in proxies if ip.version == net.version)


def foreign_request(request: web.Request, proxies: tuple[Network, ...]) -> bool:
    """Whether a cookie-carrying request was made by a page of another origin.

    Fetch Metadata decides when the browser sends it: only same-origin requests, direct
    user actions and plain page navigations pass. Otherwise unsafe methods and websockets
    need an ``Origin`` that names this host (non-browser clients send none).
    """
    site = request.headers.get("Sec-Fetch-Site")
    if site is not None:
        if site in ("same-origin", "none"):
            return False
        navigation = request.headers.get("Sec-Fetch-Mode") == "navigate"
        return not (navigation and request.method in _SAFE_METHODS)
    if request.method in _SAFE_METHODS and not _is_websocket(request):
        return False
    origin = request.headers.get("Origin")
    if not origin:
        return False
    origin_host = urlsplit(origin).netloc.lower()
    hosts = {request.headers.get("Host", "").lower()}
    if _trusted(request.remote or "", proxies):
        hosts.add(request.headers.get("X-Forwarded-Host", "").split(",")[0].strip().lower())
    return origin_host not in hosts - {""}


def _is_websocket(request: web.Request) -> bool:
    return request.headers.get("Upgrade", "").lower() == "websocket"


def came_over_https(request: web.Request) -> bool:
    """Directly over TLS, or over HTTPS to the proxy in front of us."""
    forwarded = request.headers.get("X-Forwarded-Proto", "").split(",")[0].strip().lower()
    return request.secure or forwarded == "https"


def wants_page(request: web.Request) -> bool:
    """Whether a refused request came from a browser asking for a page (not an API call)."""
    return (
        request.method in _SAFE_METHODS
        and not _is_websocket(request)
        and "text/html" in request.headers.get("Accept", "")
    )


def safe_next(target: str | None) -> str:
    """A same-site relative path to return to after login; anything else becomes ``/``."""
    if not target or len(target) > 2048 or not target.startswith("/"):
        return "/"
    if target.startswith(("//", "/\\")) or any(ord(c) < 0x20 or c == "\\" for c in target):
        return "/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or parts.path.startswith(LOGIN_PATH):
        return "/"
    return target
