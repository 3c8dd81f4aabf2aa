"""The login gate in front of ComfyUI: every route and the websocket need a session or a token.

One concern per file, from the bottom up:

* ``config.py``: the tunables (:class:`GateConfig`) and the trusted-proxy networks.
* ``credentials.py``: who may log in and the API token, read from the bootstrap's
  ``secrets.json`` or the settings, compared in constant time.
* ``sessions.py``: login sessions, in memory, and the ``phx_session`` cookie.
* ``throttle.py``: the brute-force throttle for logins and API tokens.
* ``open_routes.py``: the gate's paths and the only routes open to anonymous clients.
* ``client.py``: who the client is behind a proxy, its origin, its scheme, where it may
  be sent back to.
* ``responses.py``: the gate's uncached redirects and JSON errors.
* ``login_page.py``: the login page's HTML, its style and CSP.
* ``middleware.py``: the middleware that refuses anonymous requests, and
  :func:`install_gate`.
* ``login.py``: the login and logout handlers; :class:`Gate` is the middleware plus them.

The container's check from outside that anonymous requests are refused lives with
the bootstrap (``bootstrap/gate_probe.py``).
"""

from .client import client_address, safe_next
from .config import GateConfig, networks
from .credentials import GateCredentials, load_credentials
from .login import Gate
from .login_page import LOGIN_CSP
from .middleware import AUTHENTICATED, install_gate
from .sessions import SESSION_COOKIE

__all__ = [
    "AUTHENTICATED",
    "LOGIN_CSP",
    "SESSION_COOKIE",
    "Gate",
    "GateConfig",
    "GateCredentials",
    "client_address",
    "in_container",
    "install_gate",
    "load_credentials",
    "login_gate_wanted",
    "networks",
    "safe_next",
]
