"""The fail-closed probe: anonymous requests from outside, to check that the gate refuses them.

The boot runs it once ComfyUI answers: if ComfyUI serves an anonymous client (Phoenix
failed to load, say), the gate is not in place and ComfyUI must be stopped. It only needs
the gate's public paths, as any outside client would.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import aiohttp

from comfyui_phoenix.security.gate.open_routes import HEALTH_PATH, LOGIN_PATH


@dataclass(frozen=True)
class ProbeCheck:
    """One anonymous request and what it got."""

    name: str
    path: str
    expected: str
    status: int | None
    passed: bool
    detail: str = ""
    required: bool = True

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "path": self.path,
            "expected": self.expected,
            "status": self.status,
            "passed": self.passed,
            "detail": self.detail,
            "required": self.required,
        }


@dataclass(frozen=True)
class ProbeResult:
    """Whether ComfyUI refuses anonymous clients.

    ``ok``: every gated check was refused the way the gate refuses. ``exposed``: some
    gated route answered an anonymous client (200, or 101 for the websocket): ComfyUI is
    public and must be stopped.
    """

    ok: bool
    exposed: bool
    checks: tuple[ProbeCheck, ...]
    message: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "exposed": self.exposed,
            "message": self.message,
            "checks": [c.to_dict() for c in self.checks],
        }


async def probe_gate(
    base_url: str, *, session: aiohttp.ClientSession | None = None, timeout: float = 5.0
) -> ProbeResult:
    """Send ComfyUI anonymous requests and tell whether the login gate refused them.

    Args:
        base_url: ComfyUI's address from inside the container, e.g. ``http://127.0.0.1:7860``.
        session: an aiohttp session to use; by default a fresh one without cookies or
            proxies (a session holding a login cookie would prove nothing).
        timeout: seconds per request.
    """
    own = session is None
    client = session or aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar())
    base = base_url.rstrip("/")
    try:
        checks = (
            await _probe_json(client, base, "/system_stats", timeout),
            await _probe_json(client, base, "/api/phoenix/status", timeout),
            await _probe_page(client, base, timeout),
            await _probe_websocket(client, base, timeout),
            await _probe_health(client, base, timeout),
        )
    finally:
        if own:
            await client.close()
    return _probe_result(checks)


def _probe_result(checks: tuple[ProbeCheck, ...]) -> ProbeResult:
    required = [c for c in checks if c.required]
    failed = [c for c in required if not c.passed]
    exposed = [c for c in required if c.status in (200, 101)]
    if exposed:
        where = ", ".join(c.path for c in exposed)
        message = f"ComfyUI answers without login at {where}: the login gate is not in place."
    elif failed:
        where = "; ".join(f"{c.path}: {c.detail}" for c in failed)
        message = f"The login gate answered unexpectedly ({where})."
    else:
        message = f"The login gate refuses anonymous requests ({len(required)} checks)."
    return ProbeResult(not failed, bool(exposed), checks, message)


async def _probe_json(
    client: aiohttp.ClientSession, base: str, path: str, timeout: float
) -> ProbeCheck:
    expected = "401"
    try:
        async with client.get(
            base + path,
            headers={"Accept": "application/json"},
            allow_redirects=False,
            timeout=aiohttp.ClientTimeout(total=timeout),
        ) as response:
            status = response.status
    except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
        return ProbeCheck("api", path, expected, None, False, f"no answer ({type(exc).__name__})")
    return ProbeCheck("api", path, expected, status, status == 401, f"answered {status}")


async def _probe_page(client: aiohttp.ClientSession, base: str, timeout: float) -> ProbeCheck:
    expected = f"303 to {LOGIN_PATH}"
    try:
        async with client.get(
            base + "/",
            headers={"Accept": "text/html"},
            allow_redirects=False,
            timeout=aiohttp.ClientTimeout(total=timeout),
        ) as response:
            status, location = response.status, response.headers.get("Location", "")
    except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
        return ProbeCheck("page", "/", expected, None, False, f"no answer ({type(exc).__name__})")
    passed = status == 303 and urlsplit(location).path == LOGIN_PATH
    return ProbeCheck(
        "page", "/", expected, status, passed, f"answered {status} {location}".strip()
    )


async def _probe_websocket(client: aiohttp.ClientSession, base: str, timeout: float) -> ProbeCheck:
    expected = "handshake refused with 401"
    try:
        ws = await asyncio.wait_for(client.ws_connect(base + "/ws", autoping=False), timeout)
        await ws.close()
        return ProbeCheck("websocket", "/ws", expected, 101, False, "the websocket opened")
    except aiohttp.WSServerHandshakeError as exc:
        return ProbeCheck(
            "websocket", "/ws", expected, exc.status, exc.status == 401, f"refused {exc.status}"
        )
    except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
        detail = f"no answer ({type(exc).__name__})"
        return ProbeCheck("websocket", "/ws", expected, None, False, detail)


async def _probe_health(client: aiohttp.ClientSession, base: str, timeout: float) -> ProbeCheck:
    expected = "200 (Phoenix loaded)"
    try:
        async with client.get(
            base + HEALTH_PATH, timeout=aiohttp.ClientTimeout(total=timeout)
        ) as response:
            status = response.status
    except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
        detail = f"no answer ({type(exc).__name__})"
        return ProbeCheck("health", HEALTH_PATH, expected, None, False, detail, required=False)
    return ProbeCheck(
        "health", HEALTH_PATH, expected, status, status == 200, f"answered {status}", False
    )
