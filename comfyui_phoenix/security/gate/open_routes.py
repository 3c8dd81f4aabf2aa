"""The gate's own paths, and the only routes an anonymous client may reach.

Only the login page itself and ``/phoenix/health`` (and their ``/api`` aliases) are open;
loopback is not, since any process or custom node in the container could use it.
"""

from __future__ import annotations

from collections.abc import Mapping

from aiohttp import web

LOGIN_PATH = "/phoenix/login"
LOGOUT_PATH = "/phoenix/logout"
HEALTH_PATH = "/phoenix/health"
#: The only routes an anonymous client reaches, with the methods allowed on them.
OPEN_ROUTES: Mapping[str, frozenset[str]] = {
    path: methods
    for base, methods in (
        (LOGIN_PATH, frozenset({"GET", "HEAD", "POST"})),
        (HEALTH_PATH, frozenset({"GET", "HEAD"})),
    )
    for path in (base, "/api" + base)
}


def is_open_route(request: web.Request) -> bool:
    """The login page and the health route: by the route that matched, not the raw path."""
    route = request.match_info.route
    resource = route.resource
    if resource is None or resource.canonical not in OPEN_ROUTES:
        return False
    # The raw path must say the same: percent-encoded tricks never open another route.
    return (
        request.rel_url.raw_path == resource.canonical
        and request.method in OPEN_ROUTES[resource.canonical]
    )
