"""The login page's HTML: a self-contained form, its inline style, and the CSP that pins it.

No script and nothing external: the style's hash is the only thing the CSP lets in, the
form posts only to this origin, and no other site may frame it.
"""

from __future__ import annotations

import base64
import hashlib
import html

from aiohttp import web

from .responses import NO_STORE

_STYLE = (
    "body{font:16px system-ui,sans-serif;background:#202020;color:#ddd;display:flex;"
    "min-height:100vh;margin:0;align-items:center;justify-content:center}"
    "form{background:#2b2b2b;padding:2rem;border-radius:8px;width:18rem}"
    "h1{font-size:1.2rem;margin:0 0 1rem}label{display:block;margin:.6rem 0 .2rem}"
    "input{width:100%;box-sizing:border-box;padding:.45rem;border:1px solid #555;"
    "border-radius:4px;background:#1b1b1b;color:#eee}"
    "button{margin-top:1.2rem;width:100%;padding:.5rem;border:0;border-radius:4px;"
    "background:#3b82f6;color:#fff;font-size:1rem;cursor:pointer}"
    ".phx-error{color:#f87171;margin:.4rem 0 0}"
)
_STYLE_HASH = base64.b64encode(hashlib.sha256(_STYLE.encode()).digest()).decode()
#: No script, no external anything; the form posts only to this origin; no framing.
LOGIN_CSP = (
    f"default-src 'none'; style-src 'sha256-{_STYLE_HASH}'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)


def login_page_response(
    action: str, target: str, error: str | None = None, status: int = 200, *, username: str = ""
) -> web.Response:
    """The self-contained login page (inline style, no script, strict CSP).

    Args:
        action: the path the form posts to (the login route that served the page).
        target: where to go once logged in (already made safe by :func:`~.client.safe_next`).
        error: a message shown above the button.
        status: the HTTP status of the page.
        username: the name to fill in again after a failed attempt.
    """
    message = f'<p class="phx-error" role="alert">{html.escape(error)}</p>' if error else ""
    name = html.escape(username[:128])
    body = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>Log in · ComfyUI</title><style>{_STYLE}</style></head>
<body><form class="phx-login" method="post" action="{html.escape(action)}">
<h1>ComfyUI on Phoenix</h1>
<label for="phx-username">Username</label>
<input id="phx-username" name="username" value="{name}" autocomplete="username" required autofocus>
<label for="phx-password">Password</label>
<input id="phx-password" name="password" type="password" autocomplete="current-password" required>
<input type="hidden" name="next" value="{html.escape(target)}">
{message}<button type="submit">Log in</button>
</form></body></html>
"""
    return web.Response(
        text=body,
        status=status,
        content_type="text/html",
        headers={
            "Content-Security-Policy": LOGIN_CSP,
            "X-Frame-Options": "DENY",
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "no-referrer",
            **NO_STORE,
        },
    )
